#!/usr/bin/env python3
"""Before/after benchmark: two NaaS trees and the Neutron peer, in one run.

    .venv/bin/python tools/bench_compare.py --baseline-tree DIR \\
        [--baseline-rev REV] [--rounds 2] [--vms 40] [--resync-ports 200]

Compares a *baseline* checkout of NaaS (``--baseline-tree``, e.g. the commit
before a redesign) with the *current* one (the tree holding this script),
each with its own virtualenv at ``TREE/.venv``; with ``--baseline-rev`` a
missing baseline tree is made here (``git worktree add`` and a virtualenv).
Run as root (the dataplane benchmark builds namespaces).

1. **API** (tools/bench_api.py of the current tree for every target, with the
   flags of docs/performance.md "API server").  The Neutron peer and its
   MariaDB are started with tools/peer/neutron-up.sh (and stopped at the end
   if this run started them); one RabbitMQ (tools.harness.servers); each
   tree's ``naas-server`` (2 API workers, noauth, quotas unlimited, a MariaDB
   database of its own made afresh).  The two NaaS servers are measured in
   ``--rounds`` rounds whose order alternates (baseline, current; then
   current, baseline; ...), with Neutron measured once, after the first
   round, so that a change of machine load hits both trees alike.
2. **Dataplane** (each tree's own tools/bench_dataplane.py, so each tree's
   server and agents): for every driver, both trees one after the other, the
   order alternating between drivers.

Prints one Markdown table (scenario, baseline, current, current vs baseline,
Neutron, current vs Neutron; every ratio is a speed-up, > 1 meaning faster)
with the load average seen during the run.  Raw JSON and every log go to
``--out`` (default a new /tmp/naas-bench-compare-* directory).  Everything
started is stopped on exit, also on error, Ctrl-C or SIGTERM.

Exit status: 0 if every measurement ran, 1 if one failed (the table shows
what was measured), 2 on bad usage or a missing prerequisite.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CURRENT_TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, CURRENT_TREE)

from tools.harness import servers  # noqa: E402
from tools.harness.log import log  # noqa: E402
from tools.harness.stats import percentile  # noqa: E402

PEER_DIR = os.path.join(CURRENT_TREE, 'tools', 'peer')
NEUTRON_PORT = 19696
MARIADB = ('127.0.0.1', 13306, 'naas', 'pw')   # as tools/peer/neutron-up.sh makes it
# docs/performance.md, "API server".
API_FLAGS = ['--networks', '20', '--ports', '200', '--list-size', '600',
             '--list-repeats', '5', '--clients', '8']
# One bench_api run.  Neutron's run takes 7 minutes at a load average of 5
# and 20 at 10 on 2 CPUs; NaaS's about 1 and 2.
API_TIMEOUT = {'neutron': 2700, 'baseline': 900, 'current': 900}
DATAPLANE_TIMEOUT = 1200     # one bench_dataplane run
SERVER_START_TIMEOUT = 90

# (scenario, label, key in bench_api's results, lower is better)
API_ROWS = [
    ('network_create', 'network create, ops/s', 'ops_per_s', False),
    ('network_create', 'network create, p50 ms', 'p50_ms', True),
    ('port_create_serial', 'port create serial, ops/s', 'ops_per_s', False),
    ('port_create_serial', 'port create serial, p50 ms', 'p50_ms', True),
    ('port_create_concurrent', 'port create 8 clients, ops/s', 'ops_per_s', False),
    ('port_create_concurrent', 'port create 8 clients, p50 ms', 'p50_ms', True),
    ('port_create_concurrent', 'port create 8 clients, p99 ms', 'p99_ms', True),
    ('port_list', 'port list 600 ports, p50 ms', 'p50_ms', True),
    ('port_list', 'port list 600 ports, p99 ms', 'p99_ms', True),
    ('port_show', 'port show, ops/s', 'ops_per_s', False),
    ('port_update', 'port update, ops/s', 'ops_per_s', False),
    ('port_delete', 'port delete, ops/s', 'ops_per_s', False),
]


class Failed(Exception):
    """A step that failed; the message says which and where its log is."""


def run_logged(cmd, log_file, timeout, cwd=None, env=None):
    """Run cmd in a session of its own with stdout and stderr to log_file.

    On timeout (or if this process is interrupted) the whole group gets
    SIGINT, so a benchmark cleans up as on Ctrl-C, then SIGKILL.  Returns
    the exit status."""
    with open(log_file, 'ab') as out:
        out.write(('$ %s\n' % ' '.join(cmd)).encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log('%s: no result after %d s, interrupting it', cmd[1], timeout)
        raise Failed('%s timed out after %d s; see %s'
                     % (os.path.basename(cmd[1]), timeout, log_file))
    finally:
        if proc.poll() is None:
            stop_group(proc, signal.SIGINT, 120)


def stop_group(proc, sig, timeout):
    """Send sig to proc's process group, SIGKILL it if still there after
    timeout seconds, and wait until the leader is gone."""
    for signum, wait in ((sig, timeout), (signal.SIGKILL, 15)):
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path, lines=15):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError as e:
        return '(%s)' % e


class LoadSampler(threading.Thread):
    """The 1-minute load average every 10 s, tagged with the current phase."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples = []            # (phase, load)
        self.phase = 'start'
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.samples.append((self.phase, os.getloadavg()[0]))
            self._stop_event.wait(10)

    def stop(self):
        self._stop_event.set()

    def summary(self, phase=None):
        values = [load for name, load in self.samples
                  if phase is None or name == phase]
        if not values:
            return '-'
        return 'min %.1f, mean %.1f, max %.1f' % (
            min(values), statistics.mean(values), max(values))


