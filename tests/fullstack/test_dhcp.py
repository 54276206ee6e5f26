"""DHCP: dnsmasq per network in a namespace of the DHCP host, busybox
udhcpc in the VMs (naas.agent.dhcp, naas.plugins.l2.dhcp).

Both agents run with ``[agent] enable_dhcp``; each network goes to one of
them (dhcp_agents_per_network 1) and the VMs of a test boot on the other
host, so every lease crosses the overlay.  The VMs are plugged without a
static address: udhcpc configures them with a script (written into the
test's temporary directory) that sets the address, the MTU, the routes
(classless static routes, else the router) and writes the DNS servers to a
resolv file beside it, never to the machine's /etc/resolv.conf.
"""
import ipaddress
import json
import os
import signal
import subprocess
import time

import fixtures

from tools.harness import fullstack
from tools.harness.dhcp import UDHCPC_SCRIPT
from tools.harness.servers import wait_for
from tests.fullstack import base

TENANT = 'tenant-dhcp'
LEASE = 120          # the shortest lease dnsmasq gives


class Udhcpc(object):
    """busybox udhcpc running in a VM (foreground, as a child of the test;
    killed with the VM's namespace at cleanup at the latest)."""

    def __init__(self, vm, directory):
        self.vm = vm
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.script = os.path.join(directory, 'udhcpc.sh')
        with open(self.script, 'w') as f:
            f.write(UDHCPC_SCRIPT)
        os.chmod(self.script, 0o755)
        self.events = os.path.join(directory, 'events')
        self.log = open(os.path.join(directory, 'udhcpc.log'), 'ab')
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', vm.namespace, 'busybox', 'udhcpc', '-f',
             '-i', 'eth0', '-s', self.script, '-t', '60', '-T', '1', '-A', '1',
             '-O', 'staticroutes', '-O', 'mtu'],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()

    def lines(self, event=None):
        try:
            with open(self.events) as f:
                out = f.read().splitlines()
        except FileNotFoundError:
            return []
        return [line for line in out if event is None or line.split()[0] == event]

    def renew(self):
        """SIGUSR1: renew the lease now (what its timer does at half time)."""
        self.proc.send_signal(signal.SIGUSR1)

    def resolv(self):
        try:
            with open(os.path.join(self.dir, 'resolv.conf')) as f:
                return f.read()
        except FileNotFoundError:
            return ''


