#!/usr/bin/env python3
"""Remote-site bridge benchmark (as root): create -> first ping, iperf3.

    .venv/bin/python tools/bench_bridges.py [--driver linuxbridge]
        [--bridges 20] [--iperf-seconds 10] [--iperf-rounds 3] [--json FILE]

Builds the fullstack tier's environment (tools.harness.fullstack: a private
RabbitMQ, naas-server with the ``bridges`` plugin, one host as a namespace
on an underlay, its naas-agent) and a remote site of plain Linux
(tools.harness.remote_site: a namespace with a kernel VXLAN device and a
bridge, a host namespace behind it), and measures:

1. **bridge create -> first ping**, ``--bridges`` times: from just before
   ``POST /v2.0/remote-bridges`` to the first echo reply a VM of the network
   gets from the remote site's host (the VM sends an echo request every
   5 ms, ARP every 10 ms: tools.bench_dataplane.Prober).  In between: the
   API call, the cast to the bridging host's agent, its read of the ports'
   details, the tunnel made by the L2 driver.  The bridge is deleted (and
   the cut checked) before the next round; each round uses another VNI.
2. **iperf3 across the bridge vs a plain VXLAN**: TCP from the VM to the
   remote host through the bridge, and from a plain namespace behind a
   kernel VXLAN device and bridge made by hand in the same host namespace
   to the same remote host (another VNI to the same site): the same
   namespaces and underlay, without NaaS (no port filter, no counters).
   Rounds alternate the order; the ratio is bridge / plain.  Goal: >= 90%.

Prints a Markdown table; ``--json`` writes the raw figures.  Everything is
named ``naas-<5 hex>-*`` and removed at the end (and by naas-cleanup).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools import bench_dataplane  # noqa: E402
from tools.harness import fullstack  # noqa: E402
from tools.harness import remote_site  # noqa: E402
from tools.harness import servers  # noqa: E402
from tools.harness.log import log  # noqa: E402
from tools.harness.stats import percentile  # noqa: E402

TENANT = 'bench'
FIRST_VNI = 70000
PLAIN_VNI = 69999
IPERF_PORT = 5201
PLAIN = {'bridge': 'plainbr', 'vxlan': 'plainvx', 'ip': '10.0.0.99'}


def load():
    return round(os.getloadavg()[0], 2)


def create_bridge(env, network, site, vni):
    body = {'network_id': network['id'], 'remote_ip': site.underlay_ip,
            'segmentation_id': vni, 'project_id': TENANT}
    return env.api.request('POST', '/v2.0/remote-bridges', {'remote_bridge': body},
                           expect=201)[1]['remote_bridge']


def bench_first_ping(env, network, vm, site, count):
    """Rounds of create -> first reply -> delete; each with its own VNI."""
    prober = bench_dataplane.Prober(vm, timeout=30.0)
    rows = []
    try:
        for i in range(count):
            vni = FIRST_VNI + 1 + i
            fullstack.ip('link', 'del', 'vx0', ns=site.namespace)
            site.add_vtep('vx0', vni, site.local_ip)
            started = time.monotonic()
            bridge = create_bridge(env, network, site, vni)
            replied = prober.first_reply(site.ipv4)
            if replied is None:
                raise RuntimeError('no reply from %s through bridge %s\n%s'
                                   % (site.ipv4, bridge['id'], env.logs()))
            rows.append({'vni': vni, 'first_ping_ms': round((replied - started) * 1000, 1),
                         'load': load()})
            log('bridge %d: first ping after %.1f ms', i + 1, rows[-1]['first_ping_ms'])
            env.api.request('DELETE', '/v2.0/remote-bridges/' + bridge['id'], expect=204)
            deadline = time.monotonic() + 20
            while vm.ping(site.ipv4, count=1, timeout=1):
                if time.monotonic() > deadline:
                    raise RuntimeError('bridge %s deleted, the site still answers'
                                       % bridge['id'])
    finally:
        prober.close()
    return rows


def plain_vxlan(env, host, site):
    """A namespace behind a kernel VXLAN device and bridge made by hand in
    the host's namespace, to the same site (PLAIN_VNI): the baseline."""
    ns = '%s-plain' % env.prefix
    fullstack.run(['ip', 'netns', 'add', ns])
    fullstack.ip('link', 'set', 'lo', 'up', ns=ns)
    fullstack.ip('link', 'add', PLAIN['bridge'], 'type', 'bridge', ns=host.namespace)
    fullstack.ip('link', 'add', PLAIN['vxlan'], 'type', 'vxlan', 'id', PLAIN_VNI, 'local',
                 host.tunnel_ip, 'remote', site.underlay_ip, 'dstport', 4789,
                 ns=host.namespace)
    fullstack.ip('link', 'add', 'plain0', 'netns', host.namespace, 'type', 'veth', 'peer',
                 'name', 'eth0', 'netns', ns)
    for dev in (PLAIN['vxlan'], 'plain0'):
        fullstack.ip('link', 'set', dev, 'master', PLAIN['bridge'], 'up', ns=host.namespace)
    fullstack.ip('link', 'set', PLAIN['bridge'], 'up', ns=host.namespace)
    fullstack.ip('addr', 'add', PLAIN['ip'] + '/24', 'dev', 'eth0', ns=ns)
    fullstack.ip('link', 'set', 'eth0', 'mtu', 1400, 'up', ns=ns)
    site.add_vtep('plainvx', PLAIN_VNI, host.tunnel_ip)
    return ns


