"""Routers on a host: one network namespace per router (naas-agent's L3 part).

naas-agent runs this when ``[agent] enable_l3`` is set.  The same process
then reports a second agent, of type ``NaaS L3 agent`` (topic
``naas-l3-agent``), beside its L2 agent: the L3 plugin schedules routers to
the alive L3 agents (naas.plugins.l3.scheduler) and binds their ports to the
agent's host, so that the L2 driver of that host wires them like any VIF.
One process, two agent rows: the L3 part shares the L2 part's host, RPC
transport and life cycle, and has its own heartbeat, RPC server and worker
thread, so a slow router never holds up VIF wiring (and vice versa).

Per router that the server gives this host (naas.rpc.l3_api.sync_routers):

* a namespace ``<host namespace or "naas">-router-<router_id[:11]>`` (under
  the host's prefix, so that naas-cleanup finds it), with IPv4/IPv6
  forwarding on in that namespace only (and DAD, RA, ICMP redirects off);
* each interface port plugged with naas.compute.vif.plug: the namespace end
  ``qr-<port_id[:11]>`` with the port's MAC, MTU and addresses, the host
  end ``tap<port_id[:11]>`` a VIF like any other, which the L2 driver wires;
* the gateway port the same way as ``qg-<port_id[:11]>``, with its
  addresses, every floating IP of the router as a /32 (so that the router
  answers ARP for them on the external network), and a default route via
  the external subnet's gateway_ip;
* the extra routes (``routes``, including the hops to a hidden router that
  the server adds for subnet-routes) in the main table, protocol static:
  the agent owns exactly the static routes of the namespace;
* one nftables ruleset, written with one ``nft -f`` per change (an atomic
  replacement of the tables ``inet naas`` and ``ip naas``):
  - enable_snat: everything leaving through the gateway is SNATed to the
    gateway's IPv4 address, and the outside reaches the inside only
    through a floating IP (replies and DNATed connections pass, the rest
    coming in through the gateway is dropped);
  - floating IPs: 1:1 DNAT (fip -> fixed) coming in, SNAT (fixed -> fip)
    leaving through the gateway; a VM reaching another one's floating IP
    from inside the router is masqueraded (hairpin);
  - hidden routers (the one per project that realises subnet-routes):
    forwarding is dropped except between the two subnets of each of its
    subnet-routes (``subnet_routes``); deleting one cuts its traffic.
  Conntrack entries of a floating IP that is moved or disassociated are
  deleted, so that flows through it stop at once (as Neutron does);
* IPv6 router advertisements (this router as default router, its MAC and
  the MTU; no prefixes: addresses come from the DHCP agent's advertisements,
  DHCPv6 or static configuration) on the internal interfaces that have
  IPv6 addresses, every 10 s and in answer to router solicitations;
* gratuitous ARPs for every IPv4 address added (interface addresses and
  floating IPs), sent a few times over the first four seconds, while the L2
  agent wires the interface: neighbours that knew the address at another
  MAC (an interface added again, a floating IP that moved) switch at once.

Changes: the server casts routers_updated / router_deleted /
subnet_routes_updated; the worker thread asks sync_routers again for the
routers named (casts that come while it works are merged) and makes each
router's namespace match: links, addresses and routes are compared with
what the namespace has (one dump each) and only the differences applied,
so a change costs a few netlink messages and at most one ``nft`` run.
On start the agent applies every router scheduled here over what exists
(nothing is torn down and rebuilt: traffic keeps flowing; the nftables
tables are replaced atomically, conntrack keeps the NAT of open flows) and
removes the namespaces of routers that are no longer here.  A router with
admin_state_up false is removed from the host.  Stopping the agent leaves
the routers running.
"""
import errno
import ipaddress
import logging
import os
import subprocess
import threading
import time

from naas.host import ip_lib
from naas.host import netns
from naas.host import offload

LOG = logging.getLogger(__name__)

#: naas.plugins.l3.scheduler.L3_AGENT
AGENT_TYPE = 'NaaS L3 agent'
NS_INFIX = '-router-'
INTERNAL_PREFIX = 'qr-'
GATEWAY_PREFIX = 'qg-'
PREFIXES = (INTERNAL_PREFIX, GATEWAY_PREFIX)
NFT_TABLE = 'naas'
IFA_F_NODAD = 0x02
RTPROT_STATIC = 4
RT_TABLE_MAIN = 254
RETRY_DELAY = 1.0

