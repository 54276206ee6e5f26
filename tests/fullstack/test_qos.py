"""QoS on the wire, for both L2 drivers: rates measured by iperf3, DSCP seen
by tcpdump.

Driver level: a host (tools.harness.fullstack.Host, with its private OVS
for Open vSwitch) and two VMs as namespaces on one local network, wired by
a driver instance of this process, whose ``set_port_qos`` (the hook the
agent calls, naas.agent.l2.hooks.QoS) is called with the policies the
server would put in port details.  No server, agent or broker: what is
measured is the driver's dataplane alone.

Agent level: the same through the API and an agent (service plugins
security-group and qos: the firewall is on too): a policy with bandwidth
limits both ways and a DSCP mark set on a port, kept across an agent
restart, and removed again.

Packet rate limits: 1 kpps measured with iperf3 UDP (5000 packets/s of
100 bytes sent).

Measurements: iperf3 TCP over IPv4 for 5 s (plus 1 s omitted, where the
bucket's initial burst goes), 10 Mbit/s limits, far below what the
machine forwards when loaded (Open vSwitch's userspace datapath: ~100
Mbit/s, the kernel bridge: Gbit/s; an unlimited path must be 3 times the
limit): the received rate is within 15% of the limit.
"""
import ipaddress
import json
import subprocess
import time
import uuid

import fixtures
import testtools
import testtools.content
import testtools.content_type

from naas.agent.l2 import linuxbridge
from naas.agent.l2 import openvswitch
from tests.fullstack import base
from tools.harness import fullstack

LIMIT_KBPS = 10000
TOLERANCE = 0.15
#: An unlimited path must be far above the limit for the test to mean anything.
UNLIMITED_FACTOR = 3
SECONDS = 5
LIMIT_KPPS = 1
#: UDP sent to measure a packet rate limit: 5 times the limit, small datagrams.
UDP_PPS = 5000
UDP_PAYLOAD = 100
CIDR = '10.77.0.0/24'
SUBNET = 'subnet-qos'
NETWORK = str(uuid.UUID(int=0x77))
DSCP = 26       # AF31: TOS byte 0x68
PROJECT = 'tenant-qos'


def link_local(mac):
    """The IPv6 link-local address (EUI-64) of ``mac``."""
    octets = [int(x, 16) for x in mac.split(':')]
    octets[0] ^= 2
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    return str(ipaddress.ip_address('fe80::' + ':'.join(
        '%x' % (eui[i] << 8 | eui[i + 1]) for i in range(0, 8, 2))))


def policy(*rules):
    return {'id': str(uuid.uuid4()), 'rules': list(rules)}


def bandwidth(direction, max_kbps=LIMIT_KBPS, max_burst_kbps=0):
    return {'type': 'bandwidth_limit', 'max_kbps': max_kbps,
            'max_burst_kbps': max_burst_kbps, 'direction': direction}


