"""Security groups and anti-spoofing of the Linux bridge driver, in nftables.

Where the packets are seen.  A VIF is a port of its network's bridge, so
the filter sits in the ``bridge`` family, where ``iifname``/``oifname`` are
the bridge ports: traffic FROM a VM enters the bridge on the VIF's host end
(``iifname tap...``), traffic TO it leaves on it (``oifname tap...``).
Connection tracking, though, is not available in the bridge family on this
kernel (no nf_conntrack_bridge); bridged IPv4/IPv6 goes through the inet
hooks as well (br_netfilter, built in here, ``bridge-nf-call-ip(6)tables``
on by default in every namespace), where iifname is the bridge.  So there are
two tables named ``naas-fw``:

* ``inet naas-fw`` -- connection tracking only: the conntrack zone of each
  network (``ct zone set iifname map @zones``, one zone per bridge, numbers
  kept in the map so that they survive a restart), ``notrack`` for the
  packets of stateless ports, and the connection's state copied into bits of
  the packet mark (:data:`MARK_ESTABLISHED`, :data:`MARK_INVALID`);
* ``bridge naas-fw`` -- the filter: ``forward`` jumps, through the verdict
  maps ``from_vm`` and ``to_vm`` keyed by VIF name, to the port's chains
  ``vm-out-<port_id>`` (egress, as the VM sees it) and ``vm-in-<port_id>``
  (ingress).  An allowed packet ``return``s from a port chain (so that a
  packet between two filtered VMs passes both), a port chain ends in
  ``drop``.  ``prerouting`` clears this module's mark bits and marks the
  packets of stateless ports (:data:`MARK_NOTRACK`) before br_netfilter
  hands them to the inet table.

Without br_netfilter's hooks (a host with ``bridge-nf-call-iptables`` 0) no
packet is marked established: stateful replies are dropped (closed, never
open).

Remote groups and address groups are named sets, one per (group, IP
version): ``sg-<id>-ipv4``, ``ag-<id>-ipv6``...; a membership change adds or
deletes set elements and leaves the chains alone.  A port chain is
rewritten only when its rules changed: the maps ``out_digests`` and
``in_digests`` hold a digest of each port chain's text, read back after a
restart (with the chains' names, not their rules: fast), so that a
restarted agent keeps every chain that is right.  Every change of one
call is one ``nft -f -`` transaction: a chain is flushed and refilled
atomically, packets never see it empty, and a VIF joins its bridge only
after its chains are in (the agent calls ``filter_ports`` before ``wire``).

Established packets pass before the rules, so, as Neutron does, a change
that narrows what a stateful port allows (a rule removed, a remote member
or an address gone) deletes from its network's conntrack zone the
connections its rules no longer allow (naas.agent.l2.conntrack, the
kernel's conntrack through netlink): their next packet is judged as new.
A TCP segment that conntrack calls new but that opens nothing (no SYN, or
SYN+ACK: the kernel picks connections up mid-stream) is marked invalid,
and a stateful port drops it: else, once a cut connection's server sent
again (a retransmission), its egress rules would let the connection be
tracked the other way round, and the client's packets, now replies of an
established connection, would pass unjudged.

Which ports: network service ports (device_owner ``network:...``) and
ports with ``port_security_enabled`` False get no chain: the VIF passes
everything.  Of the others, ``security_groups`` absent (no security-group
plugin on the server) -> anti-spoofing only, then everything passes;
present and empty -> the base rules only.
"""
import collections
import functools
import hashlib
import ipaddress
import json
import logging
import subprocess
import threading

from naas.agent.l2 import conntrack
from naas.host import netns
from naas.host import vif as host_vif

LOG = logging.getLogger(__name__)

TABLE = 'naas-fw'
#: The two tables this module owns (family, name); naas-cleanup and
#: ``remove_all`` delete them.
TABLES = (('bridge', TABLE), ('inet', TABLE))
OUT_PREFIX = 'vm-out-'     # from the VM: egress
IN_PREFIX = 'vm-in-'       # to the VM: ingress
#: The verdict maps (VIF name -> the port's chain) and the digest maps
#: (VIF name -> digest of that chain's statements), by direction.
CHAIN_MAPS = {'from_vm': 'out_digests', 'to_vm': 'in_digests'}

#: Bits of the packet mark this module uses (and clears when a packet
#: enters the bridge): the port is stateless, the connection's state.
MARK_NOTRACK = 0x01000000
MARK_ESTABLISHED = 0x02000000
MARK_INVALID = 0x04000000
MARK_MASK = MARK_NOTRACK | MARK_ESTABLISHED | MARK_INVALID

