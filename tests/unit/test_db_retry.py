"""naas.db.api.retry when the database goes away: a request whose statements
lost their connection is run again; one whose COMMIT lost it is not (it may
have committed: run again, a create would be stored twice)."""
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
import testtools

from naas.common import context as naas_context
from naas.db import api as db_api
from naas.db import models
from tests.fixtures import app


def _cut(statement):
    return sa_exc.OperationalError(statement, {}, Exception('server closed the connection'),
                                   connection_invalidated=True)


class TestRetryOnDisconnect(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(app.APIFixture())
        self.engine = db_api.get_engine()
        self.calls = 0

    def _set_quota(self, context):
        """One row written per call (a quota of project p-<call>)."""
        self.calls += 1
        context.connection.execute(sa.insert(models.quotas).values(
            project_id='p-%d' % self.calls, resource='network', hard_limit=1))
        if self.calls == 1 and self.cut_statements:
            raise _cut('INSERT')

    def _rows(self):
        with self.engine.connect() as conn:
            return [r.project_id for r in conn.execute(sa.select(models.quotas.c.project_id))]

    def test_statements_cut_are_run_again(self):
        self.cut_statements = True
        db_api.retry(self._set_quota, naas_context.get_admin_context())
        self.assertEqual(2, self.calls)
        self.assertEqual(['p-2'], self._rows())

    def test_a_cut_commit_is_not_run_again(self):
        self.cut_statements = False

        def cut_commit(conn):
            raise _cut('COMMIT')
        event.listen(self.engine, 'commit', cut_commit)
        self.addCleanup(event.remove, self.engine, 'commit', cut_commit)
        e = self.assertRaises(db_api.CommitInterrupted, db_api.retry, self._set_quota,
                              naas_context.get_admin_context())
        self.assertEqual(503, e.code)
        self.assertEqual(1, self.calls)


class TestIsolationLevel(testtools.TestCase):
    """MySQL and MariaDB sessions run at READ COMMITTED, PostgreSQL's level
    (InnoDB's REPEATABLE READ made creates and deletes deadlock on gap
    locks); PostgreSQL keeps its own default.  No connection is made."""

    def test_mysql_and_mariadb_urls(self):
        for url in ('mysql+mysqldb://u:p@127.0.0.1/naas', 'mariadb+mysqldb://u:p@127.0.0.1/naas'):
            engine = db_api.create_engine(url)
            self.addCleanup(engine.dispose)
            self.assertEqual('READ COMMITTED', engine.dialect._on_connect_isolation_level, url)

    def test_postgresql_url(self):
        engine = db_api.create_engine('postgresql+psycopg2://u:p@127.0.0.1/naas')
        self.addCleanup(engine.dispose)
        self.assertIsNone(engine.dialect._on_connect_isolation_level)
