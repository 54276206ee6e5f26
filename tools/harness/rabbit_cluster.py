"""A RabbitMQ cluster of three nodes on this one machine, for the tests and
tools of the multi-server shape (docs/scale.md).

:class:`RabbitCluster` starts ``size`` private nodes of Debian's
``rabbitmq-server`` (3.10) on 127.0.0.1, clusters them with ``rabbitmqctl
join_cluster`` and removes every trace on cleanup.  Each node has its own
node name (``naas-rmqN@localhost``), AMQP port, Erlang distribution port and
data and log directories; the nodes share one Erlang cookie and one private
epmd (on a port of its own, not the system's 4369), so no system RabbitMQ
(5672) or epmd is touched and several clusters can run side by side.

``transport_url`` lists every node, as an oslo.messaging deployment
spells a cluster (``rabbit://guest:guest@127.0.0.1:P1,guest:guest@127.0.0.1:
P2,.../``): kombu connects to the first that answers and fails over to the
next.  :data:`FAILOVER_OPTIONS` are the ``[oslo_messaging_rabbit]`` options
that keep RPC working when a node dies (docs/scale.md says why each).

:meth:`RabbitCluster.kill` SIGKILLs one node (as a crash of its machine
would: its TCP connections are reset, nothing is flushed),
:meth:`RabbitCluster.start_node` starts it again on the same data (it
rejoins by itself), :meth:`RabbitCluster.stop_node` stops it cleanly.
Cleanup kills every node and removes the directories.
"""
import json
import os
import signal
import subprocess
import time

import fixtures

from tools.harness import servers

__all__ = ['FAILOVER_OPTIONS', 'RabbitCluster']

#: [oslo_messaging_rabbit] options for clients of the cluster (servers and
#: agents).  Quorum queues (a Raft replica on every node) for the topic
#: queues and also for the reply and fanout queues, so that no queue lives
#: on one node only: a classic queue dies with its node, and with it the
#: messages in it and, until redeclared elsewhere, its consumers.
#: Reconnect every second (kombu goes round-robin through the URL's hosts);
#: heartbeats find a broker that stopped answering without closing the
#: connection (a hung or partitioned node) within 10 s.
FAILOVER_OPTIONS = {
    'rabbit_quorum_queue': True,
    'rabbit_transient_quorum_queue': True,
    'kombu_failover_strategy': 'round-robin',
    'rabbit_retry_interval': 1,
    'rabbit_retry_backoff': 1,
    'rabbit_interval_max': 2,
    'heartbeat_timeout_threshold': 10,
}

_COOKIE = 'NAASMULTISERVERCLUSTERCOOKIE'
_RABBITMQ_CONF = servers._RABBITMQ_CONF + """\
# a node that finds itself in a minority stops serving (a crashed node is
# a minority of one until it rejoins)
cluster_partition_handling = pause_minority
"""


class _Node:
    """One node of the cluster: its names, ports, directories and process."""

    def __init__(self, cluster, index):
        self.index = index
        self.run_as = cluster.run_as
        self.host = cluster.host
        self.port = servers.free_port(self.host)
        self.dist_port = servers.free_port(self.host)
        self.nodename = 'naas-rmq%d@localhost' % index
        self.amqp_url = 'amqp://guest:guest@%s:%d//' % (self.host, self.port)
        self.base_dir = base = os.path.join(cluster.base_dir, 'rmq%d' % index)
        self.log_dir = os.path.join(base, 'log')
        self.home_dir = os.path.join(base, 'home')
        os.mkdir(base, 0o700)
        for path in (os.path.join(base, 'mnesia'), self.log_dir, self.home_dir):
            os.mkdir(path, 0o700)
        files = {'enabled_plugins': '[].\n', 'rabbitmq.conf': _RABBITMQ_CONF,
                 'advanced.config': '[].\n', 'rabbitmq-env.conf': '',
                 os.path.join('home', '.erlang.cookie'): _COOKIE}
        for name, content in files.items():
            with open(os.path.join(base, name), 'w') as f:
                f.write(content)
        os.chmod(os.path.join(self.home_dir, '.erlang.cookie'), 0o400)
        self.run_as.chown_tree(base)
        self.env = {
            'PATH': servers._SYSTEM_PATH,
            'HOME': self.home_dir,           # the shared cookie
            'LANG': 'C.UTF-8',
            'LC_ALL': 'C.UTF-8',
            'ERL_EPMD_PORT': str(cluster.epmd_port),
            'ERL_EPMD_ADDRESS': self.host,
            'RABBITMQ_NODENAME': self.nodename,
            'RABBITMQ_NODE_IP_ADDRESS': self.host,
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'RABBITMQ_MNESIA_BASE': os.path.join(base, 'mnesia'),
            'RABBITMQ_LOG_BASE': self.log_dir,
            'RABBITMQ_FEATURE_FLAGS_FILE': os.path.join(base, 'feature_flags'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(base, 'enabled_plugins'),
            'RABBITMQ_CONFIG_FILE': os.path.join(base, 'rabbitmq.conf'),
            'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(base, 'advanced.config'),
            'RABBITMQ_CONF_ENV_FILE': os.path.join(base, 'rabbitmq-env.conf'),
            'RABBITMQ_PID_FILE': os.path.join(base, 'rabbitmq.pid'),
            'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS': servers._ERL_DIST_LOOPBACK,
            'RABBITMQ_CTL_ERL_ARGS': servers._ERL_DIST_LOOPBACK,
        }
        self.log_file = os.path.join(self.log_dir, self.nodename + '.log')
        self.stdout_file = os.path.join(self.log_dir, 'startup.log')
        self.process = None

    def launch(self):
        with open(self.stdout_file, 'ab') as out:
            self.process = subprocess.Popen(
                [os.path.join(servers.RabbitMQServer.RABBITMQ_BIN_DIR, 'rabbitmq-server')],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=self.env,
                cwd=self.base_dir, start_new_session=True, **self.run_as.popen_kwargs())

    def wait_ready(self, timeout):
        try:
            servers.wait_for(self.ready, timeout, 0.25, 'RabbitMQ node %s on %s:%d'
                             % (self.nodename, self.host, self.port))
        except TimeoutError as e:
            raise RuntimeError('%s\n%s' % (e, self.logs()))

    def ready(self):
        if self.process.poll() is not None:
            raise RuntimeError('rabbitmq-server %s exited with %s during start\n%s'
                               % (self.nodename, self.process.returncode, self.logs()))
        return servers.amqp_ready(self.host, self.port, self.amqp_url)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def rabbitmqctl(self, *args, **kwargs):
        timeout = kwargs.pop('timeout', 60)
        cmd = [os.path.join(servers.RabbitMQServer.RABBITMQ_BIN_DIR, 'rabbitmqctl'),
               '-n', self.nodename] + list(args)
        return self.run_as.run(cmd, timeout=timeout, env=self.env, cwd=self.base_dir,
                               **kwargs)

    def kill(self):
        process, self.process = self.process, None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self, timeout):
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                self.rabbitmqctl('stop', self.env['RABBITMQ_PID_FILE'], timeout=timeout,
                                 check=False)
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        servers._kill_group(process)

    def logs(self):
        return 'startup output:\n%s\nlog %s:\n%s' % (
            servers._tail(self.stdout_file, 20), self.log_file,
            servers._tail(self.log_file))


