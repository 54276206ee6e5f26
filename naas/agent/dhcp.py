"""DHCP on a host: one dnsmasq per network, in a namespace of its own.

naas-agent runs this when ``[agent] enable_dhcp`` is set (it then reports
``configurations {'dhcp': true}`` and the server schedules networks to it,
see naas.plugins.l2.dhcp).  Per network the server gives to this host:

* a namespace ``<host namespace or "naas">-dhcp-<network_id[:11]>`` (under
  the host's prefix, so naas-cleanup finds it);
* the network's DHCP port (made by the server: device_owner network:dhcp)
  plugged into it by the host's L2 driver (``plug_service_ports``, whatever
  the driver): the namespace end is ``ns-<port_id[:11]>`` with the port's
  MAC and addresses, the host end ``tap<port_id[:11]>`` is a VIF like any
  other, which the L2 driver wires;
* dnsmasq (dnsmasq-base) in the namespace, on that interface only, with its
  files in ``<state_path>/dhcp/<namespace>/``: a static range per
  DHCP-enabled IPv4 and DHCPv6-stateful subnet (only the hosts in the hosts
  file get an address: each port's exact fixed IP), options per subnet
  (router, DNS servers, classless static routes, MTU) and, for IPv6, router
  advertisements (slaac, dhcpv6-stateless: ra-stateless, dhcpv6-stateful)
  that do not make dnsmasq a default router.

Changes: the server casts dhcp_network_changed(network_id); the worker
(naas.agent.reconciler: casts merged, one retry policy) asks for the
network again, rewrites
the hosts and options files and sends dnsmasq SIGHUP (a reload, not a
respawn); dnsmasq is restarted only when its command line changes (a
subnet, the lease time, the interface).  On start the agent keeps every
dnsmasq whose network is still scheduled here (no interruption) and removes
the namespaces, dnsmasq and files of the others.  Stopping the agent leaves
dnsmasq running.
"""
import errno
import ipaddress
import logging
import os
import shutil
import signal
import subprocess
import time

from naas.agent import reconciler
from naas.agent.l2 import base
from naas.host import ip_lib
from naas.host import netns

LOG = logging.getLogger(__name__)

NS_INFIX = '-dhcp-'
IF_PREFIX = 'ns-'
IFA_F_NODAD = 0x02
#: dnsmasq's cap on leases (as in Neutron).
MAX_LEASES = 2 ** 24
RA_INTERVAL = 10


def namespace_name(base, network_id):
    return '%s%s%s' % (base, NS_INFIX, network_id[:11])


def interface_name(port_id):
    return (IF_PREFIX + port_id)[:14]


def _tag(subnet):
    return 'subnet-%s' % subnet['id']


def _served(subnet):
    """Whether dnsmasq serves ``subnet`` at all."""
    return bool(subnet.get('enable_dhcp'))


def _stateful(subnet):
    """Subnets whose hosts get their address from dnsmasq (host entries)."""
    return _served(subnet) and (subnet['ip_version'] == 4 or
                                subnet.get('ipv6_address_mode') == 'dhcpv6-stateful')


def hosts_lines(network):
    """The dhcp-hostsfile: ``mac,host-<ip dashed>,<ip>`` per fixed IP of
    every port on a served stateful subnet (IPv6 in brackets)."""
    served = {s['id'] for s in network['subnets'] if _stateful(s)}
    dhcp_port = (network.get('port') or {}).get('id')
    lines = []
    for port in sorted(network['ports'], key=lambda p: p['id']):
        if port['id'] == dhcp_port:
            continue
        for ip in port['fixed_ips']:
            if ip['subnet_id'] not in served:
                continue
            address = ip['ip_address']
            name = 'host-' + address.replace('.', '-').replace(':', '-')
            if ':' in address:
                address = '[%s]' % address
            lines.append('%s,%s,%s' % (port['mac_address'], name, address))
    return lines


