"""The Open vSwitch L2 driver: br-int, br-tun (VXLAN, GRE), physical bridges.

Like Neutron's OVS agent (without l2pop, ARP responder or MAC learning in
br-tun):

* br-int ([ovs] integration_bridge; datapath_type from [ovs]
  datapath_type, fail_mode secure): every VIF (a port whose Interface has
  external_ids iface-id=<port id>, added by :func:`naas.host.ovs_lib.op_plug_vif`:
  by naas.compute.vif for VMs, by :meth:`OpenvSwitchDriver.plug_service_ports`
  for DHCP ports and router interfaces) is an access port tagged with its
  network's local VLAN (1..4094, one per network on this host); MAC
  learning by the NORMAL action.  A port that is admin down, or that no
  port bound here owns, gets the dead VLAN 4095 and a drop flow.
* br-tun ([ovs] tunnel_bridge, only with [agent] tunnel_ip), joined to br-int
  by patch-tun/patch-int: one tunnel port per (type, remote host)
  (``vxlan-c0000202``, ``gre-c0000202``: options remote_ip, local_ip,
  key=flow) to every other host with ports on a network of this host
  (details['endpoints'] / set_endpoints); flows: local VLAN -> tunnel id
  (the segmentation id), VLAN stripped, out of the network's tunnels
  (unicast flooding list); tunnel id -> local VLAN -> br-int; everything else
  dropped.
* vlan and flat networks: [agent] bridge_mappings physnet:bridge; the
  bridge (made if missing, datapath_type as above) is joined to br-int by
  int-<bridge>/phy-<bridge> patches; flows translate local VLAN <-> the
  segmentation VLAN (flat: untagged).
* local networks: br-int alone.

The flow tables are in naas.agent.l2.ovs_flows.  The driver knows the whole
table it wants from its state and applies the difference with one
``ovs-ofctl --bundle add-flows`` call per bridge (atomic), never one per port;
OVSDB changes of a batch go in one transaction.  The agent loop wraps each
batch of wire() calls in :meth:`batch`.

Latency (port create -> first ping, docs/performance.md): the agent scans
as soon as OVSDB says an Interface came or got its ofport
(:meth:`watch_vifs`, hooks.VifEvents), not at its next polling interval.
The drop flows follow the driver's state, not the tags in OVSDB: a VIF is
dead unless it is wired here and admin up.  A new VIF's drop flow goes in
with the first bundle of the batch that wires it (its filters: the agent
calls filter_ports right after the scan), or at the next scan if no batch
came: a scan alone does not cost a bundle (the VIF is on the dead VLAN
meanwhile).  The order of a wiring stays: filters (the VIF still dead),
then its tag (waited for: ovs-vswitchd has applied it), then the flows that
let it talk; so it never receives before it can send.

Restarts: a port's network and local VLAN are kept in its OVSDB row
(Port other_config naas-network-id, naas-local-vlan; tag = the VLAN), so a
new agent takes the same VLANs back (reconcile), recomputes the same flows
and installs them with a cookie of its own generation in one bundle per
bridge that also deletes the flows of older generations: a packet sees the
old table or the new one, never a gap.  Nothing that is right is rewritten
in OVSDB.  Flow cookies: high 32 bits 0x4E414153 ("NAAS"), low 32 bits the
generation; NaaS never touches a flow without that mark.

Port filter (hooks.PortFilter): naas.agent.l2.ovs_firewall renders the
filtered ports' flows (br-int tables 71-75) into br-int's table, so they
go in the same bundles and generations.  The agent filters before it
wires: the filter is in while the VIF is still on the dead VLAN.  After a
restart with filtered ports nothing is applied until their filters are
known again (reconcile_filters): the old generation filters till then.

A restart with less in the config (a bridge mapping or the tunnel_ip
removed, a bridge renamed) must leave no path to what is gone: else a patch
port would stay an untagged trunk of br-int, and the old bridge would keep
translating local VLANs (which new networks get again) to its segments.
So reconcile deletes the NaaS patch and tunnel ports (external_ids
naas-port=patch / tunnel) the config no longer asks for, in the OVSDB
transaction that comes before any flow changes, then every NaaS flow of
the bridges no longer configured that NaaS made or that held such a
port (remembered until done: retried at the next scan).  The bridges
themselves stay, and nothing without a NaaS mark is touched.

Hosts built as namespaces (the fullstack tests, tools/smoke.py): the
agent runs in the root namespace and reaches its host's private OVS through
[ovs] ovsdb_connection = unix:<dir>/db.sock; OpenFlow goes to the bridges'
management sockets in the same directory (<dir>/<bridge>.mgmt).  See
tools.harness.ovs_host for how such a host is built; in short, with the
userspace datapath (datapath_type = netdev):

* tunnels are OVS's native (userspace) tunnels: the tunnel_ip must be the
  address of an OVS bridge's internal port (``br-underlay``) that has the
  underlay interface as a port; ovs-vswitchd, started in the host's
  namespace, learns the route to the remotes from that namespace's
  routing table and resolves their MACs itself (ARP through br-underlay),
  so no ``ovs/route/add`` or ``tnl/arp/set`` is needed;
* the underlay interface must not answer ARP itself (arp_ignore=1): the
  kernel sees every frame that reaches it too, and would answer with the
  wrong MAC;
* a VM end of a veth plugged into a netdev bridge must have TX checksum
  offload off (``ethtool -K eth0 tx off``): OVS's AF_PACKET ports pass
  packets on with the partial checksum the kernel left, and TCP/UDP
  (DHCP) would be dropped by the receiver; ICMP works either way.  This
  driver does it for the service ports it plugs (naas.host.offload);
  whoever plugs a VM does it for the VM;
* overlay MTU: the network MTU (1450 for VXLAN, 1458 for GRE on a 1500
  underlay) must be the VM's MTU: larger encapsulated frames are dropped.
"""
import contextlib
import ipaddress
import logging
import random
import threading
import time

