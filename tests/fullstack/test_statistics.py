"""Port, network and per-address statistics (the port-statistics extension,
naas.plugins.statistics) against traffic whose size is known, for both L2
drivers.

Each test runs naas-server with the ``statistics`` service plugin and the
agents with a one-second [statistics] report_interval, boots VMs on two
hosts of one VXLAN network, sends traffic between them and reads what the
API says, as the VMs' owner.

What the counters must show, from the VM's side (rx: what the VM received),
is computed from what the test sent:

* a ping of SIZE data bytes is a frame of ETHERNET (14) + IPV4 (20) +
  ICMP (8) + SIZE bytes; busybox ping says how many requests it sent and
  how many replies came back;
* a TCP transfer (a small Python program in the VMs, TCP_PROGRAM): each
  side's TCP stack says what it sent and received (TCP_INFO): a side sent
  tcpi_segs_out frames (retransmissions, SYN, ACKs and FIN included; the
  receiver one more, the SYN-ACK its listener sent) of tcpi_bytes_sent
  payload, and received tcpi_segs_in frames; the receiver's payload is
  what it read plus, at most, what the sender retransmitted (a segment
  that arrived twice).  Each frame has ETHERNET + IPV4 + TCP (20, + 12 with
  timestamps) bytes of headers, and the SYN and SYN-ACK 8 bytes more of
  options.  The VMs have SACK off (a lost segment would otherwise make the
  ACKs that follow longer by their SACK blocks), TX checksum offload off
  (so no TSO) and the hosts' VXLAN devices GRO off (the kernel's VXLAN
  receive path aggregates TCP segments into one large packet otherwise):
  each segment is a frame of its own on both VIFs, as the stacks count;
* what is not sent by the test: the ARP exchanges and the one warm-up ping
  of the connectivity check (the baseline may be read before an Open
  vSwitch host's interface statistics, refreshed every few seconds, show
  it) are within SLACK_PACKETS frames of SLACK_FRAME bytes; the VMs and the
  hosts' devices have IPv6 off (no DAD, router solicitations or MLD in the
  counters).

Each figure must be within TOLERANCE (2%) of that, plus the slack.  What
one VIF sent, the other received, less what the stacks saw lost (Open
vSwitch's userspace datapath drops TCP segments on a loaded machine).  A
port's per-address counters are expected as its own (whole frames, what
the VIF carried), so that the addresses of a port add up to the port.

The tests:

* :meth:`test_counters_match_the_traffic_sent` -- 1,000 pings from the two
  fixed IPs of one port (600 and 400 at once) and 10 MiB over TCP to a VM
  on another host: each port's counters, rx of one side against tx of the
  other, the per-address split, the network's sum against its ports';
* :meth:`test_counters_only_grow` -- pings between the same two VMs across
  a SIGKILL and restart of an agent, an unplug and re-plug of the VIF and
  a restart of naas-server; the pings of each phase are sent while the
  agent or the server is down, or on the new VIF, and the totals must grow
  by exactly that (nothing lost, nothing counted twice).  Every sample the
  test reads is checked against the one before: no counter ever goes back;
* :meth:`test_another_tenants_statistics_answer_404` -- port and network
  statistics are seen by their owner only; a port not bound anywhere has
  zeros and no collected_at.
"""
import collections
import ctypes
import datetime
import fcntl
import json
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

from naas.host import netns
from naas.host import offload
from tests.fullstack import base
from tools.harness import fullstack

SERVER_OPTIONS = {'DEFAULT': {'service_plugins': 'statistics'}}
REPORT_INTERVAL = 1
AGENT_OPTIONS = {'statistics': {'report_interval': REPORT_INTERVAL}}

PROJECT = 'tenant-stats'
OTHER_PROJECT = 'tenant-stats-other'
CIDR = '10.91.0.0/24'
A_FIRST, A_SECOND, B_ADDRESS = '10.91.0.10', '10.91.0.11', '10.91.0.20'

# Header sizes, in bytes.
ETHERNET = 14
IPV4 = 20
ICMP = 8
TCP = 20
TCP_TIMESTAMPS = 12
#: A SYN's options (MSS, SACK permitted, timestamps, window scale: 20 bytes)
#: are 8 bytes longer than an established segment's (timestamps: 12).
TCP_SYN_EXTRA = 8
PING_SIZE = 1000
PING_FRAME = ETHERNET + IPV4 + ICMP + PING_SIZE
TCP_PAYLOAD = 10 * 1024 * 1024
TCP_PORT = 5201