FIRST_ZONE, LAST_ZONE = 1, 65535

#: ICMPv6 a VM may send (router solicitation, neighbour discovery, MLD
#: reports: types 131-133, 135-136, 143; 134, a router advertisement, is
#: dropped before) and receive (router advertisements, neighbour discovery,
#: MLD: 130-136, 143), as ranges (no anonymous set per port).
ICMPV6_OUT = ('131-136', '143')
ICMPV6_IN = ('130-136', '143')
PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6, PROTO_SCTP = 1, 6, 17, 58, 132
PORT_PROTOCOLS = (PROTO_TCP, PROTO_UDP, 33, PROTO_SCTP)   # 33: DCCP


class NftError(RuntimeError):
    pass


def run_nft(namespace, args, text=None):
    """``nft <args>`` inside ``namespace`` (None: this process's own), with
    ``text`` on its standard input; its output.  Raises NftError."""
    try:
        out = netns.execute(namespace, ['nft'] + list(args), input=text, timeout=120)
    except subprocess.CalledProcessError as exc:
        raise NftError('nft %s failed: %s' % (' '.join(args), (exc.stderr or '').strip()))
    return out.stdout


# ---- what a port's chains say (pure functions) ------------------------------

def is_filtered(details):
    """Whether a port gets chains: never a network service port
    (device_owner ``network:...``: DHCP, router interfaces and gateways,
    floating IPs), whatever its port_security_enabled, as in Neutron."""
    if (details.get('device_owner') or '').startswith('network:'):
        return False
    return bool(details.get('port_security_enabled', True))


def link_local(mac):
    """The IPv6 link-local address (EUI-64) of a MAC address."""
    octets = [int(b, 16) for b in mac.split(':')]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    return ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + eui))


def port_sources(details):
    """(MACs, IPv4 networks, IPv6 networks) a port may send from: its MAC
    and fixed IPs, its allowed address pairs, the link-local address of
    each MAC."""
    macs = {details['mac_address'].lower()}
    nets = set()
    for fixed in details.get('fixed_ips') or ():
        nets.add(ipaddress.ip_network(fixed['ip_address']))
    for pair in details.get('allowed_address_pairs') or ():
        nets.add(ipaddress.ip_network(pair['ip_address'], strict=False))
        macs.add((pair.get('mac_address') or details['mac_address']).lower())
    nets.update(ipaddress.ip_network(link_local(m)) for m in macs)
    v4 = sorted(n for n in nets if n.version == 4)
    v6 = sorted(n for n in nets if n.version == 6)
    return sorted(macs), v4, v6


def set_name(kind, object_id, version):
    """``sg-<id>-ipv4``: the set of a remote group's (kind 'sg') or an
    address group's (kind 'ag') addresses of one IP version."""
    return '%s-%s-ipv%d' % (kind, object_id, version)


def _anonymous(items):
    return '{ %s }' % ', '.join(str(i) for i in items)


def _family(ethertype):
    return ('ip', 4) if ethertype == 'IPv4' else ('ip6', 6)


#: The fields of a rule its statement depends on (the key of its memo).
RULE_FIELDS = ('direction', 'ethertype', 'remote_ip_prefix', 'remote_group_id',
               'remote_address_group_id', 'protocol', 'port_range_min', 'port_range_max')
#: Rules of one shape (the same statement but for their remote prefix and
#: ports) that a chain has at least this many of become one statement with
#: an anonymous set (below, one statement per rule reads better): a port
#: with 1,000 rules is a few statements, one set lookup per packet instead
#: of a thousand comparisons, and half the nft transaction.
MERGE_AT = 4


class RuleForm(collections.namedtuple('RuleForm', 'statement used template element')):
    """A rule rendered (:func:`rule_form`): its own ``statement`` and the
    named set it ``used``; ``template`` (a statement with ``%s`` for an
    anonymous set's elements) and ``element`` (its element there, a tuple
    ``(text, remote network or None, lowest port, highest port)``, the
    network and ports given when the set is a concatenation, whose elements
    must not overlap) when it can be merged with rules of the same
    template, else None."""


def rule_statement(rule):
    """One security group rule as an nft statement ending in ``return``,
    and the named set it uses (or None); (None, None) for a rule that
    cannot match (a remote prefix of the other IP version)."""
    form = rule_form(rule)
    return form.statement, form.used


