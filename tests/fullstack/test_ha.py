"""High availability (docs/ha.md): DHCP served by two agents, and routers
of a dead L3 agent moved to a live one (naas.plugins.l2.dhcp,
naas.plugins.l3.scheduler).

A host "dies" as a machine would: its naas-agent is SIGKILLed and its
links are cut on the far side, in namespaces of the test (its underlay
port, and its port on the outside world of the L3 tests), so that what it
left running (dnsmasq, a router namespace) no longer reaches anyone.  The
server runs with agent_down_time 6 s (the environment's default).
"""
import signal
import time

import fixtures

from tools.harness import fullstack
from tools.harness.servers import wait_for
from tests.fullstack import base
from tests.fullstack import test_dhcp
from tests.fullstack import test_l3

DOWN_TIME = 6
PING_INTERVAL = 0.2


def power_off(env, host, outside=None):
    """SIGKILL the agent of ``host`` and cut its links."""
    env.agents[env.hosts.index(host)].process.send_signal(signal.SIGKILL)
    env.agents[env.hosts.index(host)].process.wait(10)
    fullstack.ip('link', 'set', 'h%d' % host.index, 'down', ns=env.underlay.namespace)
    if outside is not None:
        fullstack.ip('link', 'set', 'x%d' % host.index, 'down', ns=outside.namespace)


