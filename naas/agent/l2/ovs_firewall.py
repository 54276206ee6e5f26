"""The Open vSwitch driver's port filter: a conntrack-based OpenFlow firewall.

Pure logic (no I/O), like naas.agent.l2.ovs_flows: :class:`Firewall` keeps
the filtered ports' details and the security groups (the ``sg_info`` of
naas.agent.l2.hooks.PortFilter) and renders the br-int flows that enforce
them; the driver (naas.agent.l2.openvswitch) merges them into br-int's
table and applies the difference in its one bundle per batch, under its
generation cookie (a restart replaces every flow atomically).  Written
after Neutron's openvswitch_firewall, smaller: no ct_mark bookkeeping, no
explicit egress-direct mode.

Registers: reg5 = the ofport of the filtered port a packet is judged for,
reg6 = the network's local VLAN, which is also the conntrack zone (two
tenants' overlapping addresses never share state).

br-int pipeline once a port is filtered (table 0 is ovs_flows', whose
forwarding action becomes ``resubmit(,FORWARD)``)::

    table 0  prio 1  in_port=<filtered VIF>     reg5, reg6, [reg7 bit 1: stateful],
                                                 resubmit(,EGRESS)
             prio 1  in_port=<other wired VIF of a network with filtered
                      ports>                     reg6, resubmit(,FORWARD)
             (a VIF on the dead VLAN is dropped by ovs_flows at prio 2)
    EGRESS (71)  anti-spoofing: per (MAC, address) of the port ARP, NA for
                 it, and a source check (prio 101) that flags IP from it
                 (reg7 bit 0; ICMPv6 from :: and its MAC: bit 2) and goes
                 through EGRESS again, where shared flows take flagged
                 frames: DHCP client, MLD/RS/NS out; DHCP server and RA
                 dropped; then flagged IP -> ct(table=72) (a stateless
                 port: resubmit(,72)); everything else dropped
    EGRESS_RULES (72)  +inv drop, +new TCP that is no SYN drop (below),
                 +est+rpl and +rel accepted, rules, conjunctions for
                 remote groups; drop
    FORWARD (73) dl_dst=<filtered MAC> of the packet's network (reg6 of a
                 local sender, or dl_vlan from a patch port) -> reg5 [and
                 reg7 bit 3: the port is stateful], strip_vlan,
                 resubmit(,INGRESS); +new (from a stateful port's egress)
                 -> ct commit, NORMAL; else NORMAL
    INGRESS (74) ARP, DHCP replies, ICMPv6 RA/NS/NA/MLD -> output; IP ->
                 ct(table=75) unless already tracked in the same zone
                 (shared flows on reg7 bit 3)
    INGRESS_RULES (75)  as 72; accepted -> output:<port> (+new: ct commit)

A port with one IPv4 address and no group has 11 flows (1 in table 0,
2 in FORWARD with one patch port, 6 in EGRESS, 1 in each rules table; a
further address or pair: 2); the per-type ICMPv6 and DHCP flows and the
INGRESS conntrack entries are shared by every port (28 flows a port
before: a cold resync of 500 ports sent 14,023 flows in one bundle).

Remote groups and address groups are conjunctions: one flow per member
address (dimension 1, per network) and one per rule of each port
(dimension 2), so a member added is one flow, not a rewrite.

A port whose details have no ``security_groups`` key gets anti-spoofing
only; an empty list: the base rules only.  Ports with
port_security_enabled False and network service ports (:func:`is_filtered`)
are not here at all: their traffic takes the normal path.

Connections a change no longer allows are cut, as Neutron does (see
naas.agent.l2.conntrack): the flows judge only new connections and the
originating side of established ones, so a stateful port whose rules,
remote group members or addresses changed is marked by
:meth:`Firewall.render`, and once the driver applied the flows,
:meth:`Firewall.cut_revoked` deletes the connections of its zone that its
rules no longer allow (the replies of a UDP stream would flow on
otherwise) through the driver's conntrack.OVSConntrack.  A TCP segment
that conntrack calls new but that opens nothing (no SYN, or SYN+ACK: the
connection was picked up mid-stream, as both conntracks do) is dropped in
both rules tables: else, once a cut connection's server sent again (a
retransmission), its egress rules would commit the connection the other
way round, and the client's packets, now replies, would pass unjudged.
"""
import collections
import ipaddress
import logging