def rule_form(rule):
    """The :class:`RuleForm` of a rule (memoized on :data:`RULE_FIELDS`:
    the rules of a group are rendered once for all its ports)."""
    return _rule_form(tuple(rule.get(field) for field in RULE_FIELDS))


@functools.lru_cache(maxsize=65536)
def _rule_form(key):
    rule = dict(zip(RULE_FIELDS, key))
    family, version = _family(rule['ethertype'] or 'IPv4')
    peer = '%s %s' % (family, 'saddr' if rule['direction'] == 'ingress' else 'daddr')
    head, address, used = ['meta protocol %s' % family], None, None
    if rule['remote_ip_prefix']:
        prefix = ipaddress.ip_network(rule['remote_ip_prefix'], strict=False)
        if prefix.version != version:
            return RuleForm(None, None, None, None)
        if prefix.prefixlen:
            address = prefix
    elif rule['remote_group_id']:
        used = set_name('sg', rule['remote_group_id'], version)
    elif rule['remote_address_group_id']:
        used = set_name('ag', rule['remote_address_group_id'], version)
    if used:
        head.append('%s @%s' % (peer, used))
    l4, ports, protocol = [], None, rule['protocol']
    if protocol is not None:
        protocol = int(protocol)
        if version == 6 and protocol == PROTO_ICMP:
            protocol = PROTO_ICMPV6
        l4.append('meta l4proto %d' % protocol)
        low, high = rule['port_range_min'], rule['port_range_max']
        if protocol in (PROTO_ICMP, PROTO_ICMPV6) and low is not None:
            icmp = 'icmp' if protocol == PROTO_ICMP else 'icmpv6'
            l4.append('%s type %d' % (icmp, low))
            if high is not None:
                l4.append('%s code %d' % (icmp, high))
        elif protocol in PORT_PROTOCOLS and low is not None:
            ports = (low, low if high is None else high)
    port_text = ports and (str(ports[0]) if ports[0] == ports[1] else '%d-%d' % ports)
    statement = ' '.join(head + (['%s %s' % (peer, address)] if address else []) + l4
                         + (['th dport %s' % port_text] if ports else []) + ['return'])
    template = element = None
    if used is None and address is not None and ports is not None:
        template = ' '.join(head + l4 + ['%s . th dport { %%s } return' % peer])
        element = ('%s . %s' % (network_text(address), port_text), address) + ports
    elif used is None and address is not None:
        template = ' '.join(head + ['%s { %%s }' % peer] + l4 + ['return'])
        element = (str(address), None, None, None)
    elif used is None and ports is not None:
        template = ' '.join(head + l4 + ['th dport { %s } return'])
        element = (port_text, None) + ports
    return RuleForm(statement, used, template, element)


@functools.lru_cache(maxsize=1024)
def merge(forms):
    """The statements of ``forms`` (a tuple of RuleForms, in order;
    memoized: the ports of a group share them): each once, those of a
    template that :data:`MERGE_AT` or more forms share as one statement
    with an anonymous set, at the place of the first.  The kernel refuses
    overlapping elements in a concatenated set (an interval set of one
    field merges them itself): an element whose network is held by
    another's, with overlapping ports, keeps its own statement."""
    elements = collections.defaultdict(dict)       # template -> {text: element}
    for form in forms:
        if form.template is not None:
            elements[form.template].setdefault(form.element[0], form)
    merged = {}                                     # template -> statements
    for template, by_text in elements.items():
        if len(by_text) < MERGE_AT:
            continue
        inside, alone = [], []
        # The port ranges in the set by network ((bits, prefix length)),
        # filled from the shortest prefix: a network can only be held by
        # one already there.
        taken, lengths = collections.defaultdict(list), set()
        for text, form in sorted(by_text.items(), key=_shortest_first):
            _, network, low, high = form.element
            if network is not None:
                bits, shift = int(network.network_address), network.max_prefixlen
                if any(low <= other_high and other_low <= high
                       for length in lengths if length <= network.prefixlen
                       for other_low, other_high in taken[(bits >> (shift - length), length)]):
                    alone.append(form.statement)
                    continue
                taken[(bits >> (shift - network.prefixlen), network.prefixlen)].append(
                    (low, high))
                lengths.add(network.prefixlen)
            inside.append(text)
        merged[template] = [template % ', '.join(sorted(inside))] + alone
    out, seen = [], set()
    for form in forms:
        if form.statement is None:
            continue
        if form.template not in elements or len(elements[form.template]) < MERGE_AT:
            statements = [form.statement]
        else:
            statements = merged.pop(form.template, ())    # at the first form only
        for statement in statements:
            if statement not in seen:
                seen.add(statement)
                out.append(statement)
    return out


