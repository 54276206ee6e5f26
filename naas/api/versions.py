"""The version document at /."""
import webob.dec

from naas.api import wsgi_utils
from naas.common import exceptions


class Versions:
    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls()

    @webob.dec.wsgify
    def __call__(self, request):
        if request.environ.get('PATH_INFO', '') not in ('', '/'):  # may not be UTF-8
            return wsgi_utils.error_response(exceptions.HTTPNotFound('Not found'))
        return wsgi_utils.json_response({'versions': [{
            'id': 'v2.0', 'status': 'CURRENT',
            'links': [{'rel': 'self', 'href': request.host_url + '/v2.0/'}]}]})
