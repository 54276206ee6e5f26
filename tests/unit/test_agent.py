"""naas-agent without root: cast handlers that only record (the port_delete
cast, a delete winning over updates, L2 population entries in order), the
full resync when messages may have been lost (listener reconnected,
heartbeat back), the services' reconciler (casts merged, one retry policy)
and the driver hook helper."""
import errno
import threading
import time
import types

import testtools
from oslo_messaging._drivers import common as driver_common

from naas import rpc
from naas.agent import agent as agent_mod
from naas.agent import reconciler
from naas.agent.l2 import hooks
from naas.host import ip_lib
from tests.unit import test_layers


class FakeDriver:
    agent_type = 'fake'

    def __init__(self, error=None):
        self.error = error
        self.unwired = []
        self.calls = []

    def unwire(self, port_id):
        self.unwired.append(port_id)
        if self.error is not None:
            raise self.error

    def set_endpoints(self, network_id, endpoints):
        self.calls.append(('set_endpoints', network_id, endpoints))

    def update_fdb(self, network_id, add, remove):
        self.calls.append(('update_fdb', network_id, [e.mac_address for e in add],
                           [e.mac_address for e in remove]))


def _agent(driver):
    agent = agent_mod.Agent.__new__(agent_mod.Agent)
    agent.driver = driver
    agent.port_filter = None
    agent.counters = None
    agent.remotes = None
    agent.l2pop = None
    agent.physical = None
    agent.dhcp = agent.l3 = None
    agent.lock = threading.RLock()
    agent.pending = agent_mod.Pending()
    agent.pending_lock = threading.Lock()
    agent.wake = threading.Event()
    agent.stopped = threading.Event()
    agent.heartbeat_failed = False
    agent.wired = {'p1': {'port_id': 'p1', 'network_id': 'n1'}}
    return agent


class TestPortDelete(testtools.TestCase):
    def test_device_already_gone_is_the_goal(self):
        driver = FakeDriver(ip_lib.NetlinkError(errno.ENODEV, 'No such device'))
        agent = _agent(driver)
        agent.on_port_delete('p1')
        self.assertEqual([], driver.unwired)      # recorded only
        agent.apply_pending()                     # does not raise
        self.assertEqual(['p1'], driver.unwired)
        self.assertEqual({}, agent.wired)

    def test_other_errors_are_raised(self):
        driver = FakeDriver(ip_lib.NetlinkError(errno.EBUSY, 'busy'))
        agent = _agent(driver)
        agent.on_port_delete('p1')
        self.assertRaises(ip_lib.NetlinkError, agent.apply_pending)
        self.assertIn('p1', agent.wired)

    def test_network_delete_too(self):
        driver = FakeDriver(ip_lib.NetlinkError(errno.ENODEV, 'No such device'))
        agent = _agent(driver)
        agent.on_network_delete('n1')
        agent.apply_pending()
        self.assertEqual({}, agent.wired)


class TestCastHandlers(testtools.TestCase):
    """Casts record and return; the loop's next pass applies them."""

    def test_handlers_do_not_wait_for_the_agents_work(self):
        agent = _agent(FakeDriver())
        agent.l2pop = agent.driver
        busy = threading.Event()
        release = threading.Event()

        def work():
            with agent.lock:            # the loop, busy in a slow call
                busy.set()
                release.wait(10)
        worker = threading.Thread(target=work)
        worker.start()
        self.addCleanup(worker.join)
        self.addCleanup(release.set)
        busy.wait(5)
        casts = threading.Thread(target=lambda: (
            agent.on_port_update({'id': 'p1'}), agent.on_network_update({'id': 'n1'}),
            agent.on_endpoints_update('n1', []), agent.on_fdb_update('n1', [], []),
            agent.on_security_groups_updated(['g']), agent.on_remote_bridges_updated('n1'),
            agent.on_port_delete('p2'), agent.on_network_delete('n2')))
        casts.start()
        casts.join(2)
        self.assertFalse(casts.is_alive(), 'a cast handler waited for the agent lock')
        self.assertTrue(agent.wake.is_set())      # the loop passes at once
        self.assertEqual([], agent.driver.calls)  # nothing applied yet

    def test_a_delete_wins_over_updates_of_the_same_port(self):
        agent = _agent(FakeDriver())
        agent.on_port_update({'id': 'p1'})
        agent.on_port_delete('p1')
        agent.on_port_update({'id': 'p1'})       # a cast thread that ran late
        pending = agent.apply_pending()
        self.assertEqual(['p1'], agent.driver.unwired)
        self.assertEqual(set(), pending.ports)

    def test_fdb_updates_are_applied_in_the_order_received(self):
        agent = _agent(FakeDriver())
        agent.l2pop = agent.driver
        mac = 'fa:16:3e:00:00:03'
        agent.on_fdb_update('n1', [['192.0.2.3', mac, []]], [])
        agent.on_fdb_update('n1', [], [['192.0.2.3', mac, []]],
                            [{'host': 'b', 'tunnel_ip': '192.0.2.3'}])
        agent.on_fdb_update('n9', [['192.0.2.3', mac, []]], [])   # no port here
        pending = agent.apply_pending()
        self.assertEqual([('update_fdb', 'n1', [mac], []),
                          ('set_endpoints', 'n1', [{'host': 'b', 'tunnel_ip': '192.0.2.3'}]),
                          ('update_fdb', 'n1', [], [mac])], agent.driver.calls)
        self.assertEqual({'p1'}, pending.ports)  # the list read again with p1's details

    def test_network_update_reads_its_ports_again(self):
        agent = _agent(FakeDriver())
        agent.on_network_update({'id': 'n1'})
        self.assertEqual({'p1'}, agent.apply_pending().ports)


