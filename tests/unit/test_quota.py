"""What a create says to the database about quotas (naas.db.quota).

Concurrency itself is tested on PostgreSQL with two API workers
(tests/functional/test_postgresql.py); here, on SQLite, the statements:
the project's quota row is locked before the use is counted, one statement
once the row exists, and an unlimited resource is neither locked nor
counted.
"""
import sqlalchemy as sa
import testtools
from sqlalchemy import event

from naas.db import api as db_api
from tests.fixtures import app


class TestQuotaStatements(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(**{'quotas.quota_network': 10}))

    def statements_of(self, method, path, body):
        """(status, the SQL statements the request ran, lower case)."""
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(' '.join(statement.lower().split()))

        engine = db_api.get_engine()
        event.listen(engine, 'before_cursor_execute', record)
        try:
            status, body, _ = self.api.call(method, path, body, project='p')
        finally:
            event.remove(engine, 'before_cursor_execute', record)
        return status, body, statements

    def lock_rows(self):
        with db_api.get_engine().connect() as conn:
            return conn.execute(sa.text(
                'SELECT project_id, resource FROM quota_locks')).all()

    def test_a_create_locks_before_it_counts(self):
        for name in ('first', 'second'):
            status, body, statements = self.statements_of(
                'POST', '/v2.0/networks', {'network': {'name': name}})
            self.assertEqual(201, status, body)
            locks = [i for i, s in enumerate(statements) if 'quota_locks' in s]
            counts = [i for i, s in enumerate(statements)
                      if s.startswith('select count(*)') and 'from networks' in s]
            self.assertEqual(1, len(counts), statements)
            self.assertTrue(locks, statements)
            self.assertLess(max(locks), counts[0], statements)
        # The first create inserted the row; the second only selected it.
        self.assertEqual(1, len(locks), statements)
        self.assertTrue(statements[locks[0]].startswith('select'), statements)
        self.assertEqual([('p', 'network')], self.lock_rows())

    def test_an_unlimited_resource_is_neither_locked_nor_counted(self):
        status, body, _ = self.api.call('POST', '/v2.0/networks',
                                        {'network': {'name': 'n'}}, project='p')
        self.assertEqual(201, status, body)
        status, body, statements = self.statements_of(
            'POST', '/v2.0/ports', {'port': {'network_id': body['network']['id']}})
        self.assertEqual(201, status, body)
        self.assertEqual([], [s for s in statements if 'quota_locks' in s
                              or s.startswith('select count(*)')])
        self.assertEqual([('p', 'network')], self.lock_rows())