from naas.agent.l2 import conntrack as conntrack_lib
from naas.lib import constants

LOG = logging.getLogger(__name__)

EGRESS = 71
EGRESS_RULES = 72
FORWARD = 73
INGRESS = 74
INGRESS_RULES = 75
TABLES = (EGRESS, EGRESS_RULES, FORWARD, INGRESS, INGRESS_RULES)

REG_PORT = 'NXM_NX_REG5[]'
REG_NET = 'NXM_NX_REG6[]'
#: reg7, EGRESS's flags: bit 0 the frame is IP from one of the port's own
#: (MAC, address) pairs, bit 1 the port is stateful (loaded in table 0),
#: bit 2 the frame is ICMPv6 from :: (DAD) and the port's MAC; INGRESS's:
#: bit 3 the port a frame is delivered to (reg5) is stateful (loaded with
#: reg5 in FORWARD).
FROM_OWN, STATEFUL, FROM_UNSPEC, TO_STATEFUL = 0x1, 0x2, 0x4, 0x8
ZONE = 'zone=NXM_NX_REG6[0..15]'
FORWARD_ACTION = 'resubmit(,%d)' % FORWARD

# Priorities.
ENTRY = 1             # table 0 (below ovs_flows' dead-VLAN drops at 2)
SOURCE_CHECK = 101    # EGRESS: set a FROM_* flag, then EGRESS again
BASE_ALLOW = 100
BASE_DENY = 90
TRACK = 80
IP_FROM_OWN = 65
CONNTRACK = 100       # rules tables: +inv, +est+rpl, +rel
RULE = 50
CONJUNCTION = 40
COMMIT_OUT = 1        # FORWARD, below the filtered ports' MACs

CT_NEW = '+trk+new-est'
CT_EST = '+trk+est-rel-rpl'
DHCP = {4: ('udp', 68, 67), 6: ('udp6', 546, 547)}
ETHERTYPES = {'IPv4': 4, 'IPv6': 6}
#: ICMPv6 a VM may send from its addresses (and :: while in DAD): MLD
#: query/report/done, router and neighbour solicitation, MLDv2 report.
ICMPV6_OUT = (130, 131, 132, 133, 135, 143)
ICMPV6_NA = 136
ICMPV6_RA = 134
#: ICMPv6 always let in: MLD, RA, NS, NA.
ICMPV6_IN = (130, 131, 132, 134, 135, 136, 143)
PROTO_ICMP, PROTO_ICMPV6 = 1, 58
PROTOCOL_NAMES = {(4, 1): 'icmp', (4, 6): 'tcp', (4, 17): 'udp', (4, 132): 'sctp',
                  (6, 58): 'icmp6', (6, 6): 'tcp6', (6, 17): 'udp6', (6, 132): 'sctp6'}
PORT_PROTOCOLS = (6, 17, 132)