class TestResyncWhenMessagesMayBeLost(testtools.TestCase):
    """Casts sent while the agent's queue was gone (a single broker
    restarted) are lost: the agent resyncs once its listener is back, or
    once a heartbeat gets through after failing."""

    def _agent(self):
        agent = _agent(FakeDriver())
        agent.passes = []
        agent.resync = lambda: (agent.passes.append('resync'), agent._take_pending())
        agent.poll_once = lambda: agent.passes.append('poll')
        return agent

    def test_listener_reconnected_resyncs_the_loop_and_the_services(self):
        agent = self._agent()
        services = [Service(), Service()]
        agent.dhcp, agent.l3 = services
        agent.run_pass()
        agent.on_reconnected()
        self.assertTrue(agent.wake.is_set())
        agent.run_pass()
        agent.run_pass()
        self.assertEqual(['poll', 'resync', 'poll'], agent.passes)
        self.assertEqual([(True, ()), (True, ())], [s._next() for s in services])

    def test_heartbeat_through_after_a_failure_resyncs(self):
        agent = self._agent()
        results = [None, RuntimeError('broker gone'), RuntimeError('broker gone'), None, None]

        def report_state():
            result = results.pop(0)
            if result is not None:
                raise result
        agent.report_state = report_state
        for _ in range(5):
            agent.heartbeat()
            agent.run_pass()
        self.assertEqual(['poll', 'poll', 'poll', 'resync', 'poll'], agent.passes)

    def test_a_failed_resync_is_tried_again(self):
        agent = self._agent()
        agent.stopped.set()                       # no retry delay in the test
        failures = [RuntimeError('server unreachable')]

        def resync():
            agent.passes.append('resync')
            agent._take_pending()
            if failures:
                raise failures.pop()
        agent.resync = resync
        agent.request_resync()
        agent.run_pass()
        agent.run_pass()
        agent.run_pass()
        self.assertEqual(['resync', 'resync', 'poll'], agent.passes)


class Connection:
    """oslo.messaging's rabbit Connection as far as watch_reconnects sees it."""

    def __init__(self):
        self.channel = 'channel-1'
        self.declared = []

    def _set_current_channel(self, new_channel):
        if new_channel != self.channel:
            self.channel = new_channel
            if new_channel is not None:
                self.declared.append(new_channel)   # the consumers' queues

    def close(self):
        self.channel = None


def _listening_server(connection):
    """An RPC server whose listener holds ``connection`` as the rabbit
    driver's listener does: inside the connection pool's wrapper."""
    context = driver_common.ConnectionContext.__new__(driver_common.ConnectionContext)
    context.connection, context.pooled = connection, False
    return types.SimpleNamespace(listener=types.SimpleNamespace(
        _poll_style_listener=types.SimpleNamespace(conn=context)))


class TestWatchReconnects(testtools.TestCase):
    def test_called_once_per_new_channel_after_its_queues(self):
        connection = Connection()
        server = _listening_server(connection)
        seen = []
        self.assertTrue(rpc.watch_reconnects(
            server, lambda: seen.append(list(connection.declared))))
        connection._set_current_channel('channel-1')     # each ensure(): same channel
        connection._set_current_channel(None)            # the broker went away
        self.assertEqual([], seen)
        connection._set_current_channel('channel-2')     # back: queues declared first
        self.assertEqual([['channel-2']], seen)

    def test_a_transport_that_cannot_tell(self):
        server = types.SimpleNamespace(listener=types.SimpleNamespace())
        self.assertFalse(rpc.watch_reconnects(server, lambda: None))


