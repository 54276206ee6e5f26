#!/usr/bin/env python3
"""Benchmark the server side of the statistics extension (naas.plugins.statistics).

    .venv/bin/python tools/bench_statistics_server.py [--db sqlite|postgresql]
        [--hosts 100] [--ports-per-host 500] [--network-ports 1000]
        [--scrape-ports 10000] [--repeat 20] [--json FILE]

In one process, as one naas-server API worker runs (the plugin, the real
paste pipeline, no HTTP socket): a fresh database (a SQLite file in a
temporary directory, or a private PostgreSQL of tools.harness.servers;
migrated to head), ``service_plugins = statistics``, notifications off (no
[oslo_messaging_notifications] driver).  Networks of ``--network-ports``
ports each are written directly into the core tables (what 50,000 port
creates through the API would make, without the minutes they take), bound
round-robin to ``--hosts`` hosts.

* ``ingest``: one reporting interval of every host: ``--hosts`` casts of
  ``--ports-per-host`` samples (one address per port), each decoded from
  its JSON text (oslo.messaging's envelope, then the message, as the
  rabbit driver's listener does) and handed to the plugin's RPC endpoint
  (StatisticsEndpoint: its transaction), one after the other, no
  transport; measured for the first interval (rows inserted), then
  ``--intervals`` times for the next ones (rows replaced, rates computed;
  the median is shown).  Goal: <= 1 s for 100 x 500.  The casts are of
  the agents' RPC version (1.4: the samples in columns, a group per
  network, packed in one string, which the endpoint unpacks and checks);
  ``--rpc-version 1.3`` sends compact rows packed, ``1.2`` as a list,
  ``1.1`` or ``1.0`` as older agents do (dicts; 1.0's name no network, and
  the server looks every port up in the ports table), ``all`` alternates
  the five, interval by interval.
  With ``--threads N`` as many more intervals are stored by N threads at
  once, as one naas-server's RPC thread pool takes the casts of many
  agents that report together (the plugin stores [statistics]
  ingest_concurrency of them at a time); the goal is then that figure's,
  the way the server takes an interval.  With PostgreSQL the server's CPU
  (postmaster and backends, from /proc) is printed too: a figure that a
  loaded machine inflates less than wall time.
* ``network``: GET /v2.0/network-statistics/{id} of a network with
  ``--network-ports`` ports, as its owner (p50 and p99 of ``--repeat``).
  Goal: <= 20 ms for 1,000 ports.
* ``scrape``: GET /metrics with ``--scrape-ports`` ports, each with its
  per-port series (p50 of ``--repeat`` / 4).  Goal: <= 500 ms for 10,000
  ports.  Measured before the other hosts' ports are added; then once more
  with every port, above [statistics] prometheus_max_ports (network series
  only).

Prints a Markdown table; exit status 0 when every goal is met.
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fixtures  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import webob  # noqa: E402

from naas.db import api as db_api  # noqa: E402
from naas.db import models  # noqa: E402
from naas.plugins import manager as plugin_manager  # noqa: E402
from naas.rpc import statistics_api  # noqa: E402
from oslo_messaging._drivers import common as messaging_common  # noqa: E402
from tools.harness import inprocess  # noqa: E402
from tools.harness import servers  # noqa: E402

PROJECT = 'bench-project'
NOW = '2026-11-30T00:00:00Z'
GOALS_MS = {'ingest': 1000.0, 'network': 20.0, 'scrape': 500.0}


def configure(db_url):
    return inprocess.load_app(db_url, ['statistics'], **{'statistics.notifications': False})


def add_ports(engine, hosts, networks, network_ports):
    """``networks`` networks of ``network_ports`` ports each, bound
    round-robin to ``hosts``: {host: [(port id, network id)]} and the
    network ids."""
    net_rows, port_rows, by_host = [], [], {host: [] for host in hosts}
    network_ids = []
    for _ in range(networks):
        net_id = str(uuid.uuid4())
        network_ids.append(net_id)
        net_rows.append({'id': net_id, 'project_id': PROJECT, 'name': '', 'description': '',
                         'created_at': NOW, 'updated_at': NOW, 'revision_number': 0,
                         'tags': '[]', 'status': 'ACTIVE', 'admin_state_up': True,
                         'shared': False, 'router_external': False, 'mtu': 1450,
                         'port_security_enabled': True, 'availability_zone_hints': '[]'})
        for i in range(network_ports):
            port_id = str(uuid.uuid4())
            host = hosts[len(port_rows) % len(hosts)]
            by_host[host].append((port_id, net_id))
            n = len(port_rows)
            port_rows.append({
                'id': port_id, 'project_id': PROJECT, 'name': '', 'description': '',
                'created_at': NOW, 'updated_at': NOW, 'revision_number': 0, 'tags': '[]',
                'network_id': net_id, 'mac_address': 'fa:16:3e:%02x:%02x:%02x' % (
                    n >> 16 & 255, n >> 8 & 255, n & 255),
                'admin_state_up': True, 'status': 'ACTIVE', 'device_id': str(uuid.uuid4()),
                'device_owner': 'compute:nova', 'port_security_enabled': True,
                'dns_name': '', 'security_groups': '[]', 'allowed_address_pairs': '[]',
                'binding_host_id': host, 'binding_vnic_type': 'normal',
                'binding_vif_type': 'bridge', 'binding_vif_details': '{}',
                'binding_profile': '{}', 'fixed_ips': '[]'})
    with engine.begin() as conn:
        conn.execute(models.networks.insert(), net_rows)
        for start in range(0, len(port_rows), 5000):
            conn.execute(models.ports.insert(), port_rows[start:start + 5000])
    return by_host, network_ids


def batch(host, ports, step, collected_at, rpc_version=statistics_api.StatisticsAPI.VERSION):
    """One host's samples of interval ``step`` (counters grow each time), as
    its agent's cast carries them: the message of ``rpc_version`` (1.4:
    groups packed; 1.3: compact rows packed; 1.2: compact rows; 1.1: dicts naming the port's
    network; 1.0: dicts), in oslo.messaging's envelope, as JSON text.  Returns (the text, ports)."""
    ports_data = []
    for i, (port_id, network_id) in enumerate(ports):
        base = (i + 1) * 1000 * step
        ports_data.append({
            'port_id': port_id, 'network_id': network_id, 'vif': str(i + 10),
            'counters': {'rx_bytes': base, 'rx_packets': base // 100, 'tx_bytes': base // 2,
                         'tx_packets': base // 200, 'rx_dropped': 0, 'tx_dropped': 0,
                         'rx_errors': 0, 'tx_errors': 0},
            'addresses': {'10.%d.%d.%d' % (i >> 16 & 255, i >> 8 & 255, i & 255): {
                'rx_bytes': base // 2, 'rx_packets': base // 200, 'tx_bytes': base // 4,
                'tx_packets': base // 400}}})
    args = {'host': host, 'collected_at': collected_at}
    if rpc_version in ('1.4', '1.3', '1.2'):
        rows = [statistics_api.compact(port) for port in ports_data]
        if rpc_version == '1.4':
            args['groups'] = statistics_api.pack(statistics_api.grouped(rows))
        elif rpc_version == '1.3':
            args['packed'] = statistics_api.pack(rows)
        else:
            args['samples'] = rows
    else:
        if rpc_version == '1.0':
            for port in ports_data:
                del port['network_id']
        args['ports'] = ports_data
    message = {'method': 'report_statistics', 'version': rpc_version, 'args': args}
    return json.dumps(messaging_common.serialize_msg(message)), len(ports_data)


def decode(text):
    """What the server's RPC listener does with a cast's body: the
    envelope, then the message (oslo.messaging's rabbit driver)."""
    return messaging_common.deserialize_msg(json.loads(text))


def decode_all(text):
    """The decode of a cast, with the endpoint's unpack of 1.3's rows, or
    unpack and check of 1.4's groups."""
    args = decode(text)['args']
    if 'packed' in args:
        statistics_api.unpack(args['packed'])
    elif 'groups' in args:
        statistics_api.checked_groups(statistics_api.unpack(args['groups']))


def process_tree_cpu_ms(pid):
    """CPU (user + system, ms) of process ``pid`` and its children, from
    /proc: the database server's work (PostgreSQL's postmaster and its
    backends); None without a pid."""
    if pid is None:
        return None
    total = 0
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total * 1000.0 / os.sysconf('SC_CLK_TCK')


def ingest(plugin, by_host, collected_at, step, db_pid=None, threads=1,
           rpc_version=statistics_api.StatisticsAPI.VERSION):
    """{'ms': wall, 'cpu_ms': this process's CPU, 'db_cpu_ms': the database
    server's CPU (None for SQLite, in this process)} to store one interval
    of every host, from the casts' JSON text (decoded and handed to the
    plugin's RPC endpoint, as the server's listener does): one batch at a
    time, or ``threads`` at a time (as the RPC server's thread pool takes
    casts that arrive together).  'decode_ms': the part of the casts'
    decode, measured alone before."""
    endpoint = statistics_api.StatisticsEndpoint(plugin)
    batches = [batch(host, ports, step, collected_at, rpc_version)
               for host, ports in by_host.items()]
    texts = [text for text, _ in batches]
    started = time.perf_counter()
    for text in texts:
        decode_all(text)
    decode_ms = (time.perf_counter() - started) * 1000.0

    def handle(text):
        message = decode(text)
        return endpoint.report_statistics({}, **message['args'])
    start, cpu = time.perf_counter(), time.process_time()
    db_cpu = process_tree_cpu_ms(db_pid)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        stored = sum(pool.map(handle, texts))
    elapsed = {'ms': (time.perf_counter() - start) * 1000.0,
               'cpu_ms': (time.process_time() - cpu) * 1000.0,
               'db_cpu_ms': db_cpu and process_tree_cpu_ms(db_pid) - db_cpu,
               'kb_per_batch': round(sum(map(len, texts)) / len(texts) / 1024.0),
               'decode_ms': decode_ms}
    expected = sum(count for _, count in batches)
    if stored != expected:
        raise RuntimeError('stored %d samples of %d' % (stored, expected))
    return elapsed


def timed_get(app, path, repeat, **headers):
    """Milliseconds of ``repeat`` GETs (all must answer 200): wall p50 and
    p99, CPU p50."""
    times, cpu_times = [], []
    for _ in range(repeat):
        request = webob.Request.blank(path)
        request.remote_addr = '127.0.0.1'
        for name, value in headers.items():
            request.headers[name] = value
        start, cpu = time.perf_counter(), time.process_time()
        response = request.get_response(app)
        times.append((time.perf_counter() - start) * 1000.0)
        cpu_times.append((time.process_time() - cpu) * 1000.0)
        if response.status_int != 200:
            raise RuntimeError('%s: %s %s' % (path, response.status, response.text[:300]))
    times.sort()
    return {'p50_ms': statistics.median(times),
            'p99_ms': times[min(len(times) - 1, int(len(times) * 0.99))],
            'cpu_p50_ms': statistics.median(cpu_times),
            'bytes': len(response.body)}


def run(args, db_url, db_pid=None):
    app, engine = configure(db_url)
    plugin = plugin_manager.get_manager().services['statistics']
    hosts = ['host-%03d' % i for i in range(args.hosts)]
    results = {}
    # 1. The scrape's and the network's ports, on as many hosts as they fill.
    scrape_hosts = hosts[:max(1, args.scrape_ports // args.ports_per_host)]
    by_host, network_ids = add_ports(engine, scrape_hosts,
                                     args.scrape_ports // args.network_ports, args.network_ports)
    t0 = time.time()
    ingest(plugin, by_host, t0, 1)
    ingest(plugin, by_host, t0 + 10, 2)
    owner = {'X-Project-Id': PROJECT, 'X-Roles': 'member'}
    results['network'] = timed_get(app, '/v2.0/network-statistics/' + network_ids[0],
                                   args.repeat, **owner)
    results['network']['ports'] = args.network_ports
    results['scrape'] = timed_get(app, '/metrics', max(3, args.repeat // 4))
    results['scrape']['ports'] = args.scrape_ports
    # 2. Every host's ports: one interval of all of them, twice.
    rest = hosts[len(scrape_hosts):]
    if rest:
        more, _ = add_ports(engine, rest,
                            len(rest) * args.ports_per_host // args.network_ports,
                            args.network_ports)
        by_host.update(more)
    ports = sum(len(p) for p in by_host.values())
    results['ingest_first'] = dict(ingest(plugin, by_host, t0 + 20, 3, db_pid), ports=ports,
                                   batches=len(by_host))
    # The next intervals, --intervals times each way (alternating, so that
    # the machine's drift weighs on each alike); the run of median wall.
    versions = (['1.4', '1.3', '1.2', '1.1', '1.0'] if args.rpc_version == 'all'
                else [args.rpc_version])
    ways = [(version, 1) for version in versions] + (
        [(version, args.threads) for version in versions] if args.threads > 1 else [])
    runs = {way: [] for way in ways}
    step = 4
    for _ in range(args.intervals):
        for version, threads in ways:
            runs[version, threads].append(ingest(plugin, by_host, t0 + 10 * step, step,
                                                 db_pid, threads, version))
            step += 1
    results['ingest_keys'] = []
    for (version, threads), measured in runs.items():
        median = sorted(measured, key=lambda run: run['ms'])[len(measured) // 2]
        key = 'ingest' + ('_threads' if threads > 1 else '') + (
            '_rpc_' + version.replace('.', '_') if version != versions[0] else '')
        results['ingest_keys'].append(key)
        results[key] = dict(median, ports=ports, batches=len(by_host),
                            threads=threads, rpc_version=version,
                            walls_ms=[round(run['ms'], 1) for run in measured])
    results['scrape_all'] = timed_get(app, '/metrics', 3)
    results['scrape_all']['ports'] = ports
    with engine.connect() as conn:
        results['rows'] = {table: conn.execute(sa.text('SELECT count(*) FROM %s' % table))
                           .scalar() for table in ('port_statistics_samples',
                                                   'port_statistics_offsets',
                                                   'port_address_statistics_offsets')}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--db', choices=('sqlite', 'postgresql'), default='sqlite')
    parser.add_argument('--hosts', type=int, default=100)
    parser.add_argument('--ports-per-host', type=int, default=500)
    parser.add_argument('--network-ports', type=int, default=1000)
    parser.add_argument('--scrape-ports', type=int, default=10000)
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--threads', type=int, default=1,
                        help='also measure an interval stored by this many threads at once')
    parser.add_argument('--intervals', type=int, default=3,
                        help='measure the next interval this many times (the median is shown)')
    parser.add_argument('--rpc-version', choices=('1.4', '1.3', '1.2', '1.1', '1.0', 'all'),
                        default='1.4',
                        help="the agents' casts: groups by network packed (1.4), "
                        "compact rows packed (1.3) or not (1.2), "
                        "dicts naming each "
                        "port's network (1.1), dicts (1.0), or all five alternately")
    parser.add_argument('--json')
    args = parser.parse_args()
    with fixtures.TempDir() as tmp:
        if args.db == 'sqlite':
            results = run(args, 'sqlite:///%s' % os.path.join(tmp.path, 'naas.sqlite'))
        else:
            with servers.PostgreSQLServer() as pg:
                results = run(args, pg.create_database(),
                              pg.process.pid if pg.process else None)
        db_api.set_engine(None)
    load = os.getloadavg()
    print('statistics server, %s, load %.1f %.1f %.1f\n' % ((args.db,) + load))
    print('| measure | wall | CPU of this process | goal |\n|---|---|---|---|')
    goal_key = 'ingest_threads' if args.threads > 1 else 'ingest'
    ingest_ms = results[goal_key]['ms']
    size = '%d hosts x %d ports' % (args.hosts, args.ports_per_host)
    rows = [
        ('ingest, %s, first interval (inserts)' % size, results['ingest_first']['ms'],
         results['ingest_first']['cpu_ms'], ''),
    ]
    for key in results['ingest_keys']:
        run_ = results[key]
        rows.append(('ingest, %s, next interval%s, RPC %s casts of %d kB, decode %.0f ms '
                     '(median; runs in order %s ms)' % (
                         size, ', %d threads' % run_['threads'] if run_['threads'] > 1 else '',
                         run_['rpc_version'], run_['kb_per_batch'], run_['decode_ms'],
                         ', '.join('%.0f' % wall for wall in run_['walls_ms'])),
                     run_['ms'], run_['cpu_ms'], '<= 1000 ms' if key == goal_key else ''))
    rows += [
        ('network statistics, %d ports (p50; p99 %.1f ms)' % (
            args.network_ports, results['network']['p99_ms']),
         results['network']['p50_ms'], results['network']['cpu_p50_ms'], '<= 20 ms'),
        ('Prometheus scrape, %d ports (p50, %d kB)' % (
            args.scrape_ports, results['scrape']['bytes'] // 1024),
         results['scrape']['p50_ms'], results['scrape']['cpu_p50_ms'], '<= 500 ms'),
        ('Prometheus scrape, %d ports, network series only (p50)' % (
            results['scrape_all']['ports']), results['scrape_all']['p50_ms'],
         results['scrape_all']['cpu_p50_ms'], ''),
    ]
    for name, wall, cpu, goal in rows:
        print('| %s | %.1f ms | %.1f ms | %s |' % (name, wall, cpu, goal))
    if results['ingest']['db_cpu_ms'] is not None:
        print('\nPostgreSQL server CPU during the ingest: first interval %.0f ms; %s' % (
            results['ingest_first']['db_cpu_ms'], ', '.join(
                '%s %.0f ms' % (key, results[key]['db_cpu_ms'])
                for key in results['ingest_keys'])))
    print('\nrows stored: %s' % results['rows'])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(results, load=load, args=vars(args)), f, indent=1)
    met = (ingest_ms <= GOALS_MS['ingest'] and results['network']['p50_ms'] <= GOALS_MS['network']
           and results['scrape']['p50_ms'] <= GOALS_MS['scrape'])
    return 0 if met else 1


if __name__ == '__main__':
    sys.exit(main())