class RabbitCluster(fixtures.Fixture):
    """``size`` RabbitMQ nodes on 127.0.0.1 clustered together (see the
    module's docstring).  ``nodes[i].port`` is node i's AMQP port."""

    START_TIMEOUT = 120
    STOP_TIMEOUT = 60

    def __init__(self, size=3, start_timeout=None):
        super(RabbitCluster, self).__init__()
        self.size = size
        self.start_timeout = start_timeout or self.START_TIMEOUT

    def _setUp(self):
        self.run_as = servers._RunAs('rabbitmq')
        self.host = '127.0.0.1'
        self.epmd_port = servers.free_port(self.host)
        self.base_dir = servers._make_private_dir('naas-rabbit-cluster-', self.run_as, self)
        self.nodes = [_Node(self, index) for index in range(1, self.size + 1)]
        self.transport_url = 'rabbit://%s/' % ','.join(
            'guest:guest@%s:%d' % (self.host, node.port) for node in self.nodes)
        self.addCleanup(self._kill_epmd)
        self.addCleanup(self.stop_all)
        # The first node alone (it starts the cluster's epmd), then the
        # others at once; they join the first one at a time (two nodes
        # joining together failed once: start_app's mnesia badmatch).
        first = self.nodes[0]
        first.launch()
        first.wait_ready(self.start_timeout)
        others = self.nodes[1:]
        for node in others:
            node.launch()
        for node in others:
            node.wait_ready(self.start_timeout)
        for node in others:
            self._join(node, first)
        members = self.running_nodes()
        if sorted(members) != sorted(node.nodename for node in self.nodes):
            raise RuntimeError('cluster has %s running, not all of %s'
                               % (members, [node.nodename for node in self.nodes]))

    def _join(self, node, first):
        """``node`` joins ``first``'s cluster; once more from a reset
        node if its app does not start."""
        node.rabbitmqctl('stop_app')
        node.rabbitmqctl('join_cluster', first.nodename)
        try:
            node.rabbitmqctl('start_app')
        except RuntimeError:
            node.rabbitmqctl('stop_app', check=False)
            node.rabbitmqctl('reset')
            node.rabbitmqctl('join_cluster', first.nodename)
            node.rabbitmqctl('start_app')

    # -- control

    def running_nodes(self, via=None):
        """The names of the running members, as node ``via`` (default: the
        first live one) sees them."""
        node = via or next(node for node in self.nodes if node.alive())
        out = node.rabbitmqctl('cluster_status', '--formatter', 'json').stdout
        return json.loads(out.decode('utf-8', 'replace'))['running_nodes']

    def kill(self, index):
        """SIGKILL node ``index`` (0-based); returns time.monotonic() after."""
        self.nodes[index].kill()
        return time.monotonic()

    def stop_node(self, index):
        self.nodes[index].stop(self.STOP_TIMEOUT)

    def start_node(self, index):
        """Start node ``index`` again on its data; it rejoins the cluster."""
        node = self.nodes[index]
        if node.alive():
            return
        node.launch()
        node.wait_ready(self.start_timeout)

    def stop_all(self):
        """SIGKILL every node: their data is removed next, so a clean stop
        (rabbitmqctl stop, seconds per node on a loaded machine, counted in
        the test's time) would buy nothing."""
        for node in getattr(self, 'nodes', []):
            if node.alive():
                node.kill()

    def logs(self):
        return '\n'.join('--- %s\n%s' % (node.nodename, node.logs()) for node in self.nodes)

    def _kill_epmd(self):
        """Stop the cluster's epmd (the first node started it; it daemonizes)."""
        env = dict(os.environ, ERL_EPMD_PORT=str(self.epmd_port))
        try:
            subprocess.run(['epmd', '-port', str(self.epmd_port), '-kill'], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        marker = ('ERL_EPMD_PORT=%d' % self.epmd_port).encode()
        for pid in servers.RabbitMQServer._pids_named('epmd'):
            try:
                with open('/proc/%d/environ' % pid, 'rb') as f:
                    if marker in f.read().split(b'\0'):
                        os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
