"""The Open vSwitch driver's pure logic: local VLANs, names, flow tables.

No I/O here (naas.agent.l2.openvswitch does it), so that it is unit tested
without OVS.  The flow tables, like Neutron's OVS agent (without learning;
L2 population's unicast and ARP responder tables 20 and 21 are rendered by
naas.agent.l2.l2pop_ovs into br-tun's table):

br-int (VIFs are access ports tagged with their network's local VLAN; the
patch ports to br-tun and to the physical bridges are trunks)::

    table 0  prio 65535 vlan_tci=0x0fff/0x1fff (dead VLAN)      drop
             prio 3  in_port=<int-phys>,dl_vlan=<seg>  mod_vlan_vid:<lvid>,NORMAL
             prio 3  in_port=<int-phys>,vlan_tci=0 (flat) mod_vlan_vid:<lvid>,NORMAL
             prio 2  in_port=<int-phys>                           drop
             prio 2  in_port=<VIF that is admin down>             drop
             prio 0                                               NORMAL
    table 23 prio 0  drop (the canary: gone when ovs-vswitchd lost the tables)

With filtered ports (naas.agent.l2.ovs_firewall), NORMAL in table 0 is
``resubmit(,73)`` (``forward``): the firewall's tables judge the frames for
its ports first and end in NORMAL.

br-tun::

    table 0  prio 1  in_port=<patch-int>     resubmit(,22)
             prio 1  in_port=<gre port>      resubmit(,3)
             prio 1  in_port=<vxlan port>    resubmit(,4)
             prio 0                          drop
    table 3 (gre) / 4 (vxlan)
             prio 1  tun_id=<seg>            mod_vlan_vid:<lvid>,output:<patch-int>
             prio 0                          drop
    table 22 prio 1  dl_vlan=<lvid>          strip_vlan,set_tunnel:<seg>,
                                             output:<tunnel port of each other host
                                             of the network> (unicast flooding)
             prio 0                          drop

physical bridge of a physnet (bridge_mappings)::

    table 0  prio 4  in_port=<phy-patch>,dl_vlan=<lvid>  mod_vlan_vid:<seg>,NORMAL
                                                         (flat: strip_vlan,NORMAL)
             prio 2  in_port=<phy-patch>                  drop
             prio 0                                       NORMAL (if NaaS made the bridge)

A flow table is {(table, priority, match): actions}; :func:`flow_mods` turns
the difference between two into ``ovs-ofctl add-flows`` lines.
"""
import collections
import hashlib
import ipaddress

MIN_VLAN = 1
MAX_VLAN = 4094
DEAD_VLAN = 4095

#: Cookies: the high 32 bits say "NaaS", the low 32 bits are the agent's
#: generation (a new one at every reconcile).
COOKIE_MARK = 0x4E414153 << 32
COOKIE_MASK = 0xFFFFFFFF << 32

GRE_TUN_TO_LV = 3
VXLAN_TUN_TO_LV = 4
UCAST_TO_TUN = 20
ARP_RESPONDER = 21
FLOOD_TO_TUN = 22
#: br-int: a flow that only says the tables are there (ovs-vswitchd
#: restarted: gone; the agent then installs everything again).
CANARY_TABLE = 23
TUN_TABLE = {'gre': GRE_TUN_TO_LV, 'vxlan': VXLAN_TUN_TO_LV}
TUNNEL_TYPES = tuple(TUN_TABLE)

IFNAMSIZ = 15

#: A network as this host realises it.
Net = collections.namedtuple(
    'Net', 'network_id lvid network_type physical_network segmentation_id remotes')
#: A physical network's link: the bridge, the patch port's ofport on br-int
#: (int_ofport) and on the bridge (phy_ofport); owned: NaaS made the bridge.
PhysLink = collections.namedtuple('PhysLink', 'bridge int_ofport phy_ofport owned')
#: What the flows hang on: the bridges and the ofports of the ports NaaS made.
Layout = collections.namedtuple(
    'Layout', 'int_br tun_br patch_int_ofport tunnels physnets dead_ofports')


def make_cookie(generation):
    return COOKIE_MARK | (generation & 0xFFFFFFFF)