from naas.agent.l2 import base
from naas.agent.l2 import conntrack
from naas.agent.l2 import counters_ovs
from naas.agent.l2 import hooks
from naas.agent.l2 import l2pop_ovs
from naas.agent.l2 import ovs_firewall
from naas.agent.l2 import ovs_flows as flows
from naas.agent.l2 import physical_ovs
from naas.agent.l2 import qos_ovs
from naas.agent.l2 import remote_ovs
from naas.host import offload
from naas.host import ovs_lib
from naas.host import vif as host_vif
from naas.lib import constants

LOG = logging.getLogger(__name__)

PATCH_TUN = 'patch-tun'     # on br-int
PATCH_INT = 'patch-int'     # on br-tun
NET_KEY = 'naas-network-id'
VLAN_KEY = 'naas-local-vlan'
CLEAR_NAAS_KEYS = {NET_KEY: None, VLAN_KEY: None}
#: The flow mod that deletes every NaaS flow of a bridge (any generation).
NAAS_FLOWS_DELETE = 'delete cookie=%#x/%#x' % (flows.COOKIE_MARK, flows.COOKIE_MASK)
#: Seconds between checks that br-int still has its flows.
CANARY_INTERVAL = 2.0
#: Seconds setup() waits for an OVSDB server that is not up yet.
CONNECT_TIMEOUT = 60


class PortState:
    __slots__ = ('network_id', 'name', 'admin_up', 'ofport')

    def __init__(self, network_id, name, admin_up, ofport):
        self.network_id, self.name, self.admin_up = network_id, name, admin_up
        self.ofport = ofport