def remove_plain(env, host, ns):
    for dev in (PLAIN['vxlan'], PLAIN['bridge']):
        fullstack.ip('link', 'del', dev, ns=host.namespace, check=False)
    fullstack.delete_netns(ns)


def iperf(namespace, address, seconds):
    out = subprocess.run(['ip', 'netns', 'exec', namespace, 'iperf3', '-c', address, '-p',
                          str(IPERF_PORT), '-t', str(seconds), '-J'],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=seconds + 60)
    data = json.loads(out.stdout)
    if 'error' in data:
        raise RuntimeError('iperf3 from %s to %s: %s' % (namespace, address, data['error']))
    return data['end']['sum_received']['bits_per_second'] / 1e9


def bench_iperf(env, network, vm, site, seconds, rounds):
    host = vm.host
    fullstack.ip('link', 'del', 'vx0', ns=site.namespace)
    site.add_vtep('vx0', FIRST_VNI, site.local_ip)
    create_bridge(env, network, site, FIRST_VNI)
    if not vm.can_ping(site.ipv4, 30):
        raise RuntimeError('%s cannot ping %s\n%s' % (vm.name, site.ipv4, env.logs()))
    plain = plain_vxlan(env, host, site)
    server = subprocess.Popen(['ip', 'netns', 'exec', site.host_namespace, 'iperf3', '-s',
                               '-p', str(IPERF_PORT)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    rows = []
    try:
        fullstack.run(['ip', 'netns', 'exec', plain, 'busybox', 'ping', '-c', '3', '-W', '2',
                       site.ipv4])
        time.sleep(1)
        for i in range(rounds):
            row = {}
            for mode in (('bridge', 'plain') if i % 2 == 0 else ('plain', 'bridge')):
                row[mode] = round(iperf(vm.namespace if mode == 'bridge' else plain,
                                        site.ipv4, seconds), 3)
                row['load_' + mode] = load()
            row['ratio'] = round(row['bridge'] / row['plain'], 3)
            log('iperf3 round %d: bridge %.2f Gbit/s, plain %.2f Gbit/s (%.0f%%)', i + 1,
                row['bridge'], row['plain'], row['ratio'] * 100)
            rows.append(row)
    finally:
        server.terminate()
        server.wait(5)
        remove_plain(env, host, plain)
    return rows


def markdown(args, first, rounds):
    lines = ['| measure | value |', '|---|---|']
    if first:
        ms = [r['first_ping_ms'] for r in first]
        lines.append('| bridge create -> first ping, %d bridges | p50 %.0f ms, p90 %.0f ms, '
                     'max %.0f ms |' % (len(ms), percentile(ms, 50), percentile(ms, 90),
                                        max(ms)))
    if rounds:
        for key in ('bridge', 'plain', 'ratio'):
            values = [r[key] for r in rounds]
            unit = '' if key == 'ratio' else ' Gbit/s'
            lines.append('| iperf3 %s, %d x %d s | median %.3g%s (%s) |' % (
                key, len(values), args.iperf_seconds, percentile(values, 50), unit,
                ', '.join('%.3g' % v for v in values)))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--driver', default='linuxbridge',
                        choices=['linuxbridge', 'openvswitch'])
    parser.add_argument('--bridges', type=int, default=20,
                        help='create -> first ping rounds (0: skip)')
    parser.add_argument('--iperf-seconds', type=int, default=10)
    parser.add_argument('--iperf-rounds', type=int, default=3, help='0: skip iperf3')
    parser.add_argument('--json', help='write the raw figures here')
    args = parser.parse_args(argv)
    reason = fullstack.missing_requirements(args.driver)
    if reason:
        print('bench_bridges: %s' % reason, file=sys.stderr)
        return 2
    rabbit = servers.RabbitMQServer()
    rabbit.setUp()
    first, rounds = [], []
    try:
        env = fullstack.FullstackEnvironment(
            rabbit, driver=args.driver, hosts=1,
            server_options={'DEFAULT': {'service_plugins': 'bridges'}})
        env.setUp()
        try:
            host = env.hosts[0]
            net, _ = env.create_network(TENANT, '10.0.0.0/24')
            vm = env.boot_vm(host, net, '10.0.0.10')
            env.wait_port_status(vm.port['id'])
            site = remote_site.RemoteSite(env, 1, FIRST_VNI, host.tunnel_ip)
            site.setUp()
            try:
                log('environment %s up (%s)', env.prefix, args.driver)
                if args.bridges:
                    first = bench_first_ping(env, net, vm, site, args.bridges)
                if args.iperf_rounds:
                    rounds = bench_iperf(env, net, vm, site, args.iperf_seconds,
                                         args.iperf_rounds)
            finally:
                site.cleanUp()
        finally:
            env.cleanUp()
    finally:
        rabbit.cleanUp()
    print('\n### remote-site bridges, %s, %d CPUs, load %s\n' % (
        args.driver, os.cpu_count(), load()))
    print(markdown(args, first, rounds))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'driver': args.driver, 'first_ping': first, 'iperf': rounds}, f,
                      indent=1)
    ok = not rounds or percentile([r['ratio'] for r in rounds], 50) >= 0.9
    return 0 if ok else 1


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
