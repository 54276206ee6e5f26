#!/usr/bin/env python3
"""A simulated fleet of naas-agents against a real naas-server (issue 12).

    .venv/bin/python tools/bench_fleet.py --agents 1,10,50          # quick: <= 5 minutes
    .venv/bin/python tools/bench_fleet.py                           # 1,10,50,100,200 + server restart

Everything is real but the dataplane: a private RabbitMQ and PostgreSQL
(tools.harness.servers), a naas-server process (2 API workers and its RPC
worker) on a fresh database for each fleet size, and N agents, each a
naas.agent.agent.Agent with its own host name, its own oslo.messaging
transport (its own AMQP connections) and the recording driver
(naas.agent.l2.recording: it keeps what it would program, with the
monotonic time each entry was programmed).  Agents run in worker processes
of ``--agents-per-process`` agents each (this script again, ``--worker``),
which the run drives over a local socket (plug a VIF, read what is
programmed, count casts, restart every agent).  DHCP and L3 are off.

Layout for N agents x ``--ports`` ports: 2N networks (VXLAN), each on
``--span`` consecutive hosts (a ring), every host in 2 x span networks,
its ports spread evenly over them.  Ports are created through the API
bound to their host (as nova does) and their VIF plugged on that host as
soon as the create is acknowledged.

Measured for each N (one table per figure at the end):

* fill: ports created (bulk creates of one network's ports, 8 clients)
  per second until every port is ACTIVE;
* messages: casts the agents received (and calls they made) per port
  create and per network update (a name change), over ``--samples``
  creates on networks of ``span`` hosts;
* port create -> programmed: from the create request to the port wired on
  its host, and to every other host of its network having its L2
  population entry (fdb) -- p50 and p99 (without L2 population in the
  server, other hosts learn by flooding: then only the own host is
  measured, and the table says so);
* restart storm: every agent stopped and started again at once (the host
  state, i.e. the driver, survives): time until all reported and resynced,
  then ports not ACTIVE and ports not wired (both must be 0);
* server CPU (percent of one CPU, idle: heartbeats only) and memory (RSS
  of all naas-server processes), and per agent;
* with the largest N (``--server-restart``): naas-server killed (SIGKILL)
  and started again while a client creates ports: acknowledged creates
  lost (must be 0), and time from the restart to steady state (every
  acknowledged port ACTIVE and programmed where it should be, every agent
  heartbeating).

Load: the machine runs the server, the broker, the database and every
agent; figures are an upper bound of what a real fleet costs the server.
"""
import argparse
import collections
import json
import logging
import math
import os
import random
import secrets
import subprocess
import sys
import threading
import time
import uuid
from multiprocessing import connection

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROJECT = 'fleet-project'
DEFAULT_AGENTS = (1, 10, 50, 100, 200)
#: What a run measures after the fill (--parts), in the order it runs them.
PARTS = ('idle', 'samples', 'network-changes', 'storm')


# =============================================================================
# The worker process: agents, each with its own transport and recording driver

class _Overlay:
    """A read-only view of an oslo.config object (or group) with some
    values replaced: each agent's host name and tunnel address."""

    def __init__(self, base, **values):
        self._base = base
        self._values = values

    def __getattr__(self, name):
        if name in self._values:
            return self._values[name]
        return getattr(self._base, name)