class _HATests(object):
    # The DHCP tests' helpers (not their tests).
    _network = test_dhcp._DhcpTests._network
    _host = test_dhcp._DhcpTests._host
    _dhcp_dir = test_dhcp._DhcpTests._dhcp_dir
    _read = test_dhcp._DhcpTests._read
    _wait_host_entry = test_dhcp._DhcpTests._wait_host_entry
    _vm = test_dhcp._DhcpTests._vm
    _udhcpc = test_dhcp._DhcpTests._udhcpc
    _addresses = test_dhcp._DhcpTests._addresses
    _wait_address = test_dhcp._DhcpTests._wait_address
    # The L3 tests' helpers.
    make_l3_env = test_l3._L3Tests.make_l3_env
    _wait_l3_agents = test_l3._L3Tests._wait_l3_agents
    external = test_l3._L3Tests.external
    wait_router_ports = test_l3._L3Tests.wait_router_ports
    assertPings = test_l3._L3Tests.assertPings

    def test_dhcp_two_agents_a_new_vm_gets_its_lease_after_one_dies(self):
        """dhcp_agents_per_network 2 on two DHCP hosts: both dnsmasq have
        the new VM's host entry; the host of one dies (agent SIGKILLed,
        links cut); a VM booted then on the other host gets its lease from
        the other dnsmasq, and the dead host's DHCP port is removed within
        agent_down_time + 5 s."""
        self.state = self.useFixture(fixtures.TempDir()).path
        env = self.make_env(
            server_options={'DEFAULT': {'dhcp_agents_per_network': 2}},
            agent_options={'DEFAULT': {'state_path': self.state},
                           'agent': {'enable_dhcp': True,
                                     'dhcp_lease_duration': test_dhcp.LEASE}})
        h1, h2 = env.hosts
        net, _ = self._network(env, [dict(ip_version=4, cidr='10.70.0.0/24',
                                          gateway_ip='10.70.0.1')])

        def dhcp_hosts():
            return sorted(p['binding:host_id'] for p in env.api.list(
                'port', network_id=net['id'], device_owner='network:dhcp')
                if p['status'] == 'ACTIVE')
        wait_for(lambda: dhcp_hosts() == [h1.name, h2.name], 30, 0.2,
                 'a DHCP port ACTIVE on each host')
        power_off(env, h1)
        t0 = time.monotonic()
        port = env.create_port(net, h2)
        address = port['fixed_ips'][0]['ip_address']
        self._wait_host_entry(env, h2, net, port, address)
        vm = self._vm(env, h2, net, port)
        client = self._udhcpc(vm)
        self._wait_address(env, vm, address + '/24', client)
        lease_s = time.monotonic() - t0
        leases = self._read(self._dhcp_dir(h2, net) + '/leases')
        self.assertIn(port['mac_address'], leases)
        self.assertNotIn(port['mac_address'], self._read(self._dhcp_dir(h1, net) + '/leases'))
        wait_for(lambda: dhcp_hosts() == [h2.name], DOWN_TIME + 5 - (time.monotonic() - t0),
                 0.2, 'the dead host %s DHCP port removed' % h1.name)
        self.record('ha_dhcp', lease_after_death_s=round(lease_s, 3),
                    unbound_after_s=round(time.monotonic() - t0, 3))

    def test_router_of_a_dead_l3_agent_moves_and_its_floating_ip_answers(self):
        """A router (gateway, SNAT, a floating IP) on one host; that host
        dies (agent SIGKILLed, underlay and external links cut): the router
        is bound to the other host within agent_down_time + 5 s (its ports'
        binding:host_id) and the floating IP answers pings from the outside
        again (a ping every 0.2 s throughout: the longest run lost is
        recorded)."""
        env = self.make_l3_env()
        outside, ext, ext_sub = self.external(env)
        a = env.client(test_l3.TENANT_A)
        net, sub = test_l3._L3Tests.network(self, env, test_l3.TENANT_A, '10.71.0.0/24')
        router = a.create('router', name='r')
        a.request('PUT', '/v2.0/routers/%s/add_router_interface' % router['id'],
                  {'subnet_id': sub['id']}, expect=200)
        a.update('router', router['id'], external_gateway_info={'network_id': ext['id']})

        def router_host():
            hosts = {p['binding:host_id'] for p in env.api.list('port', device_id=router['id'])}
            return hosts.pop() if len(hosts) == 1 else None
        wait_for(router_host, 20, 0.2, 'router bound')
        dead = self._host(env, router_host())
        alive = next(h for h in env.hosts if h is not dead)
        vm = env.boot_vm(alive, net, '10.71.0.10')
        vm.exec(['ip', 'route', 'replace', 'default', 'via', sub['gateway_ip']])
        env.wait_port_status(vm.port['id'])
        fip = a.create('floatingip', floating_network_id=ext['id'], port_id=vm.port['id'])
        address = fip['floating_ip_address']
        self.wait_router_ports(env, router['id'])
        self.assertPings(env, outside.namespace, address)

        pinger = fullstack.Pinger(test_l3._NS(outside.namespace), address, PING_INTERVAL)
        self.addCleanup(pinger.stop)
        wait_for(pinger.replies, 10, 0.1, 'first reply of %s' % address)
        power_off(env, dead, outside)
        t0 = time.monotonic()
        wait_for(lambda: router_host() == alive.name, DOWN_TIME + 5, 0.2,
                 'router moved to %s' % alive.name)
        moved_s = time.monotonic() - t0
        # Answers again: a reply to a request sent after the move.
        first_after = int((time.monotonic() - pinger.started) / PING_INTERVAL)
        try:
            wait_for(lambda: pinger.replies()[-1] > first_after, 20, 0.1,
                     'floating IP %s answers again' % address)
        except TimeoutError as e:
            raise AssertionError('%s\n%s' % (e, env.logs()))
        answered_s = time.monotonic() - t0
        pings = pinger.stop()
        self.assertGreater(pings['gap'], 0, pings)    # the death did cut it
        self.record('ha_l3_reschedule', agent_down_time=DOWN_TIME,
                    moved_s=round(moved_s, 3), fip_answers_s=round(answered_s, 3),
                    lost_pings=pings['gap'], ping_interval=PING_INTERVAL,
                    outage_s=round(pings['gap'] * PING_INTERVAL, 1))


class TestHALinuxBridge(_HATests, base.FullstackTestCase):
    DRIVER = 'linuxbridge'
    NETWORK_TYPE = 'vxlan'


class TestHAOpenvSwitch(_HATests, base.FullstackTestCase):
    DRIVER = 'openvswitch'
    NETWORK_TYPE = 'vxlan'
