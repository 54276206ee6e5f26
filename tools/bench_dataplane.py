#!/usr/bin/env python3
"""Dataplane benchmark: port-create-to-first-ping and agent resync (as root).

    .venv/bin/python tools/bench_dataplane.py [--driver linuxbridge]
        [--network-type vxlan] [--vms 100] [--resync-ports 500]
        [--json FILE]

Builds the fullstack tier's environment (tools.harness.fullstack: a private
RabbitMQ, naas-server, two hosts as namespaces on an underlay, one naas-agent
process per host) and measures:

1. **port create -> first ping**, for ``--vms`` VMs alternating between the
   two hosts: from just before ``POST /v2.0/ports`` (bound to the host) to the
   first echo reply that a VM on the *other* host gets from the new VM.  In
   between: the API call, plugging the VM (namespace, veth through
   naas.compute.vif, its fixed IP), the agent noticing and wiring the VIF,
   the other host learning the new endpoint.  (The new VM keeps its TX
   checksum offload: ICMP does not need it off on OVS hosts.)  The pinging VM sends an echo
   request every 5 ms from the moment the port exists (a prober process in
   the VM namespace, raw ICMP); its ARP retransmit time is 10 ms, so the
   figure is not held back by the VM kernel's own timers.
2. **agent resync at ``--resync-ports`` ports** on one host:
   *cold*: the ports are bound, the agent is SIGKILLed, their VIFs are
   plugged while it is dead, and the agent is started again: time from the
   process start to every port ACTIVE in the API.
   *warm*: every port wired, SIGKILL and restart: time from the process
   start until a canary VIF (plugged while the agent was dead) is ACTIVE;
   the agent scans for new VIFs only once its resync is done, so this is
   the resync time plus at most one polling interval (0.2 s).  A ping
   between two VMs runs through the crash and restart; its losses are
   reported.

The agents are started with Python's bytecode cache on (PYTHONDONTWRITEBYTECODE
removed from their environment), as an installed agent has it: without it
every start compiles the agent's modules again (about 1.5 s of a cold
resync on 2 CPUs); ``--no-bytecode-cache`` keeps the variable as it is.
The machine's load average is printed before and after (the figures
depend on it).

Prints a Markdown table; ``--json`` writes the raw figures.  Everything is
named ``naas-<5 hex>-*`` and removed at the end (and by naas-cleanup).
Goals (issue 3): p50 <= 300 ms, resync <= 5 s.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.harness import fullstack  # noqa: E402
from tools.harness import servers  # noqa: E402
from tools.harness.servers import wait_for  # noqa: E402
from tools.harness.log import log  # noqa: E402
from tools.harness.stats import percentile  # noqa: E402

TENANT = 'bench'

# Runs inside the pinging VM's namespace: reads "IP" lines, pings each IP
# every INTERVAL until it answers, writes "IP <CLOCK_MONOTONIC of the reply>"
# (or "IP timeout").  CLOCK_MONOTONIC is system-wide, so the parent compares
# it with its own time.monotonic().
PROBER = r'''
import os, select, socket, struct, sys, time
INTERVAL, TIMEOUT = float(sys.argv[1]), float(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff

def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def echo(seq):
    payload = b'naas-bench'
    hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
    return struct.pack('!BBHHH', 8, 0, checksum(hdr + payload), ident, seq) + payload

seq = 0
for line in sys.stdin:
    target = line.strip()
    if not target:
        continue
    deadline = time.monotonic() + TIMEOUT
    answered = None
    while answered is None and time.monotonic() < deadline:
        seq = (seq + 1) & 0xffff
        try:
            sock.sendto(echo(seq), (target, 0))
        except OSError:
            pass          # no ARP answer yet: EHOSTUNREACH and friends
        until = time.monotonic() + INTERVAL
        while answered is None:
            left = until - time.monotonic()
            if left <= 0:
                break
            if not select.select([sock], [], [], left)[0]:
                break
            data, addr = sock.recvfrom(2048)
            ihl = (data[0] & 0x0f) * 4
            kind, _, _, rid, _ = struct.unpack('!BBHHH', data[ihl:ihl + 8])
            if kind == 0 and rid == ident and addr[0] == target:
                answered = time.monotonic()
    print(target, answered if answered is not None else 'timeout', flush=True)
'''


class Prober(object):
    """The PROBER script running in ``vm``'s namespace."""

    def __init__(self, vm, interval=0.005, timeout=15.0):
        # ARP every 10 ms while a neighbour is unresolved.
        vm.exec(['sysctl', '-qw', 'net.ipv4.neigh.eth0.retrans_time_ms=10',
                 'net.ipv4.neigh.eth0.mcast_solicit=100'], check=False)
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', vm.namespace, sys.executable, '-u', '-c', PROBER,
             str(interval), str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lock = threading.Lock()

    def first_reply(self, address):
        """Send pings to ``address`` until it answers: CLOCK_MONOTONIC of
        the reply, or None on timeout."""
        with self.lock:
            self.proc.stdin.write(address + '\n')
            self.proc.stdin.flush()
            line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != address:
            raise RuntimeError('prober said %r' % line)
        return None if line[1] == 'timeout' else float(line[1])

    def start(self, address):
        """first_reply in a thread: returns a function giving its result."""
        result = {}
        t = threading.Thread(target=lambda: result.setdefault(
            'at', self.first_reply(address)), daemon=True)
        t.start()

        def get():
            t.join()
            return result.get('at')
        return get

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------

