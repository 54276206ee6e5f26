"""Remote-site bridges (naas.plugins.bridges) end to end, per driver.

A "remote site" (tools.harness.remote_site) is plain Linux with nothing of
NaaS: a namespace on the harness's underlay (inside the test's own
namespaces, never the root namespace) holding a kernel VXLAN device to the
bridging host's tunnel_ip and a bridge, and behind it a host namespace
(10.0.0.20N/24, fd00:a::20N/64).  A VM on the
bridged network pings the remote hosts over IPv4 and IPv6; a VM on another
network with the same addresses does not reach them; two sites hang off one
network; the agent's restart keeps the tunnel device (same ifindex, same OVS
Interface row) and the traffic; deleting a bridge cuts its site and removes exactly its device.

Physical-network bridges (Open vSwitch): a VM on a VXLAN network pings a
machine on VLAN 150 of physnet1 (tools.harness.remote_site.LanHost: a
namespace on an access port of VLAN 150 of the host's br-phys, nothing of
NaaS) once an administrator joins the network to that VLAN through the
VM's host; a VM of another network does not reach it; a member may not
create one (403); an agent restart loses at most 2 pings; deleting the
bridge cuts the machine off.

Failover (Linux bridge): the agent of a remote bridge's host is killed;
within agent_down_time and a check the bridge moves to the other host of
the network (its tunnel device appears there, status ACTIVE again), and a
VM there pings the remote site (which floods to both hosts).
"""
import time

from tools.harness import fullstack
from tools.harness import remote_site
from tools.harness.servers import wait_for
from tests.fullstack import base

PROJECT = 'tenant-a'
SERVER_OPTIONS = {'DEFAULT': {'service_plugins': 'bridges'}}