def _shortest_first(item):
    text, form = item
    network = form.element[1]
    return (network.prefixlen if network is not None else 0), text


def _nd_target(address):
    # nft 1.0.6 has no ``icmpv6 taddr``: the NA target is bytes 8-23 of
    # the ICMPv6 header, compared as a 128-bit integer.
    return '0x%032x' % int(address)


def _none_of(selector, values):
    """``selector != a selector != b ...``: plain comparisons rather than an
    anonymous set, which the kernel would keep as one more set per rule
    (slow to create and to list with hundreds of ports)."""
    return ' '.join('%s != %s' % (selector, v) for v in values)


def _address(network):
    return network if network.prefixlen < network.max_prefixlen else network.network_address


def egress_rules(details, stateful, rules):
    """The statements of ``vm-out-<port>`` (without the final drop)."""
    macs, v4, v6 = port_sources(details)
    out = [_none_of('ether saddr', macs) + ' drop',
           'meta protocol arp %s drop' % _none_of('arp saddr ether', macs),
           'meta protocol arp %s drop' % _none_of(
               'arp saddr ip', ['0.0.0.0'] + [_address(n) for n in v4]),
           'meta protocol arp return',
           # DHCP discover and request, before the VM has an address
           'meta protocol ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 '
           'udp sport 68 udp dport 67 return',
           'meta protocol ip udp sport 67 drop',
           'meta protocol ip %s drop' % _none_of('ip saddr', [_address(n) for n in v4]),
           'meta protocol ip udp sport 68 udp dport 67 return',
           'meta protocol ip6 %s drop' % _none_of(
               'ip6 saddr', ['::'] + [_address(n) for n in v6]),
           'meta protocol ip6 udp sport 546 udp dport 547 return',
           'meta protocol ip6 udp sport 547 drop',
           'icmpv6 type nd-router-advert drop']
    if all(n.prefixlen == 128 for n in v6):
        # A neighbour advertisement only for its own addresses (pairs with
        # an IPv6 prefix: any target, as the source check already holds).
        out.append('icmpv6 type nd-neighbor-advert %s drop' % _none_of(
            '@th,64,128', [_nd_target(n.network_address) for n in v6]))
    out += ['icmpv6 type %s return' % t for t in ICMPV6_OUT]
    out.append('meta protocol != ip meta protocol != ip6 drop')
    return out + _group_rules(details, stateful, rules, 'egress')


def ingress_rules(details, stateful, rules):
    """The statements of ``vm-in-<port>`` (without the final drop)."""
    out = ['meta protocol arp return',
           'meta protocol ip udp sport 67 udp dport 68 return',
           'meta protocol ip6 udp sport 547 udp dport 546 return']
    out += ['icmpv6 type %s return' % t for t in ICMPV6_IN]
    return out + _group_rules(details, stateful, rules, 'ingress')


def _group_rules(details, stateful, rules, direction):
    if 'security_groups' not in details:
        return ['return']       # no security-group plugin: anti-spoofing only
    out = []
    if stateful:
        out += ['meta mark & 0x%08x == 0x%08x drop' % (MARK_INVALID, MARK_INVALID),
                'meta mark & 0x%08x == 0x%08x return' % (MARK_ESTABLISHED, MARK_ESTABLISHED)]
    return out + merge(tuple(rule_form(r) for r in rules if r['direction'] == direction))


def port_groups(details, sg_info):
    """(stateful, rules) of a port's groups.  A port is stateless only when
    every one of its groups is (Neutron refuses to mix them)."""
    groups = [sg_info.get('security_groups', {}).get(g) or {'rules': []}
              for g in details.get('security_groups') or ()]
    stateful = not groups or any(g.get('stateful', True) for g in groups)
    return stateful, [r for g in groups for r in g.get('rules', ())]


def digest(statements):
    """32 bits of the SHA-1 of a chain's statements (a mark in the maps
    ``out_digests``/``in_digests``)."""
    return int(hashlib.sha1('\n'.join(statements).encode()).hexdigest()[:8], 16)


def chain_names(port_id):
    return OUT_PREFIX + port_id, IN_PREFIX + port_id


def used_sets(rules):
    return {used for used in (rule_statement(r)[1] for r in rules) if used}