#: The flows of every filtered port (reg5: the one the frame is judged
#: for); anything a table does not accept is dropped.
SHARED_FLOWS = dict(
    [((table, 0, ''), 'NORMAL' if table == FORWARD else 'drop') for table in TABLES]
    # No DHCP server, no router advertisements from a VM, and no neighbour
    # advertisement but for its own addresses (allowed above these).
    + [((EGRESS, BASE_DENY, match), 'drop') for match in (
        'udp,tp_src=67', 'udp6,tp_src=547', 'icmp6,icmp_type=%d' % ICMPV6_RA,
        'icmp6,icmp_type=%d' % ICMPV6_NA)]
    # Sent from one of its own addresses (FROM_OWN, flagged by the port's
    # SOURCE_CHECK flows): DHCP client requests, MLD/RS/NS, then the rules
    # (with conntrack if STATEFUL); from :: (FROM_UNSPEC, DAD): MLD/RS/NS.
    + [((EGRESS, BASE_ALLOW, 'reg7=%#x/%#x,%s' % (flag, flag, match)), FORWARD_ACTION)
       for flag, matches in (
           (FROM_OWN, ('udp,tp_src=68,tp_dst=67', 'udp6,tp_src=546,tp_dst=547')
            + tuple('icmp6,icmp_type=%d' % t for t in ICMPV6_OUT)),
           (FROM_UNSPEC, tuple('icmp6,icmp_type=%d' % t for t in ICMPV6_OUT)))
       for match in matches]
    + [((EGRESS, IP_FROM_OWN, 'reg7=%#x/%#x' % (FROM_OWN, FROM_OWN | STATEFUL)),
        'resubmit(,%d)' % EGRESS_RULES)]
    # In, IP: a stateful port's (TO_STATEFUL) through conntrack unless
    # tracked already (sent by a filtered port of the same network); a
    # stateless port's not, but a stateful local sender's new connection is
    # committed here, where it is delivered, so that its replies (untracked
    # from this port) are the sender's established traffic.
    + [((INGRESS, TRACK, 'reg7=0/%#x,%s' % (TO_STATEFUL, dl_type)),
        'resubmit(,%d)' % INGRESS_RULES) for dl_type in ('ip', 'ipv6')]
    + [((INGRESS, TRACK + 1, 'reg7=0/%#x,ct_state=%s,%s' % (TO_STATEFUL, CT_NEW, dl_type)),
        'ct(commit,%s),resubmit(,%d)' % (ZONE, INGRESS_RULES)) for dl_type in ('ip', 'ipv6')]
    # Always let in: ARP, DHCP replies, ICMPv6 RA, ND and MLD.
    + [((INGRESS, BASE_ALLOW, match), 'output:' + REG_PORT) for match in (
        'arp', 'udp,tp_src=67,tp_dst=68', 'udp6,tp_src=547,tp_dst=546')
       + tuple('icmp6,icmp_type=%d' % icmp_type for icmp_type in ICMPV6_IN)])

#: The flows of every stateful filtered port (there when one is).
STATEFUL_FLOWS = dict(
    [((EGRESS, IP_FROM_OWN, 'reg7=%#x/%#x,%s' % (FROM_OWN | STATEFUL, FROM_OWN | STATEFUL,
                                                 dl_type)),
      'ct(table=%d,%s)' % (EGRESS_RULES, ZONE)) for dl_type in ('ip', 'ipv6')]
    + [((INGRESS, TRACK, 'reg7=%#x/%#x,ct_state=-trk,%s' % (TO_STATEFUL, TO_STATEFUL, dl_type)),
        'ct(table=%d,%s)' % (INGRESS_RULES, ZONE)) for dl_type in ('ip', 'ipv6')]
    + [((INGRESS, TRACK, 'reg7=%#x/%#x,ct_state=+trk,%s' % (TO_STATEFUL, TO_STATEFUL, dl_type)),
        'resubmit(,%d)' % INGRESS_RULES) for dl_type in ('ip', 'ipv6')]
    # New connections accepted on the way out to a port that is not
    # filtered here (tracked: only a stateful port's egress tracks).
    + [((FORWARD, COMMIT_OUT, 'ct_state=%s,%s' % (CT_NEW, dl_type)),
        'ct(commit,%s),NORMAL' % ZONE) for dl_type in ('ip', 'ipv6')]
    # A TCP segment that conntrack calls new is a connection only if it is
    # a SYN without ACK (see the module's docstring).
    + [((table, CONNTRACK, 'ct_state=+trk+new,%s,tcp_flags=%s' % (protocol, flags)), 'drop')
       for table in (EGRESS_RULES, INGRESS_RULES) for protocol in ('tcp', 'tcp6')
       for flags in ('-syn', '+ack')])

#: What the flows of a filtered port hang on: its VIF's ofport, its
#: network's local VLAN, dead: the VIF is on the dead VLAN (not wired or
#: admin down: nothing is delivered to it).
Binding = collections.namedtuple('Binding', 'ofport lvid dead')


def is_filtered(details):
    """Whether a port gets a filter: port_security_enabled, and never a
    network service port (device_owner ``network:...``: DHCP, router
    interfaces and gateways), which the core plugin alone calls secured."""
    owner = details.get('device_owner') or ''
    return bool(details.get('port_security_enabled')) and not owner.startswith(
        constants.DEVICE_OWNER_NETWORK_PREFIX)


def link_local(mac):
    """The IPv6 link-local address (EUI-64) of a MAC address."""
    octets = [int(b, 16) for b in mac.split(':')]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    return str(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + eui)))