SYSCTLS = ('net.ipv4.ip_forward=1',
           'net.ipv6.conf.all.forwarding=1',
           'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
           'net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0',
           'net.ipv4.conf.all.send_redirects=0',
           'net.ipv4.conf.default.send_redirects=0',
           # Answer ARP only for addresses of the interface asked on.
           'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2')


def namespace_name(base, router_id):
    return '%s%s%s' % (base, NS_INFIX, router_id[:11])


def internal_name(port_id):
    return (INTERNAL_PREFIX + port_id)[:14]


def gateway_name(port_id):
    return (GATEWAY_PREFIX + port_id)[:14]


# ---- what a router wants (pure functions of the sync_routers data) ----------

def _norm(address):
    return str(ipaddress.ip_address(address))


def wanted_links(router):
    """{ifname: port view} of the router's interfaces and gateway."""
    out = {internal_name(i['port_id']): i for i in router.get('interfaces') or ()}
    gw = router.get('gateway')
    if gw:
        out[gateway_name(gw['port_id'])] = gw
    return out


def floating_ips(router):
    """{floating IP: fixed IP} of the associated floating IPs (IPv4)."""
    if not router.get('gateway'):
        return {}
    return {_norm(f['floating_ip_address']): _norm(f['fixed_ip_address'])
            for f in router.get('floating_ips') or ()
            if f.get('fixed_ip_address') and f.get('floating_ip_address')}


def wanted_addresses(router):
    """{ifname: {(address, prefixlen)}}."""
    out = {}
    for name, view in wanted_links(router).items():
        out[name] = {(_norm(ip['ip_address']), int(ip['prefixlen']))
                     for ip in view.get('fixed_ips') or ()}
    gw = router.get('gateway')
    if gw:
        out[gateway_name(gw['port_id'])] |= {(fip, 32) for fip in floating_ips(router)}
    return out


def wanted_routes(router):
    """{(destination cidr, nexthop)}: the default routes via the external
    subnets' gateways, and the extra routes."""
    out = set()
    gw = router.get('gateway')
    if gw:
        seen = set()
        for ip in gw.get('fixed_ips') or ():
            version = ip.get('ip_version') or ipaddress.ip_address(ip['ip_address']).version
            if ip.get('gateway_ip') and version not in seen:
                seen.add(version)
                out.add(('0.0.0.0/0' if version == 4 else '::/0', _norm(ip['gateway_ip'])))
    for route in router.get('routes') or ():
        dst = str(ipaddress.ip_network(route['destination'], strict=False))
        out.add((dst, _norm(route['nexthop'])))
    return out


def gateway_ipv4(router):
    gw = router.get('gateway')
    for ip in (gw or {}).get('fixed_ips') or ():
        if ipaddress.ip_address(ip['ip_address']).version == 4:
            return _norm(ip['ip_address'])
    return None


def _family(cidr):
    return 'ip6' if ipaddress.ip_network(cidr, strict=False).version == 6 else 'ip'


def nft_ruleset(router):
    """The nftables input that replaces the router's tables (one ``nft -f``:
    atomic).  See the module's docstring for what the rules do."""
    gw = router.get('gateway')
    qg = gateway_name(gw['port_id']) if gw else None
    snat = bool(gw and router.get('enable_snat'))
    fips = floating_ips(router)
    hidden = bool(router.get('hidden'))
    forward = []
    if hidden:
        for sr in router.get('subnet_routes') or ():
            a, b = sr['cidrs']
            fam = _family(a)
            forward.append('%s saddr %s %s daddr %s accept' % (fam, a, fam, b))
            forward.append('%s saddr %s %s daddr %s accept' % (fam, b, fam, a))
    if snat:
        # The outside reaches the inside only through floating IPs.
        forward += ['iifname "%s" ct state established,related accept' % qg,
                    'iifname "%s" ct status dnat accept' % qg,
                    'iifname "%s" drop' % qg]
    lines = ['table inet %s' % NFT_TABLE, 'delete table inet %s' % NFT_TABLE,
             'table inet %s {' % NFT_TABLE,
             '  chain forward {',
             '    type filter hook forward priority filter; policy %s;'
             % ('drop' if hidden else 'accept')]
    lines += ['    ' + r for r in forward]
    lines += ['  }', '}']
    lines += ['table ip %s' % NFT_TABLE, 'delete table ip %s' % NFT_TABLE]
    if gw and (snat or fips):
        pre, out, post = [], [], []
        for fip, fixed in sorted(fips.items()):
            pre.append('ip daddr %s dnat to %s' % (fip, fixed))
            out.append('ip daddr %s dnat to %s' % (fip, fixed))
            post.append('oifname "%s" ip saddr %s snat to %s' % (qg, fixed, fip))
        if fips:
            # Hairpin: from inside to a floating IP of the same router.
            post.append('iifname "%s*" oifname "%s*" ct status dnat masquerade'
                        % (INTERNAL_PREFIX, INTERNAL_PREFIX))
        gw_ip = gateway_ipv4(router)
        if snat and gw_ip:
            post.append('oifname "%s" snat to %s' % (qg, gw_ip))
        lines += ['table ip %s {' % NFT_TABLE,
                  '  chain prerouting {',
                  '    type nat hook prerouting priority dstnat; policy accept;']
        lines += ['    ' + r for r in pre]
        lines += ['  }', '  chain output {',
                  '    type nat hook output priority -100; policy accept;']
        lines += ['    ' + r for r in out]
        lines += ['  }', '  chain postrouting {',
                  '    type nat hook postrouting priority srcnat; policy accept;']
        lines += ['    ' + r for r in post]
        lines += ['  }', '}']
    return '\n'.join(lines) + '\n'


