"""naas-cleanup: remove every network object NaaS created, by name prefix.

    naas-cleanup [--namespace-prefix PREFIX] [--root | --no-root]
                 [--ovsdb CONNECTION] [--dry-run] [--verbose]

What it removes, and nothing else:

* network namespaces whose name starts with PREFIX (default ``naas-``):
  first the processes inside (dnsmasq, udhcpc, ping, a private OVS...;
  SIGTERM, then SIGKILL), then the namespace with every interface in it;
* dnsmasq processes whose command line contains PREFIX, or (root cleanup)
  NaaS's state path (``/naas/``);
* in the root namespace (``--root``; the default unless a namespace prefix
  is given), interfaces with NaaS names only: Linux bridge driver bridges
  ``brq*``, VXLAN devices ``vxlan-*`` and VLAN devices ``nvl-*`` (checked
  against their kind), VIF host ends ``tap*`` whose ifalias is a port id
  (naas.host.vif), and interfaces named PREFIX*;
* Open vSwitch (``--ovsdb``, default the system's socket when it exists):
  bridges named PREFIX* or carrying an external_ids key ``naas-*`` (the
  Open vSwitch driver marks what it creates: naas-bridge, naas-port), ports
  with such a key on other bridges, and ``tap*`` ports with an
  external_ids:iface-id (VIFs).

Real interfaces, addresses and routes of the root namespace are never
touched: an interface without a NaaS name is left alone whatever it is.
A test run passes its own prefix so that it removes only its own objects.
"""
import argparse
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from naas.agent.l2 import linuxbridge
from naas.agent.l2 import qos_tc
from naas.conf.agent import DEFAULT_OVSDB_CONNECTION as DEFAULT_OVSDB
from naas.host import ip_lib
from naas.host import netns
from naas.host import vif

LOG = logging.getLogger('naas-cleanup')

UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
MIN_PREFIX = 3
STATE_MARKER = '/naas/'
#: An external_ids key naas-* (naas-bridge, naas-port: what the Open vSwitch
#: driver marks as its own).
_MARK = re.compile(r'(^|[ ,"])naas-[\w-]*=')


def is_naas_link(link, prefix=netns.PREFIX):
    """Whether a root-namespace ip_lib.Link is NaaS's, by its name."""
    if linuxbridge.is_naas_device(link):
        return True
    if link.name.startswith(vif.VIF_PREFIX):
        return bool(link.alias and UUID_RE.match(link.alias)
                    and vif.vif_name(link.alias) == link.name)
    if link.kind == 'ifb' and link.name.startswith(qos_tc.IFB_PREFIX):
        return bool(link.alias and UUID_RE.match(link.alias)
                    and qos_tc.ifb_name(link.alias) == link.name)
    return bool(prefix) and link.name.startswith(prefix)