def is_naas_cookie(cookie):
    return cookie & COOKIE_MASK == COOKIE_MARK


# ---- names -----------------------------------------------------------------

def _short(name, prefix):
    if len(prefix) + len(name) <= IFNAMSIZ:
        return prefix + name
    return prefix + hashlib.sha1(name.encode()).hexdigest()[:IFNAMSIZ - len(prefix)]


def int_patch_name(bridge):
    """The patch port on br-int towards a physical bridge."""
    return _short(bridge, 'int-')


def phy_patch_name(bridge):
    """The patch port on a physical bridge towards br-int."""
    return _short(bridge, 'phy-')


def tunnel_port_name(tunnel_type, remote_ip):
    """``vxlan-c0000202`` (IPv4 in hex; IPv6 hashed)."""
    ip = ipaddress.ip_address(remote_ip)
    if ip.version == 4:
        suffix = '%08x' % int(ip)
    else:
        suffix = hashlib.sha1(ip.packed).hexdigest()[:8]
    return '%s-%s' % (tunnel_type, suffix)


def remote_ips(endpoints, local_ip):
    """Sorted tunnel IPs of the other hosts in ``endpoints`` ([{host, tunnel_ip}])."""
    local = str(ipaddress.ip_address(local_ip)) if local_ip else None
    out = set()
    for e in endpoints or ():
        ip = e.get('tunnel_ip')
        if ip:
            ip = str(ipaddress.ip_address(ip))
            if ip != local:
                out.add(ip)
    return tuple(sorted(out, key=lambda a: ipaddress.ip_address(a).packed))


# ---- local VLANs -----------------------------------------------------------

class LocalVlans:
    """network id <-> local VLAN (1..4094) on br-int.

    ``recover`` takes a mapping found on the host (the tags of its ports) so
    that a restarted agent keeps every VLAN where it was; ``allocate`` gives
    a new network the lowest free VLAN.
    """

    def __init__(self, low=MIN_VLAN, high=MAX_VLAN):
        self.low, self.high = low, high
        self.by_net = {}
        self.by_vlan = {}

    def __len__(self):
        return len(self.by_net)

    def get(self, network_id):
        return self.by_net.get(network_id)

    def recover(self, network_id, vlan):
        """Take ``vlan`` for ``network_id`` if both are free; True if done
        (or already so)."""
        if self.by_net.get(network_id) == vlan:
            return True
        if (not isinstance(vlan, int) or not self.low <= vlan <= self.high
                or vlan in self.by_vlan or network_id in self.by_net):
            return False
        self.by_net[network_id] = vlan
        self.by_vlan[vlan] = network_id
        return True

    def allocate(self, network_id):
        vlan = self.by_net.get(network_id)
        if vlan is not None:
            return vlan
        for vlan in range(self.low, self.high + 1):
            if vlan not in self.by_vlan:
                self.by_net[network_id] = vlan
                self.by_vlan[vlan] = network_id
                return vlan
        raise RuntimeError('no local VLAN left for network %s' % network_id)

    def release(self, network_id):
        vlan = self.by_net.pop(network_id, None)
        if vlan is not None:
            self.by_vlan.pop(vlan, None)
        return vlan


# ---- flow tables -----------------------------------------------------------

def _valid(ofport):
    return isinstance(ofport, int) and ofport > 0