def network_text(network):
    """A network as set elements are written: a host without its prefix."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def set_elements(name, sg_info):
    """The collapsed networks (text) set ``name`` should hold."""
    kind, rest = name.split('-', 1)
    object_id, version = rest.rsplit('-ipv', 1)
    source = sg_info.get('members' if kind == 'sg' else 'address_groups', {})
    addresses = (source.get(object_id) or {}).get('IPv%s' % version) or ()
    nets = [ipaddress.ip_network(a, strict=False) for a in addresses]
    return frozenset(network_text(n) for n in ipaddress.collapse_addresses(
        n for n in nets if n.version == int(version)))


def port_filter(details, sg_info):
    """(stateful, {chain name: (digest, statements)}, set names used) of
    one port."""
    stateful, rules = port_groups(details, sg_info)
    out_chain, in_chain = chain_names(details['port_id'])
    chains = {}
    for name, statements in ((out_chain, egress_rules(details, stateful, rules)),
                             (in_chain, ingress_rules(details, stateful, rules))):
        chains[name] = (digest(statements), statements)
    used = used_sets(rules) if 'security_groups' in details else set()
    return stateful, chains, used


class Desired:
    """What the tables should hold for these ports (the filtered ones).
    ``build``: :func:`port_filter`, or a memo of it."""

    def __init__(self, ports, sg_info, bridge_of, build=port_filter):
        self.chains = {}          # chain name -> (digest, statements)
        self.maps = {name: {} for name in list(CHAIN_MAPS) + list(CHAIN_MAPS.values())}
        self.sets = {}            # set name -> frozenset of networks (text)
        self.bridges = set()      # bridges that need a conntrack zone
        self.stateless_vifs, self.stateless_macs = set(), set()
        for details in ports:
            stateful, chains, used = build(details, sg_info)
            tap = host_vif.vif_name(details['port_id'])
            self.chains.update(chains)
            for map_name, chain in zip(CHAIN_MAPS, chain_names(details['port_id'])):
                self.maps[map_name][tap] = chain
                self.maps[CHAIN_MAPS[map_name]][tap] = chains[chain][0]
            for name in used:
                if name not in self.sets:
                    self.sets[name] = set_elements(name, sg_info)
            self.bridges.add(bridge_of(details['network_id']))
            if not stateful:
                self.stateless_vifs.add(tap)
                self.stateless_macs.add(details['mac_address'].lower())


# ---- what the tables hold (read back from the host) -------------------------

class Current:
    """The tables as ``nft -j list ruleset`` shows them (or as a successful
    transaction left them: :meth:`after`)."""

    @classmethod
    def after(cls, desired, zones):
        """What the tables hold once ``plan(desired, ..., zones)`` is applied."""
        current = cls()
        current.tables = {'bridge', 'inet'}
        current.chains = {name: chain_digest for name, (chain_digest, _) in
                          desired.chains.items()}
        current.sets = dict(desired.sets)
        current.maps = {name: dict(elements) for name, elements in desired.maps.items()}
        current.maps['zones'] = dict(zones)
        current.stateless = {'stateless_vifs': set(desired.stateless_vifs),
                             'stateless_macs': set(desired.stateless_macs)}
        return current

    def __init__(self, ruleset=None):
        self.tables = set()       # families whose naas-fw table exists
        self.chains = {}          # port chain name -> digest (None: unknown)
        self.sets = {}            # sg-/ag- set name -> frozenset of networks
        self.maps = {name: {} for name in list(CHAIN_MAPS) + list(CHAIN_MAPS.values())}
        self.maps['zones'] = {}
        self.stateless = {'stateless_vifs': set(), 'stateless_macs': set()}
        for item in (ruleset or {}).get('nftables', ()):
            kind, body = next(iter(item.items()))
            if not isinstance(body, dict) or body.get('table', body.get('name')) != TABLE:
                continue
            if kind == 'table':
                self.tables.add(body['family'])
            elif kind == 'chain' and body['name'].startswith((OUT_PREFIX, IN_PREFIX)):
                self.chains.setdefault(body['name'], None)
            elif kind == 'set' and body['name'] in self.stateless:
                self.stateless[body['name']] = {_element(e) for e in body.get('elem', ())}
            elif kind == 'set' and body['name'].startswith(('sg-', 'ag-')):
                self.sets[body['name']] = frozenset(
                    network_text(n) for e in body.get('elem', ())
                    for n in _networks(_element(e)))
            elif kind == 'map' and body['name'] in self.maps:
                self.maps[body['name']] = {
                    _element(key): _verdict_target(value) for key, value in body.get('elem', ())}
        for verdicts, digests in CHAIN_MAPS.items():
            for vif_name, chain in self.maps[verdicts].items():
                if chain in self.chains:
                    self.chains[chain] = self.maps[digests].get(vif_name)


def _element(elem):
    if isinstance(elem, dict) and 'elem' in elem:
        return _element(elem['elem']['val'])
    return elem


def _verdict_target(value):
    if isinstance(value, dict) and 'jump' in value:
        return value['jump']['target']
    return value


def _networks(value):
    if isinstance(value, dict) and 'prefix' in value:
        return [ipaddress.ip_network('%s/%s' % (value['prefix']['addr'], value['prefix']['len']))]
    if isinstance(value, dict) and 'range' in value:
        low, high = (ipaddress.ip_address(a) for a in value['range'])
        return list(ipaddress.summarize_address_range(low, high))
    return [ipaddress.ip_network(value)]


# ---- the transaction --------------------------------------------------------

def base_definitions():
    """The tables, their sets, maps and base chains, with the base chains'
    rules (flushed and written again: atomic in the same transaction)."""
    inet, bridge = 'inet %s' % TABLE, 'bridge %s' % TABLE
    keep_other_bits = 0xffffffff & ~MARK_MASK
    return [
        'add table %s' % inet,
        'add map %s zones { typeof iifname : ct zone; }' % inet,
        'add chain %s prerouting { type filter hook prerouting priority -300; '
        'policy accept; }' % inet,
        'add chain %s ct_state { type filter hook prerouting priority -150; '
        'policy accept; }' % inet,
        'flush chain %s prerouting' % inet,
        'add rule %s prerouting meta mark & 0x%08x == 0x%08x notrack accept'
        % (inet, MARK_NOTRACK, MARK_NOTRACK),
        'add rule %s prerouting ct zone set iifname map @zones' % inet,
        'flush chain %s ct_state' % inet,
        'add rule %s ct_state ct state established,related meta mark set meta mark | 0x%08x'
        % (inet, MARK_ESTABLISHED),
        'add rule %s ct_state ct state invalid meta mark set meta mark | 0x%08x'
        % (inet, MARK_INVALID),
        # A TCP segment conntrack calls new that is no SYN (picked up
        # mid-stream) opens nothing: invalid (see the module's docstring).
        'add rule %s ct_state ct state new tcp flags & (syn | ack) != syn '
        'meta mark set meta mark | 0x%08x' % (inet, MARK_INVALID),
        'add table %s' % bridge,
        'add set %s stateless_vifs { type ifname; }' % bridge,
        'add set %s stateless_macs { type ether_addr; }' % bridge,
        'add map %s from_vm { type ifname : verdict; }' % bridge,
        'add map %s to_vm { type ifname : verdict; }' % bridge,
        'add map %s out_digests { type ifname : mark; }' % bridge,
        'add map %s in_digests { type ifname : mark; }' % bridge,
        'add chain %s prerouting { type filter hook prerouting priority -300; '
        'policy accept; }' % bridge,
        'add chain %s forward { type filter hook forward priority -100; '
        'policy accept; }' % bridge,
        'flush chain %s prerouting' % bridge,
        'add rule %s prerouting meta mark set meta mark & 0x%08x' % (bridge, keep_other_bits),
        'add rule %s prerouting iifname @stateless_vifs meta mark set meta mark | 0x%08x'
        % (bridge, MARK_NOTRACK),
        'add rule %s prerouting ether daddr @stateless_macs meta mark set meta mark | 0x%08x'
        % (bridge, MARK_NOTRACK),
        'flush chain %s forward' % bridge,
        'add rule %s forward iifname vmap @from_vm' % bridge,
        'add rule %s forward oifname vmap @to_vm' % bridge,
    ]


def _quoted(name):
    return '"%s"' % name


def allocate_zones(bridges, zones):
    """{bridge: zone} for ``bridges``: the zones they have in ``zones``,
    the lowest free numbers for the others."""
    out = {b: z for b, z in zones.items() if b in bridges}
    free = (z for z in range(FIRST_ZONE, LAST_ZONE + 1) if z not in set(zones.values()))
    for bridge in sorted(bridges - set(out)):
        out[bridge] = next(free)
    return out


def plan(desired, current, zones, base=False, full=False):
    """The nft commands that make ``current`` what ``desired`` says, with
    conntrack ``zones`` ({bridge: zone}, :func:`allocate_zones`).
    ``base``: write the base chains again (an agent's first transaction);
    ``full``: that, and every port chain and set as well."""
    bridge = 'bridge %s' % TABLE
    commands = []
    if base or full or current.tables != {'bridge', 'inet'}:
        commands += base_definitions()
    for name, elements in sorted(desired.sets.items()):
        have = current.sets.get(name)
        if have is None:
            commands.append('add set %s %s { type ipv%d_addr; flags interval; }'
                            % (bridge, name, 4 if name.endswith('ipv4') else 6))
            have = frozenset()
        elif full:
            commands.append('flush set %s %s' % (bridge, name))
            have = frozenset()
        if have - elements:
            commands.append('delete element %s %s %s' % (bridge, name, _anonymous(
                sorted(have - elements))))
        if elements - have:
            commands.append('add element %s %s %s' % (bridge, name, _anonymous(
                sorted(elements - have))))
    for name, (chain_digest, statements) in sorted(desired.chains.items()):
        if name not in current.chains:
            commands.append('add chain %s %s' % (bridge, name))
        elif current.chains[name] == chain_digest and not full:
            continue
        else:
            commands.append('flush chain %s %s' % (bridge, name))
        commands += ['add rule %s %s %s' % (bridge, name, s) for s in statements]
        commands.append('add rule %s %s drop' % (bridge, name))
    for map_name, want in sorted(desired.maps.items()):
        have = current.maps[map_name]
        gone = sorted(k for k in have if want.get(k) != have[k])
        if gone:
            commands.append('delete element %s %s %s' % (bridge, map_name, _anonymous(
                _quoted(k) for k in gone)))
        new = sorted(k for k in want if have.get(k) != want[k])
        if new:
            value = 'jump %s' if map_name in CHAIN_MAPS else '0x%08x'
            commands.append('add element %s %s %s' % (bridge, map_name, _anonymous(
                '%s : %s' % (_quoted(k), value % want[k]) for k in new)))
    for set_name_, want in (('stateless_vifs', {_quoted(v) for v in desired.stateless_vifs}),
                            ('stateless_macs', desired.stateless_macs)):
        have = {_quoted(v) if set_name_ == 'stateless_vifs' else v
                for v in current.stateless[set_name_]}
        if have - want:
            commands.append('delete element %s %s %s' % (bridge, set_name_, _anonymous(
                sorted(have - want))))
        if want - have:
            commands.append('add element %s %s %s' % (bridge, set_name_, _anonymous(
                sorted(want - have))))
    have = current.maps['zones']
    gone = sorted(b for b in have if zones.get(b) != have[b])
    if gone:
        commands.append('delete element inet %s zones %s' % (TABLE, _anonymous(
            _quoted(b) for b in gone)))
    new = sorted(b for b in zones if have.get(b) != zones[b])
    if new:
        commands.append('add element inet %s zones %s' % (TABLE, _anonymous(
            '%s : %d' % (_quoted(b), zones[b]) for b in new)))
    for name in sorted(set(current.chains) - set(desired.chains)):
        commands.append('delete chain %s %s' % (bridge, name))
    for name in sorted(set(current.sets) - set(desired.sets)):
        commands.append('delete set %s %s' % (bridge, name))
    return commands


class NftFirewall:
    """The port filter of one host (``namespace``: the host's network
    namespace, None for this process's own).  ``bridge_of(network_id)``
    names a network's bridge (its conntrack zone's key).  ``runner(args,
    text)`` runs nft (tests give a fake one); ``tracker``: the connection
    tracker (default: the kernel's in ``namespace``; none when a fake
    runner is given without one).

    It remembers the details of the ports it filters and the last
    security group information (update_security_groups gives groups, not
    ports); ``reconcile_filters`` sets both again after a restart.  What
    the tables hold is read from the host when the process starts and after
    a failed transaction; after a successful one it is what was written.
    """

    def __init__(self, namespace, bridge_of, runner=None, tracker=None):
        self.namespace = namespace
        self.bridge_of = bridge_of
        self.runner = runner or (lambda args, text=None: run_nft(namespace, args, text))
        self.tracker = tracker if tracker is not None or runner is not None else (
            conntrack.KernelConntrack(namespace))
        self._grants = {}         # port_id -> what allowed its connections (stateful ones)
        self._set_elements = {}   # set name -> its elements at the last transaction
        self._lock = threading.Lock()
        self._ports = {}          # port_id -> details of the ports filtered here
        self._sg_info = {'security_groups': {}, 'members': {}, 'address_groups': {}}
        self._current = None      # Current, None: read it from the host first
        self._built = {}          # port_id -> (what it was built from, port_filter())

    def _read(self):
        """The tables' chains (names only: listing hundreds of ports' rules
        takes seconds), sets and maps."""
        items = []
        for what in ('tables', 'chains', 'sets', 'maps'):
            items += json.loads(self.runner(['-j', 'list', what]) or '{}').get('nftables', [])
        return Current({'nftables': items})

    def _build(self, details, sg_info):
        """port_filter(), again only when the port or its groups changed."""
        groups = sg_info['security_groups']
        key = json.dumps([details, [groups.get(g) for g in details.get('security_groups') or ()]],
                         sort_keys=True, default=str)
        known = self._built.get(details['port_id'])
        if known is None or known[0] != key:
            known = self._built[details['port_id']] = (key, port_filter(details, sg_info))
        return known[1]

    def _merge(self, sg_info):
        for key in self._sg_info:
            self._sg_info[key].update((sg_info or {}).get(key) or {})

    def _apply(self):
        """One transaction that makes the tables what the remembered ports
        need.  A first failure reads the host again and writes everything
        once more (still one transaction); a second one raises NftError."""
        self._built = {p: b for p, b in self._built.items() if p in self._ports}
        desired = Desired(self._ports.values(), self._sg_info, self.bridge_of, self._build)
        for attempt in (1, 2):
            fresh = self._current is None
            if fresh:
                self._current = self._read()
            zones = allocate_zones(desired.bridges, self._current.maps['zones'])
            commands = plan(desired, self._current, zones, base=fresh, full=attempt == 2)
            if not commands:
                return
            try:
                self.runner(['-f', '-'], '\n'.join(commands) + '\n')
            except NftError:
                self._current = None
                if attempt == 2:
                    raise
                LOG.warning('nft transaction failed; reading the tables again', exc_info=True)
                continue
            self._current = Current.after(desired, zones)
            self._cut_revoked(desired, zones)
            return

    def _cut_revoked(self, desired, zones):
        """Delete the connections of the stateful ports whose rules,
        addresses or remote members changed that their rules no longer
        allow (a failure is logged: new connections are judged already)."""
        shrunk = {name for name, elements in self._set_elements.items()
                  if elements - desired.sets.get(name, frozenset())}
        self._set_elements = dict(desired.sets)
        grants, judges = {}, collections.defaultdict(list)
        for port_id, details in self._ports.items():
            key, (stateful, _, used) = self._built[port_id]    # what Desired built
            if not stateful or 'security_groups' not in details:
                continue
            grants[port_id] = key
            if port_id in self._grants and (self._grants[port_id] != key or used & shrunk):
                zone = zones[self.bridge_of(details['network_id'])]
                judges[zone].append(functools.partial(self._allows, details))
        self._grants = grants
        for zone, port_judges in sorted(judges.items()) if self.tracker else ():
            try:
                count = conntrack.cut(self.tracker, zone, port_judges)
            except conntrack.ConntrackError as exc:
                LOG.warning('cutting the connections no longer allowed in zone %d failed: %s',
                            zone, exc)
                continue
            if count:
                LOG.info('zone %d: %d connection(s) no longer allowed cut', zone, count)

    def _allows(self, details, connection):
        _, v4, v6 = port_sources(details)
        _, rules = port_groups(details, self._sg_info)
        return conntrack.allows(v4 + v6, rules, self._sg_info['members'],
                                self._sg_info['address_groups'], connection)

    # ---- hooks.PortFilter (the driver delegates to these) -------------------

    def filter_ports(self, details, sg_info):
        with self._lock:
            self._merge(sg_info)
            for d in details:
                if is_filtered(d):
                    self._ports[d['port_id']] = d
                else:
                    self._ports.pop(d['port_id'], None)
            self._apply()

    def update_security_groups(self, sg_info):
        with self._lock:
            self._merge(sg_info)
            self._apply()

    def unfilter_port(self, port_id):
        with self._lock:
            if self._ports.pop(port_id, None) is not None:
                self._apply()

    def reconcile_filters(self, wanted, sg_info):
        with self._lock:
            self._sg_info = {'security_groups': {}, 'members': {}, 'address_groups': {}}
            self._merge(sg_info)
            self._ports = {d['port_id']: d for d in wanted if is_filtered(d)}
            self._current = None
            self._apply()

    def remove_all(self):
        """Delete both tables (naas-cleanup, the driver's cleanup_all)."""
        with self._lock:
            self._ports.clear()
            self._current = None
            have = self._read().tables
            commands = ['delete table %s %s' % (f, n) for f, n in TABLES if f in have]
            if commands:
                self.runner(['-f', '-'], '\n'.join(commands) + '\n')
