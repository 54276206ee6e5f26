"""What a port create costs the database, and naas-server serving requests
at once (issue 12, "the API's own speed"; figures in docs/performance.md).

The statements are counted on SQLite (one more, the BEGIN IMMEDIATE, than
on MySQL or PostgreSQL).  A port create reads its network once (with the
policy target), takes its address from the free list with one locked read
and one write, inserts the port and its allocations, and does not read the
port back.
"""
import io
import threading

import netaddr
import sqlalchemy as sa
import testtools
from sqlalchemy import event

from naas.cmd import server
from naas.db import api as db_api
from naas.db import freelist
from naas.db import ipam
from naas.db import models
from tests.fixtures import app


class TestPortCreateStatements(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(
            service_plugins=('security-group',), **{'quotas.quota_port': -1}))
        status, body, _ = self.api.call('POST', '/v2.0/networks',
                                        {'network': {'name': 'n'}}, project='p')
        self.network_id = body['network']['id']
        self.api.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': self.network_id, 'cidr': '10.0.0.0/24', 'ip_version': 4}},
            project='p')

    def create_port(self):
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(' '.join(statement.lower().split()))

        engine = db_api.get_engine()
        event.listen(engine, 'before_cursor_execute', record)
        try:
            status, body, _ = self.api.call(
                'POST', '/v2.0/ports', {'port': {'network_id': self.network_id}},
                project='p')
        finally:
            event.remove(engine, 'before_cursor_execute', record)
        self.assertEqual(201, status, body)
        return body['port'], statements

    def test_a_port_create_reads_and_writes_each_table_once(self):
        self.create_port()       # the project's default security group is made
        port, statements = self.create_port()
        self.assertEqual(['10.0.0.3'], [ip['ip_address'] for ip in port['fixed_ips']])
        self.assertEqual(1, len(port['security_groups']))

        def count(prefix, table):
            return len([s for s in statements if s.startswith(prefix)
                        and (' %s ' % table) in s + ' '])

        self.assertEqual(1, count('select', 'networks'), statements)
        self.assertFalse([s for s in statements if 'from ports join networks' in s],
                         statements)   # the read of a port
        self.assertEqual(1, count('insert into', 'ports'), statements)
        self.assertEqual(1, count('insert into', 'ip_allocations'), statements)
        self.assertEqual(1, count('select', 'ipam_free_ranges'), statements)
        self.assertEqual(1, count('update', 'ipam_free_ranges'), statements)
        # The groups go into the port's row with its insert, and the answer
        # is not read back from the bindings.
        self.assertEqual(0, count('update', 'ports'), statements)
        self.assertEqual(1, count('insert into', 'security_group_port_bindings'), statements)
        self.assertEqual(1, len([s for s in statements
                                 if 'from security_group_port_bindings' in s]), statements)
        self.assertEqual(0, len([s for s in statements
                                 if s.startswith('select') and 'security_group_rules' in s
                                 and 'from security_group_rules' in s.split(' where ')[0]]),
                         statements)   # the groups naming it: within the hosts' read
        # BEGIN IMMEDIATE (SQLite), 11 statements; the COMMIT is not a cursor's.
        self.assertEqual(12, len(statements), statements)

    def test_the_answer_is_what_a_read_gives(self):
        port, _ = self.create_port()
        status, shown, _ = self.api.call('GET', '/v2.0/ports/' + port['id'], project='p')
        self.assertEqual(200, status, shown)
        self.assertEqual(shown['port'], port)