class L3Manager:
    """The L3 side of naas-agent (see the module's docstring)."""

    def __init__(self, conf, server=None):
        from naas.rpc import l3_api
        from naas.rpc import server_api
        self.conf = conf
        self.host = conf.host
        agent = conf.agent
        self.host_namespace = agent.namespace or None
        self.base = agent.namespace or netns.PREFIX.rstrip('-')
        self.prefix = self.base + NS_INFIX
        self.ovs = agent.l2_driver == 'openvswitch'
        self.ovsdb = conf.ovs.ovsdb_connection if self.ovs else None
        self.netdev = self.ovs and conf.ovs.datapath_type == 'netdev'
        self.bridge = conf.ovs.integration_bridge if self.ovs else None
        self.server = server or server_api.ServerAPI(self.host)
        self.plugin = l3_api.L3ServerAPI(self.host)
        self._cond = threading.Condition()
        self._dirty = set()
        self._deleted = set()
        self._full = False
        self._stopped = False
        self._threads = []
        self.rpc_server = None
        self.start_flag = True
        self._nft = {}       # router_id -> ruleset last applied
        self._fips = {}      # router_id -> {fip: fixed} last applied
        self._summary = {}   # router_id -> (interfaces, gateway, floating IPs)
        self.advertiser = RouterAdvertiser()
        #: router_id -> time.monotonic() when its last change was applied
        #: (for tests and tools/bench_l3.py).
        self.applied = {}

    # ---- life cycle ----------------------------------------------------------

    def start(self):
        """Report, listen for casts, and reconcile (in the worker thread)."""
        import oslo_messaging as messaging

        from naas import rpc
        from naas.rpc import l3_api
        self.report_state()
        target = messaging.Target(topic=l3_api.L3_AGENT_TOPIC, server=self.host)
        self.rpc_server = rpc.get_server(target, [l3_api.L3AgentEndpoint(self)])
        self.rpc_server.start()
        self.resync()
        for target, name in ((self._work, 'l3'), (self._heartbeat, 'l3-heartbeat')):
            t = threading.Thread(target=target, name='naas-agent-' + name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self):
        """Stop working; the routers keep routing."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self.advertiser.stop()
        if self.rpc_server is not None:
            self.rpc_server.stop()
            self.rpc_server.wait()
            self.rpc_server = None

    def report_state(self):
        summary = list(self._summary.values())
        state = {'agent_type': AGENT_TYPE, 'binary': 'naas-agent',
                 'topic': 'naas-l3-agent', 'host': self.host,
                 'start_flag': self.start_flag,
                 'configurations': {
                     'agent_mode': 'legacy', 'routers': len(summary),
                     'interfaces': sum(s[0] for s in summary),
                     'ex_gw_ports': sum(s[1] for s in summary),
                     'floating_ips': sum(s[2] for s in summary),
                     'namespace': self.host_namespace, 'nat': 'nftables'}}
        self.server.report_state({}, state)
        self.start_flag = False

    def _heartbeat(self):
        while True:
            with self._cond:
                if self._cond.wait_for(lambda: self._stopped,
                                       self.conf.agent.report_interval):
                    return
            try:
                self.report_state()
            except Exception:
                LOG.exception('L3 heartbeat failed')

    # ---- casts (naas.rpc.l3_api.L3AgentEndpoint) -----------------------------

    def on_routers_updated(self, router_ids):
        with self._cond:
            self._dirty.update(router_ids)
            self._cond.notify_all()

    def on_router_deleted(self, router_id):
        with self._cond:
            self._deleted.add(router_id)
            self._dirty.discard(router_id)
            self._cond.notify_all()

    def on_subnet_routes_updated(self, router_id, subnet_route_ids):
        self.on_routers_updated([router_id])

    def resync(self):
        with self._cond:
            self._full = True
            self._cond.notify_all()

    # ---- the worker ------------------------------------------------------------

    def _work(self):
        while True:
            with self._cond:
                while not (self._stopped or self._full or self._dirty or self._deleted):
                    self._cond.wait()
                if self._stopped:
                    return
                full, self._full = self._full, False
                dirty, self._dirty = self._dirty, set()
                deleted, self._deleted = self._deleted, set()
            try:
                for router_id in sorted(deleted):
                    self.remove(router_id)
                if full:
                    self.sync_all()
                elif dirty:
                    self.sync(sorted(dirty))
            except Exception:
                LOG.exception('L3 sync failed; resyncing in %.0f s', RETRY_DELAY)
                with self._cond:
                    self._cond.wait_for(lambda: self._stopped, RETRY_DELAY)
                    self._full = True

    def sync_all(self):
        """Every router scheduled here, and nothing else."""
        started = time.monotonic()
        routers = self.plugin.sync_routers({})
        wanted = set()
        failed = []
        for router in routers:
            if not router.get('admin_state_up', True):
                continue
            wanted.add(namespace_name(self.base, router['id']))
            if not self._apply_safely(router):
                failed.append(router['id'])
        for ns in netns.list_namespaces(self.prefix):
            if ns not in wanted:
                self.remove_namespace(ns)
        known = {r['id'] for r in routers}
        for router_id in list(self._nft):
            if router_id not in known:
                self._forget(router_id)
        LOG.info('L3: %d router(s) reconciled in %.3f s', len(wanted),
                 time.monotonic() - started)
        self._retry(failed)

    def sync(self, router_ids):
        routers = {r['id']: r for r in self.plugin.sync_routers({}, router_ids=list(router_ids))}
        failed = []
        for router_id in router_ids:
            router = routers.get(router_id)
            if router is None or not router.get('admin_state_up', True):
                self.remove(router_id)
            elif not self._apply_safely(router):
                failed.append(router_id)
        self._retry(failed)

    def _apply_safely(self, router):
        try:
            self.apply(router)
            return True
        except Exception:
            LOG.exception('router %s failed', router['id'])
            return False

    def _retry(self, router_ids):
        if not router_ids:
            return

        def later():
            with self._cond:
                if not self._cond.wait_for(lambda: self._stopped, RETRY_DELAY):
                    self._dirty.update(router_ids)
                    self._cond.notify_all()
        threading.Thread(target=later, daemon=True).start()

    # ---- one router -------------------------------------------------------------

    def apply(self, router):
        """Make the router's namespace match ``router`` (sync_routers data)."""
        started = time.monotonic()
        router_id = router['id']
        ns = namespace_name(self.base, router_id)
        if not netns.exists(ns):
            LOG.info('creating router namespace %s', ns)
            netns.create(ns)
            netns.execute(ns, ['sysctl', '-qw'] + list(SYSCTLS), check=False)
            self._nft.pop(router_id, None)
        links = wanted_links(router)
        with netns.handle(ns) as h:
            plugged = self._links(h, ns, links)
            added = self._addresses(h, plugged, wanted_addresses(router))
            self._routes(h, wanted_routes(router))
        if added:
            send_garps(ns, added)
        self._advertise(ns, router, plugged)
        text = nft_ruleset(router)
        if self._nft.get(router_id) != text:
            proc = netns.execute(ns, ['nft', '-f', '-'], check=False, input=text)
            if proc.returncode != 0:
                self._nft.pop(router_id, None)
                raise RuntimeError('nft in %s failed: %s\n%s'
                                   % (ns, proc.stderr.strip(), text))
            self._nft[router_id] = text
        fips = floating_ips(router)
        gone = {f: x for f, x in self._fips.get(router_id, {}).items() if fips.get(f) != x}
        if gone:
            self._flush_conntrack(ns, gone)
        self._fips[router_id] = fips
        self._summary[router_id] = (len(router.get('interfaces') or ()),
                                    int(bool(router.get('gateway'))), len(fips))
        statuses = {f['id']: 'ACTIVE' for f in router.get('floating_ips') or ()
                    if f.get('fixed_ip_address') and f.get('status') != 'ACTIVE'
                    and router.get('gateway')}
        if statuses:
            try:
                self.plugin.update_floatingip_statuses({}, router_id, statuses)
            except Exception:
                LOG.exception('reporting floating IP statuses of router %s', router_id)
        self.applied[router_id] = time.monotonic()
        LOG.info('router %s: %d interface(s), gateway %s, %d floating IP(s) in %s '
                 '(%.3f s)', router_id, len(router.get('interfaces') or ()),
                 'yes' if router.get('gateway') else 'no', len(fips), ns,
                 time.monotonic() - started)

    def _advertise(self, ns, router, links):
        """Router advertisements on the internal interfaces with IPv6."""
        interfaces = {}
        for view in router.get('interfaces') or ():
            lk = links.get(internal_name(view['port_id']))
            if lk is None or not view.get('admin_state_up', True):
                continue
            if any(':' in ip['ip_address'] for ip in view.get('fixed_ips') or ()):
                interfaces[lk.index] = (lk.address, view.get('mtu'))
        try:
            self.advertiser.set(ns, interfaces)
        except Exception:
            LOG.exception('%s: router advertisements', ns)

    def _vif_port(self, port_id, mac=None):
        port = {'id': port_id, 'mac_address': mac,
                'binding:vif_type': 'ovs' if self.ovs else 'bridge'}
        if self.ovs:
            port['binding:vif_details'] = {'bridge_name': self.bridge}
        return port

    def _links(self, h, ns, wanted):
        """Plug what is missing, unplug what is stale, and set MAC, MTU,
        alias and state; returns {ifname: Link} of the router's links."""
        from naas.compute import vif
        current = {lk.name: lk for lk in h.links() if lk.name.startswith(PREFIXES)}
        for name, lk in sorted(current.items()):
            view = wanted.get(name)
            if view is None or (lk.alias and lk.alias != view['port_id']):
                self._unplug(h, ns, lk)
                del current[name]
        fresh = []
        missing = sorted(n for n in wanted if n not in current)
        if self.ovs and missing:
            # The veths first, then their OVS ports in one OVSDB
            # transaction (one ovs-vswitchd round trip, not one per port).
            for name in missing:
                view = wanted[name]
                vif.plug(dict(self._vif_port(view['port_id'], view.get('mac_address')),
                              **{'binding:vif_type': 'bridge'}),
                         host_namespace=self.host_namespace, vm_namespace=ns,
                         ifname=name, mtu=view.get('mtu'))
            self._ovs_ports([wanted[n] for n in missing])
        for name in missing:
            view = wanted[name]
            port = self._vif_port(view['port_id'], view.get('mac_address'))
            if not self.ovs:
                vif.plug(port, host_namespace=self.host_namespace, vm_namespace=ns,
                         ifname=name, mtu=view.get('mtu'))
            lk = h.link(name)
            if lk is None:
                # The port's VIF was plugged somewhere else (a router that
                # moved, a namespace made again): plug it here.
                LOG.warning('VIF of port %s was not in %s: plugging it again',
                            view['port_id'], ns)
                vif.unplug(port, host_namespace=self.host_namespace,
                           ovsdb_connection=self.ovsdb)
                vif.plug(port, host_namespace=self.host_namespace, vm_namespace=ns,
                         ifname=name, mtu=view.get('mtu'), ovsdb_connection=self.ovsdb)
                lk = h.link(name)
                if lk is None:
                    raise RuntimeError('%s of port %s is not in %s'
                                       % (name, view['port_id'], ns))
            current[name] = lk
            fresh.append(name)
        for name, view in wanted.items():
            lk = current[name]
            changes = {}
            if lk.alias != view['port_id']:
                changes['ifalias'] = view['port_id']
            mac = view.get('mac_address')
            if mac and lk.address and lk.address.lower() != mac.lower():
                changes['address'] = mac
                current[name] = lk._replace(address=mac.lower())
            if view.get('mtu') and lk.mtu != view['mtu']:
                changes['mtu'] = view['mtu']
            up = view.get('admin_state_up', True)
            if lk.up != up:
                changes['state'] = 'up' if up else 'down'
            if changes:
                h.set_link(lk.index, **changes)
        if self.netdev and fresh:
            offload.disable_tx_checksum(ns, *fresh)
        return current

    def _ovs_ports(self, views):
        """The integration bridge ports of new router VIFs, as
        naas.host.ovs_lib.plug_vif makes them (nova's external_ids, the
        dead VLAN until the agent wires them), in one transaction."""
        from naas.agent.l2 import base
        from naas.host import ovs_lib
        api = ovs_lib.get_api(self.ovsdb)
        existing = ovs_lib.bridge_ports(api, self.bridge)
        ops = []
        for view in views:
            tap = base.vif_name(view['port_id'])
            ext = {'iface-id': view['port_id'], 'iface-status': 'active'}
            if view.get('mac_address'):
                ext['attached-mac'] = view['mac_address']
            ops.append(ovs_lib.op_ensure_port(
                self.bridge, tap, iface_external_ids=ext,
                tag=None if tap in existing else ovs_lib.DEAD_VLAN,
                mtu_request=view.get('mtu') or None))
        ovs_lib.transact(api, ops)

    def _unplug(self, h, ns, lk):
        from naas.compute import vif
        LOG.info('%s: removing %s (port %s)', ns, lk.name, lk.alias)
        if lk.alias:
            try:
                vif.unplug(self._vif_port(lk.alias), host_namespace=self.host_namespace,
                           ovsdb_connection=self.ovsdb)
            except Exception:
                LOG.exception('unplugging port %s', lk.alias)
        h.del_link(lk.index)

    @staticmethod
    def _addresses(h, links, wanted):
        """Make the addresses of ``links`` those of ``wanted``; returns
        [(ifname, mac, address)] of the IPv4 addresses added."""
        added = []
        by_index = {lk.index: name for name, lk in links.items()}
        current = {name: set() for name in links}
        for m in h.call(lambda ipr: list(ipr.addr('dump'))):
            name = by_index.get(m['index'])
            address = m.get('IFA_ADDRESS')
            if name is None or not address:
                continue
            if ipaddress.ip_address(address).is_link_local:
                continue
            current[name].add((_norm(address), m['prefixlen']))
        for name, lk in links.items():
            want = wanted.get(name, set())
            for address, plen in sorted(current[name] - want):
                h.addr('del', index=lk.index, address=address, prefixlen=plen)
            for address, plen in sorted(want - current[name]):
                extra = {'flags': IFA_F_NODAD} if ':' in address else {}
                try:
                    h.addr('add', index=lk.index, address=address, prefixlen=plen, **extra)
                except Exception as exc:
                    if getattr(exc, 'code', None) != errno.EEXIST:
                        raise
                if ':' not in address and lk.address:
                    added.append((name, lk.address, address))
        return added

    @staticmethod
    def _routes(h, wanted):
        def dump(ipr):
            out = {}
            for m in ipr.route('dump'):
                if m['proto'] != RTPROT_STATIC or m.get('RTA_TABLE', m['table']) != RT_TABLE_MAIN:
                    continue
                dst = m.get('RTA_DST')
                if dst is None:
                    dst = '::' if m['family'] == 10 else '0.0.0.0'
                cidr = '%s/%d' % (dst, m['dst_len'])
                out[(str(ipaddress.ip_network(cidr, strict=False)),
                     _norm(m.get('RTA_GATEWAY')) if m.get('RTA_GATEWAY') else None)] = m
            return out
        current = h.call(dump)
        for dst, gateway in sorted(set(current) - wanted, key=str):
            try:
                h.route('del', dst=dst, gateway=gateway, proto=RTPROT_STATIC)
            except Exception as exc:
                if getattr(exc, 'code', None) not in (errno.ESRCH, errno.ENOENT):
                    raise
        for dst, gateway in sorted(wanted - set(current)):
            try:
                h.route('replace', dst=dst, gateway=gateway, proto=RTPROT_STATIC)
            except Exception as exc:
                # A nexthop not on any subnet up here (an interface down):
                # it is added when the router changes again.
                LOG.warning('route %s via %s: %s', dst, gateway, exc)

    @staticmethod
    def _flush_conntrack(ns, mappings):
        """Delete the conntrack entries of floating IPs that moved or went."""
        def flush(ipr):
            from pyroute2 import Conntrack
            from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple
            n = 0
            ct = Conntrack()
            try:
                for fip, fixed in mappings.items():
                    for t in (NFCTAttrTuple(daddr=fip), NFCTAttrTuple(saddr=fixed)):
                        for entry in list(ct.dump_entries(tuple_orig=t)):
                            try:
                                ct.delete(entry)
                                n += 1
                            except Exception:
                                pass
            finally:
                ct.close()
            return n
        try:
            with netns.handle(ns) as h:
                n = h.call(flush)
            LOG.info('%s: %d conntrack entries of floating IPs %s deleted', ns, n,
                     sorted(mappings))
        except Exception:
            LOG.exception('%s: deleting conntrack entries of %s', ns, sorted(mappings))

    # ---- removal ------------------------------------------------------------------

    def _forget(self, router_id):
        for cache in (self._nft, self._fips, self._summary, self.applied):
            cache.pop(router_id, None)

    def remove(self, router_id):
        self._forget(router_id)
        self.remove_namespace(namespace_name(self.base, router_id))

    def remove_namespace(self, ns):
        """The router's VIFs (their OVS ports too), then its namespace."""
        self.advertiser.remove(ns)
        if not netns.exists(ns):
            return
        LOG.info('removing router namespace %s', ns)
        try:
            with netns.handle(ns) as h:
                for lk in h.links():
                    if lk.name.startswith(PREFIXES):
                        self._unplug(h, ns, lk)
        except ip_lib.NetlinkError:
            LOG.exception('listing the links of %s', ns)
        netns.delete(ns)


