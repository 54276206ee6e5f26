"""The database restarted under 8 clients of port create/delete: PostgreSQL,
then MariaDB (api_workers=2, RabbitMQ).

naas-server must recover by itself, without a restart: requests fail only
while the database is down, each failure is a 503 NeutronError
(``DatabaseUnavailable``), and every request that starts once the database
answers again succeeds (naas.db.api: the pool pings the connections it
hands out, and a request whose connection died, or that finds the database
refusing connections, is tried again for up to
``DISCONNECT_RETRY_SECONDS``).  The stored state stays whole.
"""
import json
import time

from naas.db import api as db_api
from tests.fault import base
from tools.harness import servers

CLIENTS = 8
LOAD_BEFORE = 2.0    # seconds of load before the restart
DOWN_FOR = 3.0       # seconds the database stays down
LOAD_AFTER = 3.0     # seconds of load after it answers again


class TestDatabaseRestart(base.FaultTestCase):

    def _restart_under_load(self, what, database):
        rabbit = self.class_server(servers.RabbitMQServer)
        db_url = database.create_database()
        server = self.useFixture(servers.NaasServer(
            db_url=db_url, api_workers=2, options={'transport_url': rabbit.transport_url}))
        network, subnet = self.make_network(server.url)
        churn = base.PortChurn(server.url, network, CLIENTS).start()
        time.sleep(LOAD_BEFORE)
        stopped, started = database.restart(down_for=DOWN_FOR)
        time.sleep(LOAD_AFTER)
        outcomes = churn.stop()

        failed = [o for o in outcomes if not o.ok]
        after = [o for o in outcomes if o.start >= started]
        self.assertTrue([o for o in after if o.ok], 'no request succeeded after the restart')
        store = base.check_store(db_url, subnet, outcomes)
        self.figures(
            what, requests=len(outcomes), failed=len(failed),
            failed_statuses=sorted({o.status for o in failed}),
            db_down_s=round(started - stopped, 3),
            api_error_window_s=round(max(o.end for o in failed) - min(o.start for o in failed),
                                     3) if failed else 0,
            first_answer_after_db_up_s=round(min(
                o.end for o in outcomes if o.ok and o.end >= started) - started, 3),
            slowest_request_s=round(max(o.end - o.start for o in outcomes), 3),
            requests_after_db_up=len(after), **store)
        self.assertEqual([], [o.describe() for o in failed if o.start >= started],
                         'requests failed after the database was back')
        # 503 only, of the two kinds naas.db.api answers: the database was
        # unreachable (nothing done), or the connection went during COMMIT
        # (may or may not be done: the store check allows both).
        self.assertEqual([], [o.describe() for o in failed if o.status != 503
                              or json.loads(o.body)['NeutronError']['type'] not in (
                                  db_api.DatabaseUnavailable.__name__,
                                  db_api.CommitInterrupted.__name__)])
        self.assertEqual([], [o.describe() for o in base.bad_error_bodies(outcomes)])
        self.assertStoreWhole(store)

    def test_postgresql_restart(self):
        self._restart_under_load('postgresql_restart',
                                 self.class_server(servers.PostgreSQLServer))

    def test_mariadb_restart(self):
        self._restart_under_load('mariadb_restart', self.class_server(servers.MariaDBServer))