class _ErrorCount(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.count = 0
        self.last = None

    def emit(self, record):
        self.count += 1
        self.last = self.format(record)[:2000]


class Worker:
    """Agents of hosts ``hosts`` (names) with tunnel addresses ``ips``."""

    def __init__(self, hosts, ips):
        from naas.agent.l2 import recording
        from naas.conf import CONF
        self.CONF = CONF
        self.hosts = hosts
        self.confs = {}
        self.drivers = {}
        for host, ip in zip(hosts, ips):
            agent_conf = _Overlay(CONF.agent, tunnel_ip=ip, enable_dhcp=False, enable_l3=False)
            self.confs[host] = _Overlay(CONF, host=host, agent=agent_conf)
            self.drivers[host] = recording.RecordingDriver(self.confs[host])
        self.agents = {}
        self.casts = collections.Counter()
        self.calls = collections.Counter()
        self.lock = threading.Lock()

    def _count(self, table, name, method):
        def counted(*args, **kwargs):
            with self.lock:
                table[name] += 1
            return method(*args, **kwargs)
        return counted

    def _new_agent(self, host):
        """A fresh Agent of ``host`` on a transport of its own, every cast it
        handles (its ``on_*`` methods) and every call it makes counted."""
        import oslo_messaging as messaging
        from naas.agent import agent as agent_mod
        transport = messaging.get_rpc_transport(self.CONF)
        agent = agent_mod.Agent(self.confs[host], driver=self.drivers[host],
                                transport=transport)
        for name in [n for n in dir(agent) if n.startswith('on_')]:
            setattr(agent, name, self._count(self.casts, name, getattr(agent, name)))
        server_call = agent.server.call
        agent.server.call = lambda context, version, method, **kwargs: (
            self._count(self.calls, method, server_call)(context, version, method, **kwargs))
        return agent

    def _start_all(self):
        """Start every agent at once (one thread each); {host: seconds
        from the start to start() returned (reported and resynced)}."""
        done = {}
        errors = []
        t0 = time.monotonic()

        def start(host):
            try:
                agent = self._new_agent(host)
                self.agents[host] = agent
                agent.start()
                done[host] = time.monotonic() - t0
            except Exception as exc:
                errors.append('%s: %r' % (host, exc))
        threads = [threading.Thread(target=start, args=(h,)) for h in self.hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {'done': done, 'errors': errors}

    def _stop_all(self):
        def stop(agent):
            agent.stop()
            agent.transport.cleanup()
        threads = [threading.Thread(target=stop, args=(a,)) for a in self.agents.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.agents = {}

    # ---- commands (the run calls these through the socket) -------------------

    def cmd_start(self):
        return self._start_all()

    def cmd_restart(self):
        self._stop_all()
        return self._start_all()

    def cmd_stop(self):
        self._stop_all()
        return True

    def cmd_plug(self, pairs):
        for host, port_id in pairs:
            self.drivers[host].plug(port_id)
        return len(pairs)

    def cmd_counts(self, reset=False):
        with self.lock:
            out = {'casts': dict(self.casts), 'calls': dict(self.calls),
                   'errors': ERRORS.count, 'last_error': ERRORS.last}
            if reset:
                self.casts.clear()
                self.calls.clear()
        return out

    def cmd_probe(self, queries):
        """[(host, 'port', port_id) | (host, 'fdb', network_id, mac)] ->
        monotonic time programmed, or None."""
        out = []
        for host, kind, *key in queries:
            driver = self.drivers[host]
            if kind == 'port':
                out.append(driver.wired_at(key[0]))
            else:
                found = driver.fdb_at(key[0], key[1])
                out.append(found[1] if found else None)
        return out

    def cmd_programmed(self):
        """{host: {'ports': [port ids wired], 'fdb': {network_id: [macs]},
        'l2pop_calls': set_fdb + update_fdb calls}}."""
        out = {}
        for host, driver in self.drivers.items():
            programmed = driver.programmed()
            out[host] = {'ports': sorted(programmed['ports']),
                         'fdb': {n: sorted(e) for n, e in programmed['fdb'].items()},
                         'l2pop_calls': driver.calls['set_fdb'] + driver.calls['update_fdb']}
        return out


ERRORS = _ErrorCount()


def worker_main(args):
    from oslo_log import log as oslo_log
    from naas import rpc  # noqa: F401 (registers transport_url)
    from naas.conf import CONF
    oslo_log.register_options(CONF)
    CONF([], project='naas', default_config_files=[])
    CONF.set_override('transport_url', args.transport_url)
    # The casts an agent receives are handled on a pool of threads that
    # wait for the agent's lock, which its poll loop holds through its RPC
    # calls: under load each agent grows its pool towards oslo.messaging's
    # 64, and 50 agents in a process reached 2,340 threads and a load
    # average of 194 on 2 CPUs.  One agent per hypervisor can afford 64;
    # the simulation bounds it (the casts wait in the pool's queue).
    CONF.set_override('executor_thread_pool_size', args.executor_threads)
    logging.basicConfig(level=logging.WARNING, filename=args.worker_log,
                        format='%(asctime)s %(name)s %(levelname)s %(message)s')
    logging.getLogger().addHandler(ERRORS)
    hosts = args.hosts.split(',')
    worker = Worker(hosts, args.ips.split(','))
    listener = connection.Listener(('127.0.0.1', 0), authkey=args.authkey.encode())
    print(listener.address[1], flush=True)
    conn = listener.accept()
    while True:
        try:
            name, kwargs = conn.recv()
        except EOFError:
            break
        try:
            conn.send(('ok', getattr(worker, 'cmd_' + name)(**kwargs)))
        except Exception as exc:
            logging.exception('command %s failed', name)
            conn.send(('error', repr(exc)))
        if name == 'stop':
            break
    conn.close()


# =============================================================================
# The run


def log(msg, *args):
    from tools.harness.log import log as harness_log
    harness_log(msg, *args)


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(math.ceil(p / 100.0 * len(values))) - 1))]


def ms(value):
    return '-' if value is None else '%.0f' % (value * 1000)


class ProcessTree:
    """CPU seconds and RSS of a process and its children (naas-server and
    its workers), with psutil."""

    def __init__(self, pid):
        import psutil
        self.root = psutil.Process(pid)

    def _procs(self):
        procs = [self.root]
        try:
            procs += self.root.children(recursive=True)
        except Exception:
            pass
        return procs

    def cpu(self):
        total = 0.0
        for proc in self._procs():
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except Exception:
                pass
        return total

    def rss(self):
        total = 0
        for proc in self._procs():
            try:
                total += proc.memory_info().rss
            except Exception:
                pass
        return total


