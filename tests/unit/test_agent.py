"""naas-agent without root: the port_delete cast, the services' reconciler
(casts merged, one retry policy) and the driver hook helper."""
import errno
import threading
import time

import testtools

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

    def unwire(self, port_id):
        self.unwired.append(port_id)
        if self.error is not None:
            raise self.error


def _agent(driver):
    agent = agent_mod.Agent.__new__(agent_mod.Agent)
    agent.driver = driver
    agent.port_filter = None
    agent.counters = None
    agent.remotes = None
    agent.l2pop = None
    agent.physical = None
    agent.lock = threading.RLock()
    agent.wired = {'p1': {'port_id': 'p1', 'network_id': 'n1'}}
    return agent


class TestPortDelete(testtools.TestCase):
    def test_device_already_gone_is_the_goal(self):
        driver = FakeDriver(ip_lib.NetlinkError(errno.ENODEV, 'No such device'))
        agent = _agent(driver)
        agent.on_port_delete('p1')            # does not raise
        self.assertEqual(['p1'], driver.unwired)
        self.assertEqual({}, agent.wired)

    def test_other_errors_are_raised(self):
        driver = FakeDriver(ip_lib.NetlinkError(errno.EBUSY, 'busy'))
        agent = _agent(driver)
        self.assertRaises(ip_lib.NetlinkError, agent.on_port_delete, 'p1')
        self.assertIn('p1', agent.wired)

    def test_network_delete_too(self):
        driver = FakeDriver(ip_lib.NetlinkError(errno.ENODEV, 'No such device'))
        agent = _agent(driver)
        agent.dhcp = None
        agent.on_network_delete('n1')
        self.assertEqual({}, agent.wired)


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