def port_masks(low, high):
    """``tp_dst`` values (``22`` or ``0x0400/0xfc00``) that cover low..high."""
    out = []
    while low <= high:
        size = 1
        while low % (size * 2) == 0 and low + size * 2 - 1 <= high and size < 0x10000:
            size *= 2
        out.append('%d' % low if size == 1 else '%#06x/%#06x' % (low, 0xffff & ~(size - 1)))
        low += size
    return out


def _network(address):
    net = ipaddress.ip_network(address, strict=False)
    return net.version, (str(net.network_address) if net.prefixlen == net.max_prefixlen
                         else str(net))


class FilteredPort(collections.namedtuple(
        'FilteredPort', 'port_id network_id mac addresses groups')):
    """A port's details as the firewall needs them: addresses is a sorted
    tuple of (mac, version, address or CIDR) it may send from; groups a
    tuple of security group ids, or None (no group filtering)."""

    @classmethod
    def from_details(cls, details):
        mac = details['mac_address'].lower()
        addresses = {(mac, 6, link_local(mac))}
        for fixed in details.get('fixed_ips') or ():
            ip = fixed['ip_address'] if isinstance(fixed, dict) else fixed
            addresses.add((mac,) + _network(ip))
        for pair in details.get('allowed_address_pairs') or ():
            pair_mac = (pair.get('mac_address') or mac).lower()
            addresses.add((pair_mac,) + _network(pair['ip_address']))
        groups = details.get('security_groups')
        return cls(details['port_id'], details['network_id'], mac,
                   tuple(sorted(addresses)),
                   None if groups is None else tuple(sorted(groups)))

    def macs(self):
        return sorted({self.mac} | {a[0] for a in self.addresses})


