"""Small helpers for JSON requests and responses."""
import json
import re

import orjson
import webob

from naas.common import exceptions

_IF_MATCH = re.compile(r'^\s*revision_number\s*=\s*(\d+)\s*$')


def json_response(body, status=200):
    return webob.Response(body=orjson.dumps(body), status=status,
                          content_type='application/json', charset=None)


def empty_response(status=204):
    resp = webob.Response(status=status)
    resp.content_type = None
    return resp


def parse_body(request):
    """The request's JSON body; MalformedRequestBody if it is not JSON."""
    raw = request.body
    if not raw:
        raise exceptions.BadRequest(resource='body', msg='Resource body required')
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise exceptions.MalformedRequestBody(reason=str(e))


def if_match_revision(request):
    """The N of ``If-Match: revision_number=N``, or None."""
    header = request.headers.get('If-Match')
    if not header:
        return None
    for part in header.split(','):
        match = _IF_MATCH.match(part)
        if match:
            return int(match.group(1))
    raise exceptions.BadRequest(resource='If-Match',
                                msg="If-Match header must be 'revision_number=N'")


def error_body(error):
    return {'NeutronError': {'type': error.type, 'message': str(error), 'detail': ''}}


def error_response(error):
    resp = json_response(error_body(error), status=error.code)
    return resp