class Tree(object):
    """One NaaS checkout with its virtualenv."""

    def __init__(self, label, path):
        self.label = label
        self.path = os.path.abspath(path)
        self.bin = os.path.join(self.path, '.venv', 'bin')
        self.python = os.path.join(self.bin, 'python')

    def check(self):
        if not os.path.isdir(self.path):
            return ('no %s tree at %s (--baseline-rev REV makes one)'
                    % (self.label, self.path))
        for name in ('python', 'naas-server', 'naas-db-manage', 'naas-agent'):
            if not os.access(os.path.join(self.bin, name), os.X_OK):
                return '%s tree %s: %s/%s missing (pip install -e "%s[test]")' % (
                    self.label, self.path, self.bin, name, self.path)
        for script in ('bench_dataplane.py',):
            if not os.path.exists(os.path.join(self.path, 'tools', script)):
                return '%s tree %s has no tools/%s' % (self.label, self.path,
                                                       script)
        return None

    def describe(self):
        rev = subprocess.run(['git', '-C', self.path, 'log', '-1',
                              '--format=%h %s'], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', self.path, 'status', '--short',
                                '--untracked-files=no'],
                               capture_output=True, text=True).stdout.strip()
        return '%s%s' % (rev[:70], ' (+ uncommitted changes)' if dirty else '')


def make_baseline(path, rev):
    """git worktree add PATH REV, then a virtualenv with NaaS and its test
    extras (about two minutes)."""
    log('making the baseline tree %s at %s', path, rev)
    subprocess.run(['git', '-C', CURRENT_TREE, 'worktree', 'add', '--detach',
                    path, rev], check=True)
    subprocess.run(['python3', '-m', 'venv', os.path.join(path, '.venv')],
                   check=True)
    subprocess.run([os.path.join(path, '.venv', 'bin', 'pip'), 'install',
                    '-q', '-e', path + '[test]'], check=True)


def mariadb(sql):
    host, port, user, password = MARIADB
    subprocess.run(['mariadb', '--no-defaults', '-h', host, '-P', str(port),
                    '-u', user, '-p' + password, '-e', sql], check=True,
                   capture_output=True, timeout=60)