class _DhcpTests(object):

    def _env(self):
        self.state = self.useFixture(fixtures.TempDir()).path
        env = self.make_env(agent_options={
            'DEFAULT': {'state_path': self.state},
            'agent': {'enable_dhcp': True, 'dhcp_lease_duration': LEASE}})
        return env

    def _network(self, env, subnets):
        net = env.api.create('network', name=env.prefix + '-dhcp', project_id=TENANT)
        made = [env.api.create('subnet', network_id=net['id'], project_id=TENANT, **s)
                for s in subnets]
        for s in made:
            env.cidr_of[s['id']] = s['cidr']
        return net, made

    def _dhcp_port(self, env, net, status='ACTIVE', timeout=30):
        """The network's DHCP port, once its VIF is wired (status)."""
        def ready():
            ports = env.api.list('port', network_id=net['id'],
                                 device_owner='network:dhcp')
            return ports[0] if len(ports) == 1 and ports[0]['status'] == status else None
        try:
            return wait_for(ready, timeout, 0.1, 'DHCP port of %s %s' % (net['id'], status))
        except TimeoutError as e:
            raise AssertionError('%s\n%s' % (e, env.logs()))

    def _host(self, env, name):
        return next(h for h in env.hosts if h.name == name)

    def _other(self, env, host_name):
        return next(h for h in env.hosts if h.name != host_name)

    def _dhcp_dir(self, host, net):
        return os.path.join(self.state, 'dhcp', '%s-dhcp-%s' % (host.namespace, net['id'][:11]))

    def _read(self, path):
        try:
            with open(path) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def _wait_host_entry(self, env, dhcp_host, net, port, address):
        hosts = os.path.join(self._dhcp_dir(dhcp_host, net), 'host')
        entry = '%s,' % port['mac_address']
        try:
            wait_for(lambda: any(line.startswith(entry) and line.endswith(',' + address)
                                 for line in self._read(hosts).splitlines()),
                     30, 0.05, 'host entry %s %s' % (entry, address))
        except TimeoutError as e:
            raise AssertionError('%s\n%s\n%s' % (e, self._read(hosts), env.logs()))

    def _vm(self, env, host, net, port):
        vm = env.boot_vm(host, net, port=port, configure_ip=False)
        if host.ovs is not None:
            from tools.harness import ovs_host
            ovs_host.disable_tx_offload(vm.namespace, 'eth0')
        env.wait_port_status(port['id'])
        return vm

    def _udhcpc(self, vm):
        client = Udhcpc(vm, os.path.join(self.state, 'vm-' + vm.name))
        self.addCleanup(client.stop)
        return client

    def _addresses(self, vm, family='-4'):
        out = fullstack.ip('-j', family, 'addr', 'show', 'dev', 'eth0', ns=vm.namespace)
        return ['%s/%s' % (a['local'], a['prefixlen'])
                for link in json.loads(out or '[]') for a in link.get('addr_info', [])
                if a.get('scope') == 'global' and not a.get('tentative')]

    def _wait_address(self, env, vm, cidr, client=None, family='-4', timeout=30):
        try:
            # The address, and the script that set it has finished (routes).
            wait_for(lambda: self._addresses(vm, family) == [cidr] and (
                client is None or client.lines()[-1:] in (['done bound'], ['done renew'])),
                timeout, 0.05, '%s has %s' % (vm.name, cidr))
        except TimeoutError as e:
            raise AssertionError('%s: has %s; udhcpc events %s\n%s' % (
                e, self._addresses(vm, family), client.lines() if client else '-',
                env.logs()))

    def _routes(self, vm):
        out = fullstack.ip('-j', '-4', 'route', 'show', 'dev', 'eth0', ns=vm.namespace)
        return {r['dst']: r.get('gateway') for r in json.loads(out or '[]')}

    # -- tests

    def test_vm_gets_its_port_address_gateway_dns_routes_and_mtu(self):
        env = self._env()
        net, (subnet,) = self._network(env, [dict(
            ip_version=4, cidr='10.50.0.0/24', gateway_ip='10.50.0.1',
            dns_nameservers=['10.50.0.53', '10.50.0.54'],
            host_routes=[{'destination': '10.60.0.0/24', 'nexthop': '10.50.0.254'}])])
        dhcp_port = self._dhcp_port(env, net)
        # The DHCP port is a real port: in the API, on the DHCP host, with
        # an address on the subnet.
        self.assertEqual('dhcp-' + dhcp_port['binding:host_id'], dhcp_port['device_id'])
        self.assertIn(dhcp_port['binding:host_id'], [h.name for h in env.hosts])
        self.assertEqual([subnet['id']], [ip['subnet_id'] for ip in dhcp_port['fixed_ips']])
        dhcp_host = self._host(env, dhcp_port['binding:host_id'])
        vm_host = self._other(env, dhcp_host.name)
        port = env.create_port(net, vm_host)
        address = port['fixed_ips'][0]['ip_address']
        self._wait_host_entry(env, dhcp_host, net, port, address)
        vm = self._vm(env, vm_host, net, port)
        t0 = time.monotonic()
        client = self._udhcpc(vm)
        self._wait_address(env, vm, address + '/24', client)
        self.record('dhcp_lease_s', seconds=round(time.monotonic() - t0, 3))
        # Gateway as the default route (classless static routes carry it,
        # with the host route), the DNS servers, the network's MTU.
        routes = self._routes(vm)
        self.assertEqual('10.50.0.1', routes.get('default'), routes)
        self.assertEqual('10.50.0.254', routes.get('10.60.0.0/24'), routes)
        self.assertEqual('nameserver 10.50.0.53\nnameserver 10.50.0.54\n', client.resolv())
        mtu = json.loads(fullstack.ip('-j', 'link', 'show', 'eth0', ns=vm.namespace))[0]['mtu']
        self.assertEqual(net['mtu'], mtu)
        bound = client.lines('bound')[-1]
        self.assertIn('router=10.50.0.1', bound)
        # The VM reaches the DHCP port across the overlay with that address.
        self.assertTrue(vm.can_ping(dhcp_port['fixed_ips'][0]['ip_address']),
                        env.logs())

    def test_no_gateway_no_router(self):
        env = self._env()
        net, _ = self._network(env, [dict(ip_version=4, cidr='10.51.0.0/24',
                                          gateway_ip=None)])
        dhcp_port = self._dhcp_port(env, net)
        dhcp_host = self._host(env, dhcp_port['binding:host_id'])
        vm_host = self._other(env, dhcp_host.name)
        port = env.create_port(net, vm_host)
        address = port['fixed_ips'][0]['ip_address']
        self._wait_host_entry(env, dhcp_host, net, port, address)
        vm = self._vm(env, vm_host, net, port)
        client = self._udhcpc(vm)
        self._wait_address(env, vm, address + '/24', client)
        self.assertNotIn('default', self._routes(vm))
        self.assertIn('router= ', client.lines('bound')[-1])

    def test_fixed_ip_change_is_seen_at_renewal(self):
        env = self._env()
        net, (subnet,) = self._network(env, [dict(
            ip_version=4, cidr='10.52.0.0/24', gateway_ip='10.52.0.1')])
        dhcp_port = self._dhcp_port(env, net)
        dhcp_host = self._host(env, dhcp_port['binding:host_id'])
        vm_host = self._other(env, dhcp_host.name)
        port = env.create_port(net, vm_host)
        old = port['fixed_ips'][0]['ip_address']
        self._wait_host_entry(env, dhcp_host, net, port, old)
        vm = self._vm(env, vm_host, net, port)
        client = self._udhcpc(vm)
        self._wait_address(env, vm, old + '/24', client)
        new = '10.52.0.77'
        t0 = time.monotonic()
        port = env.api.update('port', port['id'],
                              fixed_ips=[{'subnet_id': subnet['id'], 'ip_address': new}])
        self.assertEqual(new, port['fixed_ips'][0]['ip_address'])
        self._wait_host_entry(env, dhcp_host, net, port, new)
        reload_s = time.monotonic() - t0
        # The VM keeps its address until its lease is renewed (at half the
        # lease time, or now: SIGUSR1); dnsmasq then refuses the old address
        # (NAK) and the VM takes the new one.
        self.assertEqual([old + '/24'], self._addresses(vm))
        client.renew()
        self._wait_address(env, vm, new + '/24', client)
        self.record('dhcp_fixed_ip_change', reload_s=round(reload_s, 3),
                    renewed_s=round(time.monotonic() - t0, 3))
        self.assertTrue(client.lines('nak') or len(client.lines('bound')) >= 2,
                        client.lines())
        self.assertTrue(vm.can_ping(dhcp_port['fixed_ips'][0]['ip_address']))

    def test_slaac_vm_gets_the_eui64_address_the_api_shows(self):
        env = self._env()
        net, (subnet,) = self._network(env, [dict(
            ip_version=6, cidr='2001:db8:50::/64', ipv6_ra_mode='slaac',
            ipv6_address_mode='slaac')])
        dhcp_port = self._dhcp_port(env, net)
        dhcp_host = self._host(env, dhcp_port['binding:host_id'])
        vm_host = self._other(env, dhcp_host.name)
        port = env.create_port(net, vm_host)
        address = port['fixed_ips'][0]['ip_address']
        mac = port['mac_address']
        # EUI-64 of the MAC, as the API says.
        octets = [int(b, 16) for b in mac.split(':')]
        octets[0] ^= 2
        eui = octets[:3] + [0xff, 0xfe] + octets[3:]
        expected = ipaddress.ip_address(int(ipaddress.ip_address('2001:db8:50::')) |
                                        int.from_bytes(bytes(eui), 'big'))
        self.assertEqual(str(expected), address)
        vm = self._vm(env, vm_host, net, port)
        t0 = time.monotonic()
        # The VM takes router advertisements (the default for a host).
        vm.exec(['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_ra=1',
                 'net.ipv6.conf.eth0.autoconf=1'])
        self._wait_address(env, vm, address + '/64', family='-6', timeout=60)
        self.record('slaac_address_s', seconds=round(time.monotonic() - t0, 3))
        self.assertTrue(vm.can_ping(dhcp_port['fixed_ips'][0]['ip_address']),
                        env.logs())

    def test_agent_restart_keeps_dnsmasq_and_removes_stale(self):
        env = self._env()
        net, (subnet,) = self._network(env, [dict(
            ip_version=4, cidr='10.53.0.0/24', gateway_ip='10.53.0.1')])
        dhcp_port = self._dhcp_port(env, net)
        dhcp_host = self._host(env, dhcp_port['binding:host_id'])
        agent = next(a for a in env.agents if a.host is dhcp_host)
        pidfile = os.path.join(self._dhcp_dir(dhcp_host, net), 'pid')
        wait_for(lambda: self._read(pidfile).strip(), 30, 0.05, 'dnsmasq pid')
        pid = int(self._read(pidfile))
        # A namespace left by a network that is no longer scheduled here.
        stale = '%s-dhcp-0123456789a' % dhcp_host.namespace
        fullstack.run(['ip', 'netns', 'add', stale])
        self.addCleanup(fullstack.delete_netns, stale)
        agent.restart()
        wait_for(lambda: stale not in fullstack.netns_list(), 30, 0.1,
                 'stale DHCP namespace removed')
        self.assertEqual(pid, int(self._read(pidfile)))
        self.assertTrue(os.path.exists('/proc/%d' % pid))
        # And it still serves (a new port after the restart).
        vm_host = self._other(env, dhcp_host.name)
        port = env.create_port(net, vm_host)
        address = port['fixed_ips'][0]['ip_address']
        self._wait_host_entry(env, dhcp_host, net, port, address)
        vm = self._vm(env, vm_host, net, port)
        client = self._udhcpc(vm)
        self._wait_address(env, vm, address + '/24', client)
        self.assertEqual(pid, int(self._read(pidfile)))

    def test_dhcp_disabled_removes_port_and_namespace(self):
        env = self._env()
        net, (subnet,) = self._network(env, [dict(
            ip_version=4, cidr='10.54.0.0/24', gateway_ip='10.54.0.1')])
        dhcp_port = self._dhcp_port(env, net)
        dhcp_host = self._host(env, dhcp_port['binding:host_id'])
        ns = '%s-dhcp-%s' % (dhcp_host.namespace, net['id'][:11])
        self.assertIn(ns, fullstack.netns_list())
        env.api.update('subnet', subnet['id'], enable_dhcp=False)
        self.assertEqual([], env.api.list('port', network_id=net['id'],
                                          device_owner='network:dhcp'))
        wait_for(lambda: ns not in fullstack.netns_list(), 30, 0.1,
                 'DHCP namespace %s removed' % ns)
        self.assertFalse(os.path.exists(self._dhcp_dir(dhcp_host, net)))
        # Enabled again: served again.
        env.api.update('subnet', subnet['id'], enable_dhcp=True)
        self._dhcp_port(env, net)
        wait_for(lambda: ns in fullstack.netns_list(), 30, 0.1, 'DHCP namespace back')


class TestDhcpLinuxBridge(_DhcpTests, base.FullstackTestCase):
    DRIVER = 'linuxbridge'
    NETWORK_TYPE = 'vxlan'


class TestDhcpOpenvSwitch(_DhcpTests, base.FullstackTestCase):
    DRIVER = 'openvswitch'
    NETWORK_TYPE = 'vxlan'