class OpenvSwitchDriver(base.L2Driver, hooks.PortFilter, hooks.QoS, hooks.PortCounters,
                         hooks.RemoteTunnels, hooks.PhysicalBridges, hooks.VifEvents,
                         hooks.L2Population):
    agent_type = constants.AGENT_TYPE_OVS   # vif_type 'ovs'
    qos_rule_types = qos_ovs.OvsQoS.RULE_TYPES

    def __init__(self, conf):
        super().__init__(conf)
        ovs, agent = conf.ovs, conf.agent
        self.connection = ovs.ovsdb_connection
        self.int_br = ovs.integration_bridge
        self.tun_br = ovs.tunnel_bridge
        self.datapath_type = ovs.datapath_type
        self.namespace = agent.namespace or None
        self.tunnel_ip = str(ipaddress.ip_address(agent.tunnel_ip)) if agent.tunnel_ip else None
        types = [t for t in (agent.tunnel_types or []) if t in flows.TUNNEL_TYPES]
        unsupported = [t for t in (agent.tunnel_types or []) if t not in flows.TUNNEL_TYPES]
        if unsupported:
            LOG.warning('tunnel types %s are not supported; using %s', unsupported, types)
        self.tunnel_types = types if self.tunnel_ip else []
        self.mappings = dict(agent.bridge_mappings or {})
        self.ofctl = ovs_lib.OFCtl(ovs_lib.rundir_of(self.connection))
        self.qos = qos_ovs.OvsQoS(qos_ovs.Meters(self.ofctl, self.int_br))
        self.counters = counters_ovs.OvsCounters(
            lambda: ovs_lib.get_api(self.connection, columns=ovs_lib.STATISTICS),
            self.namespace)
        self.remote_tunnel_types = ['vxlan'] if self.tunnel_ip else []
        self.l2pop = l2pop_ovs.OvsL2Pop(self.tunnel_ip, agent.arp_responder)
        self.remotes = remote_ovs.OvsRemotes(
            lambda: self.api, ovs_lib.rundir_of(self.connection), self.int_br, self.tunnel_ip,
            lambda network_id: self.vlans.get(network_id))
        self.physical = physical_ovs.OvsPhysicalBridges(self.mappings)
        self._api = None
        self._lock = threading.RLock()
        self._batch_depth = 0
        self._pending = False
        self._ops = []
        self._vif_cache = None
        self._owned = {}          # physical bridge -> NaaS made it
        self._retired = set()     # bridges no longer configured whose NaaS flows go
        self._canary_checked = 0.0
        self.firewall = ovs_firewall.Firewall()
        self.conntrack = conntrack.OVSConntrack(ovs_lib.rundir_of(self.connection),
                                                self.datapath_type)
        # After a restart, no change is applied before the filters of the
        # filtered ports wired by reconcile are known again (by
        # reconcile_filters, or filter_ports if that failed): the old flows
        # stay till then.
        self._filters_pending = False
        self._filters_awaited = frozenset()
        self._reset_state()
        self.cookie = self._new_cookie()

    # ---- plumbing ------------------------------------------------------------

    @property
    def api(self):
        if self._api is None:
            self._api = ovs_lib.get_api(self.connection, columns=ovs_lib.WIRING)
        return self._api

    def _connect(self, timeout=CONNECT_TIMEOUT):
        """The OVSDB API, waiting for the server if it is not up yet."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.api
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise
                LOG.warning('OVSDB %s not reachable (%s); retrying', self.connection, exc)
                time.sleep(1)

    def _reset_state(self):
        self.vlans = flows.LocalVlans()
        self.nets = {}            # network_id -> flows.Net
        self.ports = {}           # port_id -> PortState
        self.applied = {}         # bridge -> flow table installed by this generation
        self.full_refresh = True  # next flush: every flow again, stale cookies out
        self._dead_applied = frozenset()
        self._dead_seen = frozenset()
        # No flow is touched before the first reconcile: until then the
        # state is empty, and the flows a previous agent left are right.
        self.reconciled = False

    @staticmethod
    def _new_cookie():
        return flows.make_cookie(random.getrandbits(32) or 1)

    def _vifs(self, refresh=False):
        if refresh or self._vif_cache is None:
            self._vif_cache = ovs_lib.vifs(self.api, self.int_br)
        return self._vif_cache

    def _vif(self, port_id):
        port = self._vifs().get(port_id)
        if port is None:
            port = self._vifs(refresh=True).get(port_id)
        return port

    @contextlib.contextmanager
    def batch(self):
        """Apply the changes of the wire/unwire calls made inside at the end,
        in one OVSDB transaction and one ovs-ofctl call per bridge."""
        with self._lock:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
                if self._batch_depth == 0 and self._pending:
                    self.flush()

    def _changed(self):
        self._pending = True
        if self._batch_depth == 0:
            self.flush()

    # ---- L2Driver ------------------------------------------------------------

    def configurations(self):
        return {'tunnel_ip': self.tunnel_ip, 'tunnel_types': list(self.tunnel_types),
                'bridge_mappings': dict(self.mappings),
                'integration_bridge': self.int_br,
                'tunnel_bridge': self.tun_br if self.tunnel_ip else None,
                'datapath_type': self.datapath_type,
                'ovsdb_connection': self.connection, 'namespace': self.namespace,
                'arp_responder_enabled': bool(self.tunnel_ip)}

    def setup(self):
        self._connect()
        with self._lock:
            marks = {ovs_lib.NAAS_MARK: '1'}
            patch = {ovs_lib.PORT_MARK: 'patch'}
            snap = ovs_lib.snapshot(self.api)
            ops = [ovs_lib.op_ensure_bridge(
                self.int_br, self.datapath_type, fail_mode='secure',
                external_ids=dict(marks, **{ovs_lib.BRIDGE_MARK: 'int'}))]
            if self.tunnel_ip:
                ops.append(ovs_lib.op_ensure_bridge(
                    self.tun_br, self.datapath_type, fail_mode='secure',
                    external_ids=dict(marks, **{ovs_lib.BRIDGE_MARK: 'tun'})))
                ops += ovs_lib.patch_ops(self.int_br, PATCH_TUN, self.tun_br, PATCH_INT,
                                         external_ids=patch)
            for physnet, bridge in sorted(self.mappings.items()):
                existing = snap.get(bridge)
                owned = existing is None or ovs_lib.BRIDGE_MARK in existing.external_ids
                self._owned[bridge] = owned
                if existing is None:
                    LOG.info('bridge %s of physical network %s is missing: creating '
                             'it (it needs the physical interface as a port)',
                             bridge, physnet)
                if owned:
                    ops.append(ovs_lib.op_ensure_bridge(
                        bridge, self.datapath_type, fail_mode='secure',
                        external_ids=dict(marks, **{ovs_lib.BRIDGE_MARK: 'phys'})))
                else:
                    ops.append(ovs_lib.op_ensure_bridge(
                        bridge, protocols=ovs_lib.PROTOCOLS))
                ops += ovs_lib.patch_ops(self.int_br, flows.int_patch_name(bridge), bridge,
                                         flows.phy_patch_name(bridge), external_ids=patch)
            ovs_lib.transact(self.api, ops)
            LOG.info('OVS ready: %s%s (datapath %s) on %s', self.int_br,
                     ', %s' % self.tun_br if self.tunnel_ip else '', self.datapath_type,
                     self.connection)

    def watch_vifs(self, notify):
        ovs_lib.watch_interfaces(self.api, notify)

    def scan_vifs(self):
        with self._lock:
            vifs = self._vifs(refresh=True)
            # A VIF plugged without the dead tag would be a trunk of every
            # local VLAN: quarantine it until it is wired.
            loose = [p.name for pid, p in vifs.items()
                     if p.tag is None and pid not in self.ports]
            if loose:
                LOG.info('untagged VIF ports %s: dead VLAN until wired', loose)
                self._ops += [ovs_lib.op_set_port(n, tag=flows.DEAD_VLAN) for n in loose]
                self._pending = True
            self._heal(vifs)
            # A dead VIF came or went: its drop flow goes with the batch
            # that wires it (the agent's, right after this scan), else now
            # if the next scan sees it still.
            dead = self._dead_ofports(vifs)
            if dead != self._dead_applied:
                if dead == self._dead_seen:
                    self._pending = True
                self._dead_seen = dead
            self._check_canary()
            if self._pending:
                self._changed()
            return {pid: p.name for pid, p in vifs.items()
                    if p.iface is not None and p.iface.ofport > 0}

    def _dead_ofports(self, vifs):
        """The ofports of the VIFs ({port id: ovs_lib.Port}) that must not
        talk: all but those wired here and admin up."""
        return frozenset(port.iface.ofport for port_id, port in vifs.items()
                         if port.iface is not None and port.iface.ofport > 0
                         and not (port_id in self.ports and self.ports[port_id].admin_up))

    def _heal(self, vifs):
        """Wired VIFs whose OVSDB row is not what it should be (replugged
        between two scans: the plug gave it the dead tag again; its ofport
        changed): put the row right again, flows follow."""
        for pid, state in self.ports.items():
            vif = vifs.get(pid)
            if vif is None or vif.iface is None or vif.iface.ofport <= 0:
                continue
            net = self.nets.get(state.network_id)
            if net is None:
                continue
            tag = net.lvid if state.admin_up else flows.DEAD_VLAN
            if vif.tag != tag or vif.other_config.get(VLAN_KEY) != str(net.lvid):
                LOG.info('VIF %s of port %s has tag %s, wants %s: fixing', vif.name,
                         pid, vif.tag, tag)
                self._ops.append(ovs_lib.op_set_port(vif.name, tag=tag, other_config={
                    NET_KEY: net.network_id, VLAN_KEY: str(net.lvid)}))
                self._pending = True
            if state.ofport != vif.iface.ofport:
                state.ofport = vif.iface.ofport
                self._pending = True

    def _check_canary(self):
        """Every CANARY_INTERVAL: if br-int lost the canary flow
        (ovs-vswitchd restarted with empty tables), install every flow again."""
        now = time.monotonic()
        if (not self.reconciled or self.full_refresh
                or now - self._canary_checked < CANARY_INTERVAL):
            return
        self._canary_checked = now
        try:
            present = self.ofctl.dump_flows(self.int_br, 'table=%d' % flows.CANARY_TABLE)
        except ovs_lib.OVSError as exc:
            LOG.warning('canary check of %s failed: %s', self.int_br, exc)
            return
        if not present:
            LOG.warning('%s lost its flows (ovs-vswitchd restarted?): installing '
                        'them all again', self.int_br)
            self.full_refresh = True
            self._pending = True

    def wire(self, details):
        with self._lock:
            self._wire(details)
            self._changed()

    def _wire(self, details):
        port_id = details['port_id']
        vif = self._vif(port_id)
        if vif is None or vif.iface.ofport <= 0:
            raise LookupError('VIF of port %s is not plugged into %s'
                              % (port_id, self.int_br))
        net = self._ensure_net(details)
        old = self.ports.get(port_id)
        if old is not None and old.network_id != net.network_id:
            self._forget_port(port_id)
        up = bool(details.get('admin_state_up', True))
        self.ports[port_id] = PortState(net.network_id, vif.name, up, vif.iface.ofport)
        tag = net.lvid if up else flows.DEAD_VLAN
        record = {NET_KEY: net.network_id, VLAN_KEY: str(net.lvid)}
        if vif.tag != tag or any(vif.other_config.get(k) != v for k, v in record.items()):
            LOG.debug('port %s (%s): tag %s -> %s', port_id, vif.name, vif.tag, tag)
            self._ops.append(ovs_lib.op_set_port(vif.name, tag=tag, other_config=record))

    def _ensure_net(self, details):
        nid = details['network_id']
        ntype = details.get('network_type') or 'local'
        physnet = details.get('physical_network')
        if ntype in flows.TUNNEL_TYPES:
            if not self.tunnel_ip:
                raise ValueError('network %s is %s and [agent] tunnel_ip is unset'
                                 % (nid, ntype))
            if ntype not in self.tunnel_types:
                raise ValueError('network %s is %s, not in [agent] tunnel_types %s'
                                 % (nid, ntype, self.tunnel_types))
        elif ntype in ('vlan', 'flat'):
            if physnet not in self.mappings:
                raise ValueError('no bridge_mappings entry for physical network %s'
                                 % physnet)
        elif ntype != 'local':
            raise ValueError('network type %s is not supported by the Open vSwitch '
                             'driver' % ntype)
        old = self.nets.get(nid)
        if 'endpoints' in details and ntype in flows.TUNNEL_TYPES:
            remotes = flows.remote_ips(details['endpoints'], self.tunnel_ip)
        else:
            remotes = old.remotes if old is not None else ()
        net = flows.Net(nid, self.vlans.allocate(nid), ntype, physnet,
                        details.get('segmentation_id'), remotes)
        if net != old:
            if old is None:
                LOG.info('network %s (%s %s) gets local VLAN %d', nid, ntype,
                         net.segmentation_id, net.lvid)
            self.nets[nid] = net
        return net

    def unwire(self, port_id):
        with self._lock:
            known = port_id in self.ports
            # The scan that found the VIF gone (or the cast) came just before:
            # the cached rows are fresh enough (a missing row is ignored).
            vif = self._vifs().get(port_id)
            if vif is not None and (vif.tag != flows.DEAD_VLAN or NET_KEY in vif.other_config):
                self._ops.append(ovs_lib.op_set_port(vif.name, tag=flows.DEAD_VLAN,
                                                     other_config=CLEAR_NAAS_KEYS))
            self._forget_port(port_id)
            if known or self._ops:
                self._changed()

    def _forget_port(self, port_id):
        state = self.ports.pop(port_id, None)
        if state is None:
            return
        nid = state.network_id
        if not any(p.network_id == nid for p in self.ports.values()):
            net = self.nets.pop(nid, None)
            self.vlans.release(nid)
            if net is not None:
                LOG.info('network %s left this host: local VLAN %d freed', nid, net.lvid)

    def set_endpoints(self, network_id, endpoints):
        with self._lock:
            net = self.nets.get(network_id)
            if net is None or net.network_type not in flows.TUNNEL_TYPES:
                return
            remotes = flows.remote_ips(endpoints, self.tunnel_ip)
            if remotes != net.remotes:
                self.nets[network_id] = net._replace(remotes=remotes)
                self._changed()

    def reconcile(self, wanted):
        started = time.monotonic()
        with self._lock:
            self._filters_awaited = frozenset(
                d['port_id'] for d in wanted if ovs_firewall.is_filtered(d))
            self._filters_pending = bool(self._filters_awaited)
            vifs = self._vifs(refresh=True)
            self._reset_state()
            self._ops = []
            self.cookie = self._new_cookie()
            leftover_ports, retired = self._leftovers()
            if leftover_ports:
                LOG.info('deleting ports %s: the config no longer asks for them',
                         leftover_ports)
                self._ops += [ovs_lib.op_del_port(name) for name in leftover_ports]
            self._retired |= retired
            by_port = {d['port_id']: d for d in wanted}
            nets = {d['network_id'] for d in wanted}
            # Take back the local VLANs the host has (no port changes VLAN)...
            for pid, port in sorted(vifs.items()):
                nid = port.other_config.get(NET_KEY)
                try:
                    vlan = int(port.other_config.get(VLAN_KEY) or 0)
                except ValueError:
                    vlan = 0
                if nid in nets and pid in by_port and by_port[pid]['network_id'] == nid:
                    self.vlans.recover(nid, vlan)
            # ...then wire what is wanted, and kill what is not.
            with self.batch():
                for d in wanted:
                    try:
                        self._wire(d)
                    except Exception as exc:
                        LOG.warning('port %s not wired at reconcile: %s', d['port_id'], exc)
                self._ops += self.qos.restore(wanted, vifs, self.api)
                for pid, port in vifs.items():
                    if pid not in by_port and (port.tag != flows.DEAD_VLAN
                                               or NET_KEY in port.other_config):
                        LOG.info('VIF %s (port %s) is not bound here: dead VLAN',
                                 port.name, pid)
                        self._ops.append(ovs_lib.op_set_port(
                            port.name, tag=flows.DEAD_VLAN, other_config=CLEAR_NAAS_KEYS))
                self._pending = True
                self.reconciled = True
            LOG.info('reconciled: %d ports, %d networks, flow cookie %#x in %.3f s',
                     len(self.ports), len(self.nets), self.cookie,
                     time.monotonic() - started)

    def _configured_patches(self):
        """{(bridge, port name)} of the patch ports the config asks for."""
        out = set()
        if self.tunnel_ip:
            out |= {(self.int_br, PATCH_TUN), (self.tun_br, PATCH_INT)}
        for bridge in self.mappings.values():
            out |= {(self.int_br, flows.int_patch_name(bridge)),
                    (bridge, flows.phy_patch_name(bridge))}
        return out

    def _leftovers(self):
        """What an agent with another config left: ([names of the NaaS
        patch and tunnel ports this config does not ask for], {the bridges
        not configured any more that NaaS made or that hold such a port})."""
        configured = {self.int_br, *self.mappings.values()}
        if self.tunnel_ip:
            configured.add(self.tun_br)
        patches = self._configured_patches()
        ports, bridges = [], set()
        for name, bridge in sorted(ovs_lib.snapshot(self.api).items()):
            retired = name not in configured
            if retired and ovs_lib.BRIDGE_MARK in bridge.external_ids:
                bridges.add(name)
            for port_name, port in sorted(bridge.ports.items()):
                role = port.external_ids.get(ovs_lib.PORT_MARK)
                if ((role == 'patch' and (name, port_name) not in patches)
                        or (role == 'tunnel' and retired)):
                    ports.append(port_name)
                    if retired:
                        bridges.add(name)
        return ports, bridges

    def cleanup_all(self):
        with self._lock:
            snap = ovs_lib.snapshot(self.api)
            if self.int_br in snap:
                self.qos.cleanup()
                self.counters.remove_all()
            ops = []
            for name, br in sorted(snap.items()):
                if ovs_lib.BRIDGE_MARK in br.external_ids:
                    ops.append(ovs_lib.op_del_bridge(name))
                    continue
                for pname, port in br.ports.items():
                    if ovs_lib.PORT_MARK in port.external_ids:
                        ops.append(ovs_lib.op_del_port(pname))
                try:
                    self.ofctl.bundle(name, [NAAS_FLOWS_DELETE])
                except ovs_lib.OVSError as exc:
                    LOG.warning('removing NaaS flows of %s failed: %s', name, exc)
            ops.append(qos_ovs.op_delete_stale(keep=()))
            ovs_lib.transact(self.api, ops)
            self._reset_state()
            self.firewall = ovs_firewall.Firewall()
            self._ops = []
            self._retired = set()

    def plug_service_ports(self, ports):
        """The veth pairs, then their integration bridge ports in ONE OVSDB
        transaction (one ovs-vswitchd reconfiguration, not one per port),
        as the compute library adds a VM's (the dead VLAN until wired); a
        veth made again replaces its old OVS port first.  netdev datapath:
        TX checksum offload off on the namespace ends."""
        if not ports:
            return
        existing = ovs_lib.bridge_ports(self.api, self.int_br)
        replugged = []
        for port in ports:
            made = host_vif.plug_veth(port.port_id, self.namespace, port.namespace,
                                      port.ifname, port.mac, port.mtu)
            if made and base.vif_name(port.port_id) in existing:
                replugged.append(base.vif_name(port.port_id))
        if replugged:
            ovs_lib.transact(self.api, [ovs_lib.op_del_port(n) for n in replugged])
        ovs_lib.transact(self.api, [
            ovs_lib.op_plug_vif(self.int_br, base.vif_name(p.port_id), p.port_id, p.mac,
                                p.mtu) for p in ports])
        self._vif_cache = None
        if self.datapath_type == 'netdev':
            for namespace in sorted({p.namespace for p in ports}):
                offload.disable_tx_checksum(namespace, *[p.ifname for p in ports
                                                         if p.namespace == namespace])

    def unplug_service_port(self, port_id):
        ovs_lib.transact(self.api, [ovs_lib.op_del_port(base.vif_name(port_id))])
        host_vif.unplug_veth(port_id, self.namespace)

    # ---- hooks.QoS: OVSDB QoS rows, meters, flows (naas.agent.l2.qos_ovs) ------

    def set_port_qos(self, port_id, policy):
        with self._lock:
            ops = self.qos.set_port(port_id, self._vif(port_id), policy, self.api)
            if ops is None:
                return
            self._ops += ops
            self._changed()
            if not self._pending:
                self.qos.delete_unused_meters()

    def reconcile_qos(self, wanted):
        with self._lock:
            keep = {d['port_id'] for d in wanted if d.get('qos_policy')}
            self.qos.forget(keep)
            self._ops.append(qos_ovs.op_delete_stale(keep))
            self._changed()
            if not self._pending:
                self.qos.delete_unused_meters()

    # ---- hooks.PortCounters: OVSDB and nftables (counters_ovs, counters_nft) ---

    def port_counters(self, port_ids):
        return self.counters.port_counters(port_ids)

    def count_addresses(self, details):
        self.counters.count_addresses(details)

    def uncount_port(self, port_id):
        self.counters.uncount_port(port_id)

    # ---- hooks.RemoteTunnels: tunnel ports on br-int (remote_ovs) --------------

    def set_remotes(self, network_id, remotes):
        with self._lock:
            self.remotes.set_remotes(network_id, remotes)
            self._changed()     # the firewall's flows of the tunnel ports

    def reconcile_remotes(self, wanted):
        with self._lock:
            self.remotes.reconcile_remotes(wanted)

    # ---- hooks.PhysicalBridges: patch-port flows (physical_ovs) ------------------

    def set_physical_bridges(self, network_id, bridges):
        with self._lock:
            if self.physical.set(network_id, bridges, self.vlans.get(network_id)):
                self._changed()

    def reconcile_physical_bridges(self, wanted):
        with self._lock:
            self.physical.reconcile(wanted)

    # ---- hooks.L2Population: br-tun unicast and ARP responder flows (l2pop_ovs) --

    def set_fdb(self, network_id, entries):
        with self._lock:
            if self.l2pop.set_fdb(network_id, entries):
                self._changed()

    def update_fdb(self, network_id, add, remove):
        with self._lock:
            if self.l2pop.update_fdb(network_id, add, remove):
                self._changed()

    # ---- applying --------------------------------------------------------------

    def flush(self):
        """Make OVSDB and the flow tables match the state: one OVSDB
        transaction, then one bundle per bridge whose flows changed, then
        the tunnel ports no flow uses any more are deleted."""
        with self._lock:
            if self._filters_pending:
                return
            self._pending = False
            ops, self._ops = self._ops, []
            stale = []
            if self.tunnel_ip and self.reconciled:
                add, stale = self._tunnel_port_changes()
                ops += add
            try:
                ovs_lib.transact(self.api, ops)
            finally:
                self._vif_cache = None
            if not self.reconciled:
                return
            self._apply_flows(exclude={name for name, _ in stale})
            if stale:
                ovs_lib.transact(self.api, [ovs_lib.op_del_port(n) for n, _ in stale])
                LOG.info('deleted tunnel ports %s', [n for n, _ in stale])

    def _wanted_tunnels(self):
        return {(net.network_type, ip) for net in self.nets.values()
                if net.network_type in flows.TUN_TABLE for ip in net.remotes}

    def _existing_tunnels(self):
        """{(type, remote_ip): port name} of the NaaS tunnel ports on br-tun."""
        out = {}
        for name, port in ovs_lib.bridge_ports(self.api, self.tun_br).items():
            if port.external_ids.get(ovs_lib.PORT_MARK) == 'tunnel' and port.iface:
                key = (port.iface.type, port.iface.options.get('remote_ip'))
                out[key] = name
        return out

    def _tunnel_options(self, ip):
        return {'remote_ip': ip, 'local_ip': self.tunnel_ip, 'key': 'flow'}

    def _tunnel_port_changes(self):
        wanted = self._wanted_tunnels()
        existing = self._existing_tunnels()
        ports = ovs_lib.bridge_ports(self.api, self.tun_br)
        add = []
        for ttype, ip in sorted(wanted):
            name = flows.tunnel_port_name(ttype, ip)
            port = ports.get(name)
            if (port is None or port.iface is None or port.iface.type != ttype
                    or port.iface.options != self._tunnel_options(ip)):
                LOG.info('tunnel port %s to %s', name, ip)
                add.append(ovs_lib.op_ensure_port(
                    self.tun_br, name, ttype, self._tunnel_options(ip),
                    external_ids={ovs_lib.PORT_MARK: 'tunnel'}))
        stale = [(name, key) for key, name in existing.items() if key not in wanted]
        return add, stale

    def layout(self, exclude=()):
        """The ofports the flows hang on, read from OVSDB."""
        names = {PATCH_TUN, PATCH_INT}
        physnets = {}
        for physnet, bridge in self.mappings.items():
            names.update((flows.int_patch_name(bridge), flows.phy_patch_name(bridge)))
        tunnels = {}
        if self.tunnel_ip:
            for key, name in self._existing_tunnels().items():
                if name not in exclude:
                    tunnels[key] = name
            names.update(tunnels.values())
        dead = self._dead_ofports(self._vifs())
        of = ovs_lib.ofports(self.api, names)
        for physnet, bridge in self.mappings.items():
            physnets[physnet] = flows.PhysLink(
                bridge, of.get(flows.int_patch_name(bridge), -1),
                of.get(flows.phy_patch_name(bridge), -1), self._owned.get(bridge, False))
        return flows.Layout(
            int_br=self.int_br, tun_br=self.tun_br if self.tunnel_ip else None,
            patch_int_ofport=of.get(PATCH_INT, -1),
            tunnels={k: of.get(n, -1) for k, n in tunnels.items()},
            physnets=physnets, dead_ofports=dead)

    def _apply_flows(self, exclude=()):
        self._clear_retired()
        layout = self.layout(exclude)
        firewall = self._firewall_flows(layout)
        nets = list(self.nets.values()) + self.physical.nets(self.vlans.get)
        tables = flows.render(layout, nets, forward=(
            ovs_firewall.FORWARD_ACTION if firewall else 'NORMAL'))
        tables[self.int_br].update(firewall)
        if layout.tun_br:
            tables[layout.tun_br].update(self.l2pop.flows(layout, self.nets.values()))
        tables[self.int_br].update(self.qos.flows({p: s.ofport for p, s in self.ports.items()}))
        full = self.full_refresh
        for bridge, table in sorted(tables.items()):
            if full:
                lines = flows.flow_mods(None, table, self.cookie)
                stale = self.ofctl.cookies(bridge, flows.COOKIE_MARK, flows.COOKIE_MASK)
                lines += ['delete cookie=%#x/-1' % c for c in sorted(stale)
                          if c != self.cookie]
            elif self.applied.get(bridge) == table:
                continue        # as installed (the usual case: a cheap check)
            else:
                lines = flows.flow_mods(self.applied.get(bridge), table, self.cookie)
            if not lines:
                continue
            started = time.monotonic()
            try:
                self.ofctl.bundle(bridge, lines)
            except Exception:
                self.full_refresh = True
                raise
            self.applied[bridge] = table
            LOG.debug('%s: %d flow mods in %.3f s', bridge, len(lines),
                      time.monotonic() - started)
        self.full_refresh = False
        self._dead_applied = layout.dead_ofports
        self.firewall.cut_revoked(self.conntrack)

    # ---- hooks.PortFilter: naas.agent.l2.ovs_firewall's flows -----------------

    def filter_ports(self, details, sg_info):
        with self._lock:
            self.firewall.set_groups(sg_info)
            for d in details:
                if ovs_firewall.is_filtered(d):
                    # The network's VLAN now, so that the flows that keep
                    # the VIF closed are in before wire() tags it.
                    self.vlans.allocate(d['network_id'])
                    self.firewall.set_port(d)
                else:
                    self._unfilter(d['port_id'])
            self._end_filter_wait()
            self._changed()

    def update_security_groups(self, sg_info):
        with self._lock:
            self.firewall.set_groups(sg_info, replace=True)
            self._changed()

    def unfilter_port(self, port_id):
        with self._lock:
            if self._unfilter(port_id):
                self._changed()

    def _unfilter(self, port_id):
        port = self.firewall.remove_port(port_id)
        if port is not None:
            nid = port.network_id
            if nid not in self.nets and not any(
                    p.network_id == nid for p in self.firewall.ports.values()):
                self.vlans.release(nid)
        return port

    def reconcile_filters(self, wanted, sg_info):
        with self._lock:
            self.firewall = ovs_firewall.Firewall()
            self.firewall.set_groups(sg_info)
            for d in wanted:
                if ovs_firewall.is_filtered(d):
                    self.firewall.set_port(d)
            self._end_filter_wait()
            self._changed()

    def _end_filter_wait(self):
        """After a restart, once every filtered port that reconcile wired
        has its filter: the new generation's flows (filters included)
        replace the old ones in one bundle, before OVSDB changes any tag."""
        if self._filters_pending and not any(
                p in self.ports and p not in self.firewall.ports
                for p in self._filters_awaited):
            self._filters_pending = False
            if self.reconciled:
                self._apply_flows()

    def _firewall_flows(self, layout):
        """br-int's flows of the filtered ports (empty: none)."""
        if not self.firewall.ports:
            return {}
        vifs = self._vifs()
        bindings = {}
        for port_id in self.firewall.ports:
            vif = vifs.get(port_id)
            lvid = self.vlans.get(self.firewall.network_of(port_id))
            if vif is not None and vif.iface is not None and lvid is not None:
                ofport = vif.iface.ofport
                bindings[port_id] = ovs_firewall.Binding(
                    ofport, lvid, ofport in layout.dead_ofports)
        others = [(state.ofport, self.vlans.get(state.network_id))
                  for port_id, state in self.ports.items() if port_id not in bindings]
        others += self.remotes.others()
        names = {flows.int_patch_name(bridge) for bridge in self.mappings.values()}
        if self.tunnel_ip:
            names.add(PATCH_TUN)
        trunks = [o for o in ovs_lib.ofports(self.api, names).values() if o > 0]
        return self.firewall.render(bindings, others, trunks)

    def _clear_retired(self):
        """Delete the NaaS flows of the bridges no longer configured (their
        patch ports are gone already: nothing reaches them from br-int).  A
        failure is retried at the next scan."""
        if not self._retired:
            return
        existing = ovs_lib.snapshot(self.api, self._retired)
        for bridge in sorted(self._retired):
            try:
                if bridge in existing and self.ofctl.cookies(
                        bridge, flows.COOKIE_MARK, flows.COOKIE_MASK):
                    self.ofctl.bundle(bridge, [NAAS_FLOWS_DELETE])
                    LOG.info('%s is no longer configured: its NaaS flows are removed',
                             bridge)
            except ovs_lib.OVSError as exc:
                LOG.warning('removing the NaaS flows of %s failed (retried at the next '
                            'scan): %s', bridge, exc)
                self._pending = True
                continue
            self._retired.discard(bridge)

