"""The L3 manager: the reconciler of the routers on this host.

It reports the L3 agent (its own heartbeat and RPC server), takes the
server's casts, and makes each router's namespace match what sync_routers
says (naas.agent.l3 says what a router is made of); the worker, its merging
of casts and its retries are naas.agent.reconciler's.  HA routers
(naas.agent.l3.keepalived): the agent plugs their ports and keeps their NAT
as for any router, and leaves their addresses and routes to keepalived; a
thread polls the instances' VRRP states, reports the changes
(update_ha_states) and re-applies a router whose state changed.
"""
import logging
import threading
import time

import oslo_messaging as messaging

from naas import rpc
from naas.agent import reconciler
from naas.agent.l2 import base
from naas.agent.l3 import garp
from naas.agent.l3 import keepalived
from naas.agent.l3 import namespace
from naas.agent.l3 import nft
from naas.agent.l3 import ra
from naas.agent.l3 import router as wanted
from naas.host import ip_lib
from naas.host import netns
from naas.lib import constants
from naas.rpc import l3_api

LOG = logging.getLogger(__name__)

#: Seconds between two looks at the HA routers' VRRP states (at most).
HA_POLL_INTERVAL = 0.5


class L3Manager(reconciler.Reconciler):
    """The L3 side of naas-agent.  ``driver`` is the agent's L2 driver: it
    plugs the routers' interfaces and gateways."""

    name = 'l3'

    def __init__(self, conf, server, driver):
        super().__init__()
        self.conf = conf
        self.host = conf.host
        self.driver = driver
        agent = conf.agent
        self.host_namespace = agent.namespace or None
        self.base = agent.namespace or netns.PREFIX.rstrip('-')
        self.prefix = self.base + wanted.NS_INFIX
        self.server = server
        self.plugin = l3_api.L3ServerAPI(self.host)
        self.rpc_server = None
        self.start_flag = True
        self._nft = {}       # router_id -> ruleset last applied
        self._fips = {}      # router_id -> {fip: fixed} last applied
        self._summary = {}   # router_id -> (interfaces, gateway, floating IPs)
        self.advertiser = ra.RouterAdvertiser()
        self.keepalived = keepalived.KeepalivedManager(conf.state_path)
        self._ha = {}        # router_id -> namespace of an HA router here
        self._ha_reported = {}  # router_id -> ha_state last reported
        #: router_id -> time.monotonic() when its last change was applied
        #: (for tests and tools/bench_l3.py).
        self.applied = {}

    # ---- life cycle ----------------------------------------------------------

    def start(self):
        """Report, listen for casts, and reconcile (in the worker thread)."""
        self.report_state()
        target = messaging.Target(topic=l3_api.L3_AGENT_TOPIC, server=self.host)
        self.rpc_server = rpc.get_server(target, [l3_api.L3AgentEndpoint(self)])
        self.rpc_server.start()
        super().start()
        threading.Thread(target=self._heartbeat, name='naas-agent-l3-heartbeat',
                         daemon=True).start()
        threading.Thread(target=self._watch_ha, name='naas-agent-l3-ha',
                         daemon=True).start()

    def stop(self):
        """Stop working; the routers keep routing."""
        super().stop()
        self.advertiser.stop()
        if self.rpc_server is not None:
            self.rpc_server.stop()
            self.rpc_server.wait()
            self.rpc_server = None

    def report_state(self):
        summary = list(self._summary.values())
        state = {'agent_type': constants.AGENT_TYPE_L3, 'binary': 'naas-agent',
                 'topic': l3_api.L3_AGENT_TOPIC, 'host': self.host,
                 'start_flag': self.start_flag,
                 'configurations': {
                     'agent_mode': 'legacy', 'routers': len(summary),
                     'interfaces': sum(s[0] for s in summary),
                     'ex_gw_ports': sum(s[1] for s in summary),
                     'floating_ips': sum(s[2] for s in summary),
                     'ha_routers': len(self._ha),
                     'namespace': self.host_namespace, 'nat': 'nftables'}}
        self.server.report_state({}, state)
        self.start_flag = False

    def _heartbeat(self):
        while not self.wait_stopped(self.conf.agent.report_interval):
            try:
                self.report_state()
            except Exception:
                LOG.exception('L3 heartbeat failed')

    def _watch_ha(self):
        """Report the VRRP state changes of the HA routers here (and apply
        the router again: its router advertisements follow the master)."""
        interval = min(HA_POLL_INTERVAL, self.conf.ha_vrrp_advert_int / 2.0)
        while not self.wait_stopped(interval):
            try:
                self.report_ha_states()
            except Exception:
                LOG.exception('reporting HA router states')

    def report_ha_states(self):
        """{router_id: ha_state} of the changes reported (and applied)."""
        states = {router_id: self.keepalived.state(ns)
                  for router_id, ns in list(self._ha.items())}
        changed = {r: s for r, s in states.items() if self._ha_reported.get(r) != s}
        if not changed:
            return {}
        LOG.info('HA routers: %s', ', '.join('%s %s' % (r, s) for r, s in
                                              sorted(changed.items())))
        self.changed(list(changed))
        self.plugin.update_ha_states({}, changed)
        self._ha_reported.update(changed)
        return changed

    # ---- casts (naas.rpc.l3_api.L3AgentEndpoint) -----------------------------

    def on_routers_updated(self, router_ids):
        self.changed(router_ids)

    def on_router_deleted(self, router_id):
        # sync() finds it gone (or no longer here) and removes it.
        self.changed([router_id])

    def on_subnet_routes_updated(self, router_id, subnet_route_ids):
        self.changed([router_id])

    # ---- passes (naas.agent.reconciler) ------------------------------------------

    def sync_all(self):
        """Every router scheduled here, and nothing else."""
        started = time.monotonic()
        routers = self.plugin.sync_routers({})
        keep = set()
        failed = []
        for router in routers:
            keep.add(wanted.namespace_name(self.base, router['id']))
            if not self._apply_safely(router):
                failed.append(router['id'])
        for ns in netns.list_namespaces(self.prefix):
            if ns not in keep:
                self.remove_namespace(ns)
        for ns in self.keepalived.namespaces():
            if ns.startswith(self.prefix) and ns not in keep:
                self.keepalived.stop(ns)
        known = {r['id'] for r in routers}
        for router_id in list(self._nft):
            if router_id not in known:
                self._forget(router_id)
        LOG.info('L3: %d router(s) reconciled in %.3f s', len(keep),
                 time.monotonic() - started)
        return failed

    def sync(self, router_ids):
        routers = {r['id']: r for r in self.plugin.sync_routers({}, router_ids=list(router_ids))}
        failed = []
        for router_id in router_ids:
            router = routers.get(router_id)
            if router is None:
                self.remove(router_id)
            elif not self._apply_safely(router):
                failed.append(router_id)
        return failed

    def _apply_safely(self, router):
        try:
            self.apply(router)
            return True
        except Exception:
            LOG.exception('router %s failed', router['id'])
            return False

    # ---- one router -------------------------------------------------------------

    def apply(self, router):
        """Make the router's namespace match ``router`` (sync_routers data;
        an admin-down router as naas.agent.l3.router.realised says)."""
        started = time.monotonic()
        up = router.get('admin_state_up', True)
        router = wanted.realised(router)
        router_id = router['id']
        ns = wanted.namespace_name(self.base, router_id)
        ha_view = keepalived.ha_port(router, self.host) if router.get('ha') else None
        if router.get('ha') and ha_view is None:
            raise RuntimeError('HA router %s has no port for %s yet' % (router_id, self.host))
        if not netns.exists(ns):
            LOG.info('creating router namespace %s', ns)
            namespace.create(ns, ha=ha_view is not None)
            self._nft.pop(router_id, None)
        links = wanted.wanted_links(router)
        if ha_view is not None:
            links[keepalived.ha_name(ha_view['port_id'])] = ha_view
        with netns.handle(ns) as h:
            plugged = self._links(h, ns, links)
            if ha_view is None:
                added = namespace.set_addresses(h, plugged, wanted.wanted_addresses(router))
                namespace.set_routes(h, wanted.wanted_routes(router))
            else:
                added = self._set_ha_addresses(h, plugged, router, ha_view)
        if added:
            garp.send_garps(ns, added)
        self._keepalived(ns, router, ha_view, up)
        self._advertise(ns, router, plugged)
        text = nft.ruleset(router)
        if self._nft.get(router_id) != text:
            proc = netns.execute(ns, ['nft', '-f', '-'], check=False, input=text)
            if proc.returncode != 0:
                self._nft.pop(router_id, None)
                raise RuntimeError('nft in %s failed: %s\n%s'
                                   % (ns, proc.stderr.strip(), text))
            self._nft[router_id] = text
        fips = wanted.floating_ips(router)
        gone = {f: x for f, x in self._fips.get(router_id, {}).items() if fips.get(f) != x}
        if gone:
            namespace.flush_conntrack(ns, gone)
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

    def _set_ha_addresses(self, h, plugged, router, ha_view):
        """An HA router: only its ha- interface's own address (keepalived
        has the rest, and the primary VRRP address on ha- too)."""
        name = keepalived.ha_name(ha_view['port_id'])
        own = {(wanted.norm(ip['ip_address']), int(ip['prefixlen']))
               for ip in ha_view.get('fixed_ips') or ()}
        vip, plen = (keepalived.PRIMARY_VIP % int(router['ha_vr_id'])).split('/')
        return namespace.set_addresses(h, {name: plugged[name]}, {name: own},
                                       keep={(vip, int(plen))})

    def _keepalived(self, ns, router, ha_view, up):
        """keepalived runs for an HA router that is up, and for no other."""
        router_id = router['id']
        if ha_view is None or not up:
            self._ha.pop(router_id, None)
            self._ha_reported.pop(router_id, None)
            if self.keepalived.pid(ns) is not None:
                self.keepalived.stop(ns)
            return
        text = keepalived.config(router, keepalived.ha_name(ha_view['port_id']),
                                 self.conf.ha_vrrp_advert_int,
                                 self.keepalived.notify_script(ns))
        self.keepalived.ensure(ns, text)
        self._ha[router_id] = ns

    def _advertise(self, ns, router, links):
        """Router advertisements on the internal interfaces with IPv6 (an
        HA router's: from its master only)."""
        interfaces = {}
        if router['id'] in self._ha and self.keepalived.state(ns) != 'active':
            router = dict(router, interfaces=[])
        for view in router.get('interfaces') or ():
            lk = links.get(wanted.internal_name(view['port_id']))
            if lk is None or not view.get('admin_state_up', True):
                continue
            if any(':' in ip['ip_address'] for ip in view.get('fixed_ips') or ()):
                interfaces[lk.index] = (lk.address, view.get('mtu'))
        try:
            self.advertiser.set(ns, interfaces)
        except Exception:
            LOG.exception('%s: router advertisements', ns)

    def _links(self, h, ns, links):
        """Have the driver plug what is missing (all in one call), unplug
        what is stale, and set MAC, MTU, alias and state; returns {ifname:
        Link} of the router's links."""
        current = {lk.name: lk for lk in h.links() if lk.name.startswith(wanted.PREFIXES)}
        for name, lk in sorted(current.items()):
            view = links.get(name)
            if view is None or (lk.alias and lk.alias != view['port_id']):
                self._unplug(h, ns, lk)
                del current[name]
        missing = sorted(n for n in links if n not in current)
        if missing:
            self.driver.plug_service_ports([base.ServicePort(
                links[n]['port_id'], links[n].get('mac_address'), ns, n,
                links[n].get('mtu')) for n in missing])
        for name in missing:
            lk = h.link(name)
            if lk is None:
                raise RuntimeError('%s of port %s is not in %s'
                                   % (name, links[name]['port_id'], ns))
            current[name] = lk
        for name, view in links.items():
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
        return current

    def _unplug(self, h, ns, lk):
        LOG.info('%s: removing %s (port %s)', ns, lk.name, lk.alias)
        if lk.alias:
            try:
                self.driver.unplug_service_port(lk.alias)
            except Exception:
                LOG.exception('unplugging port %s', lk.alias)
        h.del_link(lk.index)

    # ---- removal ------------------------------------------------------------------

    def _forget(self, router_id):
        for cache in (self._nft, self._fips, self._summary, self.applied, self._ha,
                      self._ha_reported):
            cache.pop(router_id, None)

    def remove(self, router_id):
        self._forget(router_id)
        self.remove_namespace(wanted.namespace_name(self.base, router_id))

    def remove_namespace(self, ns):
        """The router's VIFs (through the driver), then its namespace."""
        self.advertiser.remove(ns)
        self.keepalived.stop(ns)
        if not netns.exists(ns):
            return
        LOG.info('removing router namespace %s', ns)
        try:
            with netns.handle(ns) as h:
                for lk in h.links():
                    if lk.name.startswith(wanted.PREFIXES):
                        self._unplug(h, ns, lk)
        except ip_lib.NetlinkError:
            LOG.exception('listing the links of %s', ns)
        netns.delete(ns)