def opts_lines(network):
    """The dhcp-optsfile: per served subnet (tag subnet-<id>) the router
    (none when the subnet has no gateway), DNS servers, classless static
    routes (121, and 249 for older Windows clients: the host routes and the
    default route through the gateway) and the MTU (26)."""
    lines = []
    for s in network['subnets']:
        if not _served(s):
            continue
        tag = 'tag:' + _tag(s)
        dns = s.get('dns_nameservers') or []
        if s['ip_version'] == 4:
            gateway = s.get('gateway_ip')
            lines.append('%s,option:router%s' % (tag, ',' + gateway if gateway else ''))
            if dns:
                lines.append('%s,option:dns-server,%s' % (tag, ','.join(dns)))
            routes = ['%s,%s' % (r['destination'], r['nexthop'])
                      for r in s.get('host_routes') or []
                      if ':' not in r['destination']]
            if routes:
                if gateway:
                    routes.append('0.0.0.0/0,%s' % gateway)
                lines.append('%s,option:classless-static-route,%s' % (tag, ','.join(routes)))
                lines.append('%s,249,%s' % (tag, ','.join(routes)))
            if network.get('mtu'):
                lines.append('%s,option:mtu,%d' % (tag, network['mtu']))
        elif dns:
            lines.append('%s,option6:dns-server,%s' % (
                tag, ','.join('[%s]' % d for d in dns)))
    return lines


def dnsmasq_args(network, ifname, directory, lease):
    """dnsmasq's command line (without the program)."""
    f = lambda name: os.path.join(directory, name)  # noqa: E731
    args = ['--no-hosts', '--no-resolv', '--port=0', '--conf-file=/dev/null',
            '--user=root', '--group=root',
            '--bind-interfaces', '--interface=%s' % ifname, '--except-interface=lo',
            '--pid-file=%s' % f('pid'), '--dhcp-hostsfile=%s' % f('host'),
            '--dhcp-optsfile=%s' % f('opts'), '--dhcp-leasefile=%s' % f('leases'),
            '--log-facility=%s' % f('log'), '--log-dhcp', '--dhcp-authoritative']
    ra = False
    leases = 0
    for s in network['subnets']:
        if not _served(s):
            continue
        net = ipaddress.ip_network(s['cidr'], strict=False)
        tag = 'set:' + _tag(s)
        if s['ip_version'] == 4:
            args.append('--dhcp-range=%s,%s,static,%s,%ds' % (
                tag, net.network_address, net.netmask, lease))
            leases += net.num_addresses
            continue
        mode = s.get('ipv6_address_mode')
        if mode == 'dhcpv6-stateful':
            kind = 'static'
            leases += min(net.num_addresses, MAX_LEASES)
        elif mode == 'dhcpv6-stateless':
            kind = 'ra-stateless'
        else:                      # slaac, or no mode: advertise the prefix
            kind = 'slaac'
        ra = True
        args.append('--dhcp-range=%s,%s,%s,%d,%ds' % (
            tag, net.network_address, kind, net.prefixlen, lease))
    if ra:
        # Router lifetime 0: the VMs learn the prefix (and the MTU) from
        # dnsmasq, their default route from the network's real router.
        mtu = ',mtu:%d' % network['mtu'] if network.get('mtu') else ''
        args += ['--enable-ra', '--ra-param=%s%s,%d,0' % (ifname, mtu, RA_INTERVAL)]
    args.append('--dhcp-lease-max=%d' % max(min(leases, MAX_LEASES), 16))
    return args


def _write(path, lines):
    """Write ``path`` if its content changes (atomically); True if it did."""
    text = '\n'.join(lines) + ('\n' if lines else '')
    try:
        with open(path) as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.rename(tmp, path)
    return True


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode(errors='replace') for a in f.read().split(b'\0') if a]
    except (OSError, ValueError):
        return []