#: When gratuitous ARPs go out after an address is added, in seconds: the
#: L2 agent wires a new interface within a few hundred milliseconds (more on
#: a loaded host).
GARP_TIMES = (0, 0.2, 0.5, 1.0, 2.0, 4.0)


def garp_frame(mac, address):
    """A gratuitous ARP request (sender = target = ``address``), broadcast."""
    import socket
    import struct
    hw = bytes.fromhex(mac.replace(':', ''))
    ip = socket.inet_aton(address)
    return (b'\xff' * 6 + hw + struct.pack('!H', 0x0806)
            + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + hw + ip + b'\x00' * 6 + ip)


def send_garps(ns, items, times=GARP_TIMES):
    """Announce [(ifname, mac, IPv4 address)] of namespace ``ns`` with
    gratuitous ARPs, as Neutron's L3 agent does (arping -U): neighbours that
    knew the address at another MAC (a router interface added again, a
    floating IP that moved) update their entry at once instead of timing
    out.  In a thread of its own (it enters ``ns``); errors are ignored."""
    def run():
        import socket
        try:
            ip_lib.enter_namespace(ns)
        except Exception:
            return
        socks = []
        for ifname, mac, address in items:
            try:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                s.bind((ifname, 0))
                socks.append((s, garp_frame(mac, address)))
            except OSError:
                continue
        started = time.monotonic()
        try:
            for t in times:
                delay = started + t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                for s, frame in socks:
                    try:
                        s.send(frame)
                    except OSError:
                        pass
        finally:
            for s, _ in socks:
                s.close()
    threading.Thread(target=run, name='naas-agent-garp', daemon=True).start()