class TestStripedSubnetPool(testtools.TestCase):
    """A large subnet's free addresses are stored in ranges of at most
    ipam.STRIPE, so that concurrent creates take from different rows
    (FOR UPDATE SKIP LOCKED); one at a time they still get the lowest."""

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(**{'quotas.quota_port': -1}))
        status, body, _ = self.api.call('POST', '/v2.0/networks',
                                        {'network': {'name': 'n'}}, project='p')
        self.network_id = body['network']['id']
        status, body, _ = self.api.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': self.network_id, 'cidr': '10.0.0.0/22', 'ip_version': 4}},
            project='p')
        self.subnet_id = body['subnet']['id']

    def ranges(self):
        with db_api.get_engine().connect() as conn:
            rows = conn.execute(sa.select(models.ipam_free_ranges.c.first,
                                          models.ipam_free_ranges.c.last)
                                .where(models.ipam_free_ranges.c.pool_id == self.subnet_id)
                                .order_by(models.ipam_free_ranges.c.first)).all()
        return [(str(netaddr.IPAddress(freelist.unkey(first))),
                 str(netaddr.IPAddress(freelist.unkey(last)))) for first, last in rows]

    def test_the_pool_is_stored_in_stripes_and_taken_from_the_lowest(self):
        self.assertEqual(ipam.STRIPE, 256)
        self.assertEqual([('10.0.0.2', '10.0.1.1'), ('10.0.1.2', '10.0.2.1'),
                          ('10.0.2.2', '10.0.3.1'), ('10.0.3.2', '10.0.3.254')],
                         self.ranges())
        addresses = []
        for _ in range(258):
            status, body, _ = self.api.call(
                'POST', '/v2.0/ports', {'port': {'network_id': self.network_id}},
                project='p')
            self.assertEqual(201, status, body)
            addresses.append(body['port']['fixed_ips'][0]['ip_address'])
        # Across the first stripe's end, in order.
        self.assertEqual(['10.0.0.2', '10.0.0.3'], addresses[:2])
        self.assertEqual(['10.0.1.1', '10.0.1.2', '10.0.1.3'], addresses[-3:])
        self.assertEqual([('10.0.1.4', '10.0.2.1'), ('10.0.2.2', '10.0.3.1'),
                          ('10.0.3.2', '10.0.3.254')], self.ranges())

    def test_a_huge_range_is_cut_into_a_few_stripes(self):
        # An IPv6 /64's pool: 16 stripes, together the whole range.
        stripes = freelist._striped([(1, 2 ** 64 - 1)], ipam.STRIPE)
        self.assertEqual(freelist.MOST_STRIPES, len(stripes))
        self.assertEqual((1, 2 ** 64 - 1), (stripes[0][0], stripes[-1][1]))
        self.assertTrue(all(a[1] + 1 == b[0] for a, b in zip(stripes, stripes[1:])))


class TestThreaded(testtools.TestCase):
    """naas-server's WSGI application runs in eventlet's native threads."""

    def call(self, environ):
        seen = {}

        def application(environ, start_response):
            seen['thread'] = threading.current_thread()
            seen['body'] = environ['wsgi.input'].read()
            seen['length'] = environ.get('CONTENT_LENGTH')
            start_response('201 Created', [('Content-Type', 'text/plain')])
            return [b'made ', b'it']

        answered = {}

        def start_response(status, headers, exc_info=None):
            answered['status'] = status

        chunks = server.Threaded(application)(environ, start_response)
        return seen, answered['status'], b''.join(chunks)

    def test_the_application_runs_in_another_thread_with_the_body(self):
        seen, status, body = self.call({
            'REQUEST_METHOD': 'POST', 'CONTENT_LENGTH': '5',
            'wsgi.input': io.BytesIO(b'hello')})
        self.assertIsNot(threading.main_thread(), seen['thread'])
        self.assertEqual(b'hello', seen['body'])
        self.assertEqual(('201 Created', b'made it'), (status, body))

    def test_a_chunked_body_arrives_with_its_length(self):
        seen, _, _ = self.call({'REQUEST_METHOD': 'POST', 'HTTP_TRANSFER_ENCODING': 'chunked',
                                'wsgi.input': io.BytesIO(b'{"a": 1}')})
        self.assertEqual((b'{"a": 1}', '8'), (seen['body'], seen['length']))

    def test_a_body_over_the_limit_is_not_read(self):
        seen, _, _ = self.call({'REQUEST_METHOD': 'POST', 'CONTENT_LENGTH': '10000000',
                                'wsgi.input': io.BytesIO(b'x' * 100)})
        self.assertEqual((b'', '10000000'), (seen['body'], seen['length']))
