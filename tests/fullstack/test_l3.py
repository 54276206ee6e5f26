"""Routers (IPv4 and IPv6, extra routes), subnet-routes, the external
gateway (SNAT) and floating IPs (DNAT), realised by naas-agent's L3 part
(naas.agent.l3) in router namespaces on the hosts the L3 plugin schedules
them to; the `openstack` CLI driving it; an agent restart under traffic.

Every host runs its agent with ``[agent] enable_l3``; the server loads the
L3 plugin (``service_plugins = router``).  The outside world is a namespace
of the test (``<prefix>-out``, :class:`OutsideWorld`): a bridge holding
203.0.113.1/24, with one veth per host (``ext0`` inside the host) that is
the physical network ``external`` of a flat, router:external network.
Nothing is added to the root namespace.

Sources are checked without tcpdump: a small TCP server (:data:`ECHO`) in
the destination namespace answers each connection with its name and the
peer address it sees, and busybox ``nc`` in the source reads it.
"""
import json
import os
import subprocess
import sys
import time

import fixtures

from tools.harness import fullstack
from tools.harness.servers import wait_for
from tests.fullstack import base

TENANT_A = 'tenant-a'
TENANT_B = 'tenant-b'
EXT_CIDR = '203.0.113.0/24'
EXT_GATEWAY = '203.0.113.1'
EXT_PHYSNET = 'external'
EXT_IF = 'ext0'
EXT_OVS_BRIDGE = 'br-ext'
ECHO_PORT = 7777
OPENSTACK_CLI = os.path.join(os.path.dirname(sys.executable), 'openstack')

#: A TCP server: each connection gets "<name> <peer address>\n".
ECHO = r'''
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.listen(16)
print('listening', flush=True)
while True:
    c, peer = s.accept()
    try:
        c.sendall(('%s %s\n' % (sys.argv[2], peer[0])).encode())
    finally:
        c.close()
'''


class EchoServer(fixtures.Fixture):
    """:data:`ECHO` in namespace ``ns``, answering with ``name``."""

    def __init__(self, ns, name, port=ECHO_PORT):
        super().__init__()
        self.ns, self.name, self.port = ns, name, port

    def _setUp(self):
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', self.ns, sys.executable, '-c', ECHO,
             str(self.port), self.name], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(self._stop)
        line = self.proc.stdout.readline().decode()
        if 'listening' not in line:
            raise RuntimeError('echo server in %s: %s' % (self.ns, line))

    def _stop(self):
        self.proc.kill()
        self.proc.wait(10)


