"""The Linux bridge L2 driver: one kernel bridge per network, kernel VXLAN.

Per network that has a VIF on this host:

* a bridge ``brq<network_id[:11]>`` (no STP, no forward delay, no multicast
  snooping), up;
* vxlan: a VXLAN device ``vxlan-<vni>`` (local ``[agent] tunnel_ip``, UDP
  4789, learning off, through ``[agent] underlay_interface`` if set) in the
  bridge, with one all-zeros forwarding entry per other host with ports on
  the network (head-end replication: ``bridge fdb append 00:00:00:00:00:00
  dst <its tunnel_ip>``), kept equal to the server's endpoint list;
* flat: the interface ``[agent] bridge_mappings`` gives for the physical
  network, in the bridge;
* vlan: a VLAN device ``nvl-<vid>-<interface>`` on that interface, in the
  bridge (kernel 8021q; absent on the test VMs, so only flat is tested);
* local: the bridge alone.

VIFs are the host ends of the veth pairs of naas.host.vif, plugged by the
compute library (VMs) or by this driver (service ports: DHCP, routers):
interfaces named ``base.vif_name(port_id)`` whose ifalias is the full port
id.  Wiring one sets its MTU, puts it in its network's bridge and sets it
up, in one netlink message; admin_state_up False takes it out of the bridge
and down.

Everything happens inside ``[agent] namespace`` (a host built as a
namespace) or the agent's own namespace, through one netlink handle
(naas.host.ip_lib) that all threads share.  No state that matters is kept
here: each scan reads the host again, and a restarted agent changes only
what differs from what the server wants -- traffic that flows keeps flowing.
"""
import errno
import hashlib
import ipaddress
import logging
import os
import subprocess
import threading

from naas.agent.l2 import base
from naas.agent.l2 import counters_linuxbridge
from naas.agent.l2 import hooks
from naas.agent.l2 import l2pop_linuxbridge
from naas.agent.l2 import nft_firewall
from naas.agent.l2 import physical_linuxbridge
from naas.agent.l2 import qos_tc
from naas.agent.l2 import remote_linuxbridge
from naas.host import ip_lib
from naas.host import vif as host_vif
from naas.lib import constants

LOG = logging.getLogger(__name__)

BRIDGE_PREFIX = 'brq'
VXLAN_PREFIX = 'vxlan-'
VLAN_PREFIX = 'nvl-'
#: Name prefix -> kind of the devices this driver creates (and only these).
DEVICE_KINDS = {BRIDGE_PREFIX: 'bridge', VXLAN_PREFIX: 'vxlan', VLAN_PREFIX: 'vlan'}
VXLAN_PORT = 4789
IFNAMSIZ = 15


def bridge_name(network_id):
    return (BRIDGE_PREFIX + network_id)[:14]


def vxlan_name(vni):
    return '%s%d' % (VXLAN_PREFIX, vni)


def vlan_name(interface, vlan_id):
    """``nvl-<vid>-<interface>``, the interface hashed if it does not fit."""
    head = '%s%d-' % (VLAN_PREFIX, vlan_id)
    if len(head) + len(interface) <= IFNAMSIZ:
        return head + interface
    return head + hashlib.sha1(interface.encode()).hexdigest()[:IFNAMSIZ - len(head)]


def is_naas_device(link):
    """Whether a Link is a bridge/VXLAN/VLAN device this driver makes."""
    for prefix, kind in DEVICE_KINDS.items():
        if link.name.startswith(prefix):
            return link.kind == kind
    return False