ICMPV6_RS = 133
ICMPV6_RA = 134
RA_INTERVAL = 10.0
RA_LIFETIME = 1800
ALL_NODES = 'ff02::1'


def ra_packet(mac, mtu=None, lifetime=RA_LIFETIME):
    """An ICMPv6 router advertisement (the kernel fills the checksum): this
    router as a default router, its MAC (source link-layer address) and the
    link MTU; no prefix information (the addresses come from the DHCP
    agent's advertisements or DHCPv6, or are static)."""
    import struct
    hw = bytes.fromhex(mac.replace(':', ''))
    pkt = struct.pack('!BBHBBHII', ICMPV6_RA, 0, 0, 64, 0, lifetime, 0, 0)
    pkt += struct.pack('!BB', 1, 1) + hw
    if mtu:
        pkt += struct.pack('!BBHI', 5, 1, 0, mtu)
    return pkt


class RouterAdvertiser:
    """IPv6 router advertisements of the routers' internal interfaces that
    have IPv6 addresses: every RA_INTERVAL seconds, at once when an
    interface is added, and in answer to router solicitations; one raw
    ICMPv6 socket per router namespace, one thread for all of them.
    Advertisements stop with the agent; the VMs keep their default route
    for RA_LIFETIME seconds, so a restart does not cut IPv6 traffic."""

    def __init__(self, interval=RA_INTERVAL):
        self.interval = interval
        self._lock = threading.Lock()
        self._socks = {}     # namespace -> socket
        self._ifaces = {}    # namespace -> {ifindex: (mac, mtu)}
        self._due = {}       # namespace -> time.monotonic() of the next round
        self._wake_r, self._wake_w = os.pipe()
        self._thread = None
        self._stopped = False

    def _start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name='naas-agent-ra',
                                            daemon=True)
            self._thread.start()

    def _wake(self):
        try:
            os.write(self._wake_w, b'x')
        except OSError:
            pass

    @staticmethod
    def _open(ns):
        """A raw ICMPv6 socket in ``ns`` (made by a thread that enters it)."""
        import socket
        out = {}

        def make():
            try:
                ip_lib.enter_namespace(ns)
                s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                # ICMP6_FILTER: block everything but router solicitations.
                blocked = [0xffffffff] * 8
                blocked[ICMPV6_RS >> 5] &= ~(1 << (ICMPV6_RS & 31))
                import struct
                s.setsockopt(socket.IPPROTO_ICMPV6, 1, struct.pack('8I', *blocked))
                s.setblocking(False)
                out['sock'] = s
            except Exception as exc:
                out['error'] = exc
        t = threading.Thread(target=make, daemon=True)
        t.start()
        t.join()
        if 'error' in out:
            raise out['error']
        return out['sock']

    def set(self, ns, interfaces):
        """``interfaces``: {ifindex: (mac, mtu)} that advertise in ``ns``
        (empty: none)."""
        with self._lock:
            if not interfaces:
                self._close(ns)
                return
            if ns not in self._socks:
                self._socks[ns] = self._open(ns)
            new = set(interfaces) - set(self._ifaces.get(ns, {}))
            self._ifaces[ns] = dict(interfaces)
            if new or ns not in self._due:
                self._due[ns] = 0
            self._start()
        self._wake()

    def remove(self, ns):
        with self._lock:
            self._close(ns)
        self._wake()

    def _close(self, ns):
        s = self._socks.pop(ns, None)
        self._ifaces.pop(ns, None)
        self._due.pop(ns, None)
        if s is not None:
            s.close()

    def stop(self):
        with self._lock:
            self._stopped = True
            for ns in list(self._socks):
                self._close(ns)
        self._wake()

    def _send(self, s, ifindex, mac, mtu, dst=ALL_NODES):
        import socket
        import struct
        info = socket.inet_pton(socket.AF_INET6, '::') + struct.pack('I', ifindex)
        try:
            s.sendmsg([ra_packet(mac, mtu)],
                      [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info)], 0,
                      (dst, 0, 0, ifindex))
        except (OSError, TypeError, ValueError) as exc:
            LOG.debug('RA on ifindex %s: %s', ifindex, exc)

    def _run(self):
        while True:
            try:
                if self._round():
                    return
            except Exception:
                LOG.exception('router advertisements')
                time.sleep(1)

    def _round(self):
        """One wait: send what is due, answer solicitations; True once
        stopped."""
        import select
        import socket
        import struct
        with self._lock:
            if self._stopped:
                return True
            now = time.monotonic()
            for ns, due in list(self._due.items()):
                if due <= now:
                    for ifindex, (mac, mtu) in self._ifaces[ns].items():
                        self._send(self._socks[ns], ifindex, mac, mtu)
                    self._due[ns] = now + self.interval
            socks = dict((s, ns) for ns, s in self._socks.items())
            timeout = max(0.0, min(self._due.values(), default=now + 60) - now)
        try:
            readable, _, _ = select.select(list(socks) + [self._wake_r], [], [], timeout)
        except (OSError, ValueError):
            return False    # a socket closed meanwhile
        for r in readable:
            if r == self._wake_r:
                os.read(self._wake_r, 4096)
                continue
            try:
                _data, anc, _flags, _addr = r.recvmsg(1500, 64)
            except (OSError, ValueError):
                continue
            ifindex = None
            for level, kind, value in anc:
                if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                    ifindex = struct.unpack('I', value[16:20])[0]
            with self._lock:
                ns = socks.get(r)
                entry = self._ifaces.get(ns, {}).get(ifindex)
                if entry is not None and ns in self._socks:
                    self._send(self._socks[ns], ifindex, *entry)


def cleanup_namespaces(base):
    """Every router namespace under ``base`` (for tools and tests)."""
    for ns in netns.list_namespaces(base + NS_INFIX):
        netns.delete(ns)


def nft_available():
    try:
        return subprocess.run(['nft', '--version'], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
