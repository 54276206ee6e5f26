"""A host built as a network namespace with an Open vSwitch of its own.

For the fullstack tests (tools.harness.fullstack.Host), tools/smoke.py
and naas-sandbox on one machine.  What works here (Debian 12
openvswitch-switch 3.1, no OVS kernel module, userspace datapath):

1. ``ovsdb-server`` and ``ovs-vswitchd`` run INSIDE the host's namespace
   (``ip netns exec``), with every file in one directory ``run_dir``
   (OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR, db.sock, conf.db, logs, pid files,
   the bridges' ``<bridge>.mgmt`` OpenFlow sockets).  The agent, in the root
   namespace, uses ``[ovs] ovsdb_connection = unix:<run_dir>/db.sock`` and
   ``[ovs] datapath_type = netdev``; unix sockets work across namespaces.
2. Underlay for tunnels (:meth:`PrivateOVS.attach_underlay`): the host's
   underlay interface (one end of a veth into the underlay bridge) becomes a
   port of an OVS bridge ``br-underlay`` (datapath netdev, NORMAL) and the
   tunnel IP goes on ``br-underlay``'s internal port, not on the
   interface.  OVS userspace tunnels route through the kernel routing table
   of ovs-vswitchd's namespace (``ovs-appctl ovs/route/show``) and send out
   of the bridge that owns the route's device; the remote's MAC is learnt
   by OVS from ARP through that bridge (``tnl/neigh/show``).  No
   ``ovs/route/add`` or ``tnl/arp/set`` is needed.
   The underlay interface gets ``arp_ignore=1`` (and no IPv6): the kernel
   also receives what arrives on it and would otherwise answer ARP for the
   tunnel IP with the interface's own MAC, which OVS then learns and uses
   (tunnelled packets to that MAC are never decapsulated).
3. Physical networks (:meth:`PrivateOVS.add_physical_bridge`): the
   interface that carries a physnet (another veth into the underlay) is a
   port of its own bridge (e.g. ``br-phys``, netdev), named in ``[agent]
   bridge_mappings = physnet1:br-phys``; tagged frames cross the underlay's
   Linux bridge as they are (no 8021q needed).
4. VMs: the VM end of a veth whose host end is in br-int needs TX checksum
   offload off (:func:`disable_tx_offload`), else TCP/UDP arrive with bad
   checksums (AF_PACKET hands OVS CHECKSUM_PARTIAL packets as they are;
   userspace-tso-enable does not help in 3.1 through tunnels).  The VM's MTU
   must be the network's (VXLAN 1450, GRE 1458 on a 1500 underlay).

Nothing here touches the root namespace: processes run inside ``namespace``
and every interface, address and sysctl is the namespace's.
"""
import os
import shutil
import signal
import subprocess
import time

from naas.host import offload

SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'
UNDERLAY_BRIDGE = 'br-underlay'


class OVSHostError(Exception):
    pass


def _run(cmd, check=True, timeout=60, env=None, input=None):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=None if input is not None else subprocess.DEVNULL,
                          input=input, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise OVSHostError('%s failed (exit %d): %s%s' % (
            ' '.join(cmd), proc.returncode, proc.stdout.decode(errors='replace'),
            proc.stderr.decode(errors='replace')))
    return proc.stdout.decode(errors='replace')


def _in_ns(namespace, cmd):
    return (['ip', 'netns', 'exec', namespace] + cmd) if namespace else cmd


def missing_binaries():
    return [b for b in ('ovsdb-server', 'ovs-vswitchd', 'ovsdb-tool', 'ovs-vsctl',
                        'ovs-ofctl', 'ovs-appctl') if shutil.which(b) is None]