def normalized_ip(address):
    """``address`` as the kernel reports it (IPv6 compressed, lower case)."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def remote_ips(endpoints, local_ip):
    """The tunnel IPs of the other hosts in ``endpoints`` ([{host, tunnel_ip}])."""
    local_ip = local_ip and normalized_ip(local_ip)
    ips = {normalized_ip(e['tunnel_ip']) for e in endpoints or () if e.get('tunnel_ip')}
    ips.discard(local_ip)
    return ips


def fdb_diff(current, endpoints, local_ip):
    """(to_add, to_remove), sorted: the flooding entries that make the
    remotes ``current`` equal to the other endpoints."""
    wanted = remote_ips(endpoints, local_ip)
    current = set(current)
    return sorted(wanted - current), sorted(current - wanted)


def network_devices(details, mappings):
    """{name: kind} of the devices a port's network needs on this host.

    Raises ValueError when the host cannot realise the network.
    """
    nid, ntype = details['network_id'], details.get('network_type') or 'local'
    out = {bridge_name(nid): 'bridge'}
    if ntype == 'vxlan':
        out[vxlan_name(details['segmentation_id'])] = 'vxlan'
    elif ntype in ('flat', 'vlan'):
        iface = mappings.get(details.get('physical_network'))
        if not iface:
            raise ValueError('no bridge_mappings entry for physical network %s'
                             % details.get('physical_network'))
        if ntype == 'vlan':
            out[vlan_name(iface, details['segmentation_id'])] = 'vlan'
    elif ntype != 'local':
        raise ValueError('network type %s is not supported by the Linux bridge '
                         'driver' % ntype)
    return out


def reconcile_plan(links, wanted, mappings):
    """What ``reconcile`` does: (delete, release).

    ``delete``: NaaS devices (Links) no wanted port needs.  ``release``:
    VIFs (Links) in a NaaS bridge that no wanted port owns.
    """
    needed = set()
    for d in wanted:
        try:
            needed.update(network_devices(d, mappings))
        except ValueError:
            pass
    wanted_ports = {d['port_id'] for d in wanted}
    delete = [lk for lk in links if is_naas_device(lk) and lk.name not in needed]
    bridges = {lk.index for lk in links if lk.kind == 'bridge'
               and lk.name.startswith(BRIDGE_PREFIX)}
    release = [lk for lk in links
               if lk.name.startswith(base.VIF_PREFIX) and lk.master in bridges
               and not (lk.alias in wanted_ports and base.vif_name(lk.alias) == lk.name)]
    return delete, release


def _require_br_netfilter():
    """The port filter's connection tracking sees bridged packets through
    br_netfilter (naas.agent.l2.nft_firewall); load the module where it is
    not built in, as Neutron's Linux bridge agent needs it.  Without it the
    filter stays closed: stateful replies are dropped, never let through."""
    if os.path.isdir('/proc/sys/net/bridge'):
        return
    result = subprocess.run(['modprobe', 'br_netfilter'], capture_output=True, text=True)
    if result.returncode != 0:
        LOG.error('br_netfilter is not loaded (modprobe: %s): replies to filtered '
                  'ports are dropped', result.stderr.strip())


class LinuxBridgeDriver(base.L2Driver, hooks.PortFilter, hooks.QoS, hooks.PortCounters,
                        hooks.RemoteTunnels, hooks.L2Population, hooks.PhysicalBridges):
    agent_type = constants.AGENT_TYPE_LINUXBRIDGE   # vif_type 'bridge'
    qos_rule_types = qos_tc.TcQoS.RULE_TYPES

    def __init__(self, conf):
        super().__init__(conf)
        agent = conf.agent
        self.namespace = agent.namespace or None
        self.tunnel_ip = normalized_ip(agent.tunnel_ip) if agent.tunnel_ip else None
        self.underlay = agent.underlay_interface or None
        self.mappings = dict(agent.bridge_mappings or {})
        self.tunnel_types = ['vxlan'] if self.tunnel_ip else []
        unsupported = [t for t in agent.tunnel_types if t != 'vxlan']
        if unsupported:
            LOG.warning('tunnel types %s are not supported by the Linux bridge '
                        'driver; reporting vxlan only', unsupported)
        self._ip = None
        self._lock = threading.RLock()
        self._links = None        # {name: Link}, from the last dump, kept current
        self._checked = {}        # network_id -> endpoints applied since the dump
        self._ports = {}          # port_id -> network_id of the VIFs wired here
        self._endpoints = {}      # network_id -> endpoints last given
        self.firewall = nft_firewall.NftFirewall(self.namespace, bridge_name)
        self.qos = qos_tc.TcQoS(lambda: self.ip, self.namespace)
        self.remote_tunnel_types = ['vxlan'] if self.tunnel_ip else []
        self.remotes = remote_linuxbridge.LinuxBridgeRemotes(
            lambda: self.ip, self.tunnel_ip, self.underlay, bridge_name)
        self.physical = physical_linuxbridge.LinuxBridgeJoins(
            lambda: self.ip, self.mappings, bridge_name)
        self.counters = counters_linuxbridge.LinuxBridgeCounters(lambda: self.ip, self.namespace)
        self.l2pop = l2pop_linuxbridge.LinuxBridgeL2Pop(lambda: self.ip, self._vxlan_of,
                                                        self.tunnel_ip)

    # ---- plumbing -----------------------------------------------------------

    @property
    def ip(self):
        if self._ip is None:
            self._ip = ip_lib.IPHandle(self.namespace)
        return self._ip

    def close(self):
        self.counters.close()
        with self._lock:
            if self._ip is not None:
                self._ip.close()
                self._ip = None

    def _dump(self):
        self._links = {lk.name: lk for lk in self.ip.links()}
        self._checked = {}
        return self._links

    def _snapshot(self):
        return self._links if self._links is not None else self._dump()

    def _reread(self, name):
        lk = self.ip.link(name)
        links = self._snapshot()
        if lk is None:
            links.pop(name, None)
        else:
            links[name] = lk
        return lk

    def _set(self, lk, **changes):
        """Apply ``changes`` that differ from Link ``lk``; returns the Link."""
        todo = {}
        if 'mtu' in changes and changes['mtu'] and lk.mtu != changes['mtu']:
            todo['mtu'] = changes['mtu']
        if 'master' in changes and lk.master != changes['master']:
            todo['master'] = changes['master']
        if 'up' in changes and lk.up != changes['up']:
            todo['state'] = 'up' if changes['up'] else 'down'
        if not todo:
            return lk
        self.ip.set_link(lk.index, **todo)
        lk = lk._replace(mtu=todo.get('mtu', lk.mtu), master=todo.get('master', lk.master),
                         up=changes.get('up', lk.up))
        self._snapshot()[lk.name] = lk
        return lk

    def _delete(self, lk):
        LOG.info('deleting %s (%s)', lk.name, lk.kind)
        self.ip.del_link(lk.index)
        self._snapshot().pop(lk.name, None)

    # ---- L2Driver -----------------------------------------------------------

    def configurations(self):
        return {'tunnel_ip': self.tunnel_ip, 'tunnel_types': list(self.tunnel_types),
                'bridge_mappings': dict(self.mappings),
                'interface_mappings': dict(self.mappings),
                'underlay_interface': self.underlay, 'namespace': self.namespace}

    def setup(self):
        with self._lock:
            links = self._dump()
            if self.underlay and self.underlay not in links:
                LOG.warning('underlay_interface %s is not in namespace %s',
                            self.underlay, self.namespace or '(own)')
            for physnet, iface in self.mappings.items():
                if iface not in links:
                    LOG.warning('bridge_mappings %s:%s: no such interface', physnet, iface)
            _require_br_netfilter()

    def scan_vifs(self):
        with self._lock:
            links = self._dump()
            return {lk.alias: lk.name for lk in links.values()
                    if lk.name.startswith(base.VIF_PREFIX) and lk.alias
                    and base.vif_name(lk.alias) == lk.name}

    def wire(self, details):
        with self._lock:
            port_id = details['port_id']
            name = base.vif_name(port_id)
            tap = self._snapshot().get(name) or self._reread(name)
            if tap is None:
                raise LookupError('VIF %s of port %s is not plugged' % (name, port_id))
            bridge = self._ensure_network(details)
            self._ports[port_id] = details['network_id']
            if details['admin_state_up']:
                self._set(tap, mtu=details.get('mtu'), master=bridge.index, up=True)
            else:
                self._set(tap, mtu=details.get('mtu'), master=0, up=False)

    def unwire(self, port_id):
        with self._lock:
            tap = self._reread(base.vif_name(port_id))
            if tap is not None and tap.master:
                try:
                    self._set(tap, master=0, up=False)
                except Exception as exc:
                    # Unplugged between the read and the detach: nothing
                    # is left to detach, the network may still have to go.
                    if getattr(exc, 'code', getattr(exc, 'errno', None)) != errno.ENODEV:
                        raise
            # Forgotten only once detached: a failed unwire is retried whole.
            network_id = self._ports.pop(port_id, None)
            if network_id and network_id not in self._ports.values():
                self._delete_network(network_id)

    def set_endpoints(self, network_id, endpoints):
        with self._lock:
            self._endpoints[network_id] = endpoints
            vx = self._vxlan_of(network_id)
            if vx is not None:
                self._sync_fdb(vx, endpoints)
                if network_id in self._checked:
                    self._checked[network_id] = remote_ips(endpoints, self.tunnel_ip)

    def reconcile(self, wanted):
        with self._lock:
            links = list(self._snapshot().values())
            delete, release = reconcile_plan(links, wanted, self.mappings)
            for lk in release:
                LOG.info('releasing %s: no port bound here owns it', lk.name)
                self._set(lk, master=0, up=False)
            for lk in delete:
                self._delete(lk)
            keep = {d['port_id'] for d in wanted}
            self._ports = {p: n for p, n in self._ports.items() if p in keep}

    def cleanup_all(self):
        with self._lock:
            for lk in list(self._dump().values()):
                if is_naas_device(lk):
                    self._delete(lk)
            self._ports.clear()
            self._endpoints.clear()
            self._checked.clear()
        self.firewall.remove_all()
        self.qos.cleanup()
        with self._lock:
            self.remotes.remove_all()
        self.counters.remove_all()

    def plug_service_ports(self, ports):
        """The veth pairs: the poll loop finds their host ends and wires
        them like any VIF."""
        for port in ports:
            host_vif.plug_veth(port.port_id, self.namespace, port.namespace, port.ifname,
                               port.mac, port.mtu)

    def unplug_service_port(self, port_id):
        host_vif.unplug_veth(port_id, self.namespace)

    # ---- hooks.PortFilter: nftables (naas.agent.l2.nft_firewall) -----------

    def filter_ports(self, details, sg_info):
        self.firewall.filter_ports(details, sg_info)

    def update_security_groups(self, sg_info):
        self.firewall.update_security_groups(sg_info)

    def unfilter_port(self, port_id):
        self.firewall.unfilter_port(port_id)

    def reconcile_filters(self, wanted, sg_info):
        self.firewall.reconcile_filters(wanted, sg_info)

    # ---- hooks.QoS: tc and nftables (naas.agent.l2.qos_tc) -------------------

    def set_port_qos(self, port_id, policy):
        with self._lock:
            self.qos.set_port_qos(port_id, policy)

    def reconcile_qos(self, wanted):
        with self._lock:
            self.qos.reconcile_qos(wanted)

    # ---- hooks.PortCounters: netlink and nftables (counters_linuxbridge) ------

    def port_counters(self, port_ids):
        return self.counters.port_counters(port_ids)

    def count_addresses(self, details):
        self.counters.count_addresses(details)

    def uncount_port(self, port_id):
        self.counters.uncount_port(port_id)

    # ---- hooks.RemoteTunnels: kernel VXLAN devices (remote_linuxbridge) ------

    def set_remotes(self, network_id, remotes):
        with self._lock:
            self.remotes.set_remotes(network_id, remotes)

    def reconcile_remotes(self, wanted):
        with self._lock:
            self.remotes.reconcile_remotes(wanted)

    # ---- hooks.PhysicalBridges: VLAN devices in the bridge (physical_linuxbridge) --

    def set_physical_bridges(self, network_id, bridges):
        with self._lock:
            self.physical.set_physical_bridges(network_id, bridges)

    def reconcile_physical_bridges(self, wanted):
        with self._lock:
            self.physical.reconcile_physical_bridges(wanted)

    # ---- hooks.L2Population: VXLAN FDB and neighbour entries (l2pop_linuxbridge) --

    def set_fdb(self, network_id, entries):
        with self._lock:
            self.l2pop.set_fdb(network_id, entries)

    def update_fdb(self, network_id, add, remove):
        with self._lock:
            self.l2pop.update_fdb(network_id, add, remove)

    # ---- networks -----------------------------------------------------------

    def _vxlan_of(self, network_id):
        br = self._snapshot().get(bridge_name(network_id))
        if br is None:
            br = self._reread(bridge_name(network_id))
        if br is None:
            return None
        for lk in self._snapshot().values():
            if lk.master == br.index and lk.kind == 'vxlan' and lk.name.startswith(VXLAN_PREFIX):
                return lk
        return None

    def _ensure_network(self, details):
        """The network's bridge Link, with its uplink, made right."""
        nid = details['network_id']
        endpoints = details.get('endpoints') or self._endpoints.get(nid) or []
        devices = network_devices(details, self.mappings)
        links = self._snapshot()
        brname = bridge_name(nid)
        bridge = links.get(brname)
        if nid in self._checked and bridge is not None:
            if (details.get('network_type') == 'vxlan'
                    and self._checked[nid] != remote_ips(endpoints, self.tunnel_ip)):
                vx = links.get(vxlan_name(details['segmentation_id']))
                if vx is not None:
                    self._sync_fdb(vx, endpoints)
                    self._checked[nid] = remote_ips(endpoints, self.tunnel_ip)
            return bridge
        if bridge is not None and bridge.kind != 'bridge':
            raise RuntimeError('%s exists and is not a bridge' % brname)
        if bridge is None:
            LOG.info('creating bridge %s for network %s', brname, nid)
            bridge = self.ip.add_link(brname, 'bridge', ipv6_addresses=False, br_stp_state=0,
                                      br_forward_delay=0, br_mcast_snooping=0)
            links[brname] = bridge
        bridge = self._set(bridge, up=True)
        ntype = details.get('network_type') or 'local'
        if ntype == 'vxlan':
            vx = self._ensure_vxlan(details, bridge)
            self._sync_fdb(vx, endpoints)
            self._endpoints[nid] = endpoints
        elif ntype in ('flat', 'vlan'):
            self._ensure_physical(details, bridge, devices)
        self._checked[nid] = remote_ips(endpoints, self.tunnel_ip)
        return bridge

    def _ensure_vxlan(self, details, bridge):
        if not self.tunnel_ip:
            raise ValueError('network %s is vxlan and [agent] tunnel_ip is unset'
                             % details['network_id'])
        links = self._snapshot()
        vni = details['segmentation_id']
        name = vxlan_name(vni)
        link_index = 0
        if self.underlay:
            under = links.get(self.underlay) or self._reread(self.underlay)
            if under is None:
                raise LookupError('underlay_interface %s not found' % self.underlay)
            link_index = under.index
        want = ip_lib.VxlanInfo(vni=vni, local=self.tunnel_ip, port=VXLAN_PORT,
                                link=link_index, learning=0)
        vx = links.get(name)
        if vx is not None and (vx.kind != 'vxlan' or vx.vxlan != want):
            LOG.warning('%s is %s, wanted %s: recreating', name, vx.vxlan, want)
            self._delete(vx)
            vx = None
        if vx is None:
            LOG.info('creating %s (local %s) in %s', name, self.tunnel_ip, bridge.name)
            # proxy: ARP/ND answered from the L2 population neighbour entries
            # ([agent] arp_responder; otherwise they flood to the endpoints).
            kwargs = dict(vxlan_id=vni, vxlan_port=VXLAN_PORT, vxlan_learning=0,
                          vxlan_proxy=1 if self.conf.agent.arp_responder else 0)
            kwargs['vxlan_local6' if ':' in self.tunnel_ip else 'vxlan_local'] = self.tunnel_ip
            if link_index:
                kwargs['vxlan_link'] = link_index
            if details.get('mtu'):
                kwargs['mtu'] = details['mtu']
            vx = self.ip.add_link(name, 'vxlan', ipv6_addresses=False, **kwargs)
            links[name] = vx
        return self._set(vx, mtu=details.get('mtu'), master=bridge.index, up=True)

    def _ensure_physical(self, details, bridge, devices):
        links = self._snapshot()
        iface_name = self.mappings[details['physical_network']]
        iface = links.get(iface_name) or self._reread(iface_name)
        if iface is None:
            raise LookupError('interface %s of physical network %s not found'
                              % (iface_name, details['physical_network']))
        if details['network_type'] == 'vlan':
            name = [n for n, k in devices.items() if k == 'vlan'][0]
            dev = links.get(name)
            want_vid = details['segmentation_id']
            if dev is not None and (dev.kind != 'vlan' or dev.vlan_id != want_vid
                                    or dev.parent != iface.index):
                self._delete(dev)
                dev = None
            if dev is None:
                LOG.info('creating %s (vlan %s on %s)', name, want_vid, iface_name)
                dev = self.ip.add_link(name, 'vlan', ipv6_addresses=False, link=iface.index,
                                       vlan_id=want_vid)
                links[name] = dev
            self._set(iface, up=True)
        else:
            dev = iface
            owner = next((lk for lk in links.values() if lk.index == dev.master), None)
            if dev.master and not (owner is not None and owner.name.startswith(BRIDGE_PREFIX)):
                raise RuntimeError('%s is already in %s, not a NaaS bridge' % (
                    iface_name, owner.name if owner else dev.master))
        self._set(dev, master=bridge.index, up=True)

    def _sync_fdb(self, vx, endpoints):
        add, remove = fdb_diff(self.ip.fdb_remotes(vx.index), endpoints, self.tunnel_ip)
        for dst in add:
            LOG.debug('%s: flooding to %s', vx.name, dst)
            self.ip.fdb_append(vx.index, dst)
        for dst in remove:
            LOG.debug('%s: no longer flooding to %s', vx.name, dst)
            self.ip.fdb_del(vx.index, dst)

    def _delete_network(self, network_id):
        links = self._snapshot()
        br = links.get(bridge_name(network_id)) or self._reread(bridge_name(network_id))
        if br is None:
            return
        for lk in list(links.values()):
            if lk.master == br.index and is_naas_device(lk):
                self._delete(lk)
        self._delete(br)
        self._checked.pop(network_id, None)
        self._endpoints.pop(network_id, None)
