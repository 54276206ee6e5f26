"""Per-address counters in nftables (naas.agent.l2.hooks.PortCounters'
``addresses``), for both L2 drivers: a table ``naas-stats`` of its own that
nothing else touches, in the driver's namespace, with four sets whose
elements (a VIF name and one of its addresses) each have a counter that a
matching lookup increments::

    set tx4 { type ifname . ipv4_addr; counter; }    (and rx4, tx6, rx6)

The chains only look the packets up, never drop or accept anything:

* ``bridge`` family (the Linux bridge driver): one chain on the forward
  hook, priority 100, after the port filter (-100) and QoS policing (0):
  ``iifname . ip saddr @tx4`` (the VM sent it from the address),
  ``oifname . ip daddr @rx4`` (delivered to the VM for it), and ip6;
* ``netdev`` family (the Open vSwitch driver): two chains per VIF, on the
  ingress hook of its host end (``in-<vif>``: what the kernel received from
  the VM, before ovs-vswitchd reads it: on the userspace datapath a frame
  its socket drops is still counted, as in the port's tx) and on the egress
  hook (``out-<vif>``: what was sent to the VM).

Bytes: the bridge hooks and the netdev ingress hook count from the IP
header, the netdev egress hook from the Ethernet header; what is reported
adds the 14-byte Ethernet header where it was not counted, so that address
and port counters are in the same unit (naas.agent.l2.counters).

Changes are one ``nft -f -`` transaction per batch that adds and deletes
elements (adding an element that exists keeps its counter; a VIF's chains
are written again with its elements, flushed first, never doubled); reads
are nfnetlink dumps, one NFT_MSG_GETSETELEM per set (:class:`ElementReader`:
no nft process per pass; ``nft list`` of 2,000 elements costs ~50 ms of
CPU).
"""
import collections
import errno
import ipaddress
import socket
import struct
import threading

from naas.agent.l2 import base
from naas.agent.l2 import counters
from naas.agent.l2 import hooks
from naas.agent.l2 import nft_firewall
from naas.host import ip_lib

TABLE_NAME = 'naas-stats'
#: set name -> (direction as the VM sees it, IP version, the match of its lookup)
SETS = {
    'tx4': ('tx', 4, 'iifname . ip saddr'),
    'rx4': ('rx', 4, 'oifname . ip daddr'),
    'tx6': ('tx', 6, 'iifname . ip6 saddr'),
    'rx6': ('rx', 6, 'oifname . ip6 daddr'),
}
#: The bridge family's chain: after the port filter (-100) and QoS (0).
BRIDGE_CHAIN = 'count'
BRIDGE_PRIORITY = 100

#: How a driver counts: the nftables family (and its NFPROTO number), and
#: the bytes to add per packet to each direction's counters.
Layout = collections.namedtuple('Layout', 'family nfproto header_bytes')
BRIDGE = Layout('bridge', 7, {'tx': counters.ETH_HLEN, 'rx': counters.ETH_HLEN})
NETDEV = Layout('netdev', 5, {'tx': counters.ETH_HLEN, 'rx': 0})

# nfnetlink (linux/netfilter/nfnetlink.h, nf_tables.h)
NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_NEWSETELEM = NFNL_SUBSYS_NFTABLES << 8 | 12
NFT_GETSETELEM = NFNL_SUBSYS_NFTABLES << 8 | 13
NFTA_SET_ELEM_LIST_TABLE = 1
NFTA_SET_ELEM_LIST_SET = 2
NFTA_SET_ELEM_LIST_ELEMENTS = 3
NFTA_LIST_ELEM = 1
NFTA_SET_ELEM_KEY = 1
NFTA_SET_ELEM_EXPR = 7
NFTA_SET_ELEM_EXPRESSIONS = 10
NFTA_DATA_VALUE = 1
NFTA_EXPR_DATA = 2
NFTA_COUNTER_BYTES = 1
NFTA_COUNTER_PACKETS = 2
#: ifname keys are IFNAMSIZ bytes, NUL padded.
IFNAMSIZ = 16
_NFGENMSG = struct.Struct('=BBH')       # family, version, res_id (big endian)
_BE64 = struct.Struct('>Q')


def table_of(layout):
    return '%s %s' % (layout.family, TABLE_NAME)