class WorkerHandle:
    def __init__(self, hosts, ips, transport_url, log_path, executor_threads):
        authkey = secrets.token_hex(16)
        self.hosts = hosts
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--worker', '--transport-url',
             transport_url, '--hosts', ','.join(hosts), '--ips', ','.join(ips),
             '--authkey', authkey, '--worker-log', log_path,
             '--executor-threads', str(executor_threads)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        port = int(self.process.stdout.readline())
        self.conn = connection.Client(('127.0.0.1', port), authkey=authkey.encode())
        #: One command at a time on the connection (the fill's clients share it).
        self.lock = threading.Lock()

    def send(self, name, **kwargs):
        self.conn.send((name, kwargs))

    def recv(self):
        status, value = self.conn.recv()
        if status != 'ok':
            raise RuntimeError('worker: %s' % value)
        return value

    def __call__(self, name, **kwargs):
        with self.lock:
            self.send(name, **kwargs)
            return self.recv()

    def close(self):
        try:
            self('stop')
        except Exception:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Fleet:
    """N agents in worker processes; what the run asks of them."""

    def __init__(self, hosts, ips, per_process, transport_url, log_dir, executor_threads):
        self.hosts = hosts
        self.tunnel_ip = dict(zip(hosts, ips))
        self.workers = []
        self.worker_of = {}
        for start in range(0, len(hosts), per_process):
            chunk = hosts[start:start + per_process]
            handle = WorkerHandle(chunk, ips[start:start + per_process], transport_url,
                                  os.path.join(log_dir, 'worker-%s.log' % chunk[0]),
                                  executor_threads)
            self.workers.append(handle)
            for host in chunk:
                self.worker_of[host] = handle

    def all(self, name, **kwargs):
        """The same command to every worker at once; their answers."""
        for worker in self.workers:
            worker.lock.acquire()
        try:
            for worker in self.workers:
                worker.send(name, **kwargs)
            return [worker.recv() for worker in self.workers]
        finally:
            for worker in self.workers:
                worker.lock.release()

    def plug(self, pairs):
        by_worker = collections.defaultdict(list)
        for host, port_id in pairs:
            by_worker[self.worker_of[host]].append((host, port_id))
        for worker, chunk in by_worker.items():
            worker('plug', pairs=chunk)

    def probe(self, queries):
        by_worker = collections.defaultdict(list)
        for i, query in enumerate(queries):
            by_worker[self.worker_of[query[0]]].append((i, query))
        out = [None] * len(queries)
        for worker, items in by_worker.items():
            for (i, _), value in zip(items, worker('probe', queries=[q for _, q in items])):
                out[i] = value
        return out

    def counts(self, reset=False):
        casts, calls = collections.Counter(), collections.Counter()
        errors, last = 0, None
        for answer in self.all('counts', reset=reset):
            casts.update(answer['casts'])
            calls.update(answer['calls'])
            errors += answer['errors']
            last = answer['last_error'] or last
        return casts, calls, errors, last

    def programmed(self):
        out = {}
        for answer in self.all('programmed'):
            out.update(answer)
        return out

    def close(self):
        for worker in self.workers:
            worker.close()