TOLERANCE = 0.02
#: What the test does not count: ARP requests and replies, the warm-up ping.
SLACK_PACKETS = 8
SLACK_FRAME = ETHERNET + IPV4 + ICMP + 56
#: Seconds for the counters to show what was sent (an OVS host's interface
#: statistics are refreshed every 5 s, then the agent's next interval).
SETTLE_TIMEOUT = 25

COUNTERS = ('rx_bytes', 'rx_packets', 'tx_bytes', 'tx_packets')
PORT_COUNTERS = COUNTERS + ('rx_dropped', 'tx_dropped', 'rx_errors', 'tx_errors')
RATES = ('rx_bytes_rate', 'tx_bytes_rate', 'rx_packets_rate', 'tx_packets_rate')

#: Run in the VMs: ``receive ADDRESS PORT`` or ``send ADDRESS PORT SOURCE
#: SIZE``; each prints its TCP_INFO counters as JSON once the connection is
#: closed both ways.
TCP_PROGRAM = r'''
import json, socket, struct, sys, time
role, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])


def info(conn, **more):
    time.sleep(0.5)     # the last ACK of the exchange sent
    raw = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    bytes_received, = struct.unpack_from('Q', raw, 128)
    segs_out, segs_in = struct.unpack_from('II', raw, 136)
    bytes_sent, bytes_retrans = struct.unpack_from('QQ', raw, 200)
    print(json.dumps(dict(more, segs_out=segs_out, segs_in=segs_in,
                          bytes_sent=bytes_sent, bytes_retrans=bytes_retrans,
                          bytes_received=bytes_received,
                          timestamps=bool(raw[5] & 1))), flush=True)


if role == 'receive':
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1)
    print('listening', flush=True)
    conn, _ = listener.accept()
    received = 0
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        received += len(chunk)
    conn.shutdown(socket.SHUT_WR)
    info(conn, received=received)
else:
    conn = socket.create_connection((address, port), timeout=60,
                                    source_address=(sys.argv[4], 0))
    conn.sendall(bytes(int(sys.argv[5])))
    conn.shutdown(socket.SHUT_WR)
    while conn.recv(1 << 16):
        pass
    info(conn)
'''


SIOCETHTOOL = 0x8946
ETHTOOL_SGRO = 0x2c


def disable_gro(namespace, kind='vxlan'):
    """``ethtool -K IFNAME gro off`` for the links of ``kind`` in
    ``namespace`` (as naas.host.offload sets TX checksum offload)."""
    names = [name for name, link in fullstack.links(namespace).items()
             if link.get('linkinfo', {}).get('info_kind') == kind]

    def gro_off(ipr):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for name in names:
                value = ctypes.create_string_buffer(struct.pack('II', ETHTOOL_SGRO, 0))
                fcntl.ioctl(s, SIOCETHTOOL, struct.pack('16sP', name.encode(),
                                                        ctypes.addressof(value)))
    with netns.handle(namespace) as handle:
        handle.call(gro_off)
    return names


def parse_time(text):
    moment = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def now():
    return datetime.datetime.now(datetime.timezone.utc)


