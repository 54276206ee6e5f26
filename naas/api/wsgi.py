"""The WSGI application, for naas-server and for uWSGI / mod_wsgi.

``application`` loads the paste pipeline named ``naas`` from
api_paste_config.  Under uWSGI, name the config files with the environment
variable NAAS_CONFIG_FILES (colon-separated; default
/etc/naas/naas.conf).
"""
import logging
import os

from oslo_config import cfg
from oslo_log import log as oslo_log
from paste import deploy

from naas.api import wsgi_utils
from naas.common import exceptions
from naas.conf import CONF

LOG = logging.getLogger(__name__)


def find_paste_config():
    path = CONF.api_paste_config
    if os.path.isabs(path) and os.path.exists(path):
        return path
    for config_file in CONF.config_file or []:
        candidate = os.path.join(os.path.dirname(os.path.abspath(config_file)), path)
        if os.path.exists(candidate):
            return candidate
    found = CONF.find_file(path)
    if found:
        return os.path.abspath(found)
    default = os.path.join(os.path.dirname(__file__), '..', '..', 'etc', 'naas',
                           'api-paste.ini')
    if os.path.exists(default):
        return os.path.abspath(default)
    raise cfg.ConfigFilesNotFoundError([path])


def load_app(name='naas'):
    path = find_paste_config()
    LOG.info('loading %s from %s', name, path)
    return deploy.loadapp('config:%s' % path, name=name)


def root_factory(loader, global_conf, **local_conf):
    """A composite mapping URL prefixes to apps: '/': versions, '/v2.0': api."""
    apps = {prefix.rstrip('/'): loader.get_app(name)
            for prefix, name in local_conf.items() if prefix.startswith('/')}
    return URLMap(apps)


class URLMap:
    """Dispatch on the longest matching path prefix (like Paste's urlmap)."""

    def __init__(self, apps):
        self.apps = sorted(apps.items(), key=lambda kv: -len(kv[0]))

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        for prefix, app in self.apps:
            if not prefix or path == prefix or path.startswith(prefix + '/'):
                environ['SCRIPT_NAME'] = environ.get('SCRIPT_NAME', '') + prefix
                environ['PATH_INFO'] = path[len(prefix):]
                return app(environ, start_response)
        not_found = wsgi_utils.error_response(exceptions.HTTPNotFound('Not found'))
        return not_found(environ, start_response)


def init_application(argv=None):
    files = os.environ.get('NAAS_CONFIG_FILES', '/etc/naas/naas.conf').split(':')
    args = []
    for f in files:
        if os.path.exists(f):
            args += ['--config-file', f]
    CONF(argv if argv is not None else args, project='naas')
    oslo_log.setup(CONF, 'naas')
    return load_app()


def __getattr__(name):
    # ``application`` is built on first use, so that importing this module
    # (e.g. for the tests) does not parse config files.
    if name == 'application':
        app = init_application()
        globals()['application'] = app
        return app
    raise AttributeError(name)