class PrivateOVS:
    """ovsdb-server + ovs-vswitchd of one host, in ``namespace`` (None: this
    process's namespace), everything in ``run_dir``."""

    START_TIMEOUT = 30

    def __init__(self, run_dir, namespace=None):
        self.run_dir = os.path.abspath(run_dir)
        self.namespace = namespace
        self.db_file = os.path.join(self.run_dir, 'conf.db')
        self.db_sock = os.path.join(self.run_dir, 'db.sock')
        self.db_connection = 'unix:' + self.db_sock
        if len(self.db_sock) > 100:
            raise OVSHostError('run_dir %s is too long for unix sockets' % run_dir)

    # ---- paths ----------------------------------------------------------------

    def _path(self, name):
        return os.path.join(self.run_dir, name)

    def ctl(self, daemon):
        return self._path('%s.ctl' % daemon)

    def pidfile(self, daemon):
        return self._path('%s.pid' % daemon)

    def bridge_target(self, bridge):
        """What ovs-ofctl takes for ``bridge``: its management socket."""
        return 'unix:%s' % self._path('%s.mgmt' % bridge)

    @property
    def env(self):
        return dict(os.environ, OVS_RUNDIR=self.run_dir, OVS_DBDIR=self.run_dir,
                    OVS_LOGDIR=self.run_dir, OVS_SYSCONFDIR=self.run_dir)

    # ---- life cycle ---------------------------------------------------------

    def start(self):
        """Create the database if needed and start both daemons (idempotent)."""
        os.makedirs(self.run_dir, exist_ok=True)
        if not os.path.exists(self.db_file):
            _run(['ovsdb-tool', 'create', self.db_file, SCHEMA])
        if not self.running('ovsdb-server'):
            _run(_in_ns(self.namespace, [
                'ovsdb-server', self.db_file, '--remote=punix:' + self.db_sock,
                '--pidfile=' + self.pidfile('ovsdb-server'),
                '--unixctl=' + self.ctl('ovsdb-server'),
                '--log-file=' + self._path('ovsdb-server.log'),
                '-vconsole:off', '--detach', '--no-chdir']), env=self.env)
            self._wait(lambda: os.path.exists(self.db_sock), 'ovsdb-server socket')
            self.vsctl('--no-wait', 'init')
        if not self.running('ovs-vswitchd'):
            _run(_in_ns(self.namespace, [
                'ovs-vswitchd', self.db_connection,
                '--pidfile=' + self.pidfile('ovs-vswitchd'),
                '--unixctl=' + self.ctl('ovs-vswitchd'),
                '--log-file=' + self._path('ovs-vswitchd.log'),
                '-vconsole:off', '--detach', '--no-chdir']), env=self.env)
            self._wait(lambda: self.appctl('version', check=False), 'ovs-vswitchd')
        return self

    def _wait(self, predicate, what):
        deadline = time.monotonic() + self.START_TIMEOUT
        while not predicate():
            if time.monotonic() > deadline:
                raise OVSHostError('%s did not start; see %s' % (what, self.run_dir))
            time.sleep(0.05)

    def pid(self, daemon):
        try:
            with open(self.pidfile(daemon)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def running(self, daemon):
        pid = self.pid(daemon)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:
            with open('/proc/%d/comm' % pid) as f:
                return f.read().strip().startswith(daemon[:15])
        except OSError:
            return False

    def stop(self, timeout=10):
        """Stop both daemons (ovs-vswitchd with --cleanup: its taps go)."""
        for daemon, args in (('ovs-vswitchd', ['exit', '--cleanup']),
                             ('ovsdb-server', ['exit'])):
            pid = self.pid(daemon)
            if pid is None or not self.running(daemon):
                continue
            _run(['ovs-appctl', '-t', self.ctl(daemon)] + args, check=False, timeout=timeout)
            deadline = time.monotonic() + timeout
            while self.running(daemon) and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.running(daemon):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def restart_vswitchd(self):
        """Stop ovs-vswitchd (without --cleanup) and start it again."""
        pid = self.pid('ovs-vswitchd')
        _run(['ovs-appctl', '-t', self.ctl('ovs-vswitchd'), 'exit'], check=False)
        deadline = time.monotonic() + 10
        while pid and self.running('ovs-vswitchd') and time.monotonic() < deadline:
            time.sleep(0.05)
        self.start()

    # ---- tools ----------------------------------------------------------------

    def vsctl(self, *args, check=True):
        return _run(['ovs-vsctl', '--db=' + self.db_connection, '--timeout=10']
                    + [str(a) for a in args], check=check)

    def ofctl(self, command, bridge, *args, check=True, input=None):
        return _run(['ovs-ofctl', '-O', 'OpenFlow14', command, self.bridge_target(bridge)]
                    + [str(a) for a in args], check=check,
                    input=input.encode() if isinstance(input, str) else input)

    def appctl(self, *args, check=True):
        try:
            return _run(['ovs-appctl', '-t', self.ctl('ovs-vswitchd')]
                        + [str(a) for a in args], check=check, timeout=10)
        except OVSHostError:
            if check:
                raise
            return ''

    def dump_flows(self, bridge, match=None):
        """The flows of ``bridge``, one string each (ovs-ofctl's format)."""
        out = self.ofctl('dump-flows', bridge, *([match] if match else []))
        return [line.strip() for line in out.splitlines()
                if line.strip() and 'FLOW reply' not in line]

    def ip(self, *args, check=True):
        cmd = ['ip'] + (['-n', self.namespace] if self.namespace else [])
        return _run(cmd + [str(a) for a in args], check=check)

    def sysctl(self, *settings):
        _run(_in_ns(self.namespace, ['sysctl', '-qw'] + list(settings)))

    # ---- host layout --------------------------------------------------------

    def add_bridge(self, bridge, datapath_type='netdev'):
        self.vsctl('--may-exist', 'add-br', bridge, '--', 'set', 'Bridge', bridge,
                   'datapath_type=%s' % datapath_type)
        self.ip('link', 'set', bridge, 'up', check=False)

    def attach_underlay(self, ifname, cidr, bridge=UNDERLAY_BRIDGE):
        """Make ``ifname`` (in the namespace, up) the underlay of OVS tunnels:
        a port of ``bridge`` with the tunnel address ``cidr`` (e.g.
        192.0.2.1/24) on the bridge's internal port.  An IPv4 address
        already on ``ifname`` is moved.  Idempotent."""
        self.add_bridge(bridge)
        self.vsctl('--may-exist', 'add-port', bridge, ifname)
        self.sysctl('net.ipv4.conf.%s.arp_ignore=1' % ifname,
                    'net.ipv6.conf.%s.disable_ipv6=1' % ifname)
        self.ip('-4', 'addr', 'flush', 'dev', ifname, check=False)
        self.ip('addr', 'replace', cidr, 'dev', bridge)
        self.ip('link', 'set', ifname, 'up')
        self.ip('link', 'set', bridge, 'up')
        return bridge

    def add_physical_bridge(self, bridge, ifname):
        """``ifname`` (a physical network's interface) as a port of ``bridge``
        (for bridge_mappings physnet:bridge).  Idempotent."""
        self.add_bridge(bridge)
        self.vsctl('--may-exist', 'add-port', bridge, ifname)
        self.sysctl('net.ipv6.conf.%s.disable_ipv6=1' % ifname)
        self.ip('link', 'set', ifname, 'up')
        return bridge


# ---- VMs -------------------------------------------------------------------

def disable_tx_offload(namespace, *ifnames):
    """TX checksum offload off inside ``namespace``: for the VM end of a veth
    plugged into a netdev OVS bridge (naas.host.offload)."""
    offload.disable_tx_checksum(namespace, *ifnames)