class Run:
    """One fleet size: a fresh database and naas-server, N agents."""

    def __init__(self, args, n_agents, postgres, rabbit, log_dir):
        self.args = args
        self.n = n_agents
        self.postgres = postgres
        self.rabbit = rabbit
        self.log_dir = log_dir
        self.results = {'agents': n_agents}
        prefix = 'fleet%d-%s' % (n_agents, uuid.uuid4().hex[:4])
        self.hosts = ['%s-h%03d' % (prefix, i) for i in range(n_agents)]
        self.ips = ['198.18.%d.%d' % (i // 250, i % 250 + 1) for i in range(n_agents)]
        self.ports = {}          # port_id -> (network_id, host, mac)
        self.acknowledged = {}   # port_id -> monotonic time its single create answered
        self.lock = threading.Lock()

    # ---- set-up ----------------------------------------------------------------

    def start_server(self):
        from tools.harness import servers
        db_url = self.postgres.create_database()
        self.server = servers.NaasServer(
            db_url=db_url, api_workers=2,
            options={'transport_url': self.rabbit.transport_url,
                     'agent_down_time': 75})
        self.server.setUp()
        self.tree = ProcessTree(self.server.process.pid)
        self.api = self.client()

    def client(self):
        from tools.harness.client import Client
        return Client(self.server.url, project=PROJECT, roles='admin')

    def layout(self):
        """2N networks of ``span`` consecutive hosts; {network index: hosts}."""
        span = min(self.args.span, self.n)
        networks = {}
        for j in range(2 * self.n):
            members = []
            for m in range(span):
                host = self.hosts[(j // 2 + m) % self.n]
                if host not in members:
                    members.append(host)
            networks[j] = members
        return networks

    def create_networks(self):
        self.network_hosts = {}
        for j, members in self.layout().items():
            net = self.api.create('network', name='fleet-%d' % j)
            self.api.create('subnet', network_id=net['id'], ip_version=4,
                            cidr='10.%d.%d.0/24' % (j // 256, j % 256))
            self.network_hosts[net['id']] = members

    def plan_ports(self):
        """[(network_id, host)] of ``--ports`` ports per host."""
        of_host = collections.defaultdict(list)
        for network_id, members in self.network_hosts.items():
            for host in members:
                of_host[host].append(network_id)
        plan = []
        for host in self.hosts:
            networks = of_host[host]
            plan += [(networks[i % len(networks)], host) for i in range(self.args.ports)]
        random.Random(self.n).shuffle(plan)
        return plan

    def create_port(self, client, network_id, host):
        """Create a port bound to ``host`` and plug its VIF there; the port
        (None if the create was not acknowledged) and the time the request
        was sent."""
        t0 = time.monotonic()
        response = client.call('POST', '/v2.0/ports', {'port': {
            'network_id': network_id, 'binding:host_id': host, 'project_id': PROJECT,
            'device_owner': 'compute:nova', 'device_id': str(uuid.uuid4())}})
        if response.status != 201:
            return None, t0, response
        port = response.data['port']
        with self.lock:
            self.ports[port['id']] = (network_id, host, port['mac_address'])
            self.acknowledged[port['id']] = time.monotonic()
        self.fleet.plug([(host, port['id'])])
        return port, t0, response

    def fill(self):
        """Every planned port, in bulk creates of one network's ports each
        (``--clients`` at once; the timed creates of :meth:`samples` are
        single), their VIFs plugged as each bulk is acknowledged."""
        by_network = collections.defaultdict(list)
        for network_id, host in self.plan_ports():
            by_network[network_id].append(host)
        cursor = iter(sorted(by_network.items()))
        lock = threading.Lock()
        errors = []

        def work():
            client = self.client()
            while True:
                with lock:
                    item = next(cursor, None)
                if item is None:
                    return
                network_id, hosts = item
                response = client.call('POST', '/v2.0/ports', {'ports': [
                    {'network_id': network_id, 'binding:host_id': host, 'project_id': PROJECT,
                     'device_owner': 'compute:nova', 'device_id': str(uuid.uuid4())}
                    for host in hosts]})
                if response.status != 201:
                    errors.append(response.describe())
                    continue
                pairs = []
                with self.lock:
                    for port in response.data['ports']:
                        host = port['binding:host_id']
                        self.ports[port['id']] = (network_id, host, port['mac_address'])
                        pairs.append((host, port['id']))
                self.fleet.plug(pairs)
        cpu0, t0 = self.tree.cpu(), time.monotonic()
        threads = [threading.Thread(target=work) for _ in range(self.args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        created = time.monotonic() - t0
        if errors:
            raise RuntimeError('%d bulk creates failed, first: %s' % (len(errors), errors[0]))
        self.wait_active(timeout=self.args.timeout)
        active = time.monotonic() - t0
        self.results.update(fill_ports=len(self.ports), fill_create_s=created,
                            fill_active_s=active, fill_cpu_s=self.tree.cpu() - cpu0)
        log('N=%d: %d ports created in %.1f s, all ACTIVE after %.1f s', self.n,
            len(self.ports), created, active)

    def not_active(self):
        ports = self.api.list('port', fields=['id', 'status'])
        return [p['id'] for p in ports if p['status'] != 'ACTIVE' and p['id'] in self.ports]

    def wait_active(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = self.not_active()
            if not left:
                return
            if time.monotonic() > deadline:
                raise RuntimeError('%d ports not ACTIVE after %ss' % (len(left), timeout))
            time.sleep(1)

    def agents_alive(self):
        agents = self.api.list('agent', fields=['host', 'alive', 'started_at'])
        return {a['host']: a for a in agents if a['host'] in set(self.hosts)}

    # ---- figures -----------------------------------------------------------------

    def idle_cost(self):
        """Server CPU (percent of one CPU) and RSS while the fleet only
        heartbeats."""
        window = self.args.idle_seconds
        cpu0 = self.tree.cpu()
        time.sleep(window)
        cpu = (self.tree.cpu() - cpu0) / window
        rss = self.tree.rss()
        self.results.update(idle_cpu_pct=100 * cpu, rss_mb=rss / 2 ** 20)

    def l2pop_active(self):
        programmed = self.fleet.programmed()
        return any(p['l2pop_calls'] for p in programmed.values())

    def relevant(self, port_id, l2pop):
        """Probes of where a port must be programmed: its host (wired) and,
        with L2 population, every other host of its network (its fdb)."""
        network_id, host, mac = self.ports[port_id]
        probes = [(host, 'port', port_id)]
        if l2pop:
            probes += [(other, 'fdb', network_id, mac)
                       for other in self.hosts_with_ports()[network_id] if other != host]
        return probes

    def hosts_with_ports(self):
        """{network_id: hosts with a port of it} (with few ports per host,
        a host of the layout may have none of a network: it is told nothing)."""
        out = collections.defaultdict(set)
        with self.lock:
            for network_id, host, _ in self.ports.values():
                out[network_id].add(host)
        return out

    def samples(self):
        """Messages per port create and create -> programmed latency."""
        l2pop = self.l2pop_active() or self.n == 1
        self.fleet.counts(reset=True)
        rng = random.Random(self.n * 7)
        spanning = [n for n, hosts in self.network_hosts.items()
                    if len(hosts) == min(self.args.span, self.n)]
        client = self.client()
        sent = []
        for _ in range(self.args.samples):
            network_id = rng.choice(spanning)
            host = rng.choice(self.network_hosts[network_id])
            port, t0, response = self.create_port(client, network_id, host)
            if port is None:
                raise RuntimeError('sample create failed: %s' % response.describe())
            sent.append((port['id'], t0))
            time.sleep(self.args.sample_gap)
        probes = {port_id: self.relevant(port_id, l2pop) for port_id, _ in sent}
        flat = [q for port_id, _ in sent for q in probes[port_id]]
        deadline = time.monotonic() + self.args.wait_programmed
        while True:
            times = self.fleet.probe(flat)
            if all(t is not None for t in times) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(2)    # late casts of the last creates
        casts, calls, errors, _ = self.fleet.counts(reset=True)
        own, every = [], []
        answered = [self.acknowledged[port_id] - t0 for port_id, t0 in sent]
        missing = 0
        missing_where = collections.Counter()
        cursor = 0
        for port_id, t0 in sent:
            mine = times[cursor:cursor + len(probes[port_id])]
            cursor += len(mine)
            if mine[0] is not None:
                own.append(mine[0] - t0)
            missing_where.update(probe[1] for probe, t in zip(probes[port_id], mine)
                                 if t is None)
            if any(t is None for t in mine):
                missing += 1
            else:
                every.append(max(mine) - t0)
        k = len(sent)
        span = min(self.args.span, self.n)
        self.results.update(
            samples=k, sample_gap=self.args.sample_gap, wait_programmed=self.args.wait_programmed,
            l2pop=l2pop and self.n > 1, span=span,
            casts_per_create=sum(casts.values()) / k,
            casts_by_method={m: c / k for m, c in sorted(casts.items())},
            calls_per_create=sum(calls.values()) / k,
            calls_by_method={m: c / k for m, c in sorted(calls.items())},
            answered_p50=percentile(answered, 50), answered_p99=percentile(answered, 99),
            own_p50=percentile(own, 50), own_p99=percentile(own, 99),
            all_p50=percentile(every, 50) if l2pop else None,
            all_p99=percentile(every, 99) if l2pop else None,
            not_programmed=missing, missing_where=dict(missing_where))
        if missing:
            log('N=%d: %d of %d sample ports not programmed everywhere in %.0f s: %s',
                self.n, missing, k, self.args.wait_programmed, dict(missing_where))

    def network_changes(self):
        self.fleet.counts(reset=True)
        chosen = list(self.network_hosts)[:self.args.network_changes]
        for network_id in chosen:
            self.api.update('network', network_id, name='fleet-changed-%s' % network_id[:8])
        time.sleep(3)
        casts, calls, _, _ = self.fleet.counts(reset=True)
        k = len(chosen)
        self.results.update(casts_per_network_change=sum(casts.values()) / k,
                            network_change_by_method={m: c / k for m, c in sorted(casts.items())},
                            calls_per_network_change=sum(calls.values()) / k)

    def check_programmed(self, l2pop):
        """(ports not wired on their host, fdb entries missing on other
        hosts of their network) over every port of the run."""
        programmed = self.fleet.programmed()
        unwired = sum(1 for port_id, (_, host, _) in self.ports.items()
                      if port_id not in set(programmed[host]['ports']))
        missing = 0
        if l2pop:
            fdb = {host: {n: set(macs) for n, macs in p['fdb'].items()}
                   for host, p in programmed.items()}
            hosts_with_ports = self.hosts_with_ports()
            for network_id, host, mac in self.ports.values():
                for other in hosts_with_ports[network_id]:
                    if other != host and mac not in fdb[other].get(network_id, ()):
                        missing += 1
        return unwired, missing

    def restart_storm(self):
        before = {h: a['started_at'] for h, a in self.agents_alive().items()}
        cpu0 = self.tree.cpu()
        t0 = time.monotonic()
        answers = self.fleet.all('restart')
        resynced = time.monotonic() - t0
        done = [s for a in answers for s in a['done'].values()]
        failed = [e for a in answers for e in a['errors']]

        def all_reported():
            agents = self.agents_alive()
            return len(agents) == self.n and all(
                a['alive'] and a['started_at'] != before.get(h) for h, a in agents.items())
        from tools.harness.servers import wait_for
        wait_for(all_reported, timeout=self.args.timeout, interval=0.5,
                 what='every agent to report again')
        reported = time.monotonic() - t0
        self.wait_active(timeout=self.args.timeout)
        converged = time.monotonic() - t0
        unwired, missing = self.check_programmed(self.results.get('l2pop'))
        self.results.update(
            storm_resynced_s=resynced, storm_slowest_agent_s=max(done) if done else None,
            storm_reported_s=reported, storm_converged_s=converged,
            storm_not_active=len(self.not_active()), storm_unwired=unwired,
            storm_fdb_missing=missing, storm_failed_agents=len(failed),
            storm_cpu_s=self.tree.cpu() - cpu0)
        if failed:
            log('agents that failed to start: %s', failed[:3])

    def server_restart(self):
        """Kill naas-server while a client creates ports; start it again."""
        acknowledged, unacknowledged = [], 0
        stop = threading.Event()
        rng = random.Random(99)
        networks = list(self.network_hosts)

        def writer():
            nonlocal unacknowledged
            client = self.client()
            while not stop.is_set():
                network_id = rng.choice(networks)
                host = rng.choice(self.network_hosts[network_id])
                port, _, _ = self.create_port(client, network_id, host)
                if port is None:
                    unacknowledged += 1
                    time.sleep(0.2)
                else:
                    acknowledged.append(port['id'])
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(5)
        self.server.kill()
        killed = time.monotonic()
        self.server.start()
        started = time.monotonic()
        self.tree = ProcessTree(self.server.process.pid)
        time.sleep(5)
        stop.set()
        thread.join()
        writes_done = time.monotonic()
        api = self.client()
        existing = {p['id'] for p in api.list('port', fields=['id'])}
        lost = [p for p in acknowledged if p not in existing]
        l2pop = self.results.get('l2pop')

        def steady():
            if self.not_active():
                return False
            agents = self.agents_alive()
            if not all(a['alive'] for a in agents.values()) or len(agents) != self.n:
                return False
            unwired, missing = self.check_programmed(l2pop)
            return unwired == 0 and missing == 0
        from tools.harness.servers import wait_for
        steady_at = None
        try:
            wait_for(steady, timeout=self.args.timeout, interval=1, what='steady state')
            steady_at = time.monotonic()
        except TimeoutError:
            pass
        unwired, missing = self.check_programmed(l2pop)
        self.results.update(
            restart_acknowledged=len(acknowledged), restart_unacknowledged=unacknowledged,
            restart_lost=len(lost), restart_down_s=started - killed,
            restart_steady_s=(steady_at - started) if steady_at else None,
            restart_steady_after_writes_s=(steady_at - writes_done) if steady_at else None,
            restart_not_active=len(self.not_active()), restart_unwired=unwired,
            restart_fdb_missing=missing)

    # ---- the whole run -------------------------------------------------------

    def run(self, server_restart=False):
        t0 = time.monotonic()
        self.start_server()
        try:
            self.fleet = Fleet(self.hosts, self.ips, self.args.agents_per_process,
                               self.rabbit.transport_url, self.log_dir,
                               self.args.executor_threads)
            try:
                answers = self.fleet.all('start')
                failed = [e for a in answers for e in a['errors']]
                if failed:
                    raise RuntimeError('agents failed to start: %s' % failed[:3])
                self.results['start_s'] = time.monotonic() - t0
                self.create_networks()
                self.fill()
                parts = self.args.parts.split(',')
                if 'idle' in parts:
                    self.idle_cost()
                if 'samples' in parts:
                    self.samples()
                if 'network-changes' in parts:
                    self.network_changes()
                if 'storm' in parts:
                    self.restart_storm()
                if server_restart:
                    self.server_restart()
                _, _, errors, last = self.fleet.counts()
                self.results.update(agent_errors=errors, agent_last_error=last)
            finally:
                self.fleet.close()
        finally:
            self.server.cleanUp()
        self.results['run_s'] = time.monotonic() - t0
        return self.results


# =============================================================================
# Tables

def table(title, header, rows):
    print('\n### %s\n' % title)
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join('---' if i == 0 else '---:' for i in range(len(header))) + '|')
    for row in rows:
        print('| ' + ' | '.join(str(c) for c in row) + ' |')


def fmt(value, pattern='%.1f'):
    return '-' if value is None else pattern % value


def methods(by_method):
    return ', '.join('%s %.2f' % (m.replace('on_', ''), c) for m, c in by_method.items()) or '-'


def report(results, args):
    results = sorted(results, key=lambda r: r['agents'])
    table('Fill (%d ports per agent; bulk creates of one network\'s ports, %d clients)'
          % (args.ports, args.clients),
          ['agents', 'ports', 'created in s', 'all ACTIVE in s', 'ports/s',
           'server CPU s per 100 ports'],
          [(r['agents'], r['fill_ports'], fmt(r['fill_create_s']), fmt(r['fill_active_s']),
            fmt(r['fill_ports'] / r['fill_active_s'], '%.0f'),
            fmt(100 * r['fill_cpu_s'] / r['fill_ports'], '%.2f')) for r in results])
    # A run with fewer --parts has fewer tables (and fewer columns).
    sampled = [r for r in results if 'own_p50' in r]
    table('Messages per port create (network of `span` hosts) and per network update',
          ['agents', 'span', 'casts to agents / create', 'by cast', 'agent calls / create',
           'casts / network update', 'by cast'],
          [(r['agents'], r['span'], fmt(r['casts_per_create'], '%.2f'),
            methods(r['casts_by_method']), fmt(r['calls_per_create'], '%.2f'),
            fmt(r.get('casts_per_network_change'), '%.2f'),
            methods(r.get('network_change_by_method', {})))
           for r in sampled])
    first = sampled[0] if sampled else {}
    table('Port create -> programmed, ms (%d creates, one every %.0f ms)'
          % (first.get('samples', args.samples), 1000 * first.get('sample_gap', args.sample_gap)),
          ['agents', 'API answered p50', 'p99', 'own host p50', 'own host p99',
           'every host of the network p50', 'p99', 'L2 population',
           'not programmed in %.0f s' % first.get('wait_programmed', args.wait_programmed)],
          [(r['agents'], ms(r.get('answered_p50')), ms(r.get('answered_p99')),
            ms(r['own_p50']), ms(r['own_p99']), ms(r['all_p50']),
            ms(r['all_p99']), 'yes' if r['l2pop'] else 'no (flood-learn)',
            r['not_programmed']) for r in sampled])
    table('Restart storm (every agent restarted at once)',
          ['agents', 'all resynced s', 'all reported (API) s', 'all ports ACTIVE s',
           'ports not ACTIVE', 'ports not wired', 'fdb missing', 'server CPU s'],
          [(r['agents'], fmt(r['storm_resynced_s']), fmt(r['storm_reported_s']),
            fmt(r['storm_converged_s']), r['storm_not_active'], r['storm_unwired'],
            r['storm_fdb_missing'] if r['l2pop'] else 'n/a', fmt(r['storm_cpu_s']))
           for r in results if 'storm_converged_s' in r])
    idle = [r for r in results if 'idle_cpu_pct' in r]
    base = idle[0] if idle else {}

    def per_agent(r, key):
        """What one more agent costs: the growth over the smallest fleet."""
        if r['agents'] == base['agents']:
            return None
        return (r[key] - base[key]) / (r['agents'] - base['agents'])
    table('Server cost (naas-server: 2 API workers + RPC worker; per agent: the growth '
          'over the %s-agent fleet)' % base.get('agents'),
          ['agents', 'idle CPU % of one CPU', 'per agent', 'RSS MB', 'RSS per agent MB'],
          [(r['agents'], fmt(r['idle_cpu_pct'], '%.2f'),
            fmt(per_agent(r, 'idle_cpu_pct'), '%.3f'), fmt(r['rss_mb'], '%.0f'),
            fmt(per_agent(r, 'rss_mb'), '%.2f')) for r in idle])
    restarts = [r for r in results if 'restart_lost' in r]
    if restarts:
        table('naas-server killed (SIGKILL) and restarted under load',
              ['agents', 'acknowledged creates', 'lost', 'not acknowledged', 'server down s',
               'steady after restart s', 'ports not ACTIVE', 'not wired', 'fdb missing'],
              [(r['agents'], r['restart_acknowledged'], r['restart_lost'],
                r['restart_unacknowledged'], fmt(r['restart_down_s']),
                fmt(r['restart_steady_s']), r['restart_not_active'], r['restart_unwired'],
                r['restart_fdb_missing'] if r['l2pop'] else 'n/a') for r in restarts])
    table('Run', ['agents', 'agents started in s', 'whole run s', 'agent errors logged'],
          [(r['agents'], fmt(r['start_s']), fmt(r['run_s']), r['agent_errors'])
           for r in results])


def plot(results, path):
    """The cost curves against the number of agents, in one PNG
    (matplotlib: not a NaaS requirement; any Python that has it can draw
    from ``--json``'s file with ``--plot-from``)."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    agents = [r['agents'] for r in results]
    figure, (messages, latency, cost) = pyplot.subplots(1, 3, figsize=(15, 4.2))
    messages.plot(agents, [r['casts_per_create'] for r in results], 'o-',
                  label='casts to agents / port create')
    messages.plot(agents, [r['casts_per_network_change'] for r in results], 's-',
                  label='casts / network update')
    messages.plot(agents, [r['span'] for r in results], ':', label='hosts of the network')
    messages.set_title('Messages')
    for key, label in (('own_p50', 'own host p50'), ('own_p99', 'own host p99'),
                       ('all_p50', 'every host p50'), ('all_p99', 'every host p99')):
        points = [(r['agents'], 1000 * r[key]) for r in results if r.get(key) is not None]
        if points:
            latency.plot(*zip(*points), 'o-', label=label)
    latency.set_title('Port create -> programmed (ms)')
    cost.plot(agents, [r['idle_cpu_pct'] for r in results], 'o-',
              label='server idle CPU % of one CPU')
    cost.plot(agents, [r['storm_converged_s'] for r in results], 's-',
              label='restart storm converged (s)')
    cost.set_title('Server CPU, restart storm')
    for axes in (messages, latency, cost):
        axes.set_ylim(bottom=0)
        axes.set_xlabel('agents (50 ports each)')
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--agents', default=','.join(map(str, DEFAULT_AGENTS)),
                        help='fleet sizes, comma-separated (default %(default)s)')
    parser.add_argument('--ports', type=int, default=50, help='ports per agent')
    parser.add_argument('--span', type=int, default=5, help='hosts per network')
    parser.add_argument('--agents-per-process', type=int, default=50)
    parser.add_argument('--clients', type=int, default=8, help='API clients of the fill')
    parser.add_argument('--samples', type=int, default=100,
                        help='port creates timed and counted per fleet size')
    parser.add_argument('--sample-gap', type=float, default=0.05,
                        help='seconds between timed creates')
    parser.add_argument('--wait-programmed', type=float, default=30,
                        help='seconds to wait for the timed creates to be programmed')
    parser.add_argument('--network-changes', type=int, default=20)
    parser.add_argument('--idle-seconds', type=float, default=10)
    parser.add_argument('--timeout', type=float, default=180)
    parser.add_argument('--server-restart', choices=('auto', 'yes', 'no'), default='auto',
                        help='kill and restart naas-server at the largest size '
                             '(auto: when it is >= 100 agents)')
    parser.add_argument('--parts', default=','.join(PARTS),
                        help='what to measure after the fill, comma-separated (default '
                             '%(default)s; fewer: a run that fits a time slot)')
    parser.add_argument('--json', help='also write the figures to this file')
    parser.add_argument('--plot', help='draw the curves to this PNG (needs matplotlib)')
    parser.add_argument('--plot-from', help='draw --plot from a --json file; no run')
    parser.add_argument('--report-from', help='print the tables of a --json file; no run')
    parser.add_argument('--executor-threads', type=int, default=4,
                        help='oslo.messaging executor_thread_pool_size of each simulated '
                             'agent (a real agent: 64)')
    parser.add_argument('--transport-url', help=argparse.SUPPRESS)
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--hosts', help=argparse.SUPPRESS)
    parser.add_argument('--ips', help=argparse.SUPPRESS)
    parser.add_argument('--authkey', help=argparse.SUPPRESS)
    parser.add_argument('--worker-log', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args)
    if args.report_from:
        with open(args.report_from) as f:
            report(json.load(f), args)
        return 0
    if args.plot_from:
        with open(args.plot_from) as f:
            plot(json.load(f), args.plot)
        return 0

    import tempfile
    from tools.harness import servers
    sizes = [int(n) for n in args.agents.split(',')]
    restart_at = None
    if args.server_restart == 'yes' or (args.server_restart == 'auto' and max(sizes) >= 100):
        restart_at = max(sizes)
    log_dir = tempfile.mkdtemp(prefix='naas-fleet-')
    log('logs in %s', log_dir)
    postgres = servers.PostgreSQLServer()
    rabbit = servers.RabbitMQServer()
    postgres.setUp()
    results, failures = [], []
    try:
        rabbit.setUp()
        try:
            for n in sizes:
                log('fleet of %d agents x %d ports', n, args.ports)
                run = Run(args, n, postgres, rabbit, log_dir)
                try:
                    results.append(run.run(server_restart=(n == restart_at)))
                except Exception as exc:
                    log('N=%d failed: %r (figures so far: %s)', n, exc, run.results)
                    failures.append(n)
                    continue
                log('N=%d done in %.0f s', n, results[-1]['run_s'])
                if args.json:     # after each size: a run cut short keeps what it has
                    with open(args.json, 'w') as f:
                        json.dump(results, f, indent=1, sort_keys=True)
        finally:
            rabbit.cleanUp()
    finally:
        postgres.cleanUp()
    print('\nload average at the end: %.2f %.2f %.2f' % os.getloadavg())
    report(results, args)
    if args.plot:
        try:
            plot(results, args.plot)
        except ImportError:
            log('no matplotlib here: draw later with --plot-from')
    failed = [r for r in results if r.get('storm_not_active') or r.get('storm_unwired')
              or r.get('restart_lost')]
    if failures:
        print('\nfleet sizes that failed: %s' % failures)
    return 1 if failed or failures else 0


if __name__ == '__main__':
    sys.exit(main())