class ApiServer(object):
    """A tree's naas-server on a fresh MariaDB database, as
    docs/performance.md "API server" sets it up."""

    def __init__(self, tree, transport_url, out_dir):
        self.tree = tree
        self.database = 'naas_compare_%s' % tree.label
        self.dir = os.path.join(out_dir, 'server-%s' % tree.label)
        self.log_file = os.path.join(self.dir, 'naas-server.log')
        self.port = servers.free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.transport_url = transport_url
        self.process = None

    def start(self):
        os.makedirs(os.path.join(self.dir, 'state'), exist_ok=True)
        mariadb('DROP DATABASE IF EXISTS %s; CREATE DATABASE %s'
                % (self.database, self.database))
        host, port, user, password = MARIADB
        config = os.path.join(self.dir, 'naas.conf')
        with open(config, 'w') as f:
            f.write('\n'.join([
                '[DEFAULT]',
                'bind_host = 127.0.0.1',
                'bind_port = %d' % self.port,
                'api_workers = 2',
                'auth_strategy = noauth',
                'debug = false',
                'state_path = %s' % os.path.join(self.dir, 'state'),
                'api_paste_config = %s' % os.path.join(
                    self.tree.path, 'etc', 'naas', 'api-paste.ini'),
                'transport_url = %s' % self.transport_url,
                '[database]',
                'connection = mysql+mysqldb://%s:%s@%s:%d/%s'
                % (user, password, host, port, self.database),
                '[quotas]',
                'quota_network = -1',
                'quota_subnet = -1',
                'quota_port = -1', '']))
        status = run_logged([os.path.join(self.tree.bin, 'naas-db-manage'),
                             '--config-file', config, 'upgrade', 'head'],
                            self.log_file, 300, cwd=self.dir)
        if status:
            raise Failed('%s: naas-db-manage failed; see %s'
                         % (self.tree.label, self.log_file))
        out = open(self.log_file, 'ab')
        self.process = subprocess.Popen(
            [os.path.join(self.tree.bin, 'naas-server'), '--config-file',
             config], stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True)
        out.close()
        banner = 'listening on %s/ (2 workers)' % self.url
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if banner in tail(self.log_file, 50) and self._answers():
                log('%s naas-server on %s (2 workers, database %s)',
                    self.tree.label, self.url, self.database)
                return
            time.sleep(0.2)
        raise Failed('%s naas-server did not serve with 2 workers on %s; '
                     'log %s:\n%s' % (self.tree.label, self.url,
                                      self.log_file, tail(self.log_file)))

    def _answers(self):
        try:
            with urllib.request.urlopen(self.url + '/v2.0/networks?limit=1',
                                        timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self):
        if self.process is not None:
            stop_group(self.process, signal.SIGTERM, 20)
            self.process = None
        try:
            mariadb('DROP DATABASE IF EXISTS %s' % self.database)
        except (subprocess.SubprocessError, OSError):
            pass


def neutron_answers():
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/v2.0/networks?limit=1'
                                    % NEUTRON_PORT, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


