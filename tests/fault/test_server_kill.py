"""SIGKILL of naas-server under 8 clients of port create/delete (PostgreSQL,
RabbitMQ, api_workers=2).

Two faults: one API worker killed (the parent and the other worker
survive), and the whole server killed and started again.  Either way no
request commits half (each is one transaction), only the requests in flight
at the kill fail (and, for the whole server, those refused while nothing
listened), and the service answers within 2 s: the surviving worker at
once; a restarted server as soon as it listens, with no recovery step (no
lock of the dead server to wait for, no state to rebuild).  The cold start
of a new naas-server process itself (Python imports, loading the
application: some 3.5 s of CPU) is a figure, not asserted: on a loaded
2-CPU machine it takes several seconds.  The supervising process replaces
a killed worker: two API workers serve again within RESPAWN_LIMIT.
"""
import os
import signal
import time

from tests.fault import base
from tools.harness import servers

CLIENTS = 8
LOAD_BEFORE = 3.0    # seconds of load before the kill
LOAD_AFTER = 3.0     # and after the service is back
ANSWER_LIMIT = 2.0
RESPAWN_LIMIT = 10.0  # a new worker process: fork, then its first request


class TestServerKill(base.FaultTestCase):

    def setUp(self):
        super(TestServerKill, self).setUp()
        # Two workers need a real broker (the in-process one serves with one).
        rabbit = self.class_server(servers.RabbitMQServer)
        self.db_url = self.class_server(servers.PostgreSQLServer).create_database()
        self.server = self.useFixture(servers.NaasServer(
            db_url=self.db_url, api_workers=2,
            options={'transport_url': rabbit.transport_url}))
        self.assertEqual(2, self.server.workers)
        self.network, self.subnet = self.make_network(self.server.url)

    def _unexpected_errors(self, outcomes, killed, back):
        """Failed requests other than those in flight at the kill and those
        refused while no process listened."""
        return [o.describe() for o in outcomes if not o.ok and not (
            o.start <= killed <= o.end or (o.status == 0 and killed <= o.start <= back))]

    def _check(self, what, outcomes, killed, back, **figures):
        store = base.check_store(self.db_url, self.subnet, outcomes)
        in_flight = [o for o in outcomes if o.start <= killed <= o.end]
        self.figures(what, requests=len(outcomes), in_flight_at_kill=len(in_flight),
                     in_flight_failed=sum(1 for o in in_flight if not o.ok),
                     refused_while_down=sum(1 for o in outcomes if o.status == 0
                                            and o not in in_flight),
                     **figures, **store)
        self.assertEqual([], self._unexpected_errors(outcomes, killed, back))
        self.assertEqual([], [o.describe() for o in base.bad_error_bodies(outcomes)])
        self.assertStoreWhole(store)
        self.assertGreater(sum(1 for o in outcomes if o.ok and o.start > back), 0,
                           'no request succeeded after the kill')

    def test_kill_api_worker(self):
        churn = base.PortChurn(self.server.url, self.network, CLIENTS).start()
        time.sleep(LOAD_BEFORE)
        victim = self.server.worker_pids()[0]
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        time.sleep(LOAD_AFTER)
        outcomes = churn.stop()
        servers.wait_for(lambda: len(set(self.server.worker_pids()) - {victim}) == 2,
                         RESPAWN_LIMIT, 0.1, 'a new API worker in place of %d' % victim)
        answered = [o.end for o in outcomes if o.ok and o.start > killed]
        back = min(answered) if answered else float('inf')
        self._check('kill_api_worker', outcomes, killed, killed,
                    first_answer_after_kill_s=round(back - killed, 3),
                    workers_after=len(self.server.worker_pids()))
        self.assertLess(back - killed, ANSWER_LIMIT,
                        'no answer for %.2f s after the kill' % (back - killed))

    def test_kill_whole_server(self):
        churn = base.PortChurn(self.server.url, self.network, CLIENTS).start()
        time.sleep(LOAD_BEFORE)
        killed = time.monotonic()
        self.server.kill()
        restarted = time.monotonic()
        self.server.start()      # returns once GET /v2.0/networks answers 200
        back = time.monotonic()
        time.sleep(LOAD_AFTER)
        outcomes = churn.stop()
        listening = self.server.listening_at
        # The first answer: to a client, or to the fixture's probe.
        answered = min([back] + [o.end for o in outcomes if o.ok and o.start > killed])
        self._check('kill_whole_server', outcomes, killed, back,
                    start_to_listen_s=round(listening - restarted, 3),
                    listen_to_answer_s=round(answered - listening, 3),
                    outage_s=round(answered - killed, 3))
        self.assertLess(answered - listening, ANSWER_LIMIT,
                        'naas-server answered %.2f s after it listened again'
                        % (answered - listening))