class _Measuring:
    """iperf3 and tcpdump between two VMs (tools.harness.fullstack.VM)."""

    def start_measuring(self):
        reason = fullstack.missing_requirements(self.DRIVER)
        for binary in ('iperf3', 'tcpdump'):
            if reason is None and subprocess.run(['which', binary],
                                                 capture_output=True).returncode:
                reason = '%s is not installed' % binary
        if reason:
            self.skipTest(reason)
        self.measured = []
        self.addDetail('iperf3', testtools.content.Content(
            testtools.content_type.UTF8_TEXT, lambda: ['\n'.join(self.measured).encode()]))

    def rate(self, sender, receiver):
        """Mbit/s that ``receiver`` gets from ``sender`` by iperf3 TCP."""
        result = self.iperf3(sender, receiver)
        mbps = result['bits_per_second'] / 1e6
        self.measured.append('%s -> %s: %.2f Mbit/s' % (sender.name, receiver.name, mbps))
        return mbps

    def packet_rate(self, sender, receiver):
        """Packets/s that ``receiver`` gets of the UDP_PPS that ``sender``
        sends (iperf3 UDP, UDP_PAYLOAD-byte datagrams)."""
        result = self.iperf3(sender, receiver, '-u', '-l', str(UDP_PAYLOAD),
                             '-b', str(UDP_PPS * UDP_PAYLOAD * 8))
        pps = result['bytes'] / UDP_PAYLOAD / result['seconds']
        self.measured.append('%s -> %s: %.0f packets/s' % (sender.name, receiver.name, pps))
        return pps

    def iperf3(self, sender, receiver, *options):
        """iperf3's sum_received (TCP unless ``options`` say otherwise)."""
        server = subprocess.Popen(
            ['ip', 'netns', 'exec', receiver.namespace, 'iperf3', '-s', '-4',
             '-B', receiver.ip_address], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.addCleanup(server.kill)
        deadline = time.monotonic() + 10
        while True:
            proc = subprocess.run(
                ['ip', 'netns', 'exec', sender.namespace, 'iperf3', '-c',
                 receiver.ip_address, '-4', '-t', str(SECONDS), '-O', '1', '-J']
                + list(options),
                capture_output=True, text=True, timeout=SECONDS + 30)
            try:
                result = json.loads(proc.stdout)['end']['sum_received']
                break
            except (ValueError, KeyError):
                if time.monotonic() > deadline:   # else: the server is not up yet
                    self.fail('iperf3 failed: %s %s' % (proc.stdout[-2000:],
                                                       proc.stderr[-2000:]))
                time.sleep(0.2)
        server.kill()
        server.wait(10)
        return result

    def assertLimited(self, mbps):
        self.assertWithin(mbps, LIMIT_KBPS / 1000.0)

    def assertWithin(self, measured, limit):
        self.assertTrue(limit * (1 - TOLERANCE) <= measured <= limit * (1 + TOLERANCE),
                        '%.2f is not within %d%% of %.1f' % (measured, TOLERANCE * 100, limit))

    def assertUnlimited(self, mbps):
        self.assertGreater(mbps, LIMIT_KBPS / 1000.0 * UNLIMITED_FACTOR)

    def captured_tos(self, sender, receiver, ipv6=False):
        """tcpdump -v in ``receiver`` of ICMP (ICMPv6 to its link-local
        address) echo requests from ``sender``."""
        dump = subprocess.Popen(
            ['ip', 'netns', 'exec', receiver.namespace, 'tcpdump', '-l', '-n', '-v',
             '-i', 'eth0', '-c', '2',
             'icmp6 and ip6[40] == 128' if ipv6 else 'icmp[icmptype] == icmp-echo'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(dump.kill)
        time.sleep(1)        # tcpdump listening
        if ipv6:
            sender.exec(['busybox', 'ping', '-6', '-c', '2', '-W', '2', '-I', 'eth0',
                         link_local(receiver.mac)], check=False)
        else:
            sender.ping(receiver.ip_address, count=2)
        try:
            out, _ = dump.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            dump.kill()
            out, _ = dump.communicate()
        self.addDetail('tcpdump', testtools.content.text_content(out))
        return out


class _DriverQoSTests(_Measuring):
    """A host and two VMs wired by a driver of this process."""

    def setUp(self):
        super().setUp()
        self.start_measuring()
        self.useFixture(fixtures.Timeout(240, gentle=True))
        prefix = fullstack.new_prefix()
        underlay = self.useFixture(fullstack.Underlay(prefix))
        self.host = self.useFixture(fullstack.Host(
            underlay, 1, driver=self.DRIVER, base_dir=self.useFixture(
                fixtures.TempDir()).path))
        self.driver = self.make_driver()
        self.addCleanup(self.driver.cleanup_all)
        self.driver.setup()
        self.vm_a = self.boot('%s-vma' % prefix, '10.77.0.10')
        self.vm_b = self.boot('%s-vmb' % prefix, '10.77.0.20')
        details = [self.details(vm) for vm in (self.vm_a, self.vm_b)]
        self.driver.scan_vifs()
        self.driver.reconcile(details)
        for d in details:
            self.driver.wire(d)
        self.assertTrue(self.vm_a.can_ping(self.vm_b.ip_address, timeout=20),
                        'the VMs do not reach each other')

    def boot(self, name, address):
        port = {'id': str(uuid.uuid4()), 'mac_address': 'fa:16:3e:77:00:%02x' % (
            int(address.rsplit('.', 1)[1])), 'binding:vif_type': self.VIF_TYPE,
            'fixed_ips': [{'ip_address': address, 'subnet_id': SUBNET}]}
        return self.useFixture(fullstack.VM(self.host, port, name, cidr_of={SUBNET: CIDR}))

    @staticmethod
    def details(vm):
        return {'port_id': vm.port['id'], 'network_id': NETWORK,
                'mac_address': vm.mac, 'admin_state_up': True, 'mtu': 1500,
                'network_type': 'local', 'physical_network': None,
                'segmentation_id': None, 'fixed_ips': vm.port['fixed_ips'],
                'device_owner': 'compute:nova', 'endpoints': []}

    def test_bandwidth_limit_each_direction_and_removal(self):
        a, b = self.vm_a, self.vm_b
        self.assertUnlimited(self.rate(a, b))
        # egress: what leaves VM a.
        self.driver.set_port_qos(a.port['id'], policy(bandwidth('egress')))
        self.assertLimited(self.rate(a, b))
        self.assertUnlimited(self.rate(b, a))
        # ingress: what reaches VM a (the egress rule gone with the policy change).
        self.driver.set_port_qos(a.port['id'], policy(bandwidth('ingress')))
        self.assertLimited(self.rate(b, a))
        self.assertUnlimited(self.rate(a, b))
        # No policy: both directions at full speed again.
        self.driver.set_port_qos(a.port['id'], None)
        self.assertUnlimited(self.rate(b, a))
        self.assertUnlimited(self.rate(a, b))

    def test_packet_rate_limit_each_direction_and_removal(self):
        a, b = self.vm_a, self.vm_b
        rule = {'type': 'packet_rate_limit', 'max_kpps': LIMIT_KPPS, 'max_burst_kpps': 0}
        self.driver.set_port_qos(a.port['id'], policy(dict(rule, direction='egress')))
        self.assertWithin(self.packet_rate(a, b), LIMIT_KPPS * 1000)
        self.driver.set_port_qos(a.port['id'], policy(dict(rule, direction='ingress')))
        self.assertWithin(self.packet_rate(b, a), LIMIT_KPPS * 1000)
        self.driver.set_port_qos(a.port['id'], None)
        self.assertWithin(self.packet_rate(b, a), UDP_PPS)

    def test_dscp_marking_seen_on_the_wire(self):
        a, b = self.vm_a, self.vm_b
        self.driver.set_port_qos(a.port['id'], policy(
            {'type': 'dscp_marking', 'dscp_mark': DSCP}))
        self.assertIn('tos 0x68', self.captured_tos(a, b))
        self.assertIn('class 0x68', self.captured_tos(a, b, ipv6=True))
        self.driver.set_port_qos(a.port['id'], None)
        self.assertIn('tos 0x0,', self.captured_tos(a, b))
        unmarked = self.captured_tos(a, b, ipv6=True)
        self.assertIn('ICMP6, echo request', unmarked)
        self.assertNotIn('class 0x', unmarked)     # tcpdump shows a class that is not 0


class LinuxBridgeQoSTest(_DriverQoSTests, testtools.TestCase):
    DRIVER = 'linuxbridge'
    VIF_TYPE = 'bridge'

    def make_driver(self):
        driver = linuxbridge.LinuxBridgeDriver(base.driver_conf(self.host.namespace))
        self.addCleanup(driver.close)
        return driver


class OpenvSwitchQoSTest(_DriverQoSTests, testtools.TestCase):
    DRIVER = 'openvswitch'
    VIF_TYPE = 'ovs'

    def make_driver(self):
        return openvswitch.OpenvSwitchDriver(base.driver_conf(
            self.host.namespace, ovsdb_connection=self.host.ovs.db_connection,
            datapath_type='netdev'))


class _AgentQoSTests(_Measuring):
    """A policy through the API: the agent applies it (hooks.QoS)."""

    def test_policy_of_a_port_through_the_api(self):
        self.start_measuring()
        env = self.make_env(hosts=1, server_options={
            'DEFAULT': {'service_plugins': 'router,security-group,qos'}})
        rule_types = {r['type'] for r in env.api.get('/v2.0/qos/rule-types')['rule_types']}
        self.assertEqual({'bandwidth_limit', 'dscp_marking', 'packet_rate_limit'}, rule_types)
        net, _ = env.create_network(PROJECT, '10.78.0.0/24')
        a = env.boot_vm(env.hosts[0], net, '10.78.0.10')
        b = env.boot_vm(env.hosts[0], net, '10.78.0.20')
        for vm in (a, b):
            env.wait_port_status(vm.port['id'])
        self.assertTrue(a.can_ping(b.ip_address, timeout=20), env.logs())
        self.assertUnlimited(self.rate(a, b))

        client = env.client(PROJECT)
        qos_policy = client.request('POST', '/v2.0/qos/policies', {'policy': {
            'name': 'limit'}}, expect=201)[1]['policy']
        rules = '/v2.0/qos/policies/%s/' % qos_policy['id']
        for direction in ('egress', 'ingress'):
            client.request('POST', rules + 'bandwidth_limit_rules', {'bandwidth_limit_rule': {
                'max_kbps': LIMIT_KBPS, 'direction': direction}}, expect=201)
        client.request('POST', rules + 'dscp_marking_rules', {'dscp_marking_rule': {
            'dscp_mark': DSCP}}, expect=201)
        env.api.update('port', a.port['id'], qos_policy_id=qos_policy['id'])
        self.assertEventually(lambda: 'tos 0x68' in self.captured_tos(a, b))
        self.assertLimited(self.rate(a, b))
        self.assertLimited(self.rate(b, a))
        # An agent restart finds it on the host and keeps it.
        env.agents[0].restart()
        time.sleep(3)       # started and resynced (the poll loop runs every 0.2 s)
        self.assertIn('tos 0x68', self.captured_tos(a, b))
        self.assertLimited(self.rate(a, b))

        env.api.update('port', a.port['id'], qos_policy_id=None)
        self.assertEventually(lambda: 'tos 0x0,' in self.captured_tos(a, b))
        self.assertUnlimited(self.rate(a, b))
        self.assertUnlimited(self.rate(b, a))

    def assertEventually(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail('not so after %d s' % timeout)
            time.sleep(0.5)


class LinuxBridgeAgentQoSTest(_AgentQoSTests, base.FullstackTestCase):
    DRIVER = 'linuxbridge'


class OpenvSwitchAgentQoSTest(_AgentQoSTests, base.FullstackTestCase):
    DRIVER = 'openvswitch'