class Firewall:
    """The filtered ports and their groups; :meth:`render` gives their flows."""

    def __init__(self):
        self.ports = {}           # port_id -> FilteredPort
        self.groups = {}          # sg_id -> {'stateful', 'rules'}
        self.members = {}         # sg_id -> {'IPv4': [...], 'IPv6': [...]}
        self.address_groups = {}  # ag_id -> {'IPv4': [...], 'IPv6': [...]}
        self._conj_ids = {}       # (lvid, remote, direction, version, ct) -> id
        self._cache = {}          # port_id -> (key, flows, conj flows) of the last render
        self._granted = {}        # port_id -> what allowed its connections at the last render
        self._revoked = {}        # port_id -> zone: stateful ports whose grants changed
        self._remote_addresses = {}   # ('sg'/'ag', id) -> addresses at the last render

    # ---- state ---------------------------------------------------------------

    def set_port(self, details):
        self.ports[details['port_id']] = FilteredPort.from_details(details)

    def remove_port(self, port_id):
        self._cache.pop(port_id, None)
        self._granted.pop(port_id, None)
        self._revoked.pop(port_id, None)
        return self.ports.pop(port_id, None)

    def set_groups(self, sg_info, replace=False):
        """Take the groups, members and address groups of ``sg_info``;
        ``replace``: forget the others."""
        sg_info = sg_info or {}
        for attr, key in (('groups', 'security_groups'), ('members', 'members'),
                          ('address_groups', 'address_groups')):
            if replace:
                setattr(self, attr, {})
            getattr(self, attr).update(sg_info.get(key) or {})

    def network_of(self, port_id):
        port = self.ports.get(port_id)
        return port.network_id if port else None

    # ---- flows ---------------------------------------------------------------

    def render(self, bindings, others=(), trunks=()):
        """{(table, priority, match): actions} of every firewall flow.

        ``bindings``: {port_id: Binding} of the filtered ports whose VIF is
        plugged (the others get no flow); ``others``: [(ofport, lvid)] of
        the wired VIFs that are not filtered; ``trunks``: the ofports of
        br-int's patch ports (their frames carry the local VLAN)."""
        out = {}
        conj = collections.defaultdict(set)
        lvids, stateful = set(), False
        shrunk = self._shrunk_remotes()
        for port_id, binding in sorted(bindings.items()):
            port = self.ports.get(port_id)
            if port is None or binding.ofport <= 0:
                continue
            lvids.add(binding.lvid)
            stateful = stateful or self._stateful(port)
            rules_key = self._rules_key(port)
            self._note_grants(port, binding.lvid, rules_key, shrunk)
            key = (port, binding, tuple(trunks), rules_key)
            cached = self._cache.get(port_id)
            if cached is None or cached[0] != key:
                flows, port_conj = {}, collections.defaultdict(set)
                self._port_flows(port, binding, trunks, flows, port_conj)
                cached = self._cache[port_id] = (key, flows, port_conj)
            out.update(cached[1])
            for flow_key, ids in cached[2].items():
                conj[flow_key] |= ids
        for ofport, lvid in sorted(set(others)):
            if lvid in lvids and ofport > 0:
                out[(0, ENTRY, 'in_port=%d' % ofport)] = (
                    'load:%d->%s,%s' % (lvid, REG_NET, FORWARD_ACTION))
        self._member_flows({i for ids in conj.values() for i, _dim in ids}, conj)
        for flow_key, ids in conj.items():
            out[flow_key] = ','.join('conjunction(%d,%d/2)' % i for i in sorted(ids))
        if out:
            out.update(SHARED_FLOWS)
            if stateful:
                out.update(STATEFUL_FLOWS)
        return out

    # ---- connections a change no longer allows ---------------------------------

    def _shrunk_remotes(self):
        """The remote groups and address groups that lost an address since
        the last render: ('sg' or 'ag', id)."""
        now = {}
        for kind, source in (('sg', self.members), ('ag', self.address_groups)):
            for remote_id, families in source.items():
                now[(kind, remote_id)] = frozenset(
                    address for addresses in (families or {}).values() for address in addresses)
        before, self._remote_addresses = self._remote_addresses, now
        return {remote for remote, addresses in before.items()
                if addresses - now.get(remote, frozenset())}

    def _note_grants(self, port, lvid, rules_key, shrunk):
        """Mark a stateful port whose rules or addresses changed, or one of
        whose remote groups lost a member, since the last render (its
        connections are judged again by :meth:`cut_revoked`)."""
        if not self._stateful(port):
            self._granted.pop(port.port_id, None)
            return
        grants = (lvid, port.addresses, rules_key)
        before = self._granted.get(port.port_id)
        if before is not None and (before != grants or shrunk and shrunk & {
                (kind, rule[field]) for rule in self._rules(port)
                for kind, field in (('sg', 'remote_group_id'),
                                    ('ag', 'remote_address_group_id')) if rule.get(field)}):
            self._revoked[port.port_id] = lvid
        self._granted[port.port_id] = grants

    def _rules(self, port):
        return [rule for group_id in port.groups or ()
                for rule in self.groups.get(group_id, {}).get('rules', ())]

    def cut_revoked(self, conntrack):
        """Delete the connections to or from the marked ports that their
        rules no longer allow (call it once the flows are in), through
        ``conntrack`` (a conntrack.OVSConntrack); the number deleted.  A
        failure is logged, not raised: the flows hold already, only the
        replies of a cut connection may pass."""
        revoked, self._revoked = self._revoked, {}
        zones = collections.defaultdict(list)
        for port_id, zone in sorted(revoked.items()):
            if port_id in self.ports:
                port = self.ports[port_id]
                zones[zone].append(lambda connection, port=port: self.allows(port, connection))
        count = 0
        for zone, judges in sorted(zones.items()):
            try:
                count += conntrack_lib.cut(conntrack, zone, judges)
            except conntrack_lib.ConntrackError as exc:
                LOG.warning('cutting the connections no longer allowed in zone %d failed: %s',
                            zone, exc)
        if count:
            LOG.info('%d connection(s) no longer allowed cut (ports %s)', count, sorted(revoked))
        return count

    def allows(self, port, connection):
        """Whether the rules of ``port`` allow ``connection`` (a
        conntrack.Connection; see conntrack.allows)."""
        return conntrack_lib.allows(
            [ipaddress.ip_network(address) for _mac, _version, address in port.addresses],
            None if port.groups is None else self._rules(port),
            self.members, self.address_groups, connection)

    def _stateful(self, port):
        """Whether the port tracks connections: it has a stateful group
        (Neutron refuses to mix stateful and stateless groups on a port)."""
        return port.groups is not None and any(
            self.groups.get(g, {}).get('stateful', True) for g in port.groups)

    def _rules_key(self, port):
        """What the flows of ``port`` depend on beside its binding."""
        if port.groups is None:
            return None
        return tuple((g, repr(self.groups.get(g))) for g in port.groups)

    def _conj_id(self, key):
        conj_id = self._conj_ids.get(key)
        if conj_id is None:
            conj_id = self._conj_ids[key] = len(self._conj_ids) + 1
        return conj_id

    def _port_flows(self, port, binding, trunks, out, conj):
        ofport, lvid = binding.ofport, binding.lvid
        reg = 'reg5=%d' % ofport
        stateful = self._stateful(port)
        out[(0, ENTRY, 'in_port=%d' % ofport)] = 'load:%d->%s,load:%d->%s,%sresubmit(,%d)' % (
            ofport, REG_PORT, lvid, REG_NET,
            'load:1->NXM_NX_REG7[1],' if stateful else '', EGRESS)
        # Delivery: frames for its MACs on its network, from a local port
        # (reg6) or a patch port (tagged); none while the VIF is dead.
        to_port = 'load:%d->%s,%sresubmit(,%d)' % (
            ofport, REG_PORT, 'load:1->NXM_NX_REG7[3],' if stateful else '', INGRESS)
        for mac in port.macs():
            out[(FORWARD, RULE, 'reg6=%d,dl_dst=%s,vlan_tci=0x0000/0x1000' % (lvid, mac))] = (
                'drop' if binding.dead else to_port)
            for trunk in sorted(trunks):
                out[(FORWARD, RULE, 'in_port=%d,dl_vlan=%d,dl_dst=%s' % (trunk, lvid, mac))] = (
                    'drop' if binding.dead else 'strip_vlan,load:%d->%s,%s' % (
                        lvid, REG_NET, to_port))
        self._egress_base(port, reg, out)
        accept = {'egress': FORWARD_ACTION, 'ingress': 'output:%d' % ofport}
        for direction, table in (('egress', EGRESS_RULES), ('ingress', INGRESS_RULES)):
            if port.groups is None:
                out[(table, RULE, reg)] = accept[direction]
                continue
            if stateful:
                out[(table, CONNTRACK, reg + ',ct_state=+trk+inv')] = 'drop'
                out[(table, CONNTRACK, reg + ',ct_state=+trk+est-rel+rpl')] = accept[direction]
                out[(table, CONNTRACK, reg + ',ct_state=+trk-new-est+rel-inv')] = (
                    accept[direction])
            for group_id in port.groups:
                for rule in self.groups.get(group_id, {}).get('rules', ()):
                    if rule.get('direction') == direction:
                        self._rule_flows(port, lvid, reg, table, rule, stateful,
                                         accept[direction], out, conj)

    def _egress_base(self, port, reg, out):
        """Per (MAC, address) of the port: ARP for it, a SOURCE_CHECK flow
        that flags IP from it (FROM_OWN) and goes through EGRESS again,
        where the shared flows take the flagged frame (DHCP client, MLD,
        RS, NS, then the rules); IPv6: NA for it as target.  Per port: DHCP
        discovery from 0.0.0.0 and the DAD flag (ICMPv6 from ::)."""
        table = EGRESS
        accept = FORWARD_ACTION
        flag = 'load:1->NXM_NX_REG7[%d],resubmit(,%d)'
        for mac, version, address in port.addresses:
            src = '%s,dl_src=%s' % (reg, mac)
            if version == 4:
                out[(table, BASE_ALLOW, src + ',arp,arp_spa=%s,arp_sha=%s' % (address, mac))] = \
                    accept
                match = ',ip,nw_src=%s' % address
            else:
                out[(table, BASE_ALLOW, src + ',icmp6,icmp_type=%d,icmp_code=0,nd_target=%s'
                     % (ICMPV6_NA, address))] = accept
                match = ',ipv6,ipv6_src=%s' % address
            out[(table, SOURCE_CHECK, src + match + ',reg7=0/%#x' % FROM_OWN)] = flag % (0, table)
        src = '%s,dl_src=%s' % (reg, port.mac)
        # Before an address: DHCP discovery, IPv6 DAD.
        out[(table, BASE_ALLOW, src + ',udp,nw_src=0.0.0.0,tp_src=68,tp_dst=67')] = accept
        out[(table, SOURCE_CHECK, src + ',icmp6,ipv6_src=::,reg7=0/%#x' % FROM_UNSPEC)] = \
            flag % (2, table)

    def _rule_flows(self, port, lvid, reg, table, rule, stateful, accept, out, conj):
        version = ETHERTYPES.get(rule.get('ethertype'), 4)
        direction = rule['direction']
        matches = _protocol_matches(rule, version)
        if matches is None:
            return
        remote = None
        if rule.get('remote_group_id'):
            remote = ('sg', rule['remote_group_id'])
        elif rule.get('remote_address_group_id'):
            remote = ('ag', rule['remote_address_group_id'])
        else:
            prefix = rule.get('remote_ip_prefix')
            if prefix:
                prefix_version, prefix = _network(prefix)
                if prefix_version != version:
                    return
                if ipaddress.ip_network(prefix).prefixlen:
                    field = _address_field(version, direction)
                    matches = [m + ',%s=%s' % (field, prefix) for m in matches]
        # A new connection is committed where it is delivered: in the
        # ingress rules of its filtered destination, or in FORWARD when it
        # leaves for anywhere else; never before the destination accepted
        # it (else a connection a port refused would own the addresses).
        commit_new = 'ct(commit,%s),' % ZONE if direction == 'ingress' else ''
        states = ((CT_NEW, commit_new), (CT_EST, '')) if stateful else ((None, ''),)
        for state, commit in states:
            ct = ',ct_state=%s' % state if state else ''
            if remote is None:
                for match in matches:
                    out[(table, RULE, reg + ct + ',' + match)] = commit + accept
                continue
            conj_id = self._conj_id((lvid, remote, direction, version, state))
            for match in matches:
                conj[(table, CONJUNCTION, reg + ct + ',' + match)].add((conj_id, 2))
            out[(table, CONJUNCTION, 'conj_id=%d,%s,%s' % (
                conj_id, reg, 'ip' if version == 4 else 'ipv6'))] = commit + accept

    def _member_flows(self, used, conj):
        """Dimension 1 of the conjunctions ``used`` by a port's rule: one
        flow per remote address."""
        for (lvid, remote, direction, version, state), conj_id in self._conj_ids.items():
            if conj_id not in used:
                continue
            kind, remote_id = remote
            source = self.members if kind == 'sg' else self.address_groups
            table = EGRESS_RULES if direction == 'egress' else INGRESS_RULES
            field = _address_field(version, direction)
            dl_type = 'ip' if version == 4 else 'ipv6'
            for address in (source.get(remote_id) or {}).get(
                    'IPv4' if version == 4 else 'IPv6', ()):
                address_version, address = _network(address)
                if address_version != version:
                    continue
                match = 'reg6=%d,%s,%s=%s' % (lvid, dl_type, field, address)
                conj[(table, CONJUNCTION, match)].add((conj_id, 1))


