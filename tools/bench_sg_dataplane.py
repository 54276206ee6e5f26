#!/usr/bin/env python3
"""Security groups on the dataplane: four benchmarks of issue 9 (as root).

    .venv/bin/python tools/bench_sg_dataplane.py [--driver linuxbridge|openvswitch|both]
        [--only rules,remote,iperf,restart] [--samples 3] [--rules 1000]
        [--members 500] [--restart-ports 200] [--iperf-rounds 3]
        [--iperf-seconds 5] [--json FILE]

Each benchmark builds its own environment with tools.harness.fullstack
(naas-server with ``service_plugins = router,security-group``, RabbitMQ,
two hosts as namespaces with a real naas-agent each, VMs as namespaces
plugged by naas.compute.vif) and removes it at the end (the harness's
cleanup, then ``naas-cleanup --namespace-prefix``).  All traffic stays in
namespaces it creates.

``rules`` -- a port in a group of ``--rules`` rules (ingress TCP rules
    each from its own /32, and one ICMP rule from the network): from the
    ``POST /v2.0/ports`` that binds it to a host (and from the VM plug)
    to the first echo reply a VM on the other host gets from it (the
    pinging VM sends every 5 ms: tools.bench_dataplane.Prober).  Each
    sample's port is deleted before the next one.  Every other sample is a
    port in a group of one rule: the same path without the 1,000 rules, on
    the machine as loaded at that moment.  Goal <= 1 s.
``remote`` -- three hosts: a group G of ``--members`` ports on host 3
    (VIFs plugged, no traffic; on a host of their own, so that the new
    member's host is not one whose switch holds hundreds of ports: a
    userspace OVS datapath takes seconds to add a port then) and a VM A on
    host 1 whose group lets UDP in from G.  A new member: from the
    ``POST /v2.0/ports`` (group G, host 2) to the first datagram from it
    that A receives (a listener in A's namespace stamps it; the member
    sends one every 5 ms once plugged); when the port became ACTIVE (host 2
    wired it) is recorded too.  A VM on host 2 outside G sends to A as
    well: it must get nothing through.  Goal <= 1 s.
``iperf`` -- iperf3 TCP between a VM on host 1 and one on host 2, with the
    firewall (a group letting TCP 5201 in) and without it (two other VMs
    whose ports have port_security_enabled false), in alternating rounds of
    one run: ratio of the medians.  Goal >= 85 %.
``restart`` -- ``--restart-ports`` filtered ports on host 2 (plugged) and a
    VM T there in a group allowing ICMP only; a VM P on host 1 pings T every
    10 ms (allowed) and sends UDP to T's port 6000 every 10 ms (denied; T
    counts what arrives, in its namespace).  The agent of host 2 is
    SIGKILLed 2 s into the flows, started 2 s later, and the flows run until
    3 s after its resync is over (its agent row, reported after the restart,
    counts every port wired).  No VIF is plugged meanwhile: on a userspace
    OVS datapath adding a port stalls forwarding for tens of ms by itself.
    Goal: 0 pings lost, 0 denied datagrams through.

Every figure comes with the load average (os.getloadavg) when it was
taken.  Prints a Markdown table per driver; ``--json`` writes the raw
figures.  Exit status 0 when every goal is met.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.bench_dataplane import Prober  # noqa: E402
from tools.harness import fullstack  # noqa: E402
from tools.harness import servers  # noqa: E402
from tools.harness.log import log  # noqa: E402
from tools.harness.servers import wait_for  # noqa: E402
from tools.harness.stats import percentile  # noqa: E402

TENANT = 'sgbench'
SERVER_OPTIONS = {'DEFAULT': {'service_plugins': 'router,security-group'},
                  'quotas': {'quota_port': -1, 'quota_security_group': -1,
                             'quota_security_group_rule': -1}}
UDP_PORT, DENIED_PORT, IPERF_PORT = 7000, 6000, 5201
#: On a loaded machine an agent's heartbeat can be late by seconds: a port
#: bound meanwhile would fail to bind (the harness's default is 6 s).
AGENT_DOWN_TIME = 60

# Runs in a VM namespace.  "listen PORT": prints "SOURCE-IP MONOTONIC" for
# the first datagram of each source, then "count SOURCE-IP N" lines on
# SIGTERM.  "send HOST PORT INTERVAL SECONDS": a datagram every INTERVAL,
# prints how many were sent.
UDP_TOOL = r'''
import signal, socket, sys, time
role, args = sys.argv[1], sys.argv[2:]
if role == 'listen':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', int(args[0])))
    counts = {}

    def done(*_):
        for source, n in sorted(counts.items()):
            print('count', source, n, flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, done)
    print('ready', flush=True)
    while True:
        _, (source, _) = s.recvfrom(2048)
        if source not in counts:
            print(source, time.monotonic(), flush=True)
        counts[source] = counts.get(source, 0) + 1
else:
    host, port, interval, seconds = args[0], int(args[1]), float(args[2]), float(args[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent, deadline = 0, time.monotonic() + seconds
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while time.monotonic() < deadline and not stop:
        try:
            s.sendto(b'naas-bench', (host, port))
            sent += 1
        except OSError:
            pass
        time.sleep(interval)
    print('sent', sent, flush=True)
'''


def load():
    return round(os.getloadavg()[0], 2)


def uptime():
    return subprocess.run(['uptime'], stdout=subprocess.PIPE, text=True).stdout.strip()


def in_vm(vm, cmd):
    return ['ip', 'netns', 'exec', vm.namespace] + cmd


class UdpListener(object):
    """UDP_TOOL listen in ``vm``: first arrival per source, counts at the end."""

    def __init__(self, vm, port):
        self.proc = subprocess.Popen(
            in_vm(vm, [sys.executable, '-u', '-c', UDP_TOOL, 'listen', str(port)]),
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.first, self.counts = {}, {}
        self.cond = threading.Condition()
        if self.proc.stdout.readline().strip() != 'ready':
            raise RuntimeError('UDP listener did not start in %s' % vm.namespace)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            words = line.split()
            with self.cond:
                if words[0] == 'count':
                    self.counts[words[1]] = int(words[2])
                else:
                    self.first[words[0]] = float(words[1])
                self.cond.notify_all()

    def wait_first(self, source, timeout):
        """CLOCK_MONOTONIC of the first datagram from ``source``, or None."""
        with self.cond:
            self.cond.wait_for(lambda: source in self.first, timeout)
            return self.first.get(source)

    def stop(self):
        """{source: datagrams received}."""
        self.proc.terminate()
        self.proc.wait(10)
        self.reader.join(5)
        return dict(self.counts)


class UdpSender(object):
    def __init__(self, vm, host, port, interval, seconds):
        self.proc = subprocess.Popen(
            in_vm(vm, [sys.executable, '-u', '-c', UDP_TOOL, 'send', host, str(port),
                       str(interval), str(seconds)]),
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def stop(self):
        """How many datagrams were sent."""
        if self.proc.poll() is None:
            self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        words = out.split()
        return int(words[1]) if len(words) == 2 else 0


class Bench(object):
    """One driver's environments and the helpers the benchmarks share."""

    def __init__(self, rabbit, args, driver):
        self.rabbit = rabbit
        self.args = args
        self.driver = driver
        self.env = None
        self.vm_count = 0

    def environment(self, hosts=2):
        self.env = fullstack.FullstackEnvironment(
            self.rabbit, driver=self.driver, server_options=SERVER_OPTIONS, hosts=hosts,
            agent_down_time=AGENT_DOWN_TIME, debug=self.args.debug)
        self.env.setUp()
        log('%s: environment %s up', self.driver, self.env.prefix)
        return self.env

    def close(self):
        if self.env is not None:
            env, self.env = self.env, None
            env.cleanUp()

    # -- API

    def group(self, name, rules=()):
        """A group (the API gives it the two egress rules) and ``rules``,
        created in bulk requests of 250."""
        api = self.env.api
        sg = api.request('POST', '/v2.0/security-groups', {'security_group': {
            'name': name, 'project_id': TENANT}}, expect=201)[1]['security_group']
        rules = [dict({'ethertype': 'IPv4', 'security_group_id': sg['id'],
                       'project_id': TENANT}, **r) for r in rules]
        for i in range(0, len(rules), 250):
            api.request('POST', '/v2.0/security-group-rules',
                        {'security_group_rules': rules[i:i + 250]}, expect=201)
        return sg

    def port(self, net, host, address=None, groups=None, **attrs):
        if groups is not None:
            attrs['security_groups'] = [g['id'] for g in groups]
        return self.env.create_port(net, host, address, **attrs)

    def bulk_ports(self, net, host, count, groups):
        """``count`` ports bound to ``host`` in ``groups``, 100 per request."""
        ports = []
        for i in range(0, count, 100):
            body = [{'network_id': net['id'], 'project_id': TENANT,
                     'device_owner': 'compute:nova', 'device_id': 'sgbench-%d' % n,
                     'binding:host_id': host.name,
                     'security_groups': [g['id'] for g in groups]}
                    for n in range(i, min(count, i + 100))]
            ports += self.env.api.request('POST', '/v2.0/ports', {'ports': body},
                                          expect=201)[1]['ports']
        self.env.port_ids += [p['id'] for p in ports]
        return ports

    def vm(self, host, net, port, **kwargs):
        """A VM fixture, set up; the caller cleans it up (or the env does:
        ``keep``)."""
        self.vm_count += 1
        vm = fullstack.VM(host, port, '%s-sg%d' % (self.env.prefix, self.vm_count),
                          cidr_of=self.env.cidr_of, mtu=net.get('mtu'), **kwargs)
        vm.setUp()
        return vm

    def boot(self, host, net, address, groups=None, **attrs):
        """A VM kept until the environment goes, its port ACTIVE."""
        port = self.port(net, host, address, groups, **attrs)
        vm = self.env.boot_vm(host, net, port=port)
        self.env.wait_port_status(port['id'], timeout=120)
        return vm

    def wait_active(self, host, count, timeout=600):
        wait_for(lambda: self.env.count_ports(host) >= count, timeout, 0.5,
                 '%d ports ACTIVE on %s' % (count, host.name))

    # -- 1. a port with 1,000 rules

    def bench_rules(self):
        env = self.environment()
        h1, h2 = env.hosts
        net, _ = env.create_network(TENANT, '10.80.0.0/22')
        rules = [{'direction': 'ingress', 'protocol': 'icmp',
                  'remote_ip_prefix': '10.80.0.0/22'}]
        rules += [{'direction': 'ingress', 'protocol': 'tcp',
                   'port_range_min': 1000 + i, 'port_range_max': 1000 + i,
                   'remote_ip_prefix': '10.%d.%d.%d/32' % (100 + i // 62500,
                                                           i // 250 % 250, i % 250 + 1)}
                  for i in range(self.args.rules - 1)]
        t = time.monotonic()
        big = self.group('rules-%d' % self.args.rules, rules)
        log('group of %d rules created in %.1fs', self.args.rules, time.monotonic() - t)
        # The pinging VMs: no port security (their own filter is not measured).
        probers = {}
        for host, address in ((h1, '10.80.3.1'), (h2, '10.80.3.2')):
            vm = self.boot(host, net, address, port_security_enabled=False,
                           security_groups=[])
            probers[host.name] = vm
        if not probers[h1.name].can_ping('10.80.3.2', 30):
            raise RuntimeError('the prober VMs cannot ping each other\n' + env.logs())
        probers = {name: Prober(vm) for name, vm in probers.items()}
        # The same with a group of one rule: what wiring costs without the
        # 1,000 rules on this machine at this moment.
        few = self.group('rules-1', rules[:1])
        samples = []
        try:
            for i in range(self.args.samples * 2):
                group = big if i % 2 == 0 else few
                host, other = (h2, h1) if i // 2 % 2 == 0 else (h1, h2)
                address = '10.80.1.%d' % (i + 10)
                t0 = time.monotonic()
                port = self.port(net, host, address, [group])
                t_created = time.monotonic()
                reply = probers[other.name].start(address)
                vm = self.vm(host, net, port, fast_arp=False, tx_checksum=True)
                t_plugged = time.monotonic()
                try:
                    at = reply()
                    if at is None:
                        raise RuntimeError('the port in %s never answered\n%s'
                                           % (group['name'], env.logs()))
                    samples.append({'host': host.name, 'load': load(),
                                    'rules': self.args.rules if group is big else 1,
                                    'create_ms': (t_created - t0) * 1000,
                                    'from_plug_ms': (at - t_plugged) * 1000,
                                    'from_bind_ms': (at - t0) * 1000})
                    log('rules: sample %d (%s) on %s: bind -> first reply %.0f ms, plug -> '
                        'first reply %.0f ms (load %s)', i, group['name'], host.name,
                        samples[-1]['from_bind_ms'], samples[-1]['from_plug_ms'], load())
                finally:
                    vm.cleanUp()
                    env.api.delete('port', port['id'])
                time.sleep(1)
        finally:
            for prober in probers.values():
                prober.close()
        return samples

    # -- 2. a remote-group member added to a group of 500 ports

    def bench_remote(self):
        env = self.environment(hosts=3)
        h1, h2, h3 = env.hosts
        net, _ = env.create_network(TENANT, '10.81.0.0/20')
        members = self.group('members')
        guarded = self.group('guarded', [{'direction': 'ingress', 'protocol': 'udp',
                                          'port_range_min': UDP_PORT,
                                          'port_range_max': UDP_PORT,
                                          'remote_group_id': members['id']}])
        other = self.group('outsiders')
        target = self.boot(h1, net, '10.81.15.1', [guarded])
        outsider = self.boot(h2, net, '10.81.15.2', [other])
        t = time.monotonic()
        ports = self.bulk_ports(net, h3, self.args.members, [members])
        log('remote: %d member ports created in %.1fs', len(ports), time.monotonic() - t)
        t = time.monotonic()
        env.plug_many(h3, net, ports)
        self.wait_active(h3, self.args.members)
        log('remote: %d members plugged and ACTIVE in %.1fs', len(ports),
            time.monotonic() - t)
        listener = UdpListener(target, UDP_PORT)
        outsider.exec(['sysctl', '-qw', 'net.ipv4.neigh.eth0.retrans_time_ms=10'],
                      check=False)
        denied = UdpSender(outsider, target.ip_address, UDP_PORT, 0.01, 3600)
        samples, vms = [], []
        try:
            for i in range(self.args.samples):
                address = '10.81.14.%d' % (i + 10)
                t0 = time.monotonic()
                port = self.port(net, h2, address, [members])
                t_created = time.monotonic()
                vm = self.vm(h2, net, port, fast_arp=False)
                vms.append(vm)
                vm.exec(['sysctl', '-qw', 'net.ipv4.neigh.eth0.retrans_time_ms=10',
                         'net.ipv4.neigh.eth0.mcast_solicit=100'], check=False)
                t_plugged = time.monotonic()
                sender = UdpSender(vm, target.ip_address, UDP_PORT, 0.005, 60)
                # When host 2 has wired it (ACTIVE), to tell the two hosts apart.
                wait_for(lambda: env.port_status(port['id']) == 'ACTIVE', 60, 0.02,
                         'member %s ACTIVE' % address)
                t_active = time.monotonic()
                at = listener.wait_first(address, 60)
                sender.stop()
                if at is None:
                    raise RuntimeError('member %s never reached the target\n%s'
                                       % (address, env.logs()))
                samples.append({'load': load(), 'create_ms': (t_created - t0) * 1000,
                                'active_ms': (t_active - t0) * 1000,
                                'from_plug_ms': (at - t_plugged) * 1000,
                                'from_create_ms': (at - t0) * 1000})
                log('remote: member %d: port create -> first datagram accepted %.0f ms '
                    '(plug -> %.0f ms; ACTIVE after %.0f ms; load %s)', i,
                    samples[-1]['from_create_ms'], samples[-1]['from_plug_ms'],
                    samples[-1]['active_ms'], load())
                time.sleep(1)
        finally:
            sent = denied.stop()
            counts = listener.stop()
            for vm in vms:
                vm.cleanUp()
        through = counts.get(outsider.ip_address, 0)
        log('remote: outsider sent %d datagrams, %d got through', sent, through)
        return {'samples': samples, 'outsider_sent': sent, 'outsider_through': through}

    # -- 3. iperf3 with and without the firewall

    def iperf(self, client, server):
        out = subprocess.run(
            in_vm(client, ['iperf3', '-c', server.ip_address, '-p', str(IPERF_PORT),
                           '-t', str(self.args.iperf_seconds), '-J']),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=self.args.iperf_seconds + 60)
        data = json.loads(out.stdout)
        if 'error' in data:
            raise RuntimeError('iperf3 %s -> %s: %s' % (client.name, server.name,
                                                        data['error']))
        return data['end']['sum_received']['bits_per_second'] / 1e9

    def bench_iperf(self):
        env = self.environment()
        h1, h2 = env.hosts
        net, _ = env.create_network(TENANT, '10.82.0.0/24')
        allow = self.group('iperf', [{'direction': 'ingress', 'protocol': 'tcp',
                                      'port_range_min': IPERF_PORT,
                                      'port_range_max': IPERF_PORT},
                                     {'direction': 'ingress', 'protocol': 'icmp'}])
        pairs = {'on': (self.boot(h1, net, '10.82.0.11', [allow]),
                        self.boot(h2, net, '10.82.0.12', [allow])),
                 'off': (self.boot(h1, net, '10.82.0.21', port_security_enabled=False,
                                   security_groups=[]),
                         self.boot(h2, net, '10.82.0.22', port_security_enabled=False,
                                   security_groups=[]))}
        daemons = []
        try:
            for client, server in pairs.values():
                if not client.can_ping(server.ip_address, 30):
                    raise RuntimeError('%s cannot ping %s\n%s'
                                       % (client.name, server.name, env.logs()))
                daemons.append(subprocess.Popen(
                    in_vm(server, ['iperf3', '-s', '-p', str(IPERF_PORT)]),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    stdin=subprocess.DEVNULL))
            time.sleep(1)
            rounds = []
            for i in range(self.args.iperf_rounds):
                row = {}
                for mode in (('on', 'off') if i % 2 == 0 else ('off', 'on')):
                    row[mode] = self.iperf(*pairs[mode])
                    row['load_' + mode] = load()
                row['ratio'] = row['on'] / row['off']
                rounds.append(row)
                log('iperf: round %d: on %.2f Gbit/s, off %.2f Gbit/s, ratio %.0f%% '
                    '(load %s)', i, row['on'], row['off'], row['ratio'] * 100, load())
        finally:
            for proc in daemons:
                proc.terminate()
                proc.wait(10)
        return rounds

    # -- 4. agent restart with 200 filtered ports

    def bench_restart(self):
        env = self.environment()
        h1, h2 = env.hosts
        agent = env.agents[1]
        net, _ = env.create_network(TENANT, '10.83.0.0/22')
        icmp_only = self.group('icmp-only', [{'direction': 'ingress', 'protocol': 'icmp'}])
        ports = self.bulk_ports(net, h2, self.args.restart_ports, [icmp_only])
        env.plug_many(h2, net, ports)
        target = self.boot(h2, net, '10.83.3.1', [icmp_only])
        pinger_vm = self.boot(h1, net, '10.83.3.2', [icmp_only])
        self.wait_active(h2, self.args.restart_ports + 1)
        log('restart: %d filtered ports ACTIVE on %s', self.args.restart_ports + 1, h2.name)
        if not pinger_vm.can_ping(target.ip_address, 30):
            raise RuntimeError('cannot ping the target\n' + env.logs())
        expected = self.args.restart_ports + 1
        results = []
        for i in range(self.args.samples):
            before = env.agent_rows()[h2.name]['started_at']
            listener = UdpListener(target, DENIED_PORT)
            denied = UdpSender(pinger_vm, target.ip_address, DENIED_PORT, 0.01, 3600)
            pinger = pinger_vm.start_ping(target.ip_address, interval=0.01)
            time.sleep(2)
            agent.kill()
            killed = time.monotonic()
            time.sleep(2)
            started = agent.start()

            def resynced():
                row = env.agent_rows()[h2.name]
                return (row['started_at'] != before
                        and row['configurations'].get('devices') == expected)
            wait_for(resynced, 120, 0.05, 'agent of %s resynced' % h2.name)
            resync_s = time.monotonic() - started
            time.sleep(3)
            ping = pinger.stop()
            sent = denied.stop()
            through = listener.stop().get(pinger_vm.ip_address, 0)
            row = {'load': load(), 'ping_sent': ping['sent'], 'ping_received': ping['received'],
                   'ping_lost': ping['lost'], 'ping_lost_at': ping['lost_at'][:20],
                   'denied_sent': sent, 'denied_through': through,
                   'dead_s': started - killed, 'resync_s': resync_s}
            results.append(row)
            log('restart %d: ping sent %d lost %d; denied sent %d through %d; %d devices '
                'reported %.1fs after start (load %s)', i, ping['sent'], ping['lost'], sent,
                through, expected, resync_s, load())
        return results


# ---------------------------------------------------------------------------

GOAL_MS = 1000
IPERF_GOAL = 0.85


def summarize(figures):
    """[(benchmark, goal, measured, load, pass)] of one driver."""
    rows = []
    every = figures['args']['rules']
    for count in sorted({s.get('rules', every) for s in figures.get('rules') or ()},
                        reverse=True):
        samples = [s for s in figures['rules'] if s.get('rules', every) == count]
        for key, what in (('from_bind_ms', 'port bind (POST) -> first allowed packet'),
                          ('from_plug_ms', 'VIF plug -> first allowed packet')):
            values = [s[key] for s in samples]
            big = count == every
            rows.append(('%d rule%s: %s (%d samples)' % (count, 's' if count > 1 else '', what,
                                                          len(values)),
                         '<= 1 s' if big else '(reference)', 'p50 %.0f ms / max %.0f ms'
                         % (percentile(values, 50), max(values)),
                         '%s-%s' % (min(s['load'] for s in samples),
                                    max(s['load'] for s in samples)),
                         max(values) <= GOAL_MS or not big))
    if figures.get('remote'):
        remote = figures['remote']
        samples = remote['samples']
        for key, what in (('from_create_ms', 'port create (API) -> first packet accepted'),
                          ('from_plug_ms', 'VIF plug -> first packet accepted')):
            values = [s[key] for s in samples]
            rows.append(('remote group of %d: %s (%d samples)' % (
                figures['args']['members'], what, len(values)), '<= 1 s',
                'p50 %.0f ms / max %.0f ms' % (percentile(values, 50), max(values)),
                '%s-%s' % (min(s['load'] for s in samples), max(s['load'] for s in samples)),
                max(values) <= GOAL_MS))
        rows.append(('remote group: datagrams from a non-member let through', '0',
                     '%d of %d' % (remote['outsider_through'], remote['outsider_sent']), '',
                     remote['outsider_through'] == 0))
    if figures.get('iperf'):
        rounds = figures['iperf']
        on = statistics.median(r['on'] for r in rounds)
        off = statistics.median(r['off'] for r in rounds)
        rows.append(('iperf3 TCP, firewall on / off (%d rounds of %d s; medians %.2f / %.2f '
                     'Gbit/s; per round %s)' % (
                         len(rounds), figures['args']['iperf_seconds'], on, off,
                         ', '.join('%.0f%%' % (r['ratio'] * 100) for r in rounds)),
                     '>= 85 %', '%.0f %%' % (on / off * 100),
                     '%s-%s' % (min(min(r['load_on'], r['load_off']) for r in rounds),
                                max(max(r['load_on'], r['load_off']) for r in rounds)),
                     on / off >= IPERF_GOAL))
    if figures.get('restart'):
        results = figures['restart']
        for r in results:
            rows.append(('agent SIGKILL + restart, %d filtered ports: allowed ping (10 ms) '
                         'lost; resync reported %.1f s after start' % (
                             figures['args']['restart_ports'], r['resync_s']),
                         '0', '%d of %d' % (r['ping_lost'], r['ping_sent']), r['load'],
                         r['ping_lost'] == 0))
            rows.append(('  same restart: denied UDP (10 ms) let through', '0',
                         '%d of %d' % (r['denied_through'], r['denied_sent']), r['load'],
                         r['denied_through'] == 0))
    return rows


def markdown(driver, rows):
    lines = ['### %s (%d CPUs)' % (driver, os.cpu_count()), '',
             '| benchmark | goal | measured | load (1 min) | pass |',
             '|---|---|---|---|---|']
    lines += ['| %s | %s | %s | %s | %s |' % (name, goal, measured, load_, 'yes' if ok else 'NO')
              for name, goal, measured, load_, ok in rows]
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--driver', default='both',
                        choices=['linuxbridge', 'openvswitch', 'both'])
    parser.add_argument('--only', default='rules,remote,iperf,restart',
                        help='comma-separated benchmarks to run')
    parser.add_argument('--samples', type=int, default=3,
                        help='samples (rules, remote) or restarts (restart)')
    parser.add_argument('--rules', type=int, default=1000)
    parser.add_argument('--members', type=int, default=500)
    parser.add_argument('--restart-ports', type=int, default=200)
    parser.add_argument('--iperf-rounds', type=int, default=3)
    parser.add_argument('--iperf-seconds', type=int, default=5)
    parser.add_argument('--json', help='write the raw figures here')
    parser.add_argument('--debug', action='store_true', help='agents log DEBUG')
    args = parser.parse_args(argv)
    drivers = ['linuxbridge', 'openvswitch'] if args.driver == 'both' else [args.driver]
    wanted = args.only.split(',')
    for driver in drivers:
        reason = fullstack.missing_requirements(driver)
        if reason:
            print('bench_sg_dataplane: %s' % reason, file=sys.stderr)
            return 2
    everything, ok = {}, True
    rabbit = servers.RabbitMQServer()
    rabbit.setUp()
    try:
        for driver in drivers:
            figures = everything[driver] = {'args': vars(args), 'uptime': [uptime()]}
            for name in ('rules', 'remote', 'iperf', 'restart'):
                if name not in wanted:
                    continue
                bench = Bench(rabbit, args, driver)
                try:
                    figures[name] = getattr(bench, 'bench_' + name)()
                except Exception as exc:
                    logs = bench.env.logs() if bench.env is not None else ''
                    log('%s %s failed: %s\n%s', driver, name, exc, logs)
                    figures[name + '_error'] = str(exc)
                    ok = False
                finally:
                    bench.close()
                figures['uptime'].append(uptime())
    finally:
        rabbit.cleanUp()
    for driver, figures in everything.items():
        rows = summarize(figures)
        ok &= all(row[-1] for row in rows)
        print('\n' + markdown(driver, rows))
        for name in ('rules', 'remote', 'iperf', 'restart'):
            if figures.get(name + '_error'):
                print('\n%s failed: %s' % (name, figures[name + '_error'][:2000]))
        print('\nuptime: ' + ' | '.join(figures['uptime']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(everything, f, indent=1)
    return 0 if ok else 1


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