class Compare(object):

    def __init__(self, args, trees, out_dir, sampler):
        self.args = args
        self.trees = trees                    # {'baseline': Tree, 'current': Tree}
        self.out = out_dir
        self.sampler = sampler
        self.api = {'baseline': [], 'current': [], 'neutron': []}
        self.dataplane = {}                   # (driver, label) -> json
        self.failures = []
        self.cleanups = []

    # -- API

    def bench_api(self, label, url):
        json_file = os.path.join(self.out, 'api-%s-%d.json'
                                 % (label, len(self.api[label]) + 1))
        log_file = os.path.join(self.out, 'api-%s.log' % label)
        log('bench_api: %s (%s)', label, url)
        cmd = [self.trees['current'].python,
               os.path.join(CURRENT_TREE, 'tools', 'bench_api.py'),
               '--target', '%s=%s' % (label, url), '--json', json_file,
               '--prefix', 'naas-compare'] + API_FLAGS
        status = run_logged(cmd, log_file, API_TIMEOUT[label], cwd=CURRENT_TREE)
        if not os.path.exists(json_file):
            raise Failed('bench_api against %s gave no result (exit %s); see %s'
                         % (label, status, log_file))
        with open(json_file) as f:
            data = json.load(f)
        if data['failed']:
            self.failures.append('bench_api %s: errors or failed checks, see %s'
                                 % (label, log_file))
        self.api[label].append(data['results'][label])

    def run_api(self):
        self.sampler.phase = 'api'
        # The peer script is idempotent: it keeps a peer that already runs
        # (which this run then leaves running).
        if not neutron_answers() and not self.args.keep_peer:
            self.cleanups.append(self.stop_peer)
        log('Neutron peer and MariaDB: tools/peer/neutron-up.sh')
        up_log = os.path.join(self.out, 'neutron-up.log')
        if run_logged(['bash', os.path.join(PEER_DIR, 'neutron-up.sh'),
                       str(NEUTRON_PORT)], up_log, 1800):
            raise Failed('tools/peer/neutron-up.sh failed; see %s:\n%s'
                         % (up_log, tail(up_log)))
        rabbit = servers.RabbitMQServer()
        rabbit.setUp()
        self.cleanups.append(rabbit.cleanUp)
        api_servers = {}
        try:
            for label, tree in self.trees.items():
                api_servers[label] = server = ApiServer(
                    tree, rabbit.transport_url, self.out)
                server.start()
            runs = []
            for round_number in range(self.args.rounds):
                order = ['baseline', 'current']
                if round_number % 2:
                    order.reverse()
                runs += [(label, api_servers[label].url) for label in order]
                if round_number == 0 and not self.args.skip_neutron:
                    runs.append(('neutron', 'http://127.0.0.1:%d' % NEUTRON_PORT))
            for label, url in runs:
                try:
                    self.bench_api(label, url)
                except Failed as e:     # the other runs may still measure
                    log('%s', e)
                    self.failures.append(str(e))
        finally:
            for server in api_servers.values():
                server.stop()
            rabbit.cleanUp()
            self.cleanups.remove(rabbit.cleanUp)
            # Not needed by the dataplane phase: free the machine.
            if self.stop_peer in self.cleanups:
                self.cleanups.remove(self.stop_peer)
                self.stop_peer()

    def stop_peer(self):
        log('stopping the Neutron peer (tools/peer/neutron-down.sh)')
        run_logged(['bash', os.path.join(PEER_DIR, 'neutron-down.sh')],
                   os.path.join(self.out, 'neutron-down.log'), 180)

    # -- dataplane

    def run_dataplane(self):
        self.sampler.phase = 'dataplane'
        for index, driver in enumerate(self.args.drivers):
            order = ['baseline', 'current']
            if index % 2:
                order.reverse()
            for label in order:
                try:
                    self.bench_dataplane(driver, label)
                except Failed as e:
                    log('%s', e)
                    self.failures.append(str(e))

    def bench_dataplane(self, driver, label):
        tree = self.trees[label]
        json_file = os.path.join(self.out, 'dataplane-%s-%s.json'
                                 % (driver, label))
        log_file = os.path.join(self.out, 'dataplane-%s-%s.log'
                                % (driver, label))
        log('bench_dataplane: %s tree, %s', label, driver)
        cmd = [tree.python, os.path.join(tree.path, 'tools', 'bench_dataplane.py'),
               '--driver', driver, '--vms', str(self.args.vms),
               '--resync-ports', str(self.args.resync_ports),
               '--json', json_file]
        started = time.monotonic()
        # Its exit status also says whether issue 3's goals were met, so a
        # result is there when the JSON file is.
        try:
            status = run_logged(cmd, log_file, DATAPLANE_TIMEOUT, cwd=tree.path)
        except (Failed, KeyboardInterrupt):
            self.remove_leftovers(tree, log_file)
            raise
        if not os.path.exists(json_file):
            raise Failed('bench_dataplane of the %s tree (%s) gave no result '
                         '(exit %s); see %s:\n%s' % (label, driver, status,
                                                     log_file, tail(log_file)))
        with open(json_file) as f:
            self.dataplane[(driver, label)] = json.load(f)
        log('bench_dataplane: %s tree, %s: done in %.0f s', label, driver,
            time.monotonic() - started)

    def remove_leftovers(self, tree, log_file):
        """naas-cleanup for the environments an interrupted bench_dataplane
        logged (its own cleanup normally removes them)."""
        with open(log_file, errors='replace') as f:
            prefixes = set(re.findall(r'environment (naas-[0-9a-f]+) up', f.read()))
        for prefix in sorted(prefixes):
            log('naas-cleanup --prefix %s-', prefix)
            run_logged([os.path.join(tree.bin, 'naas-cleanup'), '--prefix',
                        prefix + '-'], log_file, 300)

    # -- report

    def table(self):
        lines = ['| scenario | baseline | current | current vs baseline '
                 '| Neutron | current vs Neutron |',
                 '|---|---:|---:|---:|---:|---:|']
        for scenario, name, key, lower_better in API_ROWS:
            values = {label: [run[scenario][key] for run in runs
                              if scenario in run and run[scenario].get(key)]
                      for label, runs in self.api.items()}
            if not values['baseline'] and not values['current']:
                continue
            mean = {label: statistics.mean(v) if v else None
                    for label, v in values.items()}
            lines.append('| API: %s | %s | %s | %s | %s | %s |' % (
                name, cell(mean['baseline'], values['baseline']),
                cell(mean['current'], values['current']),
                speedup(mean['current'], mean['baseline'], lower_better),
                cell(mean['neutron'], []),
                speedup(mean['current'], mean['neutron'], lower_better)))
        for driver in self.args.drivers:
            figures = {label: dataplane_figures(self.dataplane.get((driver, label)))
                       for label in ('baseline', 'current')}
            for name, lower_better in DATAPLANE_ROWS:
                baseline = figures['baseline'].get(name)
                current = figures['current'].get(name)
                if baseline is None and current is None:
                    continue
                lines.append('| dataplane %s: %s | %s | %s | %s | | |' % (
                    driver, name, cell(baseline, []), cell(current, []),
                    speedup(current, baseline, lower_better)))
        return '\n'.join(lines)