def _address_field(version, direction):
    """The field of the remote address: the source of what comes in, the
    destination of what goes out."""
    if version == 4:
        return 'nw_src' if direction == 'ingress' else 'nw_dst'
    return 'ipv6_src' if direction == 'ingress' else 'ipv6_dst'


def _protocol_matches(rule, version):
    """The protocol part of a rule's matches (a list; None: never matches
    on this IP version)."""
    protocol = rule.get('protocol')
    if protocol is None:
        return ['ip' if version == 4 else 'ipv6']
    protocol = int(protocol)
    if version == 6 and protocol == PROTO_ICMP:
        protocol = PROTO_ICMPV6
    name = PROTOCOL_NAMES.get((version, protocol))
    if name is None:
        if protocol in (PROTO_ICMP, PROTO_ICMPV6):
            return None
        return ['%s,nw_proto=%d' % ('ip' if version == 4 else 'ipv6', protocol)]
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if protocol in (PROTO_ICMP, PROTO_ICMPV6):
        if low is None:
            return [name]
        match = '%s,icmp_type=%d' % (name, low)
        return [match + (',icmp_code=%d' % high if high is not None else '')]
    if protocol in PORT_PROTOCOLS and low is not None:
        high = low if high is None else high
        if (low, high) == (1, 65535):
            return [name]
        return ['%s,tp_dst=%s' % (name, mask) for mask in port_masks(low, high)]
    return [name]
