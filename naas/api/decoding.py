"""Request decoding, in one place: what every /v2.0 request is checked for
before anything reads it, and the one reader of JSON bodies.

``check`` (the faults middleware, naas.api.middleware.Faults, calls it for
every request) refuses:

- a path and query string longer than MAX_URL_LENGTH bytes (414);
- a path or query string that is not UTF-8 once percent-decoded (webob
  raises UnicodeDecodeError wherever it reads it), or that holds NUL, which
  PostgreSQL cannot store or compare (400);
- a body under a Content-Type other than application/json, or a charset
  other than UTF-8 (415).  A body without Content-Type is read as JSON, as
  Neutron's API reads it;
- a body larger than max_request_body_size (413), before reading it.

``json_body`` is how every controller reads a body (resources, member
actions, tags, quotas).  orjson decodes it: UTF-8 only, and the decoder
itself refuses lone surrogates (``"\\ud800"``), NaN and Infinity, and nests
at most 1024 levels without recursing in Python.  Then the document may
nest at most MAX_DEPTH levels (counted level by level, no recursion) and no
string may hold NUL (in JSON only the escape ``\\u0000`` can write one).
"""
import urllib.parse

import orjson

from naas.common import exceptions
from naas.conf import CONF
from naas.lib import validators

#: Longest path and query string served, in bytes (eventlet's own limit is
#: raised above it so that the API, not the HTTP server, answers 414).
MAX_URL_LENGTH = 8192
#: Deepest JSON body: the deepest request NaaS defines nests 5 levels.
MAX_DEPTH = 32
JSON = 'application/json'


def url_length(environ):
    """Bytes of the request's path and query string, as the client sent them
    (eventlet's RAW_PATH_INFO), else as the WSGI server decoded the path."""
    path = environ.get('RAW_PATH_INFO') or (
        environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', ''))
    query = environ.get('QUERY_STRING', '')
    return len(path) + (len(query) + 1 if query else 0)


def _text(raw, what):
    """A WSGI string (bytes as latin-1) or percent-encoded bytes, as UTF-8
    text; 400 unless it is UTF-8 without NUL."""
    try:
        text = urllib.parse.unquote_to_bytes(raw.encode('latin-1')).decode('utf-8')
    except UnicodeError:
        raise exceptions.InvalidInput(error_message='%s is not UTF-8' % what)
    if '\x00' in text:
        raise exceptions.InvalidInput(error_message='%s contains NUL' % what)
    return text


def _content_type(request):
    """415 for a body that does not say it is JSON in UTF-8."""
    header = request.headers.get('Content-Type', '').strip()
    if not header:
        return
    media_type, *params = [part.strip() for part in header.split(';')]
    charsets = [value.strip('"').lower() for name, _, value in
                (param.partition('=') for param in params)
                if name.strip().lower() == 'charset']
    if media_type.lower() != JSON or any(c not in ('utf-8', 'utf8') for c in charsets):
        raise exceptions.UnsupportedMediaType(content_type=validators.excerpt(header))


def check(request):
    """Refuse what no controller can read (see the module docstring).  A
    chunked body is read here, up to the limit."""
    environ = request.environ
    if url_length(environ) > MAX_URL_LENGTH:
        raise exceptions.RequestURITooLong(limit=MAX_URL_LENGTH)
    # PATH_INFO is already percent-decoded: a '%' left in it is literal.
    _text((environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', ''))
          .replace('%', '%25'), 'the path')
    _text(environ.get('QUERY_STRING', ''), 'the query string')
    limit = CONF.max_request_body_size
    length = request.content_length
    if length is not None and length > limit:
        raise exceptions.RequestEntityTooLarge()
    if request.method not in ('POST', 'PUT') or not (length or request.is_body_readable):
        return
    _content_type(request)
    if length is None:
        data = request.body_file.read(limit + 1)
        if len(data) > limit:
            raise exceptions.RequestEntityTooLarge()
        request.body = data


def json_body(request):
    """The request's body as JSON: 400 if it is empty, not JSON, not UTF-8,
    holds a lone surrogate or NUL, or nests deeper than MAX_DEPTH."""
    raw = request.body
    if not raw:
        raise exceptions.BadRequest(resource='body', msg='Resource body required')
    if b'\\u0000' in raw:
        raise exceptions.MalformedRequestBody(reason='a string contains NUL')
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise exceptions.MalformedRequestBody(reason=str(e))
    if validators.nesting_depth(document, MAX_DEPTH) > MAX_DEPTH:
        raise exceptions.MalformedRequestBody(
            reason='the document nests deeper than %d levels' % MAX_DEPTH)
    return document