def base_definitions(layout):
    """The table and its sets (the bridge family: its chain too):
    idempotent (the sets and their elements are kept; a chain's rules are
    written again)."""
    table = table_of(layout)
    lines = ['add table %s' % table]
    for name, (_direction, version, _match) in sorted(SETS.items()):
        lines.append('add set %s %s { type ifname . ipv%d_addr ; counter ; }'
                     % (table, name, version))
    if layout.family == 'bridge':
        lines += _chain_lines(table, BRIDGE_CHAIN, 'forward priority %d' % BRIDGE_PRIORITY,
                              sorted(SETS))
    return lines


def _chain_lines(table, chain, hook, sets):
    return (['add chain %s %s { type filter hook %s ; policy accept ; }' % (table, chain, hook),
             'flush chain %s %s' % (table, chain)]
            + ['add rule %s %s %s @%s' % (table, chain, SETS[name][2], name) for name in sets])


def device_lines(layout, verb, ifname):
    """The netdev family's chains of one VIF: ``add`` writes them (again),
    ``delete`` removes them; nothing for the bridge family."""
    if layout.family != 'netdev':
        return []
    table = table_of(layout)
    chains = (('in-' + ifname, 'ingress', ('tx4', 'tx6')),
              ('out-' + ifname, 'egress', ('rx4', 'rx6')))
    lines = []
    for chain, hook, sets in chains:
        spec = '%s device "%s" priority 0' % (hook, ifname)
        if verb == 'add':
            lines += _chain_lines(table, chain, spec, sets)
        else:
            # add first: deleting a chain that is not there fails the batch
            lines += ['add chain %s %s { type filter hook %s ; policy accept ; }'
                      % (table, chain, spec),
                      'flush chain %s %s' % (table, chain),
                      'delete chain %s %s' % (table, chain)]
    return lines


def _set_of(direction, address):
    return '%s%d' % (direction, ipaddress.ip_address(address).version)


def element_lines(layout, verb, ifname, addresses):
    """``add``/``delete element`` lines for ``addresses`` of ``ifname``, in
    both directions, one line per set."""
    by_set = {}
    for address in sorted(addresses):
        for direction in ('tx', 'rx'):
            by_set.setdefault(_set_of(direction, address), []).append(
                '"%s" . %s' % (ifname, address))
    return ['%s element %s %s { %s }' % (verb, table_of(layout), name, ', '.join(items))
            for name, items in sorted(by_set.items())]


def _decode_key(raw):
    """(ifname, address) of an element's key: IFNAMSIZ bytes of name, then
    the address (4 or 16 bytes)."""
    address = raw[IFNAMSIZ:]
    return (raw[:IFNAMSIZ].split(b'\0', 1)[0].decode(),
            socket.inet_ntop(socket.AF_INET if len(address) == 4 else socket.AF_INET6, address))


def _attrs_seen(data, offset, end, headers):
    """ip_lib._attrs, appending the offset of each attribute header read to
    ``headers``."""
    out = {}
    while offset + 4 <= end:
        length, kind = ip_lib._RTATTR.unpack_from(data, offset)
        if length < 4:
            break
        headers.append(offset)
        out[kind & 0x3fff] = (offset + 4, offset + length)
        offset += ip_lib._align(length)
    return out


def _struct_at(byte_order, offsets, field):
    """A Struct reading ``field`` at each of ``offsets`` (ascending, from
    the start of the buffer given to unpack_from)."""
    fmt, at = byte_order, 0
    for offset in offsets:
        fmt += '%dx%s' % (offset - at, field)
        at = offset + struct.calcsize('=' + field)
    return struct.Struct(fmt)


#: Where one shape of element keeps its key and counter, relative to the
#: element's start: ``headers`` reads every attribute header the full parse
#: read, ``expected`` what they held (same headers: same positions).
ElementLayout = collections.namedtuple(
    'ElementLayout', 'headers expected key_start key_end counters packets_first')