def bench_first_ping(env, count):
    """Port create -> first ping, ``count`` VMs alternating between hosts."""
    h1, h2 = env.hosts
    net, _ = env.create_network(TENANT, '10.60.0.0/22')
    src = {h1.name: env.boot_vm(h1, net, '10.60.3.1'),
           h2.name: env.boot_vm(h2, net, '10.60.3.2')}
    for vm in src.values():
        env.wait_port_status(vm.port['id'])
    if not src[h1.name].can_ping(src[h2.name].ip_address, 20):
        raise RuntimeError('the two prober VMs cannot ping each other\n' + env.logs())
    probers = {h.name: Prober(src[h.name]) for h in (h1, h2)}
    rows = []
    try:
        for i in range(count):
            host, other = (h1, h2) if i % 2 == 0 else (h2, h1)
            address = '10.60.%d.%d' % (i // 250, i % 250 + 2)
            t0 = time.monotonic()
            port = env.create_port(net, host, address)
            t_created = time.monotonic()
            reply = probers[other.name].start(address)
            env.boot_vm(host, net, port=port, fast_arp=False, tx_checksum=True)
            t_plugged = time.monotonic()
            at = reply()
            if at is None:
                raise RuntimeError('VM %s (%s on %s) never answered\n%s'
                                   % (i, address, host.name, env.logs()))
            rows.append({'vm': i, 'host': host.name,
                         'create_ms': (t_created - t0) * 1000,
                         'plug_ms': (t_plugged - t_created) * 1000,
                         'first_ping_ms': (at - t0) * 1000})
            if (i + 1) % 20 == 0:
                log('%d VMs: first ping p50 %.0f ms', i + 1,
                    percentile([r['first_ping_ms'] for r in rows], 50))
    finally:
        for p in probers.values():
            p.close()
    return rows


def bench_resync(env, n_ports, n_networks=5):
    h1, h2 = env.hosts
    agent = env.agents[1]
    nets = [env.create_network(TENANT, '10.70.%d.0/22' % (4 * i))[0]
            for i in range(n_networks)]
    a = env.boot_vm(h1, nets[0], '10.70.3.1')
    b = env.boot_vm(h2, nets[0], '10.70.3.2')
    per_net = [n_ports // n_networks + (1 if i < n_ports % n_networks else 0)
               for i in range(n_networks)]
    t = time.monotonic()
    ports = []
    for net, n in zip(nets, per_net):
        ports.append((net, env.create_ports(net, h2, n, threads=4)))
    log('%d ports created in %.1fs', n_ports, time.monotonic() - t)
    env.wait_port_status(a.port['id'])
    env.wait_port_status(b.port['id'])
    result = {'ports': n_ports}

    # Cold: plugged while the agent is dead (VMs that only hold a port, no
    # IPv6; on OVS 100 VIFs per OVSDB transaction: env.plug_many).
    agent.kill()
    t = time.monotonic()
    for net, ports_of_net in ports:
        env.plug_many(h2, net, ports_of_net)
    log('%d VIFs plugged in %.1fs (agent dead)', n_ports, time.monotonic() - t)
    total = n_ports + 1
    started = agent.start()
    wait_for(lambda: env.count_ports(h2) == total, 120, 0.05, 'cold resync')
    result['cold_s'] = time.monotonic() - started
    log('cold resync: %d ports ACTIVE %.2fs after the agent started',
        total, result['cold_s'])
    env.wait_agents_alive()

    # Warm: everything wired; a canary plugged while the agent is dead.
    if not a.can_ping(b.ip_address, 15):
        raise RuntimeError('a cannot ping b\n' + env.logs())
    canary_port = env.create_port(nets[1], h2)
    pinger = a.start_ping(b.ip_address, interval=0.2)
    time.sleep(1)
    agent.kill()
    canary = env.boot_vm(h2, nets[1], port=canary_port, configure_ip=False)
    time.sleep(1)
    started = agent.start()
    wait_for(lambda: env.port_status(canary.port['id']) == 'ACTIVE', 120, 0.02,
             'canary ACTIVE')
    result['warm_s'] = time.monotonic() - started
    time.sleep(2)
    result['ping'] = pinger.stop()
    result['active_after'] = env.count_ports(h2)
    log('warm resync: canary ACTIVE %.2fs after the agent started; ping %s',
        result['warm_s'], result['ping'])
    return result


def markdown(args, first, resync):
    lines = ['| measure | value | goal |', '|---|---:|---:|']
    fp = [r['first_ping_ms'] for r in first]
    if fp:
        lines += [
            '| port create -> first ping, p50 (%d VMs, 2 hosts) | %.0f ms | <= 300 ms |'
            % (len(fp), percentile(fp, 50)),
            '| port create -> first ping, p99 | %.0f ms | |' % percentile(fp, 99),
            '| port create -> first ping, max | %.0f ms | |' % max(fp),
            '| of which POST /v2.0/ports, p50 | %.0f ms | |'
            % percentile([r['create_ms'] for r in first], 50),
            '| of which VM plug (namespace, veth, address), p50 | %.0f ms | |'
            % percentile([r['plug_ms'] for r in first], 50),
        ]
    if resync:
        n = resync['ports']
        lines += [
            '| agent resync, cold (%d VIFs plugged while dead -> all ACTIVE) | %.2f s '
            '| <= 5 s |' % (n, resync['cold_s']),
            '| agent resync, warm (%d wired, SIGKILL, restart -> canary ACTIVE) '
            '| %.2f s | <= 5 s |' % (n, resync['warm_s']),
            '| ping (every 0.2 s) across SIGKILL + restart: lost | %d of %d | <= 1 |'
            % (resync['ping']['lost'], resync['ping']['sent']),
        ]
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--driver', default='linuxbridge',
                        choices=['linuxbridge', 'openvswitch'])
    parser.add_argument('--network-type', default='vxlan',
                        choices=['vxlan', 'gre', 'vlan'])
    parser.add_argument('--vms', type=int, default=100,
                        help='VMs for port-create-to-first-ping (0: skip)')
    parser.add_argument('--resync-ports', type=int, default=500,
                        help='ports on one host for the resync (0: skip)')
    parser.add_argument('--json', help='write the raw figures here')
    parser.add_argument('--debug', action='store_true', help='agents log DEBUG')
    parser.add_argument('--agent-log', metavar='FILE',
                        help='copy the resync host\'s agent log here (its timestamps '
                        'split a resync: OVS ready, reconciled, the bundles with --debug)')
    parser.add_argument('--no-bytecode-cache', action='store_true',
                        help='leave PYTHONDONTWRITEBYTECODE in the agents\' environment')
    args = parser.parse_args(argv)
    if not args.no_bytecode_cache:
        os.environ.pop('PYTHONDONTWRITEBYTECODE', None)
    load_before = os.getloadavg()
    reason = fullstack.missing_requirements(args.driver)
    if reason:
        print('bench_dataplane: %s' % reason, file=sys.stderr)
        return 2
    first, resync = [], None
    rabbit = servers.RabbitMQServer()
    rabbit.setUp()
    try:
        if args.vms:
            env = fullstack.FullstackEnvironment(
                rabbit, driver=args.driver, network_type=args.network_type,
                debug=args.debug)
            env.setUp()
            try:
                log('environment %s up: port create -> first ping, %d VMs',
                    env.prefix, args.vms)
                first = bench_first_ping(env, args.vms)
            finally:
                env.cleanUp()
        if args.resync_ports:
            env = fullstack.FullstackEnvironment(
                rabbit, driver=args.driver, network_type=args.network_type,
                debug=args.debug)
            env.setUp()
            try:
                log('environment %s up: resync at %d ports', env.prefix,
                    args.resync_ports)
                resync = bench_resync(env, args.resync_ports)
            finally:
                if args.agent_log:
                    shutil.copyfile(env.agents[1].log_file, args.agent_log)
                env.cleanUp()
    finally:
        rabbit.cleanUp()
    title = '%s, %s tenant networks, %d CPUs' % (args.driver, args.network_type,
                                                os.cpu_count())
    print('\n### %s\n' % title)
    print(markdown(args, first, resync))
    print('\nload average (1, 5, 15 min): before %.1f %.1f %.1f, after %.1f %.1f %.1f'
          % (load_before + os.getloadavg()))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'driver': args.driver, 'network_type': args.network_type,
                       'first_ping': first, 'resync': resync}, f, indent=1)
    ok = True
    if first:
        ok &= percentile([r['first_ping_ms'] for r in first], 50) <= 300
    if resync:
        ok &= resync['cold_s'] <= 5 and resync['warm_s'] <= 5
        ok &= resync['ping']['lost'] <= 1
    return 0 if ok else 1


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
