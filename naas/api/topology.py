"""The topology page: naas-server serves, at /topology/, a page that draws
the caller's networks, subnets, routers, ports and VMs by host, with live
port status and traffic charts (naas/api/static/topology/).

The assets (one HTML page, one JS module, one style sheet) hold no data
and are served to anyone, whatever auth_strategy says: a browser cannot
add X-Auth-Token to the navigation that loads a page.  The data comes
from the page's own requests to /v2.0 (networks, subnets, routers, ports,
port-statistics, network-statistics), which pass the API's auth like any
client's: with keystone the page asks for a token, keeps it in the tab's
sessionStorage and sends it as X-Auth-Token; with noauth it sends
X-Project-Id if the user names a project (none: the noauth administrator).

Every response forbids loading anything from another site
(Content-Security-Policy), so that the page works on a cloud with no way
out and cannot be made to leak the token.
"""
import importlib.resources

import webob
import webob.dec

from naas.api import wsgi_utils
from naas.common import exceptions

#: The files under naas/api/static/topology/ and their content types; the
#: empty name (the page's own URL) is the HTML page.
ASSETS = {
    'index.html': 'text/html',
    'topology.js': 'text/javascript',
    'topology.css': 'text/css',
}
INDEX = 'index.html'

#: The page and its assets load from this server only; the data requests
#: go to this server only; no frames, no plug-ins.
SECURITY_HEADERS = {
    'Content-Security-Policy': ("default-src 'none'; script-src 'self'; "
                                "style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
}


def _read_asset(name):
    return (importlib.resources.files('naas.api') / 'static' / 'topology' / name).read_bytes()


class TopologyPage:
    """The WSGI app mounted at /topology (etc/naas/api-paste.ini)."""

    def __init__(self):
        self.assets = {name: _read_asset(name) for name in ASSETS}

    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls()

    @webob.dec.wsgify
    def __call__(self, request):
        path = request.environ.get('PATH_INFO', '')
        if path == '':
            # /topology -> /topology/, so that the page's relative asset
            # URLs resolve under it.
            return webob.Response(status=301, location=request.application_url + '/')
        name = path[1:] or INDEX
        if name not in ASSETS:
            return wsgi_utils.error_response(exceptions.HTTPNotFound('Not found'))
        if request.method not in ('GET', 'HEAD'):
            response = webob.Response(status=405)
            response.allow = ('GET', 'HEAD')
            return response
        response = webob.Response(body=self.assets[name], content_type=ASSETS[name],
                                  charset='utf-8')
        response.headers.update(SECURITY_HEADERS)
        response.cache_control = 'no-cache'
        return response
