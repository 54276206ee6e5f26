"""Tracked connections a security group change no longer allows, for both
port filters.

The filters judge new connections against the rules and let established
ones pass (naas.agent.l2.nft_firewall returns every established packet;
naas.agent.l2.ovs_firewall lets the replies pass).  So, as Neutron does,
when what allowed a stateful port's connections shrinks (a rule removed or
narrowed, a remote group member or an address gone), the filter reads the
conntrack zone of the port's network and deletes each connection to or
from the port that its rules no longer allow (:func:`allows`); the next
packet of such a connection is new again and judged by the rules as they
are.  A change that only adds cuts nothing.

Pure: :class:`Connection` (an entry's original direction) and
:func:`allows`.  I/O, one class per connection tracker:

* :class:`OVSConntrack` -- ``ovs-appctl dpctl/dump-conntrack`` and
  ``dpctl/flush-conntrack`` of one ovs-vswitchd (the userspace datapath
  keeps its conntrack in ovs-vswitchd; the kernel datapath's is reached the
  same way);
* :class:`KernelConntrack` -- the kernel's conntrack of a network
  namespace, through netlink (pyroute2).
"""
import collections
import ipaddress
import os
import re
import socket
import subprocess

PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6, PROTO_SCTP = 1, 6, 17, 58, 132
#: Protocols whose rules may have a destination port range (DCCP: 33).
PORT_PROTOCOLS = (PROTO_TCP, PROTO_UDP, 33, PROTO_SCTP)
ETHERTYPES = {'IPv4': 4, 'IPv6': 6}


class ConntrackError(Exception):
    pass


class Connection(collections.namedtuple(
        'Connection', 'version protocol src dst sport dport icmp_type icmp_code icmp_id')):
    """A conntrack entry's original direction (ports or ICMP fields None
    where the protocol has none)."""

    def ovs_tuple(self):
        """The entry as ``dpctl/flush-conntrack`` takes it."""
        field = 'ct_nw' if self.version == 4 else 'ct_ipv6'
        out = '%s_src=%s,%s_dst=%s,ct_nw_proto=%d' % (
            field, self.src, field, self.dst, self.protocol)
        if self.protocol in (PROTO_ICMP, PROTO_ICMPV6):
            return out + ',icmp_id=%d,icmp_type=%d,icmp_code=%d' % (
                self.icmp_id or 0, self.icmp_type or 0, self.icmp_code or 0)
        if self.sport is not None:
            out += ',ct_tp_src=%d,ct_tp_dst=%d' % (self.sport, self.dport)
        return out


# ---- what a port's rules allow (pure) ----------------------------------------

def allows(networks, rules, members, address_groups, connection):
    """Whether a port allows ``connection`` where it is an end of it: its
    egress rules if it is the source, its ingress rules if the destination
    (True when it is neither).  ``networks``: what the port may send from
    (ipaddress networks); ``rules``: the rules of its groups (None: no
    group filtering); ``members`` and ``address_groups``: {id: {'IPv4':
    [...], 'IPv6': [...]}} of the remote groups and address groups."""
    if rules is None:
        return True
    for direction, own, remote in (('egress', connection.src, connection.dst),
                                   ('ingress', connection.dst, connection.src)):
        address = ipaddress.ip_address(own)
        if any(address in network for network in networks
               if network.version == address.version) and not any(
                rule.get('direction') == direction
                and _rule_allows(rule, connection, remote, members, address_groups)
                for rule in rules):
            return False
    return True


def _rule_allows(rule, connection, remote, members, address_groups):
    version = connection.version
    if ETHERTYPES.get(rule.get('ethertype'), 4) != version:
        return False
    protocol = rule.get('protocol')
    if protocol is not None:
        protocol = int(protocol)
        if version == 6 and protocol == PROTO_ICMP:
            protocol = PROTO_ICMPV6
        if protocol != connection.protocol:
            return False
        low, high = rule.get('port_range_min'), rule.get('port_range_max')
        if protocol in (PROTO_ICMP, PROTO_ICMPV6):
            if low is not None and (connection.icmp_type != low or (
                    high is not None and connection.icmp_code != high)):
                return False
        elif protocol in PORT_PROTOCOLS and low is not None:
            high = low if high is None else high
            if connection.dport is None or not low <= connection.dport <= high:
                return False
    family = 'IPv4' if version == 4 else 'IPv6'
    if rule.get('remote_group_id'):
        remotes = (members.get(rule['remote_group_id']) or {}).get(family, ())
    elif rule.get('remote_address_group_id'):
        remotes = (address_groups.get(rule['remote_address_group_id']) or {}).get(family, ())
    elif rule.get('remote_ip_prefix'):
        remotes = [rule['remote_ip_prefix']]
    else:
        return True
    address = ipaddress.ip_address(remote)
    for network in remotes:
        network = ipaddress.ip_network(network, strict=False)
        if network.version == version and address in network:
            return True
    return False


# ---- Open vSwitch: ovs-appctl dpctl/* ------------------------------------------