class DhcpManager(reconciler.Reconciler):
    """The DHCP side of naas-agent (see the module's docstring).  ``driver``
    is the agent's L2 driver: it plugs the DHCP ports."""

    name = 'dhcp'

    def __init__(self, conf, server, driver):
        super().__init__()
        self.conf = conf
        self.server = server
        self.driver = driver
        agent = conf.agent
        self.base = agent.namespace or netns.PREFIX.rstrip('-')
        self.prefix = self.base + NS_INFIX
        self.state_dir = os.path.join(conf.state_path, 'dhcp')
        self.lease = agent.dhcp_lease_duration
        self._applied = {}   # network_id -> (port id, fixed IPs, mtu) plugged
        #: network_id -> time.monotonic() of dnsmasq's last (re)load, for tests.
        self.loaded = {}

    def start(self):
        """Reconcile with the server (in the worker thread) and serve;
        stopping leaves dnsmasq serving."""
        os.makedirs(self.state_dir, exist_ok=True)
        super().start()

    def network_changed(self, network_id):
        self.changed([network_id])

    # ---- convergence ---------------------------------------------------------

    def sync_all(self):
        """Every network scheduled here, and nothing else."""
        networks = self.server.get_dhcp_networks({})
        wanted = {}
        failed = []
        for net in networks:
            try:
                if self.apply(net):
                    wanted[namespace_name(self.base, net['id'])] = net['id']
            except Exception:
                LOG.exception('DHCP for network %s failed', net['id'])
                failed.append(net['id'])
                # Kept: what serves already goes on serving.
                wanted[namespace_name(self.base, net['id'])] = net['id']
        for ns in netns.list_namespaces(self.prefix):
            if ns not in wanted:
                self.remove_namespace(ns)
        if os.path.isdir(self.state_dir):
            for name in os.listdir(self.state_dir):
                if name.startswith(self.prefix) and name not in wanted:
                    shutil.rmtree(os.path.join(self.state_dir, name), ignore_errors=True)
        LOG.info('DHCP: serving %d network(s)', len(wanted) - len(failed))
        return failed

    def sync(self, network_ids):
        networks = {n['id']: n for n in self.server.get_dhcp_networks(
            {}, network_ids=list(network_ids))}
        failed = []
        for network_id in network_ids:
            net = networks.get(network_id)
            try:
                if net is None or not self.apply(net):
                    self.remove(network_id)
            except Exception:
                LOG.exception('DHCP for network %s failed', network_id)
                failed.append(network_id)
        return failed

    def apply(self, net):
        """Make the network's namespace, port and dnsmasq match ``net``;
        False if there is nothing to serve (no DHCP port or subnet)."""
        port = net.get('port')
        if not port or not port.get('fixed_ips') or not any(
                _served(s) for s in net['subnets']):
            return False
        ns = namespace_name(self.base, net['id'])
        ifname = interface_name(port['id'])
        plugged = (port['id'], repr(sorted((i['subnet_id'], i['ip_address'])
                                           for i in port['fixed_ips'])), net.get('mtu'))
        if self._applied.get(net['id']) != plugged or not netns.exists(ns):
            self._plug(net, port, ns, ifname)
            self._applied[net['id']] = plugged
        directory = os.path.join(self.state_dir, ns)
        os.makedirs(directory, exist_ok=True)
        changed = _write(os.path.join(directory, 'host'), hosts_lines(net))
        changed = _write(os.path.join(directory, 'opts'), opts_lines(net)) or changed
        args = dnsmasq_args(net, ifname, directory, self.lease)
        pid = self._pid(directory)
        if pid and _cmdline(pid)[1:] == args:
            if changed:
                os.kill(pid, signal.SIGHUP)
                self.loaded[net['id']] = time.monotonic()
                LOG.info('dnsmasq %d of network %s reloaded (%d ports)', pid, net['id'],
                         len(net['ports']))
            return True
        if pid:
            LOG.info('dnsmasq %d of network %s: new command line, restarting',
                     pid, net['id'])
            self._kill(pid)
        self._spawn(ns, directory, args)
        self.loaded[net['id']] = time.monotonic()
        LOG.info('dnsmasq of network %s started in %s (%d ports)', net['id'], ns,
                 len(net['ports']))
        return True

    def remove(self, network_id):
        self._applied.pop(network_id, None)
        self.loaded.pop(network_id, None)
        self.remove_namespace(namespace_name(self.base, network_id))

    def remove_namespace(self, ns):
        """dnsmasq, the DHCP port's VIF, the namespace and the files."""
        directory = os.path.join(self.state_dir, ns)
        pid = self._pid(directory)
        if pid:
            self._kill(pid)
        if netns.exists(ns):
            LOG.info('removing DHCP namespace %s', ns)
            try:
                with netns.handle(ns) as h:
                    ports = [lk.alias for lk in h.links()
                             if lk.name.startswith(IF_PREFIX) and lk.alias]
            except ip_lib.NetlinkError:
                ports = []
            for port_id in ports:
                self._unplug(port_id)
            netns.delete(ns)
        shutil.rmtree(directory, ignore_errors=True)

    # ---- the port --------------------------------------------------------------

    def _plug(self, net, port, ns, ifname):
        if not netns.exists(ns):
            netns.create(ns)
            # No DAD (the server owns the addresses) and no RA taken in.
            netns.execute(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0',
                               'net.ipv6.conf.default.accept_dad=0',
                               'net.ipv6.conf.all.accept_ra=0',
                               'net.ipv6.conf.default.accept_ra=0'], check=False)
        with netns.handle(ns) as h:
            stale = [lk for lk in h.links()
                     if lk.name.startswith(IF_PREFIX) and lk.name != ifname]
        for lk in stale:       # the network's DHCP port changed
            if lk.alias:
                self._unplug(lk.alias)
            netns.delete_link(ns, lk.name)
        self.driver.plug_service_ports([base.ServicePort(
            port['id'], port['mac_address'], ns, ifname, net.get('mtu'))])
        with netns.handle(ns) as h:
            lk = h.link(ifname)
            if lk is None:
                raise RuntimeError('%s of port %s is not in %s (plugged elsewhere?)'
                                   % (ifname, port['id'], ns))
            changes = {}
            if lk.alias != port['id']:
                changes['ifalias'] = port['id']
            if net.get('mtu') and lk.mtu != net['mtu']:
                changes['mtu'] = net['mtu']
            if not lk.up:
                changes['state'] = 'up'
            if changes:
                h.set_link(lk.index, **changes)
            self._set_addresses(h, lk.index, port, net)

    @staticmethod
    def _set_addresses(h, index, port, net):
        plen = {s['id']: ipaddress.ip_network(s['cidr'], strict=False).prefixlen
                for s in net['subnets']}
        wanted = {(str(ipaddress.ip_address(i['ip_address'])), plen[i['subnet_id']])
                  for i in port['fixed_ips'] if i['subnet_id'] in plen}
        current = set()
        for m in h.addr('dump', index=index):
            address = m.get('IFA_ADDRESS')
            if address and not ipaddress.ip_address(address).is_link_local:
                current.add((address, m['prefixlen']))
        for address, prefixlen in sorted(current - wanted):
            h.addr('del', index=index, address=address, prefixlen=prefixlen)
        for address, prefixlen in sorted(wanted - current):
            extra = {'flags': IFA_F_NODAD} if ':' in address else {}
            try:
                h.addr('add', index=index, address=address, prefixlen=prefixlen, **extra)
            except Exception as exc:
                if getattr(exc, 'code', None) != errno.EEXIST:
                    raise

    def _unplug(self, port_id):
        try:
            self.driver.unplug_service_port(port_id)
        except Exception:
            LOG.exception('unplugging DHCP port %s', port_id)

    # ---- dnsmasq ---------------------------------------------------------------

    @staticmethod
    def _pid(directory):
        """The pid of the network's dnsmasq if it runs, else None."""
        pidfile = os.path.join(directory, 'pid')
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            return None
        if pid and '--pid-file=%s' % pidfile in _cmdline(pid):
            return pid
        return None

    @staticmethod
    def _kill(pid, timeout=5.0):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _cmdline(pid):
            time.sleep(0.02)
        if _cmdline(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    @staticmethod
    def _spawn(ns, directory, args):
        out = os.path.join(directory, 'dnsmasq.out')
        with open(out, 'wb') as f:
            # dnsmasq daemonises once it is set up and answers with its
            # exit status: configuration errors come back here.
            proc = subprocess.run(netns.command(ns, ['dnsmasq'] + args), stdin=subprocess.DEVNULL,
                                  stdout=f, stderr=subprocess.STDOUT, timeout=60)
        if proc.returncode != 0:
            with open(out, errors='replace') as f:
                raise RuntimeError('dnsmasq in %s failed (exit %d): %s'
                                   % (ns, proc.returncode, f.read().strip()))
