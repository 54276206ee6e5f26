"""keepalived for HA routers: one VRRP instance in each HA router's namespace.

naas.plugins.l3.ha runs an HA router on several hosts; on each the L3 agent
builds the namespace as for any router (the interface and gateway ports
plugged, the NAT ruleset), plus the router's port on its project's HA
network (``ha-<port_id[:11]>``, its 169.254.192.0/18 address set by the
agent).  The agent does not put the router's addresses or routes in an HA
router's namespace: keepalived does, on the master only, from this
configuration (as Neutron's l3-ha):

* one vrrp_instance on the ha- interface, virtual router id ha_vr_id, state
  BACKUP with nopreempt on every host (so that an instance that comes back,
  or an agent restarted, never takes the master role back: no flap), equal
  priorities, advert_int ``[DEFAULT] ha_vrrp_advert_int`` (VRRPv3: fractions
  of a second allowed);
* virtual_ipaddress: 169.254.0.<vr_id>/24 on the ha- interface (the primary
  address VRRP needs), virtual_ipaddress_excluded: every interface address,
  the gateway's addresses, every floating IP as a /32 on the gateway, and
  the IPv6 link-local address of each interface with IPv6 (derived from its
  MAC; the namespace makes none itself, so that a backup never sends from
  the shared MACs); virtual_routes: the default routes via the external
  subnets' gateways and the extra routes;
* a notify script writing the instance's state (MASTER, BACKUP, FAULT) to
  a file the agent polls (KeepalivedManager.state): the agent reports it
  (ha_state) and re-applies the router when it changes;
* the master's gratuitous ARPs repeated every GARP_REFRESH s, beside the
  bursts at its transition.

The keepalived process runs daemonized in the namespace, its files in
``<state_path>/ha_confs/<namespace>/``: it outlives the agent (a restarted
agent finds it by its pid file and leaves it alone when the configuration is
unchanged; a changed one is reloaded with SIGHUP, which keeps the VRRP
state).  Removing the router stops it (SIGTERM: keepalived removes its
addresses) before the namespace goes; naas.host.netns.delete (and with it
naas-cleanup) kills whatever still runs in a namespace it deletes.
"""
import ipaddress
import logging
import os
import shutil
import signal
import time

from naas.agent.l3 import router as wanted
from naas.host import netns

LOG = logging.getLogger(__name__)

PRIMARY_VIP = '169.254.0.%d/24'
PRIORITY = 50
START_TIMEOUT = 5.0
#: States keepalived's notify script writes -> the API's ha_state.
STATES = {'MASTER': 'active', 'BACKUP': 'standby', 'FAULT': 'standby'}

#: keepalived's notify script ($1 type, $2 name, $3 state): the state, and
#: a line per transition (time and state) in a history (for diagnosis and
#: tools/bench_ha.py).
NOTIFY_SCRIPT = ('#!/bin/sh\n'
                 'echo "$3" > "%(dir)s/state"\n'
                 'echo "$(date +%%s.%%N) $3" >> "%(dir)s/transitions"\n')
#: Seconds between the master's gratuitous ARPs for all its addresses, after
#: the burst at its transition: a switch that learned a shared MAC where it
#: should not (both instances master for a moment) relearns it by then.
GARP_REFRESH = 5


def ha_name(port_id):
    return (wanted.HA_PREFIX + port_id)[:14]


def ha_port(router, host):
    """This host's port on the router's HA network (a port view), or None."""
    for port in router.get('ha_ports') or ():
        if port.get('host') == host:
            return port
    return None


def link_local(mac):
    """The EUI-64 IPv6 link-local address of ``mac``."""
    octets = [int(x, 16) for x in mac.split(':')]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    return str(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + eui)))


def _advert_int(seconds):
    return ('%d' % seconds) if float(seconds).is_integer() else ('%.2f' % seconds)


def virtual_addresses(router):
    """[(cidr, ifname)] keepalived puts on the master: interface addresses
    (and their IPv6 link-local), gateway addresses and floating IPs."""
    out = []
    for ifname, addresses in sorted(wanted.wanted_addresses(router).items()):
        for address, prefixlen in sorted(addresses):
            out.append(('%s/%d' % (address, prefixlen), ifname))
    for view in router.get('interfaces') or ():
        if any(':' in ip['ip_address'] for ip in view.get('fixed_ips') or ()):
            out.append(('%s/64' % link_local(view['mac_address']),
                        wanted.internal_name(view['port_id'])))
    return out


def virtual_routes(router):
    """[line] of virtual_routes: each route with the interface it leaves by
    (keepalived adds them when the addresses are there)."""
    networks = []
    for ifname, addresses in wanted.wanted_addresses(router).items():
        for address, prefixlen in addresses:
            networks.append((ipaddress.ip_network('%s/%d' % (address, prefixlen),
                                                  strict=False), ifname))
    lines = []
    for destination, nexthop in sorted(wanted.wanted_routes(router)):
        hop = ipaddress.ip_address(nexthop)
        dev = next((ifname for net, ifname in networks
                    if net.version == hop.version and hop in net), None)
        lines.append('%s via %s%s' % (destination, nexthop, ' dev %s' % dev if dev else ''))
    return lines