def render(layout, nets, forward='NORMAL'):
    """{bridge: {(table, priority, match): actions}} of every NaaS flow for
    the networks ``nets`` (an iterable of Net); ``forward``: br-int's action
    once a frame's local VLAN is known."""
    nets = sorted(nets, key=lambda n: n.lvid)
    int_flows = {
        (0, 65535, 'vlan_tci=0x0fff/0x1fff'): 'drop',
        (0, 0, ''): forward,
        (CANARY_TABLE, 0, ''): 'drop',
    }
    out = {layout.int_br: int_flows}
    for ofport in sorted(set(layout.dead_ofports or ())):
        if _valid(ofport):
            int_flows[(0, 2, 'in_port=%d' % ofport)] = 'drop'

    # Physical networks.
    for physnet, link in sorted((layout.physnets or {}).items()):
        phys_flows = out.setdefault(link.bridge, {})
        if link.owned:
            phys_flows[(0, 0, '')] = 'NORMAL'
        if _valid(link.int_ofport):
            int_flows[(0, 2, 'in_port=%d' % link.int_ofport)] = 'drop'
        if _valid(link.phy_ofport):
            phys_flows[(0, 2, 'in_port=%d' % link.phy_ofport)] = 'drop'
        if not (_valid(link.int_ofport) and _valid(link.phy_ofport)):
            continue
        for net in nets:
            if net.physical_network != physnet:
                continue
            if net.network_type == 'vlan':
                int_flows[(0, 3, 'in_port=%d,dl_vlan=%d' % (
                    link.int_ofport, net.segmentation_id))] = \
                    'mod_vlan_vid:%d,%s' % (net.lvid, forward)
                phys_flows[(0, 4, 'in_port=%d,dl_vlan=%d' % (
                    link.phy_ofport, net.lvid))] = \
                    'mod_vlan_vid:%d,NORMAL' % net.segmentation_id
            elif net.network_type == 'flat':
                int_flows[(0, 3, 'in_port=%d,vlan_tci=0x0000/0x1fff' % (
                    link.int_ofport))] = 'mod_vlan_vid:%d,%s' % (net.lvid, forward)
                phys_flows[(0, 4, 'in_port=%d,dl_vlan=%d' % (
                    link.phy_ofport, net.lvid))] = 'strip_vlan,NORMAL'

    # Tunnels.
    if layout.tun_br:
        tun = {(0, 0, ''): 'drop'}
        out[layout.tun_br] = tun
        for table in (GRE_TUN_TO_LV, VXLAN_TUN_TO_LV, FLOOD_TO_TUN):
            tun[(table, 0, '')] = 'drop'
        patch = layout.patch_int_ofport
        if _valid(patch):
            tun[(0, 1, 'in_port=%d' % patch)] = 'resubmit(,%d)' % FLOOD_TO_TUN
        tunnels = layout.tunnels or {}
        for (ttype, _ip), ofport in sorted(tunnels.items()):
            if _valid(ofport) and ttype in TUN_TABLE:
                tun[(0, 1, 'in_port=%d' % ofport)] = 'resubmit(,%d)' % TUN_TABLE[ttype]
        for net in nets:
            if net.network_type not in TUN_TABLE or not _valid(patch):
                continue
            tun[(TUN_TABLE[net.network_type], 1, 'tun_id=%#x' % net.segmentation_id)] = \
                'mod_vlan_vid:%d,output:%d' % (net.lvid, patch)
            outputs = [tunnels.get((net.network_type, ip)) for ip in net.remotes]
            outputs = [o for o in outputs if _valid(o)]
            if outputs:
                tun[(FLOOD_TO_TUN, 1, 'dl_vlan=%d' % net.lvid)] = (
                    'strip_vlan,set_tunnel:%#x,' % net.segmentation_id
                    + ','.join('output:%d' % o for o in outputs))
    return out


def _spec(cookie, key, mask=None):
    table, priority, match = key
    head = 'cookie=%#x/%#x' % (cookie, mask) if mask is not None else 'cookie=%#x' % cookie
    spec = '%s,table=%d,priority=%d' % (head, table, priority)
    return spec + (',' + match if match else '')


def add_line(cookie, key, actions):
    return 'add %s,actions=%s' % (_spec(cookie, key), actions)


def delete_line(key):
    """Delete one NaaS flow (of any generation) exactly."""
    return 'delete_strict %s' % _spec(COOKIE_MARK, key, COOKIE_MASK)


def flow_mods(old, new, cookie):
    """ovs-ofctl add-flows lines that turn table ``old`` into ``new``
    (old None: unknown, every flow of ``new`` is added)."""
    old = old or {}
    changed = [(k, v) for k, v in new.items() if old.get(k) != v]
    lines = [add_line(cookie, k, v) for k, v in sorted(changed, key=_order)]
    lines += [delete_line(k) for k in sorted((k for k in old if k not in new), key=_order)]
    return lines


def _order(item):
    key = item[0] if isinstance(item[0], tuple) else item
    return key[0], -key[1], key[2]