class _BridgeTests(object):

    def assertPings(self, env, vm, address, timeout=20):
        if not vm.can_ping(address, timeout=timeout):
            sites = [fullstack.ip('-s', 'link', ns=site.namespace) + fullstack.run(
                ['bridge', '-n', site.namespace, 'fdb', 'show'], check=False)
                for site in self.sites]
            self.fail('%s cannot ping %s\n%s\n%s\n%s' % (
                vm.name, address, self.switch(vm.host), '\n'.join(sites), env.logs()))

    def switch(self, host):
        """What the host's switch holds, for a failure's message."""
        if host.ovs is None:
            return host.exec(['bridge', 'fdb', 'show'], check=False)
        return '\n'.join([host.vsctl('show'), host.ovs.appctl('fdb/show', 'br-int'),
                          host.vsctl('--columns=name,statistics,error', 'list', 'Interface'),
                          host.ovs.appctl('tnl/arp/show', check=False),
                          host.ovs.appctl('ovs/route/show', check=False)]
                         + host.ovs.dump_flows('br-int') + host.ovs.dump_flows('br-underlay'))

    def create_bridge(self, env, network, site, **attrs):
        body = dict(network_id=network['id'], remote_ip=site.underlay_ip,
                    segmentation_id=site.vni, project_id=PROJECT, **attrs)
        return env.api.request('POST', '/v2.0/remote-bridges', {'remote_bridge': body},
                               expect=201)[1]['remote_bridge']

    def wait_active(self, env, bridge):
        path = '/v2.0/remote-bridges/' + bridge['id']
        wait_for(lambda: env.api.get(path)['remote_bridge']['status'] == 'ACTIVE', 30, 0.2,
                 'bridge %s ACTIVE' % bridge['id'])

    def tunnel_devices(self, host):
        """{name: identity} of the remote tunnels on the host: the kernel
        device's ifindex (Linux bridge), the OVS Interface row's uuid."""
        if host.ovs is None:
            return {name: link['ifindex'] for name, link in host.links().items()
                    if name.startswith('rvx-')}
        # One read of the table: the agent may remove a tunnel between two.
        rows = host.vsctl('--format=csv', '--data=bare', '--no-headings',
                          '--columns=name,_uuid', 'list', 'Interface').split()
        return dict(row.split(',', 1) for row in rows if row.startswith('rvx-'))

    def static_entries(self, host, device):
        """The MACs the host's switch holds statically on ``device``."""
        if host.ovs is None:
            fdb = host.exec(['bridge', 'fdb', 'show', 'dev', device])
            return {line.split()[0] for line in fdb.splitlines()
                    if ' master ' in line and line.split()[-1] == 'static'}
        ofport = host.vsctl('get', 'Interface', device, 'ofport').strip()
        return {fields[2] for fields in (
            line.split() for line in host.ovs.appctl('fdb/show', 'br-int').splitlines())
            if len(fields) == 4 and fields[0] == ofport and fields[3] == 'static'}

    def test_remote_sites(self):
        env = self.make_env(hosts=1, server_options=SERVER_OPTIONS)
        host = env.hosts[0]
        net, _ = env.create_network(PROJECT, '10.0.0.0/24')
        v6 = env.api.create('subnet', network_id=net['id'], ip_version=6,
                            cidr='fd00:a::/64', enable_dhcp=False, gateway_ip=None,
                            project_id=PROJECT)
        env.cidr_of[v6['id']] = 'fd00:a::/64'
        port = env.create_port(net, host, '10.0.0.10')
        port = env.api.update('port', port['id'], fixed_ips=port['fixed_ips'] + [
            {'subnet_id': v6['id'], 'ip_address': 'fd00:a::10'}])
        vm = env.boot_vm(host, net, port=port)
        # The VM fixture sets the port's first fixed IP (either family): both.
        vm.exec(['ip', 'addr', 'replace', '10.0.0.10/24', 'dev', 'eth0'])
        vm.exec(['ip', 'addr', 'replace', 'fd00:a::10/64', 'dev', 'eth0', 'nodad'])
        other_net, _ = env.create_network(PROJECT, '10.0.0.0/24', name=env.prefix + '-other')
        outsider = env.boot_vm(host, other_net, '10.0.0.11')
        env.wait_port_status(vm.port['id'])
        env.wait_port_status(outsider.port['id'])

        site1 = self.useFixture(remote_site.RemoteSite(env, 1, 70001, host.tunnel_ip))
        site2 = self.useFixture(remote_site.RemoteSite(env, 2, 70002, host.tunnel_ip))
        self.sites = [site1, site2]
        started = time.monotonic()
        bridge1 = self.create_bridge(env, net, site1)
        self.assertEqual(host.name, bridge1['host'])
        self.assertPings(env, vm, site1.ipv4)
        self.record('bridge create to first ping', seconds=time.monotonic() - started)
        self.wait_active(env, bridge1)
        self.assertPings(env, vm, site1.ipv6)
        self.assertFalse(outsider.ping(site1.ipv4, count=3, timeout=1),
                         'a VM of another network reached the remote site')

        # A second site on the same network, with a static entry.
        bridge2 = self.create_bridge(env, net, site2, remote_entries=[
            {'mac_address': site2.mac, 'ip_address': site2.ipv4}])
        self.assertPings(env, vm, site2.ipv4)
        self.assertPings(env, vm, site1.ipv4)
        wait_for(lambda: self.static_entries(host, 'rvx-70002') == {site2.mac}, 10, 0.2,
                 'static entry of %s on rvx-70002' % site2.mac)
        self.assertEqual(set(), self.static_entries(host, 'rvx-70001'))

        # An agent restart keeps the tunnels as they are, and the traffic.
        before = self.tunnel_devices(host)
        self.assertEqual({'rvx-70001', 'rvx-70002'}, set(before))
        pinger = vm.start_ping(site2.ipv4)
        env.agents[0].restart()
        env.wait_agents_alive()
        time.sleep(3)   # the agent's resync (reconcile_remotes, then set_remotes)
        result = pinger.stop()
        self.assertEqual(before, self.tunnel_devices(host))
        self.assertGreater(result['received'], 0, result)
        self.assertLessEqual(result['lost'], 2, 'pings lost across the agent restart: %s'
                             % result)

        # Deleting a bridge cuts its site and removes exactly its device.
        env.api.request('DELETE', '/v2.0/remote-bridges/' + bridge1['id'], expect=204)
        wait_for(lambda: 'rvx-70001' not in self.tunnel_devices(host), 20, 0.2,
                 'rvx-70001 removed')
        self.assertFalse(vm.ping(site1.ipv4, count=2, timeout=1))
        self.assertEqual({'rvx-70002': before['rvx-70002']}, self.tunnel_devices(host))
        self.assertPings(env, vm, site2.ipv4)
        self.wait_active(env, bridge2)


class TestBridgesLinuxBridge(_BridgeTests, base.FullstackTestCase):
    DRIVER = 'linuxbridge'


class TestBridgesOpenvSwitch(_BridgeTests, base.FullstackTestCase):
    DRIVER = 'openvswitch'