def _parse_element(data, position, length):
    """(raw key, packets, bytes, ElementLayout or None) of the element at
    ``position`` (its header included), by a full parse; None: no key."""
    headers = [position]
    element = _attrs_seen(data, position + 4, position + length, headers)
    if NFTA_SET_ELEM_KEY not in element:
        return None
    # The key attribute holds one NFTA_DATA_VALUE: its payload follows its
    # 4-byte header.
    key_start, key_end = element[NFTA_SET_ELEM_KEY]
    headers.append(key_start)
    expression = element.get(NFTA_SET_ELEM_EXPR)
    if expression is None and NFTA_SET_ELEM_EXPRESSIONS in element:
        # a list of expressions: the counter is the set's only one
        expression = _attrs_seen(data, *element[NFTA_SET_ELEM_EXPRESSIONS], headers).get(
            NFTA_LIST_ELEM)
    counter = {}
    if expression is not None:
        expr = _attrs_seen(data, *expression, headers)
        if NFTA_EXPR_DATA in expr:
            counter = _attrs_seen(data, *expr[NFTA_EXPR_DATA], headers)
    raw = bytes(data[key_start + 4:key_end])
    spans = [counter.get(NFTA_COUNTER_PACKETS), counter.get(NFTA_COUNTER_BYTES)]
    values = [_BE64.unpack_from(data, span[0])[0] if span else 0 for span in spans]
    layout = None
    if None not in spans:
        header_struct = _struct_at('=', sorted(offset - position for offset in headers), 'HH')
        layout = ElementLayout(
            header_struct, header_struct.unpack_from(data, position),
            key_start + 4 - position, key_end - position,
            _struct_at('>', sorted(span[0] - position for span in spans), 'Q'),
            spans[0][0] < spans[1][0])
    return raw, values[0], values[1], layout


def parse_elements(data, offset, end, keys=None, layouts=None):
    """[(ifname, address, packets, bytes)] of one NFT_MSG_NEWSETELEM body
    (after the nlmsghdr) of a set keyed ``ifname . ipv4_addr`` or
    ``ifname . ipv6_addr`` with a counter per element.  ``keys``: a dict
    that caches decoded keys from one dump to the next; ``layouts``: one
    that caches ElementLayouts by element length (the elements of a set
    have one or two shapes: a full parse of each is made once, the others
    are read at its positions once their headers are checked equal)."""
    attrs = ip_lib._attrs(data, offset + _NFGENMSG.size, end)
    if NFTA_SET_ELEM_LIST_ELEMENTS not in attrs:
        return []
    keys = {} if keys is None else keys
    layouts = {} if layouts is None else layouts
    out = []
    position, stop = attrs[NFTA_SET_ELEM_LIST_ELEMENTS]
    header = ip_lib._RTATTR
    while position + 4 <= stop:
        length = header.unpack_from(data, position)[0]
        if length < 4:
            break
        layout = layouts.get(length)
        if layout is not None and layout.headers.unpack_from(data, position) == layout.expected:
            raw = bytes(data[position + layout.key_start:position + layout.key_end])
            packets, nbytes = layout.counters.unpack_from(data, position)
            if not layout.packets_first:
                packets, nbytes = nbytes, packets
        else:
            parsed = _parse_element(data, position, length)
            if parsed is None:
                position += (length + 3) & ~3
                continue
            raw, packets, nbytes, layout = parsed
            if layout is not None:
                layouts[length] = layout
        position += (length + 3) & ~3
        decoded = keys.get(raw)
        if decoded is None:
            decoded = keys[raw] = _decode_key(raw)
        out.append((decoded[0], decoded[1], packets, nbytes))
    return out


def address_counters(elements, header_bytes):
    """{ifname: {address: hooks.AddressCounters}} from {set name: [(ifname,
    address, packets, bytes)]}, ``header_bytes[direction]`` added per packet."""
    counted = {}    # ifname -> address -> [rx_bytes, rx_packets, tx_bytes, tx_packets]
    for name, found in elements.items():
        direction = SETS[name][0]
        header = header_bytes[direction]
        at = 0 if direction == 'rx' else 2
        for ifname, address, packets, nbytes in found:
            addresses = counted.get(ifname)
            if addresses is None:
                addresses = counted[ifname] = {}
            values = addresses.get(address)
            if values is None:
                values = addresses[address] = [0, 0, 0, 0]
            values[at] = nbytes + header * packets
            values[at + 1] = packets
    make = hooks.AddressCounters._make
    return {ifname: {address: make(values) for address, values in addresses.items()}
            for ifname, addresses in counted.items()}


