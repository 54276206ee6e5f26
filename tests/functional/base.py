"""What the functional tests share: a JSON client over plain HTTP and the
test case bases that start the servers (tools.harness.servers)."""
import http.client
import json
import os
import urllib.parse

import fixtures
import sqlalchemy as sa
import testtools

from tools.harness import servers

# A test that hangs (a stuck server, a lost lock) fails instead.
TEST_TIMEOUT = int(os.environ.get('NAAS_FUNCTIONAL_TEST_TIMEOUT', 240))


class Client(object):
    """A small JSON client on one keep-alive HTTP connection.

    Not thread safe: give each thread its own.  ``request`` returns
    (status, parsed JSON body or None).
    """

    def __init__(self, url, project=None, roles=None, timeout=120):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.headers = {'Accept': 'application/json'}
        if project:
            self.headers['X-Project-Id'] = project
        if roles:
            self.headers['X-Roles'] = roles
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port,
                                                   timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None):
        """One request; an absolute URL (e.g. a next link) is fine too."""
        if path.startswith('http'):
            parts = urllib.parse.urlsplit(path)
            path = parts.path + ('?' + parts.query if parts.query else '')
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        conn = self._connection()
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if resp.getheader('Connection', '').lower() == 'close':
            self.close()
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw
        return resp.status, parsed

    # Shorthands that insist on the expected status.

    def check(self, method, path, body=None, expect=200):
        status, data = self.request(method, path, body)
        if status != expect:
            raise AssertionError('%s %s: expected %s, got %s: %s'
                                 % (method, path, expect, status, data))
        return data

    def create(self, resource, **attrs):
        return self.check('POST', '/v2.0/%ss' % resource, {resource: attrs},
                          expect=201)[resource]


class TestCase(testtools.TestCase):
    """A test with a timeout and a ``start_server`` helper."""

    def setUp(self):
        super(TestCase, self).setUp()
        self.useFixture(fixtures.Timeout(TEST_TIMEOUT, gentle=True))

    def start_server(self, **kwargs):
        """A NaasServer for this test; its log tail is a detail on failure."""
        return self.useFixture(servers.NaasServer(**kwargs))


class PostgreSQLTestCase(TestCase):
    """Tests of one class share a private PostgreSQL; each test has a
    database of its own (``self.db_url``) and ``self.engine`` on it for
    looking at the tables with SQL directly."""

    @classmethod
    def setUpClass(cls):
        super(PostgreSQLTestCase, cls).setUpClass()
        cls.pg = servers.PostgreSQLServer()
        cls.pg.setUp()

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanUp()
        super(PostgreSQLTestCase, cls).tearDownClass()

    def setUp(self):
        super(PostgreSQLTestCase, self).setUp()
        self.db_url = self.pg.create_database()
        self.engine = sa.create_engine(self.db_url,
                                       poolclass=sa.pool.NullPool)
        self.addCleanup(self.engine.dispose)

    def sql(self, statement, **params):
        """Rows of one SQL statement, run straight on the test database."""
        with self.engine.connect() as conn:
            return conn.execute(sa.text(statement), params).all()

    def count(self, table, where='TRUE', **params):
        return self.sql('SELECT count(*) FROM %s WHERE %s' % (table, where),
                        **params)[0][0]
