"""The one HTTP client of the tools and the harness: Networking API v2.0
over one persistent (keep-alive) ``http.client`` connection.

Python standard library only, so that tools/bench_api.py can measure any
endpoint (NaaS or a real Neutron) from any Python.  Two layers:

* :meth:`Client.call` -- the raw request, timed, that never raises: a
  :class:`Response` with status 0 when no HTTP answer came (timeout,
  refused).  The benchmarks count errors and latencies with it.
* :meth:`Client.request` and the resource helpers (``create``, ``show``,
  ``list``, ``update``, ``delete``) -- for the fullstack tier and the smoke
  script: JSON in and out, an unexpected status raises AssertionError, no
  answer at all raises ConnectionError.

Auth is noauth-style: ``X-Project-Id`` and ``X-Roles`` (``headers`` adds or
overrides any other, e.g. ``X-Auth-Token``).  A client is one connection:
use one per thread.
"""
import http.client
import json
import time
import urllib.parse


class Response:
    """One request's outcome; ``status`` 0: no HTTP response."""

    __slots__ = ('method', 'path', 'status', 'body', 'elapsed', '_data')

    def __init__(self, method, path, status, body, elapsed):
        self.method = method
        self.path = path
        self.status = status      # 0: no HTTP response (timeout, refused...)
        self.body = body          # bytes, or str describing the exception
        self.elapsed = elapsed    # seconds
        self._data = None

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def data(self):
        """The JSON body; {} when there is none or it is not JSON."""
        if self._data is None:
            try:
                self._data = json.loads(self.body) if self.body else {}
            except (ValueError, TypeError):
                self._data = {}
        return self._data

    def describe(self, limit=1000):
        body = self.body
        if isinstance(body, bytes):
            body = body.decode('utf-8', 'replace')
        return '%s %s -> %s: %s' % (self.method, self.path, self.status or 'no response',
                                    (body or '')[:limit])


class Client:
    """One keep-alive connection to ``url`` (``http://host:port``, with or
    without a trailing ``/v2.0``; paths start with ``/v2.0``)."""

    def __init__(self, url, project=None, roles='member', timeout=60, headers=None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValueError('bad URL %r' % url)
        self.url = url.rstrip('/')
        self.https = parts.scheme == 'https'
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        prefix = parts.path.rstrip('/')
        if prefix.endswith('/v2.0'):
            prefix = prefix[:-len('/v2.0')]
        self.prefix = prefix
        self.project = project
        self.headers = {'Accept': 'application/json', 'X-Roles': roles}
        if project:
            self.headers['X-Project-Id'] = project
        self.headers.update(headers or {})
        self.timeout = timeout
        self.conn = None
        self.reconnects = 0

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def _connect(self):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        self.conn = cls(self.host, self.port, timeout=self.timeout)
        self.reconnects += 1

    def call(self, method, path, body=None):
        """Send one request; a :class:`Response`, whatever happened."""
        data = None
        headers = dict(self.headers)
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        for attempt in (0, 1):
            reused = self.conn is not None
            if not reused:
                self._connect()
            t0 = time.perf_counter()
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                elapsed = time.perf_counter() - t0
                if r.will_close:
                    self.close()
                return Response(method, path, r.status, raw, elapsed)
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError, http.client.CannotSendRequest,
                    http.client.BadStatusLine) as e:
                # A kept-alive connection the server had already closed:
                # retry once on a fresh connection.
                elapsed = time.perf_counter() - t0
                self.close()
                if attempt == 0 and reused:
                    continue
                return Response(method, path, 0, '%s: %s' % (type(e).__name__, e), elapsed)
            except (OSError, http.client.HTTPException) as e:
                # timeout (socket.timeout is an OSError), refused, ...
                elapsed = time.perf_counter() - t0
                self.close()
                return Response(method, path, 0, '%s: %s' % (type(e).__name__, e), elapsed)
        raise AssertionError('unreachable')

    # -- JSON in and out, for the fullstack tier and the smoke script

    def request(self, method, path, body=None, expect=None):
        """(status, decoded JSON body or None); AssertionError when
        ``expect`` is given and the status differs."""
        resp = self.call(method, path, body)
        if resp.status == 0:
            raise ConnectionError(resp.describe())
        data = None
        if resp.body:
            try:
                data = json.loads(resp.body)
            except ValueError:
                data = resp.body.decode('utf-8', 'replace')
        if expect is not None and resp.status != expect:
            raise AssertionError('%s %s: expected %s, got %s: %s' % (
                method, path, expect, resp.status, data))
        return resp.status, data

    def get(self, path):
        return self.request('GET', path, expect=200)[1]

    def create(self, resource, **attrs):
        attrs.setdefault('project_id', self.project)
        return self.request('POST', '/v2.0/%ss' % resource, {resource: attrs},
                            expect=201)[1][resource]

    def update(self, resource, id, **attrs):
        return self.request('PUT', '/v2.0/%ss/%s' % (resource, id),
                            {resource: attrs}, expect=200)[1][resource]

    def delete(self, resource, id, missing_ok=False):
        status, data = self.request('DELETE', '/v2.0/%ss/%s' % (resource, id))
        if status != 204 and not (missing_ok and status == 404):
            raise AssertionError('DELETE %s %s: %s %s' % (resource, id, status, data))

    def show(self, resource, id):
        return self.get('/v2.0/%ss/%s' % (resource, id))[resource]

    def list(self, resource, **filters):
        query = ('?' + urllib.parse.urlencode(filters, doseq=True)) if filters else ''
        return self.get('/v2.0/%ss%s' % (resource, query))['%ss' % resource]
