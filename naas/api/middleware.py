"""WSGI middleware of the /v2.0 pipelines: faults, identity, pipelines."""
import logging

import webob
import webob.dec

from naas.api import decoding
from naas.api import wsgi_utils
from naas.common import context as naas_context
from naas.common import exceptions
from naas.conf import CONF
from naas.lib import validators

LOG = logging.getLogger(__name__)


class Middleware:
    def __init__(self, application, **conf):
        self.application = application
        self.conf = conf

    @classmethod
    def factory(cls, global_conf, **local_conf):
        def _factory(app):
            return cls(app, **local_conf)
        return _factory


class Faults(Middleware):
    """The one place where errors become responses: a NaasException raised
    anywhere below (router, controllers, plugins) -> its NeutronError body
    (wsgi_utils.error_response); anything else -> a 500 NeutronError.

    First it has naas.api.decoding check the request (URL length, UTF-8
    path and query, Content-Type and size of the body), so that nothing
    below reads what it cannot decode.  Every failed request is logged: a
    client error at INFO, as Neutron logs it, a server error with its
    traceback.  A client never sees a traceback.
    """

    @webob.dec.wsgify
    def __call__(self, request):
        try:
            decoding.check(request)
            return request.get_response(self.application)
        except exceptions.NaasException as e:
            if e.code >= 500:
                LOG.error('%s %s failed: %s', request.method, _logged_path(request),
                          wsgi_utils.error_message(e))
            else:
                LOG.info('%s %s failed (client error): %s', request.method,
                         _logged_path(request), wsgi_utils.error_message(e))
            return wsgi_utils.error_response(e)
        except Exception:
            LOG.exception('%s %s failed', request.method, _logged_path(request))
            error = exceptions.NaasException('Request Failed: internal server error '
                                             'while processing your request.')
            return wsgi_utils.error_response(error)


def _logged_path(request):
    """The path as the WSGI server gave it (it may not be UTF-8), shortened."""
    environ = request.environ
    return validators.excerpt(
        (environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', ''))
        .encode('latin-1', 'replace').decode('ascii', 'backslashreplace'))


class NoAuthContext(Middleware):
    """Identity from X-Project-Id, X-User-Id and X-Roles, trusted as is.

    With no X-Project-Id the caller is an administrator, as with Neutron's
    noauth strategy, of the project noauth_admin_project or, unset, of none
    (then what it creates must name its project); with a project and no
    X-Roles, a member of it.
    """

    @webob.dec.wsgify
    def __call__(self, request):
        headers = request.headers
        project = headers.get('X-Project-Id') or headers.get('X-Tenant-Id')
        user = headers.get('X-User-Id') or headers.get('X-User')
        roles = [r for r in headers.get('X-Roles', '').split(',') if r.strip()]
        if not project:
            roles = roles or ['admin']
            project = CONF.noauth_admin_project
        elif not roles:
            roles = ['member']
        request.environ['naas.context'] = naas_context.Context(
            user_id=user, project_id=project, roles=roles,
            request_id=request.environ.get('openstack.request_id'))
        return request.get_response(self.application)


class KeystoneContext(Middleware):
    """Identity from the headers keystonemiddleware's auth_token sets."""

    @webob.dec.wsgify
    def __call__(self, request):
        headers = request.headers
        if headers.get('X-Identity-Status', 'Confirmed') != 'Confirmed':
            return _unauthorized()
        project = headers.get('X-Project-Id')
        user = headers.get('X-User-Id')
        # auth_token writes OpenStack-System-Scope for every token it
        # validates ("all" for a system-scoped token, else nothing), so a
        # client cannot forge it; a client's X-System-Scope passes untouched.
        system_scope = headers.get('OpenStack-System-Scope')
        if not project and not system_scope:
            return _unauthorized()
        roles = [r for r in headers.get('X-Roles', '').split(',') if r.strip()]
        request.environ['naas.context'] = naas_context.Context(
            user_id=user, project_id=project, roles=roles,
            system_scope=system_scope,
            user_name=headers.get('X-User-Name'),
            project_name=headers.get('X-Project-Name'),
            auth_token=headers.get('X-Auth-Token'),
            request_id=request.environ.get('openstack.request_id'))
        return request.get_response(self.application)


def cors_factory(global_conf, **local_conf):
    """oslo.middleware's CORS, reading [cors] from naas-server's own config."""
    from oslo_middleware import cors

    def _factory(app):
        return cors.CORS(app, CONF)
    return _factory


def _unauthorized():
    resp = wsgi_utils.error_response(exceptions.HTTPUnauthorized())
    resp.www_authenticate = 'Keystone'
    return resp


def pipeline_factory(loader, global_conf, **local_conf):
    """The pipeline named by auth_strategy (noauth or keystone)."""
    pipeline = local_conf[CONF.auth_strategy].split()
    filters = [loader.get_filter(name) for name in pipeline[:-1]]
    app = loader.get_app(pipeline[-1])
    for filter_ in reversed(filters):
        app = filter_(app)
    return app