#: The protocol names ``dpctl/dump-conntrack`` prints.
OVS_PROTOCOLS = {'icmp': PROTO_ICMP, 'icmpv6': PROTO_ICMPV6, 'tcp': PROTO_TCP,
                 'udp': PROTO_UDP, 'sctp': PROTO_SCTP, 'dccp': 33, 'udplite': 136}
_OVS_ENTRY = re.compile(r'^(\w+),orig=\(([^)]*)\)')


def parse_ovs_connection(line):
    """A :class:`Connection` of a ``dpctl/dump-conntrack`` line (None: not one)."""
    match = _OVS_ENTRY.match(line.strip())
    if not match:
        return None
    name = match.group(1)
    protocol = OVS_PROTOCOLS.get(name, OVS_PROTOCOLS.get(name.rstrip('6')))
    if protocol is None:
        if not name.isdigit():
            return None
        protocol = int(name)
    fields = dict(item.split('=', 1) for item in match.group(2).split(',') if '=' in item)
    if 'src' not in fields or 'dst' not in fields:
        return None

    def number(key):
        return int(fields[key]) if key in fields else None
    return Connection(ipaddress.ip_address(fields['src']).version, protocol,
                      fields['src'], fields['dst'], number('sport'), number('dport'),
                      number('type'), number('code'), number('id'))


class OVSConntrack:
    """The connection tracker of one ovs-vswitchd (``rundir``: where its
    control socket is; ``datapath_type``: its datapath, system or netdev)."""

    def __init__(self, rundir, datapath_type='system', timeout=30):
        self.rundir = rundir
        datapath_type = datapath_type or 'system'
        self.datapath = '%s@ovs-%s' % (datapath_type, datapath_type)
        self.timeout = timeout

    def _appctl(self, args):
        # A private ovs-vswitchd's socket has no pid in its name.
        ctl = os.path.join(self.rundir, 'ovs-vswitchd.ctl')
        cmd = ['ovs-appctl', '-t', ctl if os.path.exists(ctl) else 'ovs-vswitchd'] + args
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout,
                                  env=dict(os.environ, OVS_RUNDIR=self.rundir))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConntrackError('%s: %s' % (' '.join(cmd[3:5]), exc))
        if proc.returncode != 0:
            raise ConntrackError('%s failed (exit %d): %s' % (
                ' '.join(cmd[3:]), proc.returncode, proc.stderr.strip()[:1000]))
        return proc.stdout

    def dump(self, zone):
        """The connections of conntrack zone ``zone``."""
        out = self._appctl(['dpctl/dump-conntrack', self.datapath, 'zone=%d' % zone])
        return [c for c in map(parse_ovs_connection, out.splitlines()) if c is not None]

    def delete(self, zone, connection):
        # No datapath name here: OVS 3.1 would read it as the tuple (its
        # ovs-vswitchd has one datapath: the one the driver's bridges use).
        self._appctl(['dpctl/flush-conntrack', 'zone=%d' % zone, connection.ovs_tuple()])


# ---- the kernel: netlink ------------------------------------------------------

class KernelConntrack:
    """The kernel's connection tracker in network namespace ``namespace``
    (None: this process's own), both IP versions."""

    FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}

    def __init__(self, namespace=None):
        self.namespace = namespace

    def _socket(self, version):
        from pyroute2 import Conntrack
        kwargs = {'netns': self.namespace} if self.namespace else {}
        return Conntrack(nfgen_family=self.FAMILIES[version], **kwargs)

    def dump(self, zone):
        """The connections of conntrack zone ``zone``."""
        out = []
        try:
            for version in self.FAMILIES:
                with self._socket(version) as ct:
                    for entry in ct.dump_entries(zone=zone):
                        if entry.zone in (None, zone):
                            out.append(self._connection(version, entry.tuple_orig))
        except Exception as exc:
            raise ConntrackError('conntrack dump of zone %d: %s' % (zone, exc))
        return out

    @staticmethod
    def _connection(version, orig):
        return Connection(version, orig.proto, orig.saddr, orig.daddr, orig.sport,
                          orig.dport, orig.icmp_type, orig.icmp_code, orig.icmp_id)

    def delete(self, zone, connection):
        from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple
        orig = NFCTAttrTuple(
            family=self.FAMILIES[connection.version], saddr=connection.src,
            daddr=connection.dst, proto=connection.protocol, sport=connection.sport,
            dport=connection.dport, icmp_id=connection.icmp_id,
            icmp_type=connection.icmp_type, icmp_code=connection.icmp_code)
        try:
            with self._socket(connection.version) as ct:
                ct.entry('del', tuple_orig=orig, zone=zone)
        except Exception as exc:
            raise ConntrackError('conntrack delete %s in zone %d: %s' % (
                connection, zone, exc))


def cut(conntrack, zone, judges):
    """Delete the connections of ``zone`` that one of ``judges`` (callables
    Connection -> allowed) refuses; how many were deleted."""
    count = 0
    for connection in conntrack.dump(zone):
        if not all(judge(connection) for judge in judges):
            conntrack.delete(zone, connection)
            count += 1
    return count