class TestPhysicalBridgeOpenvSwitch(base.FullstackTestCase):
    DRIVER = 'openvswitch'
    NETWORK_TYPE = 'vlan'       # hosts with physnet1 (br-phys); networks made vxlan below

    def test_vlan_of_a_physical_network(self):
        env = self.make_env(hosts=1, server_options=SERVER_OPTIONS)
        host = env.hosts[0]
        net, _ = env.create_network(PROJECT, '10.0.0.0/24', **{
            'provider:network_type': 'vxlan'})
        vm = env.boot_vm(host, net, '10.0.0.10')
        other_net, _ = env.create_network(PROJECT, '10.0.0.0/24', name=env.prefix + '-other',
                                          **{'provider:network_type': 'vxlan'})
        outsider = env.boot_vm(host, other_net, '10.0.0.11')
        env.wait_port_status(vm.port['id'])
        env.wait_port_status(outsider.port['id'])
        self.useFixture(remote_site.LanHost(env, host, 1, 150, '10.0.0.50/24'))
        self.assertFalse(vm.ping('10.0.0.50', count=2, timeout=1))

        body = {'physical_bridge': {'network_id': net['id'], 'host': host.name,
                                    'physical_network': fullstack.PHYSNET,
                                    'segmentation_id': 150}}
        env.client(PROJECT).request('POST', '/v2.0/physical-bridges', body, expect=403)
        started = time.monotonic()
        bridge = env.api.request('POST', '/v2.0/physical-bridges', body,
                                 expect=201)[1]['physical_bridge']
        if not vm.can_ping('10.0.0.50', timeout=20):
            self.fail('%s cannot reach the VLAN\n%s\n%s' % (
                vm.name, '\n'.join(host.ovs.dump_flows('br-int') + host.ovs.dump_flows(
                    fullstack.PHYS_BRIDGE)), env.logs()))
        self.record('physical bridge create to first ping',
                    seconds=time.monotonic() - started)
        path = '/v2.0/physical-bridges/' + bridge['id']
        wait_for(lambda: env.api.get(path)['physical_bridge']['status'] == 'ACTIVE', 30, 0.2,
                 'physical bridge ACTIVE')
        self.assertFalse(outsider.ping('10.0.0.50', count=3, timeout=1),
                         'a VM of another network reached the VLAN')

        # An agent restart keeps the join's flows (given to the driver
        # before its reconcile: in the new generation's first bundle).
        pinger = vm.start_ping('10.0.0.50')
        env.agents[0].restart()
        env.wait_agents_alive()
        time.sleep(3)
        result = pinger.stop()
        self.assertGreater(result['received'], 0, result)
        self.assertLessEqual(result['lost'], 2, 'pings lost across the agent restart: %s'
                             % result)

        env.api.request('DELETE', path, expect=204)
        wait_for(lambda: not vm.ping('10.0.0.50', count=1, timeout=1), 20, 0.5,
                 'the VLAN cut off after the bridge was deleted')


class TestBridgeFailoverLinuxBridge(base.FullstackTestCase):
    DRIVER = 'linuxbridge'

    def test_remote_bridge_moves_off_a_dead_host(self):
        env = self.make_env(hosts=2, server_options=SERVER_OPTIONS)
        first, second = env.hosts
        net, _ = env.create_network(PROJECT, '10.0.0.0/24')
        vm1 = env.boot_vm(first, net, '10.0.0.10')
        vm2 = env.boot_vm(second, net, '10.0.0.11')
        env.wait_port_status(vm1.port['id'])
        env.wait_port_status(vm2.port['id'])
        site = self.useFixture(remote_site.RemoteSite(env, 1, 70001, first.tunnel_ip))
        # The site floods to both hosts that may terminate the bridge.
        fullstack.run(['bridge', '-n', site.namespace, 'fdb', 'append', '00:00:00:00:00:00',
                       'dev', 'vx0', 'dst', second.tunnel_ip])
        body = {'remote_bridge': {'network_id': net['id'], 'remote_ip': site.underlay_ip,
                                  'segmentation_id': site.vni, 'host': first.name,
                                  'project_id': PROJECT}}
        bridge = env.api.request('POST', '/v2.0/remote-bridges', body,
                                 expect=201)[1]['remote_bridge']
        self.assertTrue(vm1.can_ping(site.ipv4, timeout=20), env.logs())

        env.agents[0].kill()
        killed = time.monotonic()
        path = '/v2.0/remote-bridges/' + bridge['id']
        wait_for(lambda: env.api.get(path)['remote_bridge']['host'] == second.name,
                 env.agent_down_time + 15, 0.2, 'bridge moved to %s' % second.name)
        wait_for(lambda: env.api.get(path)['remote_bridge']['status'] == 'ACTIVE', 20, 0.2,
                 'moved bridge ACTIVE')
        self.record('remote bridge failover (agent killed to ACTIVE on the other host)',
                    seconds=time.monotonic() - killed, agent_down_time=env.agent_down_time)
        self.assertIn('rvx-70001', second.links())
        self.assertTrue(vm2.can_ping(site.ipv4, timeout=20), env.logs())
