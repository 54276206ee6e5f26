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

import testtools
from sqlalchemy import event

from naas.cmd import server
from naas.db import api as db_api
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

    def test_the_answer_is_what_a_read_gives(self):
        port, _ = self.create_port()
        status, shown, _ = self.api.call('GET', '/v2.0/ports/' + port['id'], project='p')
        self.assertEqual(200, status, shown)
        self.assertEqual(shown['port'], port)


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