class Cleaner:
    def __init__(self, prefix=netns.PREFIX, root=True, ovsdb=None, dry_run=False):
        if len(prefix or '') < MIN_PREFIX:
            raise ValueError('a namespace prefix of at least %d characters is needed'
                             % MIN_PREFIX)
        self.prefix = prefix
        self.root = root
        self.ovsdb = ovsdb
        self.dry_run = dry_run
        self.removed = []

    def _did(self, what):
        LOG.info('%s%s', '(dry run) ' if self.dry_run else '', what)
        self.removed.append(what)

    def run(self):
        self.namespaces()
        self.dnsmasq()
        if self.root:
            self.root_links()
            self.root_nft_tables()
        self.ovs()
        return self.removed

    # ---- namespaces and processes -------------------------------------------

    def namespaces(self):
        for name in netns.list_namespaces(self.prefix):
            for pid in netns.pids(name):
                self._did('process %d (%s) in namespace %s' % (pid, _comm(pid), name))
            if not self.dry_run:
                netns.kill_all(name)
                netns.delete(name, kill=False)
            self._did('namespace %s' % name)

    def dnsmasq(self):
        markers = [self.prefix] + ([STATE_MARKER] if self.root else [])
        victims = []
        for pid, cmdline in _processes():
            if pid == os.getpid() or not cmdline or os.path.basename(cmdline[0]) != 'dnsmasq':
                continue
            text = ' '.join(cmdline)
            if any(m in text for m in markers):
                victims.append(pid)
                self._did('dnsmasq %d: %s' % (pid, text))
        if not self.dry_run:
            _terminate(victims)

    # ---- root namespace --------------------------------------------------------

    def root_links(self):
        with ip_lib.IPHandle(None) as h:
            links = h.links()
            # VIFs and uplinks first, bridges last (deleting a bridge would
            # release its ports anyway; this order keeps the log readable).
            order = sorted((lk for lk in links if is_naas_link(lk, self.prefix)),
                           key=lambda lk: lk.kind == 'bridge')
            for lk in order:
                self._did('interface %s (%s) in the root namespace' % (lk.name, lk.kind))
                if not self.dry_run:
                    h.del_link(lk.index)

    def root_nft_tables(self):
        """The nftables tables of the Linux bridge driver's port filter, QoS
        and address counters in the root namespace (in a host namespace they
        go with it)."""
        from naas.agent.l2 import counters_nft
        from naas.agent.l2 import nft_firewall
        from naas.agent.l2 import qos_tc
        ours = set(nft_firewall.TABLES) | {(qos_tc.NFT_FAMILY, qos_tc.NFT_TABLE)} | {
            (layout.family, counters_nft.TABLE_NAME)
            for layout in (counters_nft.BRIDGE, counters_nft.NETDEV)}
        listed = subprocess.run(['nft', 'list', 'tables'], capture_output=True, text=True)
        present = {tuple(line.split()[1:3]) for line in listed.stdout.splitlines()
                   if line.startswith('table ')}
        for family, name in sorted(ours & present):
            self._did('nftables table %s %s in the root namespace' % (family, name))
            if not self.dry_run:
                subprocess.run(['nft', 'delete', 'table', family, name], check=True)

    # ---- Open vSwitch -----------------------------------------------------------

    def _vsctl(self, *args):
        cmd = ['ovs-vsctl', '--timeout=5', '--no-wait', '--db=%s' % self.ovsdb] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30)

    def ovs(self):
        if self.ovsdb is None:
            # A test run (a prefix, no --root) cleans an OVSDB only when it
            # names it: the system's may hold NaaS bridges of a deployment.
            if not self.root or not os.path.exists(DEFAULT_OVSDB.split(':', 1)[1]):
                return
            self.ovsdb = DEFAULT_OVSDB
        if shutil.which('ovs-vsctl') is None:
            return
        out = self._vsctl('--format=csv', '--data=bare', '--no-headings',
                          '--columns=name,external_ids', 'list', 'Bridge')
        if out.returncode != 0:
            LOG.warning('OVSDB %s not reachable: %s', self.ovsdb, out.stderr.strip())
            return
        bridges = []
        for line in out.stdout.splitlines():
            name, _, ext = line.partition(',')
            if name.startswith(self.prefix) or _MARK.search(ext):
                bridges.append(name)
        for br in bridges:
            self._did('OVS bridge %s' % br)
            if not self.dry_run:
                self._vsctl('--if-exists', 'del-br', br)
        # Ports NaaS made on bridges it does not own (patch ports on an
        # operator's physical bridge: external_ids naas-port), and VIFs.
        doomed = set()
        for table, rule in (('Port', lambda name, ext: _MARK.search(ext)),
                            ('Interface', lambda name, ext: name.startswith(
                                vif.VIF_PREFIX) and 'iface-id=' in ext)):
            out = self._vsctl('--format=csv', '--data=bare', '--no-headings',
                              '--columns=name,external_ids', 'list', table)
            for line in out.stdout.splitlines():
                name, _, ext = line.partition(',')
                if rule(name, ext) and name not in doomed:
                    doomed.add(name)
                    self._did('OVS port %s' % name)
                    if not self.dry_run:
                        self._vsctl('--if-exists', 'del-port', name)


def _comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return '?'


def _processes():
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                raw = f.read()
        except OSError:
            continue
        yield int(entry), [a.decode(errors='replace') for a in raw.split(b'\0') if a]


def _terminate(pids, timeout=5.0):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(os.path.exists('/proc/%d' % p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='naas-cleanup',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--namespace-prefix', '--prefix', dest='prefix',
                        help='remove only namespaces (and dnsmasq, OVS bridges, '
                             'root interfaces) named with this prefix (default %s; '
                             'at least %d characters)' % (netns.PREFIX, MIN_PREFIX))
    root = parser.add_mutually_exclusive_group()
    root.add_argument('--root', dest='root', action='store_true', default=None,
                      help='also clean NaaS interfaces in the root namespace '
                           '(the default without --namespace-prefix)')
    root.add_argument('--no-root', dest='root', action='store_false')
    parser.add_argument('--ovsdb', help='OVSDB to clean (default %s if present)'
                        % DEFAULT_OVSDB)
    parser.add_argument('--dry-run', action='store_true',
                        help='print what would be removed, remove nothing')
    parser.add_argument('-v', '--verbose', action='store_true')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if (args.verbose or args.dry_run)
                        else logging.WARNING, format='%(message)s')
    if os.geteuid() != 0:
        print('naas-cleanup: must run as root', file=sys.stderr)
        return 1
    root = args.root if args.root is not None else args.prefix is None
    try:
        cleaner = Cleaner(args.prefix or netns.PREFIX, root=root, ovsdb=args.ovsdb,
                          dry_run=args.dry_run)
    except ValueError as exc:
        print('naas-cleanup: %s' % exc, file=sys.stderr)
        return 2
    removed = cleaner.run()
    print('%s %d object(s)' % ('would remove' if args.dry_run else 'removed', len(removed)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
