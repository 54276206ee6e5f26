"""Small helpers for JSON responses and request headers (bodies:
naas.api.decoding)."""
import re

import orjson
import webob

from naas.common import exceptions
from naas.lib import validators

#: Longest error message sent (values in it are shortened where they are
#: formatted, validators.excerpt; this bounds the whole).
MAX_MESSAGE = 1024

_IF_MATCH = re.compile(r'^\s*revision_number\s*=\s*(\d+)\s*$')


def json_response(body, status=200):
    return webob.Response(body=orjson.dumps(body), status=status,
                          content_type='application/json', charset=None)


def empty_response(status=204):
    resp = webob.Response(status=status)
    resp.content_type = None
    return resp


def if_match_revision(request):
    """The N of ``If-Match: revision_number=N``, or None."""
    header = request.headers.get('If-Match')
    if not header:
        return None
    for part in header.split(','):
        match = _IF_MATCH.match(part)
        if match:
            return validators.convert_to_int(match.group(1))
    raise exceptions.BadRequest(resource='If-Match',
                                msg="If-Match header must be 'revision_number=N'")


def error_message(error):
    """The error's message as sent and logged: at most MAX_MESSAGE
    characters, and always encodable (a lone surrogate is escaped)."""
    message = str(error).encode('utf-8', 'backslashreplace').decode('utf-8')
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + '...'
    return message


def error_body(error):
    return {'NeutronError': {'type': error.type, 'message': error_message(error),
                             'detail': ''}}


def error_response(error):
    return json_response(error_body(error), status=error.code)
