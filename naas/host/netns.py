"""Network namespace helpers: hosts and VMs built as namespaces.

Used by the VIF primitives (naas.host.vif), the agent's DHCP and L3
services, naas-sandbox, naas-cleanup, tools/ and the fullstack tests.
Everything is netlink from this process (naas.host.ip_lib), except
``execute``/``popen``, which run a program inside a namespace.

Names: every namespace NaaS creates starts with ``PREFIX`` (``naas-``); a
test run uses a short prefix of its own for everything it creates and
cleans with ``naas-cleanup --namespace-prefix <prefix>``.

Each helper opens a short-lived ip_lib.IPHandle (a few milliseconds; no
process is forked): an open netlink socket would keep a deleted namespace,
and every interface in it, alive.  For bulk work keep one handle
(``with netns.handle(ns) as h: ...``) and use it directly.
"""
import errno
import os
import signal
import subprocess
import time

from naas.host import ip_lib

#: Prefix of every namespace NaaS creates (hosts, VMs, sandboxes, services).
PREFIX = 'naas-'
NETNS_DIR = ip_lib.NETNS_DIR


def path(name):
    return os.path.join(NETNS_DIR, name)


def exists(name):
    return os.path.exists(path(name))


def list_namespaces(prefix=PREFIX):
    """Names of the namespaces whose name starts with ``prefix``."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix))


def handle(namespace=None):
    """A new ip_lib.IPHandle on ``namespace`` (None: this process's own);
    close it, or use it in a ``with`` block."""
    return ip_lib.IPHandle(namespace)


def create(name):
    """Create namespace ``name`` (if missing) with its loopback up."""
    with ip_lib.IPHandle(name, create=True) as h:
        h.set_link(_index(h, 'lo'), state='up')
    return name


def pids(name):
    """Processes whose network namespace is ``name``."""
    try:
        st = os.stat(path(name))
    except FileNotFoundError:
        return []
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            s = os.stat('/proc/%s/ns/net' % entry)
        except OSError:
            continue
        if (s.st_dev, s.st_ino) == (st.st_dev, st.st_ino):
            out.append(int(entry))
    return out


def kill_all(name, timeout=5.0):
    """SIGTERM every process in namespace ``name``, SIGKILL what is left
    after ``timeout`` seconds.  Returns the pids signalled."""
    victims = [p for p in pids(name) if p != os.getpid()]
    for pid in victims:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in victims):
        time.sleep(0.05)
    for pid in victims:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    return victims


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (FileNotFoundError, IndexError):
        return False


def delete(name, kill=True):
    """Delete namespace ``name``: its processes (``kill``), then the
    namespace and with it every interface inside."""
    if kill:
        kill_all(name)
    if exists(name):
        from pyroute2 import netns as pr_netns
        try:
            pr_netns.remove(name)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise


# ---- links -----------------------------------------------------------------

def link(namespace, ifname):
    """The ip_lib.Link ``ifname`` in ``namespace``, or None."""
    with handle(namespace) as h:
        return h.link(ifname)


def _index(h, ifname):
    lk = h.link(ifname)
    if lk is None:
        raise ip_lib.NetlinkError(errno.ENODEV, 'no interface %s in namespace %s'
                                  % (ifname, h.namespace or '(own)'))
    return lk.index


def delete_link(namespace, ifname):
    """Delete interface ``ifname`` in ``namespace``; missing is fine."""
    with handle(namespace) as h:
        lk = h.link(ifname)
        if lk is not None:
            h.del_link(lk.index)


def add_address(namespace, ifname, cidr):
    """Add ``cidr`` (e.g. '192.0.2.1/24') to ``ifname``; present is fine."""
    address, prefixlen = cidr.split('/')
    with handle(namespace) as h:
        try:
            h.addr('add', index=_index(h, ifname), address=address,
                   prefixlen=int(prefixlen))
        except Exception as exc:
            if getattr(exc, 'code', None) != errno.EEXIST:
                raise


def add_route(namespace, dst, gateway):
    """Add a route ('default' or a CIDR) via ``gateway``; present is fine."""
    if dst == 'default':
        dst = '::/0' if ':' in gateway else '0.0.0.0/0'
    with handle(namespace) as h:
        try:
            h.route('add', dst=dst, gateway=gateway)
        except Exception as exc:
            if getattr(exc, 'code', None) != errno.EEXIST:
                raise


# ---- programs --------------------------------------------------------------

def command(namespace, cmd):
    """``cmd`` (a list) wrapped to run inside ``namespace``."""
    if namespace is None:
        return list(cmd)
    return ['ip', 'netns', 'exec', namespace] + list(cmd)


def execute(namespace, cmd, check=True, timeout=60, input=None, env=None):
    """Run ``cmd`` inside ``namespace``; a CompletedProcess (text).
    ``check``: raise CalledProcessError (with its output) on failure."""
    return subprocess.run(command(namespace, cmd), capture_output=True, text=True,
                          check=check, timeout=timeout, input=input, env=env)


def popen(namespace, cmd, **kwargs):
    """Start ``cmd`` inside ``namespace`` (subprocess.Popen arguments)."""
    return subprocess.Popen(command(namespace, cmd), **kwargs)


def ping(namespace, address, count=1, timeout=1.0, interval=0.2):
    """Whether ``address`` answers all ``count`` pings from ``namespace``,
    waiting at most ``timeout`` seconds for the last answer.  Uses
    busybox's ping (on the CI package list; iputils-ping is not)."""
    cmd = [_ping_program(), '-6' if ':' in address else '-4', '-q',
           '-c', str(count), '-i', str(interval),
           '-W', str(max(1, int(round(timeout)))), address]
    if cmd[0] == 'busybox':
        cmd.insert(1, 'ping')
    try:
        out = execute(namespace, cmd, check=False,
                      timeout=count * interval + timeout + 5)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and (' %d packets received' % count in out.stdout
                                    or ' %d received' % count in out.stdout)


def _ping_program():
    import shutil
    return 'ping' if shutil.which('ping') else 'busybox'