class Ledger:
    """What each port (key ``(port_id, None)``) and each address of a port
    (``(port_id, ip_address)``) should have counted of the traffic the
    test sent, seen from the VM: a range [low, high] per counter (what
    arrived of a lossy exchange is known within bounds only)."""

    def __init__(self):
        self.low = collections.defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
        self.high = collections.defaultdict(lambda: dict.fromkeys(COUNTERS, 0))

    def count(self, end, direction, least, most=None):
        """``end`` (port_id, ip_address) sent (``direction`` 'tx') or
        received ('rx') at least ``least`` (packets, bytes) and at most
        ``most`` (default: exactly ``least``)."""
        port_id, address = end
        for key in ((port_id, None), (port_id, address)):
            for ledger, (packets, size) in zip((self.low, self.high), (least, most or least)):
                ledger[key][direction + '_packets'] += packets
                ledger[key][direction + '_bytes'] += size

    def ping(self, sender, receiver, sent, received, size=PING_SIZE):
        """busybox ping from ``sender`` to ``receiver``: ``sent`` requests,
        ``received`` replies; the receiver got and answered between
        ``received`` and ``sent`` of the requests."""
        frame = ETHERNET + IPV4 + ICMP + size
        got, all_ = (received, received * frame), (sent, sent * frame)
        self.count(sender, 'tx', all_)
        self.count(receiver, 'rx', got, all_)
        self.count(receiver, 'tx', got, all_)
        self.count(sender, 'rx', got)

    def tcp(self, sender, receiver, sent, acked):
        """A TCP connection, with the TCP_INFO of each side (TCP_PROGRAM):
        each side sent its segs_out (the receiver: + its SYN-ACK, which
        its listener sent) and received its segs_in; the payload the
        receiver got is what it read, and at most what the sender
        retransmitted more."""
        header = ETHERNET + IPV4 + TCP + (TCP_TIMESTAMPS if sent['timestamps'] else 0)
        arrived = acked['bytes_received'] + acked['segs_in'] * header + TCP_SYN_EXTRA
        self.count(sender, 'tx', (sent['segs_out'], sent['bytes_sent']
                                  + sent['segs_out'] * header + TCP_SYN_EXTRA))
        self.count(receiver, 'rx', (acked['segs_in'], arrived),
                   (acked['segs_in'], arrived + sent['bytes_retrans']))
        self.count(receiver, 'tx', (acked['segs_out'] + 1,
                                    (acked['segs_out'] + 1) * header + TCP_SYN_EXTRA))
        self.count(sender, 'rx', (sent['segs_in'], sent['segs_in'] * header + TCP_SYN_EXTRA))


def counters_of(stats):
    """{(port_id, None or ip_address): {counter: value}} of port statistics."""
    values = {}
    for port_id, stat in stats.items():
        values[(port_id, None)] = {c: stat[c] for c in PORT_COUNTERS}
        for entry in stat['addresses']:
            values[(port_id, entry['ip_address'])] = {c: entry[c] for c in COUNTERS}
    return values


def mismatches(baseline, current, ledger):
    """What is outside the ledger's ranges by more than the tolerance: a
    list of lines (empty: all is as expected)."""
    before, after = counters_of(baseline), counters_of(current)
    wrong = []
    for key in sorted(ledger.low, key=str):
        if key not in after:
            wrong.append('%s: not in the statistics' % (key,))
            continue
        for counter in COUNTERS:
            low, high = ledger.low[key][counter], ledger.high[key][counter]
            got = after[key][counter] - before.get(key, {}).get(counter, 0)
            slack = SLACK_PACKETS * (1 if counter.endswith('packets') else SLACK_FRAME)
            if not low * (1 - TOLERANCE) - slack <= got <= high * (1 + TOLERANCE) + slack:
                wrong.append('%s %s: %d counted, %s sent' % (
                    key, counter, got, low if low == high else '%d to %d' % (low, high)))
    return wrong


