"""L2 connectivity and isolation, for every driver and network type.

Each scenario class runs the same tests (the _L2Tests mixin) with its
DRIVER and NETWORK_TYPE: Linux bridge with VXLAN, Open vSwitch with VXLAN,
Open vSwitch with VLAN on physnet1 (a second veth per host into the
underlay bridge) and Open vSwitch with GRE.
"""
import time

from tools.harness.servers import wait_for
from tests.fullstack import base

TENANT_A = 'tenant-a'
TENANT_B = 'tenant-b'


class _L2Tests(object):

    def _pair(self, env, cidr='10.0.0.0/24', project=TENANT_A):
        net, _subnet = env.create_network(project, cidr)
        prefix = cidr.rsplit('.', 1)[0]
        a = env.boot_vm(env.hosts[0], net, prefix + '.10')
        b = env.boot_vm(env.hosts[1], net, prefix + '.20')
        env.wait_port_status(a.port['id'])
        env.wait_port_status(b.port['id'])
        return net, a, b

    def assertPings(self, env, src, address, timeout=15):
        if not src.can_ping(address, timeout=timeout):
            self.fail('%s cannot ping %s\n%s' % (src.name, address, env.logs()))

    def assertNoPing(self, src, address, seconds=3):
        self.assertFalse(src.ping(address, count=seconds, timeout=1),
                         '%s reached %s' % (src.name, address))

    def assertNoArpReply(self, src, address):
        self.assertFalse(src.arping(address, count=2),
                         '%s got an ARP reply for %s' % (src.name, address))

    def test_ping_across_hosts_and_status(self):
        env = self.make_env()
        agents = env.agent_rows()
        for host in env.hosts:
            self.assertTrue(agents[host.name]['alive'])
            self.assertEqual(env.hosts[0].driver == 'openvswitch',
                             'Open vSwitch' in agents[host.name]['agent_type'])
        net, a, b = self._pair(env)
        for vm in (a, b):
            port = env.api.show('port', vm.port['id'])
            self.assertEqual('ACTIVE', port['status'])
            self.assertEqual(vm.host.name, port['binding:host_id'])
            self.assertEqual('ovs' if self.DRIVER == 'openvswitch' else 'bridge',
                             port['binding:vif_type'])
        self.assertPings(env, a, b.ip_address)
        self.assertPings(env, b, a.ip_address)
        # Same network, same host.
        c = env.boot_vm(env.hosts[0], net, '10.0.0.30')
        env.wait_port_status(c.port['id'])
        self.assertPings(env, c, a.ip_address)
        self.assertPings(env, c, b.ip_address)

    def test_networks_of_one_tenant_are_isolated(self):
        env = self.make_env()
        # Both networks on the same CIDR, so that each VM would ARP for the
        # others if they shared a segment.
        net1, _ = env.create_network(TENANT_A, '10.1.0.0/24')
        net2, _ = env.create_network(TENANT_A, '10.1.0.0/24')
        a1 = env.boot_vm(env.hosts[0], net1, '10.1.0.10')
        a2 = env.boot_vm(env.hosts[1], net1, '10.1.0.20')
        b1 = env.boot_vm(env.hosts[0], net2, '10.1.0.30')
        b2 = env.boot_vm(env.hosts[1], net2, '10.1.0.40')
        for vm in (a1, a2, b1, b2):
            env.wait_port_status(vm.port['id'])
        self.assertPings(env, a1, a2.ip_address)
        self.assertPings(env, b1, b2.ip_address)
        for src, dst in ((a1, b1), (a1, b2), (b2, a2), (b2, a1)):
            self.assertNoPing(src, dst.ip_address)
            self.assertNoArpReply(src, dst.ip_address)
            state, lladdr = src.neigh(dst.ip_address)
            self.assertNotEqual(dst.mac, lladdr)
            self.assertIn(state, ('FAILED', 'INCOMPLETE', None))

    def test_tenants_with_the_same_cidr_are_isolated(self):
        env = self.make_env()
        net_a, _ = env.create_network(TENANT_A, '10.2.0.0/24')
        net_b, _ = env.create_network(TENANT_B, '10.2.0.0/24')
        seg = [env.api.show('network', n['id'])['provider:segmentation_id']
               for n in (net_a, net_b)]
        self.assertNotEqual(seg[0], seg[1])
        # The very same addresses in both tenants.
        a1 = env.boot_vm(env.hosts[0], net_a, '10.2.0.10')
        a2 = env.boot_vm(env.hosts[1], net_a, '10.2.0.20')
        b1 = env.boot_vm(env.hosts[0], net_b, '10.2.0.10')
        b2 = env.boot_vm(env.hosts[1], net_b, '10.2.0.20')
        b3 = env.boot_vm(env.hosts[1], net_b, '10.2.0.30')
        for vm in (a1, a2, b1, b2, b3):
            env.wait_port_status(vm.port['id'])
        self.assertPings(env, a1, '10.2.0.20')
        self.assertPings(env, b1, '10.2.0.20')
        # Each reached its own tenant's VM, never the other's.
        self.assertEqual(a2.mac, a1.neigh('10.2.0.20')[1])
        self.assertEqual(b2.mac, b1.neigh('10.2.0.20')[1])
        self.assertEqual(a1.mac, a2.neigh('10.2.0.10')[1])
        self.assertEqual(b1.mac, b2.neigh('10.2.0.10')[1])
        # An address only tenant B has is not reachable from tenant A.
        self.assertNoPing(a1, '10.2.0.30')
        self.assertNoArpReply(a1, '10.2.0.30')
        self.assertNoArpReply(a2, '10.2.0.30')

    def test_admin_state_down_cuts_traffic_and_up_restores_it(self):
        env = self.make_env()
        net, a, b = self._pair(env)
        self.assertPings(env, a, b.ip_address)
        env.api.update('port', b.port['id'], admin_state_up=False)
        env.wait_port_status(b.port['id'], 'DOWN')
        wait_for(lambda: not a.ping(b.ip_address, count=1, timeout=1), 10, 0.1,
                 'traffic to a port that is administratively down to stop')
        self.assertNoPing(a, b.ip_address)
        self.assertNoPing(b, a.ip_address)
        env.api.update('port', b.port['id'], admin_state_up=True)
        env.wait_port_status(b.port['id'], 'ACTIVE')
        self.assertPings(env, a, b.ip_address)
        self.assertPings(env, b, a.ip_address)

    def test_deleted_port_leaves_nothing_behind(self):
        env = self.make_env()
        h1, h2 = env.hosts
        # What a host keeps with no network at all (an agent may set some
        # of it up lazily, e.g. base flows): a network comes and goes first.
        warm, _ = env.create_network(TENANT_A, '10.4.0.0/24')
        vms = [env.boot_vm(h, warm, configure_ip=False) for h in (h1, h2)]
        for vm in vms:
            env.wait_port_status(vm.port['id'])
            env.api.delete('port', vm.port['id'])
            vm.unplug()
        empty_h1, empty_h2 = self._settled(h1), self._settled(h2)
        net, _ = env.create_network(TENANT_A, '10.3.0.0/24')
        a = env.boot_vm(h1, net, '10.3.0.10')
        env.wait_port_status(a.port['id'])
        # h1 with its one port, before any other host joined the network.
        alone_h1 = h1.snapshot()
        b = env.boot_vm(h2, net, '10.3.0.20')
        env.wait_port_status(b.port['id'])
        self.assertPings(env, a, b.ip_address)
        self.assertNotEqual(empty_h2, h2.snapshot())
        # As nova deletes an instance: the port goes, then the VIF.
        env.api.delete('port', b.port['id'])
        b.unplug()
        self._assert_converges(h2, empty_h2, 'h2 back to what it was before')
        self._assert_converges(h1, alone_h1, 'h1 no longer sending to h2')
        # The network's last port goes: nothing of it is left on h1 either.
        env.api.delete('port', a.port['id'])
        a.unplug()
        self._assert_converges(h1, empty_h1, 'h1 back to what it was before')

    def _settled(self, host, timeout=15):
        """A snapshot of ``host`` once it stays the same for a second."""
        last = host.snapshot()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(1)
            now = host.snapshot()
            if now == last:
                return now
            last = now
        self.fail('%s never settled' % host.name)

    def _assert_converges(self, host, expected, what, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            got = host.snapshot()
            if got == expected:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.fail('%s: not reached in %ss; left over: %s; missing: %s' % (
            what, timeout, sorted(set(got) - set(expected)),
            sorted(set(expected) - set(got))))


class TestLinuxBridgeVXLAN(_L2Tests, base.FullstackTestCase):
    DRIVER = 'linuxbridge'
    NETWORK_TYPE = 'vxlan'


class TestOpenvSwitchVXLAN(_L2Tests, base.FullstackTestCase):
    DRIVER = 'openvswitch'
    NETWORK_TYPE = 'vxlan'


class TestOpenvSwitchVLAN(_L2Tests, base.FullstackTestCase):
    DRIVER = 'openvswitch'
    NETWORK_TYPE = 'vlan'


class TestOpenvSwitchGRE(_L2Tests, base.FullstackTestCase):
    DRIVER = 'openvswitch'
    NETWORK_TYPE = 'gre'
