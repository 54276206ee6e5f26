#!/usr/bin/env python3
"""Agent side of the statistics: CPU of one collection pass (issue 10, as root).

    .venv/bin/python tools/bench_statistics_agent.py [--driver linuxbridge|openvswitch|both]
        [--ports 500] [--passes 10] [--interval 10] [--fake-transport] [--json FILE]

Goal: collecting the counters of 500 ports on one host costs <= 50 ms of
CPU per [statistics] report_interval.

For each driver the script builds a host as a namespace of its own
(``nbst-<pid>``), with ``--ports`` veth pairs whose host ends are VIFs as
the compute library plugs them (named ``base.vif_name(port_id)``; on Open
vSwitch ports of a private br-int, tools.harness.ovs_host, with
external_ids iface-id), and counts two addresses per port (an IPv4 fixed
IP and an IPv6 one: 4 nftables elements per port) with the
driver's counters object (what the driver's PortCounters methods delegate
to: naas.agent.l2.counters_linuxbridge / counters_ovs).  Then, ``--passes``
times, one pass as the agent's statistics thread makes it: port_counters
of every port, then naas.rpc.statistics_api's casts (of about 500 ports) to a
private RabbitMQ (tools.harness.servers; ``--fake-transport``: the
in-process driver).  One pass first warms up (connections).

Figures per pass (median and max):

* ``cpu_ms``: time.process_time() around port_counters + the casts: this
  process, every thread (the goal's figure); ``of_which_casts_cpu_ms``:
  the casts' part;
* ``child_cpu_ms``: the CPU of processes a pass runs, from RUSAGE_CHILDREN
  (none is expected: counters are read by netlink and from the OVSDB
  replica; the figure shows it);
* ``wall_ms``;
* ``idle_cpu_ms_per_interval``: this process's CPU during ``--interval``
  seconds of sleep after the passes: what the agent spends between passes
  (on Open vSwitch, the OVSDB replica taking ovs-vswitchd's statistics
  updates, every 5 s).

Everything the script creates (namespaces, OVS daemons, the broker) is
removed at the end; nothing touches the root namespace's interfaces.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from naas.agent.l2 import base  # noqa: E402
from naas.agent.l2 import counters  # noqa: E402
from naas.agent.l2 import counters_linuxbridge  # noqa: E402
from naas.agent.l2 import counters_ovs  # noqa: E402
from naas.conf import CONF  # noqa: E402
from naas.host import ip_lib  # noqa: E402
from naas.host import ovs_lib  # noqa: E402
from naas import rpc  # noqa: E402
from naas.rpc import statistics_api  # noqa: E402
from tools.harness import ovs_host  # noqa: E402
from tools.harness import servers  # noqa: E402

#: The network every port of the benchmark is on (as the agent names it).
NETWORK = '5a5a5a5a-5a5a-4000-8000-5a5a5a5a5a5a'


def port_id(i):
    return '%08x-5a5a-4000-8000-%012x' % (0x5a000000 + i, i)


def details(i):
    return {'port_id': port_id(i), 'mac_address': 'fa:16:3e:%02x:%02x:%02x' % (
                i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff),
            'fixed_ips': [{'ip_address': '10.%d.%d.%d' % (i >> 16 & 0xff, i >> 8 & 0xff,
                                                           i & 0xff)},
                          {'ip_address': '2001:db8::%x' % i}]}


def make_host(namespace):
    """The host namespace, IPv6 off: no DAD, router solicitation or MLD
    frames flooded to every port (on Open vSwitch's userspace datapath they
    keep ovs-vswitchd busy for minutes at 500 ports)."""
    subprocess.run(['ip', 'netns', 'add', namespace], check=True)
    subprocess.run(['ip', 'netns', 'exec', namespace, 'sysctl', '-q', '-w',
                    'net.ipv6.conf.all.disable_ipv6=1',
                    'net.ipv6.conf.default.disable_ipv6=1'], check=True)


def make_vifs(namespace, ports):
    """``ports`` veth pairs in ``namespace``: host end vif_name(port_id)
    with the port id as ifalias, up; the other end ``nbp<i>``, up.  One
    ``ip -batch`` run."""
    lines = []
    for i in range(ports):
        name = base.vif_name(port_id(i))
        lines += ['link add %s type veth peer name nbp%d' % (name, i),
                  'link set %s alias %s up' % (name, port_id(i)),
                  'link set nbp%d up' % i]
    subprocess.run(['ip', '-n', namespace, '-batch', '-'], input='\n'.join(lines) + '\n',
                   text=True, check=True)


def measure(collect, passes, interval):
    """Figures of ``passes`` calls of ``collect`` (one warm-up first);
    ``collect`` returns the CPU seconds its casts took."""
    collect()
    cpu, cast, child, wall = [], [], [], []
    for _ in range(passes):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started_cpu, started = time.process_time(), time.perf_counter()
        cast.append(collect() * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child.append((after.ru_utime + after.ru_stime
                      - children.ru_utime - children.ru_stime) * 1000)
    idle_started = time.process_time()
    time.sleep(interval)
    idle = (time.process_time() - idle_started) * 1000

    def summary(values):
        return {'median': round(statistics.median(values), 1), 'max': round(max(values), 1)}
    return {'cpu_ms': summary(cpu), 'of_which_casts_cpu_ms': summary(cast),
            'child_cpu_ms': summary(child), 'wall_ms': summary(wall),
            'idle_cpu_ms_per_interval': round(idle, 1)}


def collector(counter, ports, api):
    ids = [port_id(i) for i in range(ports)]

    def collect():
        collected_at = time.time()
        samples = counter.port_counters(ids)
        assert len(samples) == ports, 'only %d of %d ports read' % (len(samples), ports)
        data = [counters.sample_data(p, NETWORK, s) for p, s in sorted(samples.items())]
        assert all(len(row[4]) == 2 for row in data), 'addresses not counted'
        started = time.process_time()
        api.report_statistics({}, collected_at, data)     # (in casts of about 500)
        return time.process_time() - started
    return collect


def bench_linuxbridge(namespace, args, api):
    make_host(namespace)
    ip = None
    try:
        make_vifs(namespace, args.ports)
        ip = ip_lib.IPHandle(namespace)
        counter = counters_linuxbridge.LinuxBridgeCounters(lambda: ip, namespace)
        counter.count_addresses([details(i) for i in range(args.ports)])
        result = measure(collector(counter, args.ports, api), args.passes, args.interval)
        counter.close()
        return result
    finally:
        if ip is not None:
            ip.close()
        subprocess.run(['ip', 'netns', 'del', namespace], check=False)


def bench_openvswitch(namespace, args, api):
    run_dir = tempfile.mkdtemp(prefix='nbst-ovs-')
    make_host(namespace)
    host = ovs_host.PrivateOVS(run_dir, namespace)
    try:
        host.start()
        host.add_bridge('br-int')
        make_vifs(namespace, args.ports)
        command = []
        for i in range(args.ports):
            name = base.vif_name(port_id(i))
            command += ['--', 'add-port', 'br-int', name, '--', 'set', 'Interface', name,
                        'external_ids:iface-id=%s' % port_id(i)]
        host.vsctl(*command)
        connection = host.db_connection
        ovsdb = ovs_lib.get_api(connection)
        wanted = {port_id(i) for i in range(args.ports)}
        servers.wait_for(lambda: len(counters_ovs.interface_counters(ovsdb, wanted))
                         == args.ports, timeout=120, what='ofports of the VIFs')
        counter = counters_ovs.OvsCounters(lambda: ovsdb, namespace)
        counter.count_addresses([details(i) for i in range(args.ports)])
        try:
            return measure(collector(counter, args.ports, api), args.passes, args.interval)
        finally:
            counter.close()
    finally:
        ovs_lib.close()
        try:
            host.stop(timeout=60)
        finally:
            for daemon in ('ovs-vswitchd', 'ovsdb-server'):
                if host.running(daemon):
                    os.kill(host.pid(daemon), signal.SIGKILL)
            subprocess.run(['ip', 'netns', 'del', namespace], check=False)
            shutil.rmtree(run_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--driver', choices=('linuxbridge', 'openvswitch', 'both'),
                        default='both')
    parser.add_argument('--ports', type=int, default=500)
    parser.add_argument('--passes', type=int, default=10)
    parser.add_argument('--interval', type=float, default=10,
                        help='seconds of idle after the passes whose CPU is measured')
    parser.add_argument('--fake-transport', action='store_true',
                        help="cast with oslo.messaging's in-process driver, no RabbitMQ")
    parser.add_argument('--json', help='write the figures to this file too')
    args = parser.parse_args(argv)
    rabbit = None
    if not args.fake_transport:
        rabbit = servers.RabbitMQServer()
        rabbit.setUp()
        CONF.set_override('transport_url', rabbit.transport_url)
    results = {'ports': args.ports, 'passes': args.passes,
               'transport': 'fake' if args.fake_transport else 'rabbit'}
    try:
        api = statistics_api.StatisticsAPI('bench-host')
        drivers = ['linuxbridge', 'openvswitch'] if args.driver == 'both' else [args.driver]
        for name in drivers:
            namespace = 'nbst-%d' % os.getpid()
            load = os.getloadavg()[0]
            bench = bench_linuxbridge if name == 'linuxbridge' else bench_openvswitch
            results[name] = dict(bench(namespace, args, api), load_before=round(load, 2),
                                 load_after=round(os.getloadavg()[0], 2))
            print(name, json.dumps(results[name]), flush=True)
    finally:
        rpc.cleanup()
        if rabbit is not None:
            rabbit.cleanUp()
    if args.json:
        with open(args.json, 'w') as out:
            json.dump(results, out, indent=2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