class StatisticsReader:
    """Reads port statistics as ``client`` sees them and checks that no
    counter ever goes back between two reads."""

    def __init__(self, test, client, port_ids):
        self.test = test
        self.client = client
        self.port_ids = list(port_ids)
        self.last = {}
        self.reads = 0

    def read(self):
        stats = {port_id: self.client.get('/v2.0/port-statistics/%s' % port_id)[
            'port_statistic'] for port_id in self.port_ids}
        values = counters_of(stats)
        for key, previous in self.last.items():
            for counter, value in previous.items():
                got = values.get(key, {}).get(counter)
                if got is not None and got < value:
                    self.test.fail('%s %s went back from %d to %d (read %d)' % (
                        key, counter, value, got, self.reads))
        self.last.update(values)
        self.reads += 1
        return stats

    def fresh(self, timeout=SETTLE_TIMEOUT):
        """Statistics of every port collected after this call."""
        since = now()
        deadline = time.monotonic() + timeout
        while True:
            stats = self.read()
            if all(s['collected_at'] and parse_time(s['collected_at']) > since
                   for s in stats.values()):
                return stats
            if time.monotonic() > deadline:
                self.test.fail('no statistics collected in %d s: %s' % (timeout, stats))
            time.sleep(0.5)

    def reach(self, baseline, ledger, what, timeout=SETTLE_TIMEOUT):
        """Wait until the counters grew from ``baseline`` by what ``ledger``
        says; the statistics then."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.read()
            wrong = mismatches(baseline, stats, ledger)
            if not wrong:
                return stats
            if time.monotonic() > deadline:
                self.test.fail('%s: after %d s the counters are not what was sent:\n%s\n'
                               'statistics: %s' % (what, timeout, '\n'.join(wrong),
                                                   json.dumps(stats, indent=1)))
            time.sleep(0.5)


class LinuxBridgeStatisticsTest(base.FullstackTestCase):
    """On Linux bridge hosts; :class:`OpenvSwitchStatisticsTest` runs the
    same on Open vSwitch hosts."""

    DRIVER = 'linuxbridge'

    def stats_env(self, hosts=2):
        """The environment, with IPv6 off on the hosts' devices made from
        now on (the Linux bridge driver's bridges and VXLAN devices, the
        VIFs' host ends): their link-local addresses' DAD, MLD reports and
        router solicitations would reach the VMs and be counted."""
        env = self.make_env(hosts=hosts, server_options=SERVER_OPTIONS,
                            agent_options=AGENT_OPTIONS)
        for host in env.hosts:
            host.exec(['sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1'])
        return env

    def boot(self, env, host, network, addresses, name):
        """A VM with IPv6 off whose port has fixed IPs ``addresses`` (all
        of them set on eth0); ACTIVE."""
        port = env.create_port(network, host, fixed_ips=[
            {'ip_address': address} for address in addresses])
        vm = self.useFixture(fullstack.VM(
            host, port, '%s-%s' % (env.prefix, name), cidr_of=env.cidr_of,
            mtu=network.get('mtu'), quiet=True))
        vm.addresses = addresses
        vm.exec(['sysctl', '-qw', 'net.ipv4.tcp_sack=0'])
        self.configure(vm, first_done=True)
        env.wait_port_status(port['id'])
        return vm

    @staticmethod
    def configure(vm, first_done=False):
        """Addresses of a (re)plugged VM's eth0, TX checksum offload off
        (so no TSO: one frame per TCP segment)."""
        offload.disable_tx_checksum(vm.namespace, 'eth0')
        for address in vm.addresses[1 if first_done else 0:]:
            fullstack.ip('addr', 'add', address + '/' + CIDR.split('/')[1], 'dev', 'eth0',
                         ns=vm.namespace)
        fullstack.ip('link', 'set', 'eth0', 'up', ns=vm.namespace)

    def pair(self, env, a_addresses=(A_FIRST,)):
        """A network of PROJECT and VMs a (host 1) and b (host 2) on it that
        reach each other."""
        network, _ = env.create_network(PROJECT, CIDR)
        a = self.boot(env, env.hosts[0], network, list(a_addresses), 'vma')
        b = self.boot(env, env.hosts[1], network, [B_ADDRESS], 'vmb')
        self.assertTrue(a.can_ping(B_ADDRESS, timeout=30), env.logs())
        return network, a, b

    def start_ping(self, vm, source, address, count, size=PING_SIZE):
        """busybox ping, as fast as replies come (-A)."""
        return subprocess.Popen(
            ['ip', 'netns', 'exec', vm.namespace, 'busybox', 'ping', '-A', '-q',
             '-c', str(count), '-s', str(size), '-I', source, '-w', '60', address],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish_ping(self, proc):
        """(requests sent, replies received) of a ping started by start_ping."""
        out, _ = proc.communicate(timeout=90)
        found = re.search(r'(\d+) packets transmitted, (\d+) packets received', out)
        self.assertIsNotNone(found, out)
        sent, received = int(found.group(1)), int(found.group(2))
        self.assertGreater(received, sent * 0.9, out)
        return sent, received

    def ping(self, ledger, vm, source, peer, address, count):
        sent, received = self.finish_ping(self.start_ping(vm, source, address, count))
        ledger.ping((vm.port['id'], source), (peer.port['id'], address), sent, received)

    def tcp(self, ledger, sender, source, receiver, address, size=TCP_PAYLOAD):
        """``size`` bytes over TCP from ``sender`` (its address ``source``)
        to ``receiver`` at ``address``, both sides' segments in ``ledger``."""
        server = subprocess.Popen(
            ['ip', 'netns', 'exec', receiver.namespace, sys.executable, '-c', TCP_PROGRAM,
             'receive', address, str(TCP_PORT)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(server.kill)
        self.assertEqual('listening', server.stdout.readline().strip(), server.stderr.read()
                         if server.poll() is not None else '')
        out = sender.exec([sys.executable, '-c', TCP_PROGRAM, 'send', address,
                           str(TCP_PORT), source, str(size)], timeout=120)
        sent = json.loads(out)
        acked = json.loads(server.communicate(timeout=30)[0])
        self.assertEqual(size, acked['received'])
        ledger.tcp((sender.port['id'], source), (receiver.port['id'], address), sent, acked)

    def assertNetworkIsTheSumOfItsPorts(self, client, network_id, port_count, timeout=10):
        """Read between two equal reads of the network, the network's
        counters are the sum of its ports'."""
        path = '/v2.0/network-statistics/%s' % network_id
        deadline = time.monotonic() + timeout
        while True:
            first = client.get(path)['network_statistic']
            ports = client.get('/v2.0/port-statistics?' + urllib.parse.urlencode(
                {'network_id': network_id}))['port_statistics']
            second = client.get(path)['network_statistic']
            summed = {c: sum(p[c] for p in ports) for c in PORT_COUNTERS}
            network = {c: second[c] for c in PORT_COUNTERS}
            if network == {c: first[c] for c in PORT_COUNTERS} and network == summed:
                break
            if time.monotonic() > deadline:
                self.fail('network %s counts %s, its ports %s' % (network_id, network, summed))
            time.sleep(0.5)
        self.assertEqual(port_count, second['port_count'])
        self.assertEqual(port_count, len(ports))
        self.assertEqual(max(parse_time(p['collected_at']) for p in ports),
                         parse_time(second['collected_at']))
        for rate in RATES:
            self.assertGreaterEqual(second[rate], 0)

    def test_counters_match_the_traffic_sent(self):
        env = self.stats_env()
        network, a, b = self.pair(env, a_addresses=(A_FIRST, A_SECOND))
        for host in env.hosts:
            disable_gro(host.namespace)
        client = env.client(PROJECT)
        reader = StatisticsReader(self, client, [a.port['id'], b.port['id']])
        baseline = reader.fresh()
        ledger = Ledger()
        # 1,000 pings: 600 from the port's first address, 400 from its
        # second, at the same time.
        first = self.start_ping(a, A_FIRST, B_ADDRESS, 600)
        second = self.start_ping(a, A_SECOND, B_ADDRESS, 400)
        for source, proc in ((A_FIRST, first), (A_SECOND, second)):
            sent, received = self.finish_ping(proc)
            ledger.ping((a.port['id'], source), (b.port['id'], B_ADDRESS), sent, received)
        # 10 MiB over TCP from the first address.
        self.tcp(ledger, a, A_FIRST, b, B_ADDRESS)
        final = reader.reach(baseline, ledger, 'pings and TCP')
        self.record('sent', **{'%s %s' % key: [ledger.low[key], ledger.high[key]]
                               for key in ledger.low})
        self.record('counted', statistics=final)

        # What one side sent, the other received, but what got lost.
        port_a, port_b = (final[vm.port['id']] for vm in (a, b))
        for sender, receiver in ((a, b), (b, a)):
            for unit in ('bytes', 'packets'):
                tx, rx = (final[vm.port['id']][direction + unit] - baseline[
                    vm.port['id']][direction + unit] for vm, direction in (
                    (sender, 'tx_'), (receiver, 'rx_')))
                lost = (ledger.high[(sender.port['id'], None)]['tx_' + unit]
                        - ledger.low[(receiver.port['id'], None)]['rx_' + unit])
                slack = SLACK_PACKETS * (1 if unit == 'packets' else SLACK_FRAME)
                self.assertTrue(
                    -tx * TOLERANCE - slack <= tx - rx <= lost + tx * TOLERANCE + slack,
                    '%s sent %d %s, %s received %d; at most %d lost' % (
                        sender.name, tx, unit, receiver.name, rx, lost))
        for stat in (port_a, port_b):
            self.assertEqual(network['id'], stat['network_id'])
            self.assertEqual(PROJECT, stat['project_id'])
            self.assertEqual(stat['port_id'], stat['id'])
            self.assertEqual(0, stat['rx_errors'] + stat['tx_errors'])
        # The host is an administrator's to see (as binding:host_id).
        self.assertNotIn('host', port_a)
        self.assertEqual(env.hosts[0].name, env.api.get(
            '/v2.0/port-statistics/%s' % a.port['id'])['port_statistic']['host'])
        self.assertEqual({A_FIRST, A_SECOND}, {e['ip_address'] for e in port_a['addresses']})
        self.assertNetworkIsTheSumOfItsPorts(client, network['id'], port_count=2)

    def test_counters_only_grow(self):
        env = self.stats_env()
        network, a, b = self.pair(env)
        reader = StatisticsReader(self, env.client(PROJECT), [a.port['id'], b.port['id']])
        baseline = reader.fresh()
        ledger = Ledger()
        count = 300

        self.ping(ledger, a, A_FIRST, b, B_ADDRESS, count)
        reader.reach(baseline, ledger, 'pings')

        # SIGKILL of a's agent; pings while it is down; it starts again.
        agent = env.agents[0]
        agent.kill()
        self.ping(ledger, a, A_FIRST, b, B_ADDRESS, count)
        agent.start()
        reader.reach(baseline, ledger, 'pings across a SIGKILL of the agent')

        # The VIF unplugged and plugged again (a new tap, counters from 0).
        a.unplug()
        env.wait_port_status(a.port['id'], 'DOWN')
        a.plug()
        self.configure(a)
        env.wait_port_status(a.port['id'])
        attempts = replies = 0
        deadline = time.monotonic() + 30
        while not replies:
            self.assertLess(time.monotonic(), deadline, 'no ping after the re-plug\n' +
                            env.logs())
            sent, replies = self.one_ping(a)
            attempts += sent
        ledger.ping((a.port['id'], A_FIRST), (b.port['id'], B_ADDRESS), attempts, replies,
                    size=56)
        self.ping(ledger, a, A_FIRST, b, B_ADDRESS, count)
        reader.reach(baseline, ledger, 'pings on the VIF plugged again')

        # naas-server restarted; pings while it is down.
        env.server.stop()
        self.ping(ledger, a, A_FIRST, b, B_ADDRESS, count)
        env.server.start()
        reader.reach(baseline, ledger, 'pings across a restart of naas-server')
        self.assertGreater(reader.reads, 4)

    def one_ping(self, vm):
        """One ping of 56 bytes from ``vm`` to B_ADDRESS: (1, 1 or 0)."""
        out = vm.exec(['busybox', 'ping', '-c', '1', '-W', '1', B_ADDRESS], check=False,
                      timeout=20)
        found = re.search(r'(\d+) packets transmitted, (\d+) packets received', out)
        self.assertIsNotNone(found, out)
        return int(found.group(1)), int(found.group(2))

    def test_another_tenants_statistics_answer_404(self):
        env = self.stats_env(hosts=1)
        extensions = {e['alias'] for e in env.api.get('/v2.0/extensions')['extensions']}
        self.assertIn('port-statistics', extensions)
        network, _ = env.create_network(PROJECT, CIDR)
        vm = self.boot(env, env.hosts[0], network, [A_FIRST], 'vma')
        unbound = env.api.create('port', network_id=network['id'], project_id=PROJECT)
        owner, other = env.client(PROJECT), env.client(OTHER_PROJECT)
        StatisticsReader(self, owner, [vm.port['id']]).fresh()

        idle = owner.get('/v2.0/port-statistics/%s' % unbound['id'])['port_statistic']
        self.assertIsNone(idle['collected_at'])
        self.assertEqual([0] * len(PORT_COUNTERS), [idle[c] for c in PORT_COUNTERS])
        self.assertEqual(network['id'],
                         owner.get('/v2.0/network-statistics/%s' % network['id'])[
                             'network_statistic']['network_id'])
        for path in ('/v2.0/port-statistics/%s' % vm.port['id'],
                     '/v2.0/port-statistics/%s' % unbound['id'],
                     '/v2.0/network-statistics/%s' % network['id']):
            status, body = other.request('GET', path)
            self.assertEqual(404, status, '%s answered %s to another tenant: %s'
                             % (path, status, body))
        self.assertEqual([], other.get('/v2.0/port-statistics?network_id=%s'
                                       % network['id'])['port_statistics'])
        self.assertEqual([], other.get('/v2.0/port-statistics')['port_statistics'])
        self.assertEqual([], other.get('/v2.0/network-statistics')['network_statistics'])
        # The admin sees them all.
        self.assertEqual({vm.port['id'], unbound['id']}, {
            s['port_id'] for s in env.api.get('/v2.0/port-statistics?network_id=%s'
                                              % network['id'])['port_statistics']})


class OpenvSwitchStatisticsTest(LinuxBridgeStatisticsTest):
    DRIVER = 'openvswitch'