def config(router, ha_ifname, advert_int, notify_script):
    """The keepalived.conf of an HA router (its admin-up view)."""
    vr_id = int(router['ha_vr_id'])
    lines = ['global_defs {',
             '    router_id naas-%s' % router['id'][:8],
             '    script_user root',
             '    vrrp_version 3',
             '}',
             'vrrp_instance VR_%d {' % vr_id,
             '    state BACKUP',
             '    interface %s' % ha_ifname,
             '    virtual_router_id %d' % vr_id,
             '    priority %d' % PRIORITY,
             '    nopreempt',
             '    advert_int %s' % _advert_int(advert_int),
             '    garp_master_refresh %d' % GARP_REFRESH,
             '    notify "%s"' % notify_script,
             '    virtual_ipaddress {',
             '        %s dev %s' % (PRIMARY_VIP % vr_id, ha_ifname),
             '    }']
    addresses = virtual_addresses(router)
    if addresses:
        lines.append('    virtual_ipaddress_excluded {')
        lines += ['        %s dev %s' % (cidr, ifname) for cidr, ifname in addresses]
        lines.append('    }')
    routes = virtual_routes(router)
    if routes:
        lines.append('    virtual_routes {')
        lines += ['        ' + line for line in routes]
        lines.append('    }')
    lines.append('}')
    return '\n'.join(lines) + '\n'


class KeepalivedManager:
    """The keepalived processes of this host's HA routers, by namespace."""

    def __init__(self, state_path):
        self.base = os.path.join(state_path, 'ha_confs')

    def _dir(self, ns):
        return os.path.join(self.base, ns)

    def _file(self, ns, name):
        return os.path.join(self._dir(ns), name)

    def pid(self, ns):
        """The pid of the namespace's keepalived if it runs, else None."""
        try:
            with open(self._file(ns, 'keepalived.pid')) as f:
                pid = int(f.read().strip())
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                cmdline = f.read().split(b'\0')
        except (OSError, ValueError):
            return None
        if self._file(ns, 'keepalived.conf').encode() not in cmdline:
            return None
        return pid

    def ensure(self, ns, text):
        """keepalived runs in ``ns`` with configuration ``text``: started,
        reloaded (SIGHUP) if its configuration changed, else left alone."""
        os.makedirs(self._dir(ns), exist_ok=True)
        path = self._file(ns, 'keepalived.conf')
        try:
            with open(path) as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            with open(path + '.tmp', 'w') as f:
                f.write(text)
            os.rename(path + '.tmp', path)
        pid = self.pid(ns)
        if pid is not None:
            if current != text:
                LOG.info('%s: reloading keepalived (pid %d)', ns, pid)
                os.kill(pid, signal.SIGHUP)
            return
        LOG.info('%s: starting keepalived', ns)
        # -P: VRRP only (no health checkers); it daemonizes: the agent may go.
        netns.execute(ns, ['keepalived', '-P', '-f', path,
                           '-p', self._file(ns, 'keepalived.pid'),
                           '-r', self._file(ns, 'vrrp.pid')])
        deadline = time.monotonic() + START_TIMEOUT
        while self.pid(ns) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.pid(ns) is None:
            raise RuntimeError('keepalived did not start in %s' % ns)

    def notify_script(self, ns):
        """The path of the notify script (written if missing)."""
        os.makedirs(self._dir(ns), exist_ok=True)
        path = self._file(ns, 'notify.sh')
        text = NOTIFY_SCRIPT % {'dir': self._dir(ns)}
        try:
            with open(path) as f:
                if f.read() == text:
                    return path
        except FileNotFoundError:
            pass
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def transitions(self, ns):
        """[(time.time(), keepalived state)] of the instance's transitions."""
        try:
            with open(self._file(ns, 'transitions')) as f:
                return [(float(t), state) for t, state in
                        (line.split() for line in f if line.strip())]
        except FileNotFoundError:
            return []

    def state(self, ns):
        """active / standby as keepalived last said (standby before it said
        anything or when it is not running)."""
        if self.pid(ns) is None:
            return 'standby'
        try:
            with open(self._file(ns, 'state')) as f:
                return STATES.get(f.read().strip(), 'standby')
        except FileNotFoundError:
            return 'standby'

    def stop(self, ns, timeout=5.0):
        """Stop the namespace's keepalived (it removes its addresses) and
        forget its files."""
        pid = self.pid(ns)
        if pid is not None:
            LOG.info('%s: stopping keepalived (pid %d)', ns, pid)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while self.pid(ns) is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.pid(ns) is not None:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self._dir(ns), ignore_errors=True)

    def namespaces(self):
        """The namespaces with keepalived files here."""
        try:
            return sorted(os.listdir(self.base))
        except FileNotFoundError:
            return []