DATAPLANE_ROWS = [
    ('port create -> first ping, p50 ms', True),
    ('port create -> first ping, p99 ms', True),
    ('of which POST /v2.0/ports, p50 ms', True),
    ('of which VM plug, p50 ms', True),
    ('resync cold, s', True),
    ('resync warm, s', True),
    ('pings lost across SIGKILL + restart', None),   # a count: no ratio
]


def dataplane_figures(data):
    """{DATAPLANE_ROWS name: value} of one bench_dataplane JSON result."""
    if not data:
        return {}
    figures = {}
    first = data.get('first_ping') or []
    if first:
        figures['port create -> first ping, p50 ms'] = percentile(
            [r['first_ping_ms'] for r in first], 50)
        figures['port create -> first ping, p99 ms'] = percentile(
            [r['first_ping_ms'] for r in first], 99)
        figures['of which POST /v2.0/ports, p50 ms'] = percentile(
            [r['create_ms'] for r in first], 50)
        figures['of which VM plug, p50 ms'] = percentile(
            [r['plug_ms'] for r in first], 50)
    resync = data.get('resync')
    if resync:
        figures['resync cold, s'] = resync['cold_s']
        figures['resync warm, s'] = resync['warm_s']
        figures['pings lost across SIGKILL + restart'] = resync['ping']['lost']
    return figures


def number(value):
    if value is None:
        return '-'
    if isinstance(value, int) or value >= 100:
        return '%.0f' % value
    if value >= 10:
        return '%.1f' % value
    return '%.2f' % value


def cell(mean, runs):
    """The mean, and the single runs behind it when there are several."""
    if mean is None:
        return '-'
    if len(runs) > 1:
        return '%s (%s)' % (number(mean), ', '.join(number(v) for v in runs))
    return number(mean)