class ElementReader:
    """The elements of the table's sets with their counters, read by
    nfnetlink (one NFT_MSG_GETSETELEM dump per set) on a socket opened in
    the namespace of an ip_lib.IPHandle."""

    def __init__(self, ip, layout):
        self.layout = layout
        self._route = ip.call(lambda ipr: ip_lib._RawRoute(
            socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)))
        self._lock = threading.Lock()
        self._keys = {}           # element key bytes -> (ifname, address)
        self._layouts = {}        # element length -> ElementLayout

    def __call__(self):
        """{set name: [(ifname, address, packets, bytes)]}, or None when the
        table (or a set of it) does not exist."""
        out = {}
        with self._lock:
            for name in SETS:
                payload = (_NFGENMSG.pack(self.layout.nfproto, 0, 0)
                           + ip_lib._rtattr(NFTA_SET_ELEM_LIST_TABLE,
                                            TABLE_NAME.encode() + b'\0')
                           + ip_lib._rtattr(NFTA_SET_ELEM_LIST_SET, name.encode() + b'\0'))
                try:
                    answers = self._route.dump(NFT_GETSETELEM, payload)
                except ip_lib.NetlinkError as exc:
                    if exc.errno == errno.ENOENT:
                        return None
                    raise
                out[name] = [element for kind, data, start, end in answers
                             if kind == NFT_NEWSETELEM
                             for element in parse_elements(data, start, end, self._keys,
                                                           self._layouts)]
            if len(self._keys) > 2 * sum(map(len, out.values())) + 64:
                self._keys = {}         # keys of elements long deleted
        return out

    def close(self):
        self._route.close()


class AddressCounters:
    """The counted addresses of one driver's VIFs (``layout``: BRIDGE or
    NETDEV).  ``ip`` returns an ip_lib.IPHandle of the namespace (for the
    reader's socket); ``runner(args, text=None)`` runs nft there for
    changes; ``read_elements`` is an ElementReader (tests give fakes of
    both).  Every method takes the object's lock: the agent's thread counts
    while the statistics thread reads."""

    def __init__(self, ip, namespace, layout, runner=None, read_elements=None):
        self._ip = ip
        self.layout = layout
        self.read_elements = read_elements
        self.runner = runner or (lambda args, text=None: nft_firewall.run_nft(
            namespace, args, text))
        self._lock = threading.Lock()
        self._counted = None      # {ifname: {address}} in the table; None: read it
        self._defined = False     # base_definitions applied by this process

    def read(self):
        """{ifname: {address: hooks.AddressCounters}} of every counted
        address: one listing."""
        with self._lock:
            if not self._current():
                return {}
            return address_counters(self._elements() or {}, self.layout.header_bytes)

    def count(self, details):
        """hooks.PortCounters.count_addresses: one transaction."""
        with self._lock:
            lines = [] if self._defined else base_definitions(self.layout)
            counted = self._current()
            for d in details:
                ifname = base.vif_name(d['port_id'])
                want = set(counters.counted_addresses(d))
                have = counted.get(ifname)
                if have is None:
                    lines += device_lines(self.layout, 'add', ifname)
                    have = set()
                lines += element_lines(self.layout, 'delete', ifname, have - want)
                lines += element_lines(self.layout, 'add', ifname, want - have)
                counted[ifname] = want
            self._apply(lines)
            self._defined = True

    def uncount(self, port_id):
        with self._lock:
            ifname = base.vif_name(port_id)
            have = self._current().pop(ifname, None)
            if have is not None:
                self._apply(element_lines(self.layout, 'delete', ifname, have)
                            + device_lines(self.layout, 'delete', ifname))

    def reset(self, ifnames):
        """Counters of these VIFs' addresses back to 0 (a VIF plugged
        again), their chains bound again to the new device."""
        with self._lock:
            counted = self._current()
            lines = []
            for ifname in ifnames:
                if ifname in counted:
                    lines += (element_lines(self.layout, 'delete', ifname, counted[ifname])
                              + device_lines(self.layout, 'delete', ifname)
                              + device_lines(self.layout, 'add', ifname)
                              + element_lines(self.layout, 'add', ifname, counted[ifname]))
            self._apply(lines)

    def remove_all(self):
        """Delete the table (the driver's cleanup_all)."""
        with self._lock:
            self._counted = None
            self._defined = False
            if TABLE_NAME in self.runner(['list', 'tables', self.layout.family]):
                self.runner(['delete', 'table', table_of(self.layout)])

    def close(self):
        if isinstance(self.read_elements, ElementReader):
            self.read_elements.close()
            self.read_elements = None

    def _current(self):
        """{ifname: {address}} counted in the table, read once per process
        (and after a failed transaction)."""
        if self._counted is None:
            found = address_counters(self._elements() or {}, self.layout.header_bytes)
            self._counted = {ifname: set(addresses) for ifname, addresses in found.items()}
        return self._counted

    def _elements(self):
        if self.read_elements is None:
            self.read_elements = ElementReader(self._ip(), self.layout)
        return self.read_elements()

    def _apply(self, lines):
        if not lines:
            return
        try:
            self.runner(['-f', '-'], '\n'.join(lines) + '\n')
        except Exception:
            # What the table holds is read again before the next change.
            self._counted = None
            self._defined = False
            raise