def ask(ns, address, port=ECHO_PORT, timeout=2):
    """(name, peer address) that the echo server at ``address`` answers a
    connection from namespace ``ns`` with, or None."""
    proc = subprocess.run(
        ['ip', 'netns', 'exec', ns, 'busybox', 'nc', '-w', str(timeout), address,
         str(port)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=timeout + 10)
    words = proc.stdout.split()
    return tuple(words[:2]) if len(words) >= 2 else None


def ask_until(ns, address, expected, timeout=10):
    """ask() until it answers ``expected`` (a new NAT rule, like a new route,
    may need a moment and a lost first SYN costs a retransmit); the last
    answer."""
    deadline = time.monotonic() + timeout
    answer = ask(ns, address)
    while answer != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = ask(ns, address)
    return answer


def ping(ns, address, count=1, timeout=1):
    proc = subprocess.run(
        ['ip', 'netns', 'exec', ns, 'busybox', 'ping', '-c', str(count), '-W',
         str(timeout), '-w', str(timeout + count), address],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + count + 10)
    return proc.returncode == 0


def can_ping(ns, address, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(ns, address):
            return True
    return False


class OutsideWorld(fixtures.Fixture):
    """The external network's other side: namespace ``<prefix>-out`` with a
    bridge that holds ``EXT_GATEWAY`` and a veth into each host, whose host
    end (``ext0``) is the physical network ``external``."""

    BRIDGE = 'br-out'

    def __init__(self, env):
        super().__init__()
        self.env = env
        self.namespace = '%s-out' % env.prefix

    def _setUp(self):
        ip, ns = fullstack.ip, self.namespace
        self.addCleanup(fullstack.delete_netns, ns)
        fullstack.run(['ip', 'netns', 'add', ns])
        ip('link', 'set', 'lo', 'up', ns=ns)
        ip('link', 'add', self.BRIDGE, 'type', 'bridge', 'stp_state', '0',
           'forward_delay', '0', ns=ns)
        ip('link', 'set', self.BRIDGE, 'up', ns=ns)
        ip('addr', 'add', EXT_GATEWAY + '/24', 'dev', self.BRIDGE, ns=ns)
        for host in self.env.hosts:
            peer = 'x%d' % host.index
            ip('link', 'add', EXT_IF, 'netns', host.namespace, 'type', 'veth',
               'peer', 'name', peer, 'netns', ns)
            ip('link', 'set', peer, 'master', self.BRIDGE, 'up', ns=ns)
            ip('link', 'set', EXT_IF, 'up', ns=host.namespace)
            if host.ovs is not None:
                host.ovs.add_physical_bridge(EXT_OVS_BRIDGE, EXT_IF)
        if any(host.ovs is not None for host in self.env.hosts):
            # Userspace OVS passes on the partial checksums the kernel
            # leaves (tools.harness.ovs_host): TX checksum offload off on
            # this side too.
            from tools.harness import ovs_host
            ovs_host.disable_tx_offload(ns, self.BRIDGE, *[
                'x%d' % host.index for host in self.env.hosts])

    def route(self, cidr, via):
        """A route in the outside world (its own namespace) to ``cidr``."""
        fullstack.ip('route', 'replace', cidr, 'via', via, ns=self.namespace)


class _L3Tests(object):

    def make_l3_env(self, **kwargs):
        mapping = EXT_OVS_BRIDGE if self.DRIVER == 'openvswitch' else EXT_IF
        env = self.make_env(
            server_options={'DEFAULT': {'service_plugins': 'router'}},
            agent_options={'agent': {'enable_l3': True,
                                     'bridge_mappings': '%s:%s' % (EXT_PHYSNET, mapping)}},
            **kwargs)
        env.wait_l3 = lambda: self._wait_l3_agents(env)
        env.wait_l3()
        return env

    def _wait_l3_agents(self, env):
        def ok():
            rows = [a for a in env.api.list('agent', agent_type='NaaS L3 agent')
                    if a['alive']]
            return {a['host'] for a in rows} >= {h.name for h in env.hosts}
        wait_for(ok, 30, 0.1, 'L3 agents alive')

    # -- helpers

    def network(self, env, project, cidr, gateway=True, **attrs):
        """A network of ``project`` with one IPv4 subnet whose gateway is
        the first address (no DHCP)."""
        client = env.api if attrs else env.client(project)
        net = client.create('network', name=env.prefix + '-net', project_id=project,
                            **attrs)
        body = dict(network_id=net['id'], ip_version=4, cidr=cidr, enable_dhcp=False,
                    project_id=project)
        if not gateway:
            body['gateway_ip'] = None
        subnet = client.create('subnet', **body)
        env.cidr_of[subnet['id']] = cidr
        return net, subnet

    def vm(self, env, host, net, subnet, address):
        vm = env.boot_vm(host, net, address)
        if subnet.get('gateway_ip'):
            vm.exec(['ip', 'route', 'replace', 'default', 'via', subnet['gateway_ip']])
        return vm

    def add_interface(self, client, router, subnet):
        return client.request('PUT', '/v2.0/routers/%s/add_router_interface' % router['id'],
                              {'subnet_id': subnet['id']}, expect=200)[1]

    def remove_interface(self, client, router, subnet):
        return client.request('PUT', '/v2.0/routers/%s/remove_router_interface'
                              % router['id'], {'subnet_id': subnet['id']}, expect=200)[1]

    def subnet_route(self, client, sub1, sub2):
        return client.request('POST', '/v2.0/subnet-routes', {'subnet_route': {
            'subnet_ids': [sub1['id'], sub2['id']]}}, expect=201)[1]['subnet_route']

    def wait_router_ports(self, env, router_id, timeout=30):
        def ok():
            ports = env.api.list('port', device_id=router_id)
            return ports and all(p['status'] == 'ACTIVE' for p in ports)
        try:
            wait_for(ok, timeout, 0.1, 'ports of router %s ACTIVE' % router_id)
        except TimeoutError as e:
            raise AssertionError('%s\n%s' % (e, env.logs()))

    def assertPings(self, env, ns, address, timeout=20):
        if not can_ping(ns, address, timeout):
            self.fail('%s cannot ping %s\n%s' % (ns, address, env.logs()))

    def assertNoPing(self, ns, address, seconds=2):
        self.assertFalse(ping(ns, address, count=seconds, timeout=1),
                         '%s reached %s' % (ns, address))

    def assertCut(self, env, ns, address, timeout=10):
        """Traffic from ``ns`` to ``address`` stops within ``timeout``."""
        wait_for(lambda: not ping(ns, address), timeout, 0.1,
                 '%s no longer reaching %s' % (ns, address))
        self.assertNoPing(ns, address)

    def external(self, env):
        """The outside world and the flat router:external network on it."""
        outside = self.useFixture(OutsideWorld(env))
        net = env.api.create('network', name=env.prefix + '-public',
                             project_id='admin-' + env.prefix,
                             **{'router:external': True, 'shared': False,
                                'provider:network_type': 'flat',
                                'provider:physical_network': EXT_PHYSNET})
        subnet = env.api.create('subnet', network_id=net['id'], ip_version=4,
                                cidr=EXT_CIDR, gateway_ip=EXT_GATEWAY, enable_dhcp=False,
                                allocation_pools=[{'start': '203.0.113.10',
                                                   'end': '203.0.113.99'}],
                                project_id=net['project_id'])
        return outside, net, subnet

    # -- the tests

    def test_router_routes_between_networks_of_a_project(self):
        env = self.make_l3_env()
        h1, h2 = env.hosts
        a = env.client(TENANT_A)
        net1, sub1 = self.network(env, TENANT_A, '10.10.1.0/24')
        net2, sub2 = self.network(env, TENANT_A, '10.10.2.0/24')
        router = a.create('router', name='ra')
        for subnet in (sub1, sub2):
            self.add_interface(a, router, subnet)
        a1 = self.vm(env, h1, net1, sub1, '10.10.1.10')
        a2 = self.vm(env, h2, net2, sub2, '10.10.2.20')
        # Another project, the very same CIDRs, its own router.
        b = env.client(TENANT_B)
        net3, sub3 = self.network(env, TENANT_B, '10.10.1.0/24')
        net4, sub4 = self.network(env, TENANT_B, '10.10.2.0/24')
        router_b = b.create('router', name='rb')
        for subnet in (sub3, sub4):
            self.add_interface(b, router_b, subnet)
        b1 = self.vm(env, h2, net3, sub3, '10.10.1.10')
        b2 = self.vm(env, h1, net4, sub4, '10.10.2.30')
        for vm in (a1, a2, b1, b2):
            env.wait_port_status(vm.port['id'])
        self.wait_router_ports(env, router['id'])
        self.wait_router_ports(env, router_b['id'])
        agents = {r['id']: r for r in env.api.list('agent', agent_type='NaaS L3 agent')}
        self.assertEqual(2, len(agents))

        self.assertPings(env, a1.namespace, '10.10.2.20')
        self.assertPings(env, a2.namespace, '10.10.1.10')
        self.assertPings(env, b1.namespace, '10.10.2.30')
        self.assertPings(env, b2.namespace, '10.10.1.10')
        # Each project reaches its own VMs only: B's 10.10.2.30 is not on
        # A's network, A's 10.10.2.20 not on B's.
        self.assertNoPing(a1.namespace, '10.10.2.30')
        self.assertNoPing(b1.namespace, '10.10.2.20')
        # The router's namespace is on the host of its L3 agent, with IP
        # forwarding on there and nowhere else.
        ns = [n for n in fullstack.netns_list() if n.endswith('-router-' + router['id'][:11])]
        self.assertEqual(1, len(ns), fullstack.netns_list())
        self.assertTrue(ns[0].startswith(env.prefix + '-h'))
        self.assertEqual('1', fullstack.netns_exec(
            ns[0], ['cat', '/proc/sys/net/ipv4/ip_forward']).strip())
        for host in (h1, h2):
            self.assertEqual('0', host.exec(
                ['cat', '/proc/sys/net/ipv4/ip_forward']).strip())

        # Removing an interface cuts the traffic.
        self.remove_interface(a, router, sub2)
        self.assertCut(env, a1.namespace, '10.10.2.20')
        self.assertPings(env, b1.namespace, '10.10.2.30')
        # And adding it back restores it.
        self.add_interface(a, router, sub2)
        self.assertPings(env, a1.namespace, '10.10.2.20')

    def test_ipv6_routing(self):
        """IPv6 subnets routed by a router; the VMs (static addresses) learn
        their default route from the router's advertisements."""
        env = self.make_l3_env()
        h1, h2 = env.hosts
        a = env.client(TENANT_A)
        subnets, vms = [], []
        for i, host in ((1, h1), (2, h2)):
            net = a.create('network', name=env.prefix + '-v6')
            cidr = '2001:db8:%d::/64' % i
            subnet = a.create('subnet', network_id=net['id'], ip_version=6, cidr=cidr,
                              enable_dhcp=False)
            env.cidr_of[subnet['id']] = cidr
            subnets.append(subnet)
            vms.append(env.boot_vm(host, net, '2001:db8:%d::10' % i))
        router = a.create('router', name='r6')
        for subnet in subnets:
            self.add_interface(a, router, subnet)
        for vm in vms:
            env.wait_port_status(vm.port['id'])
        self.wait_router_ports(env, router['id'])
        self.assertPings(env, vms[0].namespace, '2001:db8:2::10', timeout=30)
        self.assertPings(env, vms[1].namespace, '2001:db8:1::10')
        route = fullstack.ip('-6', 'route', 'show', 'default', ns=vms[0].namespace)
        self.assertIn('proto ra', route)
        # A VM that comes later solicits, and is answered at once.
        net1 = env.api.show('network', subnets[0]['network_id'])
        late = env.boot_vm(h2, net1, '2001:db8:1::30')
        env.wait_port_status(late.port['id'])
        self.assertPings(env, late.namespace, '2001:db8:2::10', timeout=8)
        self.remove_interface(a, router, subnets[1])
        self.assertCut(env, vms[0].namespace, '2001:db8:2::10')

    def test_extra_routes(self):
        env = self.make_l3_env()
        h1, h2 = env.hosts
        a = env.client(TENANT_A)
        net1, sub1 = self.network(env, TENANT_A, '10.11.1.0/24')
        net2, sub2 = self.network(env, TENANT_A, '10.11.2.0/24')
        router = a.create('router', name='r')
        self.add_interface(a, router, sub1)
        self.add_interface(a, router, sub2)
        a1 = self.vm(env, h1, net1, sub1, '10.11.1.10')
        # A VM that routes 192.168.77.0/24 (an address on its loopback): it
        # answers from an address not its port's, so port security is off.
        gw = env.boot_vm(h2, net2, port=env.create_port(
            net2, h2, '10.11.2.20', port_security_enabled=False))
        gw.exec(['ip', 'route', 'replace', 'default', 'via', sub2['gateway_ip']])
        gw.exec(['ip', 'addr', 'add', '192.168.77.1/32', 'dev', 'lo'])
        env.wait_port_status(a1.port['id'])
        env.wait_port_status(gw.port['id'])
        self.assertNoPing(a1.namespace, '192.168.77.1')
        a.update('router', router['id'],
                 routes=[{'destination': '192.168.77.0/24', 'nexthop': '10.11.2.20'}])
        self.assertPings(env, a1.namespace, '192.168.77.1')
        a.update('router', router['id'], routes=[])
        self.assertCut(env, a1.namespace, '192.168.77.1')
        # A router administratively down routes nothing; up again, it does.
        self.assertPings(env, a1.namespace, '10.11.2.20')
        a.update('router', router['id'], admin_state_up=False)
        self.assertCut(env, a1.namespace, '10.11.2.20')
        a.update('router', router['id'], admin_state_up=True)
        self.assertPings(env, a1.namespace, '10.11.2.20')

    def test_subnet_routes(self):
        env = self.make_l3_env()
        h1, h2 = env.hosts
        a = env.client(TENANT_A)
        net1, sub1 = self.network(env, TENANT_A, '10.20.1.0/24')
        net2, sub2 = self.network(env, TENANT_A, '10.20.2.0/24')
        net3, sub3 = self.network(env, TENANT_A, '10.20.3.0/24')
        a1 = self.vm(env, h1, net1, sub1, '10.20.1.10')
        a2 = self.vm(env, h2, net2, sub2, '10.20.2.20')
        a3 = self.vm(env, h2, net3, sub3, '10.20.3.30')
        for vm in (a1, a2, a3):
            env.wait_port_status(vm.port['id'])
        self.assertNoPing(a1.namespace, '10.20.2.20')
        r12 = self.subnet_route(a, sub1, sub2)
        r23 = self.subnet_route(a, sub2, sub3)
        self.assertPings(env, a1.namespace, '10.20.2.20')
        self.assertPings(env, a2.namespace, '10.20.1.10')
        self.assertPings(env, a3.namespace, '10.20.2.20')
        # 1 and 3 are both on the project's hidden router, not paired.
        self.assertNoPing(a1.namespace, '10.20.3.30')
        self.assertNoPing(a3.namespace, '10.20.1.10')
        # Deleting a subnet-route cuts its traffic, and only its.
        a.request('DELETE', '/v2.0/subnet-routes/%s' % r12['id'], expect=204)
        self.assertCut(env, a1.namespace, '10.20.2.20')
        self.assertPings(env, a3.namespace, '10.20.2.20')
        a.request('DELETE', '/v2.0/subnet-routes/%s' % r23['id'], expect=204)
        self.assertCut(env, a3.namespace, '10.20.2.20')
        # No hidden router is left on any host.
        wait_for(lambda: not [n for n in fullstack.netns_list()
                              if n.startswith(env.prefix) and '-router-' in n],
                 10, 0.1, 'router namespaces gone')

    def test_subnet_route_with_a_router_on_the_subnet(self):
        """A user's router holds subnet 1's gateway: it gets a route to the
        peer subnet via the hidden router's address on subnet 1."""
        env = self.make_l3_env()
        h1, h2 = env.hosts
        a = env.client(TENANT_A)
        net1, sub1 = self.network(env, TENANT_A, '10.21.1.0/24')
        net2, sub2 = self.network(env, TENANT_A, '10.21.2.0/24')
        router = a.create('router', name='r')
        self.add_interface(a, router, sub1)
        a1 = self.vm(env, h1, net1, sub1, '10.21.1.10')
        a2 = self.vm(env, h2, net2, sub2, '10.21.2.20')
        for vm in (a1, a2):
            env.wait_port_status(vm.port['id'])
        sr = self.subnet_route(a, sub1, sub2)
        self.assertPings(env, a1.namespace, '10.21.2.20')
        self.assertPings(env, a2.namespace, '10.21.1.10')
        a.request('DELETE', '/v2.0/subnet-routes/%s' % sr['id'], expect=204)
        self.assertCut(env, a1.namespace, '10.21.2.20')

    def test_external_gateway_snat_and_floating_ips(self):
        env = self.make_l3_env()
        h1, h2 = env.hosts
        outside, ext, ext_sub = self.external(env)
        self.useFixture(EchoServer(outside.namespace, 'outside'))
        a = env.client(TENANT_A)
        net1, sub1 = self.network(env, TENANT_A, '10.40.1.0/24')
        router = a.create('router', name='r')
        self.add_interface(a, router, sub1)
        router = a.update('router', router['id'],
                          external_gateway_info={'network_id': ext['id']})
        gw_ip = router['external_gateway_info']['external_fixed_ips'][0]['ip_address']
        self.assertTrue(router['external_gateway_info']['enable_snat'])
        v1 = self.vm(env, h2, net1, sub1, '10.40.1.10')
        v2 = self.vm(env, h1, net1, sub1, '10.40.1.20')
        for vm in (v1, v2):
            env.wait_port_status(vm.port['id'])
            self.useFixture(EchoServer(vm.namespace, vm.name))
        self.wait_router_ports(env, router['id'])

        # SNAT: the outside sees the router's gateway address.
        self.assertPings(env, v1.namespace, EXT_GATEWAY)
        self.assertEqual(('outside', gw_ip), ask(v1.namespace, EXT_GATEWAY))
        # The outside cannot reach a VM's fixed address, even with a route.
        outside.route('10.40.1.0/24', gw_ip)
        self.assertNoPing(outside.namespace, '10.40.1.10')
        self.assertIsNone(ask(outside.namespace, '10.40.1.10', timeout=1))

        # A floating IP: DNAT in, SNAT out.
        fip = a.create('floatingip', floating_network_id=ext['id'],
                       port_id=v1.port['id'])
        address = fip['floating_ip_address']
        self.assertEqual(router['id'], fip['router_id'])
        self.assertPings(env, outside.namespace, address)
        self.assertEqual((v1.name, EXT_GATEWAY),
                         ask_until(outside.namespace, address, (v1.name, EXT_GATEWAY)))
        self.assertEqual(('outside', address),
                         ask_until(v1.namespace, EXT_GATEWAY, ('outside', address)))
        self.assertEqual(('outside', gw_ip),
                         ask_until(v2.namespace, EXT_GATEWAY, ('outside', gw_ip)))
        wait_for(lambda: a.show('floatingip', fip['id'])['status'] == 'ACTIVE', 10, 0.1,
                 'floating IP ACTIVE')
        # Hairpin: v2 reaches v1 through v1's floating IP.
        self.assertEqual(v1.name, (ask(v2.namespace, address) or ('?',))[0])
        self.assertNoPing(outside.namespace, '10.40.1.10')

        # Moved to v2: the outside reaches v2 there, and no longer v1.
        a.update('floatingip', fip['id'], port_id=v2.port['id'])
        wait_for(lambda: (ask(outside.namespace, address, timeout=1) or ('?',))[0]
                 == v2.name, 10, 0.2, 'floating IP moved to v2')
        self.assertEqual(('outside', gw_ip), ask(v1.namespace, EXT_GATEWAY))
        self.assertEqual(('outside', address), ask(v2.namespace, EXT_GATEWAY))

        # Disassociated: the outside no longer reaches anything through it.
        pinger = fullstack.Pinger(_NS(outside.namespace), address)
        self.addCleanup(lambda: pinger.proc.poll() is None and pinger.stop())
        a.update('floatingip', fip['id'], port_id=None)
        time.sleep(2)
        before = len(pinger.replies())
        time.sleep(2)
        self.assertEqual(before, len(pinger.replies()),
                         'a running ping still crosses a disassociated floating IP')
        pinger.stop()
        self.assertNoPing(outside.namespace, address)
        self.assertIsNone(ask(outside.namespace, address, timeout=1))
        self.assertEqual(('outside', gw_ip), ask(v2.namespace, EXT_GATEWAY))

        # enable_snat false (an administrator's setting, as in Neutron): the
        # VMs' own addresses go out (and the outside, which routes them to
        # the router, answers).
        env.api.update('router', router['id'], external_gateway_info={
            'network_id': ext['id'], 'enable_snat': False})
        wait_for(lambda: (ask(v1.namespace, EXT_GATEWAY, timeout=1) or ('?', '?'))[1]
                 == '10.40.1.10', 10, 0.2, 'no SNAT')
        # The gateway cleared: the outside is unreachable.
        a.update('router', router['id'], external_gateway_info=None)
        self.assertCut(env, v1.namespace, EXT_GATEWAY)

    def test_agent_restart_keeps_routing(self):
        """SIGKILL of the router host's agent, then a restart: no ping
        across the router is lost (no more than one), the namespace stays."""
        env = self.make_l3_env()
        h1, h2 = env.hosts
        a = env.client(TENANT_A)
        net1, sub1 = self.network(env, TENANT_A, '10.50.1.0/24')
        net2, sub2 = self.network(env, TENANT_A, '10.50.2.0/24')
        router = a.create('router', name='r')
        self.add_interface(a, router, sub1)
        self.add_interface(a, router, sub2)
        a1 = self.vm(env, h1, net1, sub1, '10.50.1.10')
        a2 = self.vm(env, h2, net2, sub2, '10.50.2.20')
        for vm in (a1, a2):
            env.wait_port_status(vm.port['id'])
        self.assertPings(env, a1.namespace, '10.50.2.20')
        host = [r['host'] for r in env.api.list('agent', agent_type='NaaS L3 agent')
                if r['configurations'].get('routers')]
        wait_for(lambda: [r['host'] for r in env.api.list('agent', agent_type='NaaS L3 agent')
                          if r['configurations'].get('routers')], 10, 0.2, 'routers reported')
        host = [r['host'] for r in env.api.list('agent', agent_type='NaaS L3 agent')
                if r['configurations'].get('routers')][0]
        agent = [ag for ag in env.agents if ag.host.name == host][0]
        ns = [n for n in fullstack.netns_list() if n.endswith('-router-' + router['id'][:11])]
        pinger = a1.start_ping('10.50.2.20', interval=0.1)
        time.sleep(1)
        agent.kill()
        time.sleep(1)
        agent.start()
        wait_for(lambda: 'router(s) reconciled' in open(agent.log_file).read(), 30, 0.2,
                 'L3 resync after restart')
        time.sleep(2)
        result = pinger.stop()
        self.assertLessEqual(result['lost'], 1, result)
        self.assertGreater(result['received'], 20, result)
        self.assertEqual(ns, [n for n in fullstack.netns_list()
                              if n.endswith('-router-' + router['id'][:11])])
        self.assertPings(env, a1.namespace, '10.50.2.20')

    def test_openstack_cli(self):
        """The `openstack` CLI, unchanged, builds a router with an external
        gateway and a floating IP; the dataplane follows."""
        if not os.path.exists(OPENSTACK_CLI):
            self.skipTest('no openstack CLI in the venv')
        env = self.make_l3_env()
        h1, h2 = env.hosts
        outside, ext, ext_sub = self.external(env)

        def cli(*args):
            cmd = [OPENSTACK_CLI, '--os-auth-type', 'none', '--os-endpoint',
                   env.server.url] + list(args)
            envvars = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, env=envvars, timeout=120)
            self.assertEqual(0, proc.returncode, 'openstack %s failed:\n%s%s'
                             % (' '.join(args), proc.stdout, proc.stderr))
            return json.loads(proc.stdout) if '-f' in args else proc.stdout

        net = cli('network', 'create', env.prefix + '-cli', '-f', 'json')
        subnet = cli('subnet', 'create', env.prefix + '-cli', '--network', net['id'],
                     '--subnet-range', '10.60.1.0/24', '--no-dhcp', '-f', 'json')
        env.cidr_of[subnet['id']] = '10.60.1.0/24'
        router = cli('router', 'create', env.prefix + '-cli', '-f', 'json')
        cli('router', 'add', 'subnet', router['id'], subnet['id'])
        cli('router', 'set', '--external-gateway', ext['id'], router['id'])
        router = cli('router', 'show', router['id'], '-f', 'json')
        gw_ip = router['external_gateway_info']['external_fixed_ips'][0]['ip_address']
        vm = self.vm(env, h2, env.api.show('network', net['id']),
                     env.api.show('subnet', subnet['id']), '10.60.1.10')
        env.wait_port_status(vm.port['id'])
        self.useFixture(EchoServer(outside.namespace, 'outside'))
        self.useFixture(EchoServer(vm.namespace, vm.name))
        self.assertPings(env, vm.namespace, EXT_GATEWAY)
        self.assertEqual(('outside', gw_ip), ask(vm.namespace, EXT_GATEWAY))

        fip = cli('floating', 'ip', 'create', ext['id'], '-f', 'json')
        address = fip['floating_ip_address']
        self.assertNoPing(outside.namespace, address)
        cli('floating', 'ip', 'set', '--port', vm.port['id'], fip['id'])
        self.assertPings(env, outside.namespace, address)
        self.assertEqual((vm.name, EXT_GATEWAY), ask(outside.namespace, address))
        cli('floating', 'ip', 'unset', '--port', fip['id'])
        self.assertCut(env, outside.namespace, address)
        self.assertEqual(('outside', gw_ip), ask(vm.namespace, EXT_GATEWAY))
        cli('floating', 'ip', 'delete', fip['id'])
        cli('router', 'unset', '--external-gateway', router['id'])
        self.assertCut(env, vm.namespace, EXT_GATEWAY)
        cli('router', 'remove', 'subnet', router['id'], subnet['id'])
        cli('router', 'delete', router['id'])
        wait_for(lambda: not [n for n in fullstack.netns_list()
                              if n.endswith('-router-' + router['id'][:11])],
                 10, 0.1, 'router namespace removed')


class _NS(object):
    """What fullstack.Pinger needs of a VM: its namespace."""

    def __init__(self, namespace):
        self.namespace = namespace


class TestL3LinuxBridge(_L3Tests, base.FullstackTestCase):
    DRIVER = 'linuxbridge'
    NETWORK_TYPE = 'vxlan'


class TestL3OpenvSwitch(_L3Tests, base.FullstackTestCase):
    DRIVER = 'openvswitch'
    NETWORK_TYPE = 'vxlan'