def speedup(value, reference, lower_better):
    """How many times faster value is than reference (> 1: faster)."""
    if lower_better is None:
        return ''
    if not value or not reference:
        return '-' if value is None or reference is None else 'n/a'
    ratio = reference / value if lower_better else value / reference
    return '%.2f' % ratio


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--baseline-tree', required=True,
                        help='NaaS checkout to compare with, with TREE/.venv')
    parser.add_argument('--baseline-rev',
                        help='if --baseline-tree does not exist, make it: a git '
                        'worktree of this repository at REV and its virtualenv')
    parser.add_argument('--rounds', type=int, default=2,
                        help='API rounds per NaaS tree, order alternating (2)')
    parser.add_argument('--drivers', default='linuxbridge,openvswitch',
                        help='dataplane drivers, comma list')
    parser.add_argument('--vms', type=int, default=40,
                        help='bench_dataplane --vms (40)')
    parser.add_argument('--resync-ports', type=int, default=200,
                        help='bench_dataplane --resync-ports (200)')
    parser.add_argument('--skip-api', action='store_true')
    parser.add_argument('--skip-neutron', action='store_true',
                        help='no Neutron column (MariaDB is started anyway)')
    parser.add_argument('--skip-dataplane', action='store_true')
    parser.add_argument('--keep-peer', action='store_true',
                        help='leave the Neutron peer running at the end')
    parser.add_argument('--out', help='directory for raw results and logs')
    args = parser.parse_args(argv)
    args.drivers = [d for d in args.drivers.split(',') if d]
    if args.rounds < 1:
        parser.error('--rounds must be at least 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print('bench_compare: run as root (the dataplane benchmark builds '
              'namespaces; the peer script runs MariaDB as mysql)', file=sys.stderr)
        return 2
    if not os.path.exists(args.baseline_tree) and args.baseline_rev:
        try:
            make_baseline(args.baseline_tree, args.baseline_rev)
        except subprocess.CalledProcessError as e:
            print('bench_compare: making the baseline tree failed: %s' % e,
                  file=sys.stderr)
            return 2
    trees = {'baseline': Tree('baseline', args.baseline_tree),
             'current': Tree('current', CURRENT_TREE)}
    for tree in trees.values():
        problem = tree.check()
        if problem:
            print('bench_compare: %s' % problem, file=sys.stderr)
            return 2
    out = args.out or tempfile.mkdtemp(prefix='naas-bench-compare-')
    os.makedirs(out, exist_ok=True)

    # SIGTERM and SIGHUP unwind like Ctrl-C, so every cleanup runs.
    def interrupted(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    sampler = LoadSampler()
    sampler.start()
    compare = Compare(args, trees, out, sampler)
    started = time.monotonic()
    log('results and logs in %s; load average now %.2f %.2f %.2f',
        out, *os.getloadavg())
    phases = []
    if not args.skip_api:
        phases.append(compare.run_api)
    if not args.skip_dataplane:
        phases.append(compare.run_dataplane)
    interrupted_run = False
    try:
        for phase in phases:
            try:
                phase()
            except Failed as e:     # the next phase may still measure
                log('%s', e)
                compare.failures.append(str(e))
    except KeyboardInterrupt:
        log('interrupted; cleaning up')
        compare.failures.append('interrupted')
        interrupted_run = True
    finally:
        for cleanup in reversed(compare.cleanups):
            try:
                cleanup()
            except Exception as e:  # keep cleaning up the rest
                log('cleanup %s failed: %s', cleanup, e)
        sampler.stop()

    print('\n## bench_compare, %s\n' % time.strftime('%Y-%m-%d %H:%M UTC',
                                                     time.gmtime()))
    command = [os.path.relpath(sys.argv[0], CURRENT_TREE)] + sys.argv[1:]
    print('* command: %s' % ' '.join(command))
    for tree in trees.values():
        print('* %s: %s, %s' % (tree.label, tree.path, tree.describe()))
    print('* API: tools/bench_api.py %s, %d round(s) per NaaS tree, '
          'Neutron once' % (' '.join(API_FLAGS), args.rounds))
    print('* dataplane: each tree\'s tools/bench_dataplane.py --vms %d '
          '--resync-ports %d, drivers %s'
          % (args.vms, args.resync_ports, ', '.join(args.drivers)))
    print('* load average (1 min, every 10 s): API phase %s; dataplane phase '
          '%s; %d CPUs' % (sampler.summary('api'), sampler.summary('dataplane'),
                           os.cpu_count()))
    print('* %.0f minutes; raw results and logs: %s\n'
          % ((time.monotonic() - started) / 60, out))
    print('Ratios are speed-ups (> 1: the first named is faster): ops/s '
          'divided, latencies the other way round.  Several runs: mean '
          '(single runs).\n')
    print(compare.table())
    if compare.failures:
        print('\nNOT EVERYTHING WAS MEASURED:')
        for failure in compare.failures:
            print('* ' + failure.splitlines()[0])
    if interrupted_run:
        return 130
    return 1 if compare.failures else 0


if __name__ == '__main__':
    sys.exit(main())