class Service(reconciler.Reconciler):
    """Records its passes; ids in ``failing`` fail ``fail_times`` times;
    ``raising`` makes the next pass raise."""
    name = 'test'
    retry_delay = 0.2

    def __init__(self):
        super().__init__()
        self.passes = []
        self.failing = {}
        self.raising = 0
        self.done = threading.Event()

    def _record(self, what, ids):
        self.passes.append((what, list(ids), time.monotonic()))
        self.done.set()
        if self.raising:
            self.raising -= 1
            raise RuntimeError('server unreachable')
        failed = []
        for i in ids:
            if self.failing.get(i):
                self.failing[i] -= 1
                failed.append(i)
        return failed

    def sync_all(self):
        return self._record('all', sorted(self.failing))

    def sync(self, ids):
        return self._record('some', ids)


class TestReconciler(testtools.TestCase):
    def _start(self, service):
        service.start()
        self.addCleanup(service.stop)
        return service

    def _wait(self, service, n, timeout=5):
        deadline = time.monotonic() + timeout
        while len(service.passes) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertGreaterEqual(len(service.passes), n, service.passes)

    def test_changes_merge_into_one_pass(self):
        service = Service()
        service.changed(['b', 'a'])
        service.changed(['a', 'c'])
        self.assertEqual((False, ['a', 'b', 'c']), service._next())

    def test_full_pass_covers_pending_ids(self):
        service = Service()
        service.changed(['a'])
        service.resync()
        self.assertEqual((True, ()), service._next())
        self.assertEqual(set(), service._dirty)

    def test_failed_id_is_retried_alone_after_the_delay(self):
        service = Service()
        service.failing = {'a': 1}
        self._start(service)
        self._wait(service, 1)
        service.changed(['b'])
        self._wait(service, 3)
        (what0, ids0, t0), (what1, ids1, _), (what2, ids2, t2) = service.passes[:3]
        self.assertEqual(('all', ['a']), (what0, ids0))
        self.assertEqual(('some', ['b']), (what1, ids1))     # not held up by the retry
        self.assertEqual(('some', ['a']), (what2, ids2))     # alone
        self.assertGreaterEqual(t2 - t0, service.retry_delay)
        time.sleep(service.retry_delay * 2)
        self.assertEqual(3, len(service.passes))             # it worked: no more

    def test_failed_pass_is_followed_by_a_full_resync_after_the_delay(self):
        service = Service()
        service.raising = 1
        service.changed(['a'])
        self._start(service)
        self._wait(service, 2)
        (what0, _, t0), (what1, _, t1) = service.passes[:2]
        self.assertEqual(('all', 'all'), (what0, what1))
        self.assertGreaterEqual(t1 - t0, service.retry_delay)

    def test_stop_ends_the_worker(self):
        service = self._start(Service())
        self._wait(service, 1)
        service.stop()
        service._thread.join(2)
        self.assertFalse(service._thread.is_alive())


class TestHooks(testtools.TestCase):
    def test_of_asks_by_interface(self):
        class Filtering(hooks.PortFilter):
            def filter_ports(self, details, sg_info):
                pass

            def update_security_groups(self, sg_info):
                pass

            def unfilter_port(self, port_id):
                pass

            def reconcile_filters(self, wanted, sg_info):
                pass
        driver = Filtering()
        self.assertIs(driver, hooks.of(driver, hooks.PortFilter))
        self.assertIsNone(hooks.of(driver, hooks.QoS))
        self.assertIsNone(hooks.of(FakeDriver(), hooks.PortCounters))


class TestLayers(testtools.TestCase):
    """The host side's layers (naas.agent.agent's docstring), with the
    server's import reader (tests.unit.test_layers)."""

    def test_agent_and_compute_do_not_import_each_other(self):
        self.assertEqual([], test_layers.violations('naas/agent/**/*.py', ['naas.compute'])
                         + test_layers.violations('naas/compute/**/*.py', ['naas.agent']))

    def test_host_plumbing_imports_no_layer_above_it(self):
        self.assertEqual([], test_layers.violations('naas/host/**/*.py', [
            'naas.agent', 'naas.compute', 'naas.api', 'naas.db', 'naas.plugins']))

    def test_services_name_no_driver(self):
        import pathlib
        import re
        top = pathlib.Path(__file__).resolve().parents[2] / 'naas' / 'agent'
        driver_names = re.compile(r'openvswitch|ovs|linuxbridge|netdev', re.I)
        found = ['%s:%d' % (path.name, n)
                 for path in [top / 'dhcp.py', top / 'reconciler.py'] + sorted(
                     (top / 'l3').glob('*.py'))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if driver_names.search(line)]
        self.assertEqual([], found)
