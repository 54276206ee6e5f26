"""Port counters of the Linux bridge driver (naas.agent.l2.hooks.PortCounters).

Port counters: one netlink statistics dump of the driver's namespace per
pass (naas.agent.l2.counters.LinkCounters), the VIF host ends picked by
name and ifalias as the driver scans them; ``vif`` is the host end's
ifindex.

Address counters: nftables, in a table of their own that nothing else
touches, in the driver's namespace::

    table bridge naas-stats
        set tx4 { type ifname . ipv4_addr; counter; }   (and rx4, tx6, rx6)
        chain count { type filter hook forward priority 100; policy accept;
            iifname . ip saddr @tx4       (the VM sent from the address)
            oifname . ip daddr @rx4       (delivered to the VM for it)
            ... ip6 ... @tx6 / @rx6 }

Each element (a VIF name and one of its addresses) has its own counter,
which a lookup that matches increments; the chain only looks up, it never
drops or accepts anything, and it runs after the port filter (priority
-100) and QoS policing (0), so that it counts what the bridge delivers.
``count_addresses`` is one ``nft -f -`` transaction per batch that adds
and deletes elements (adding an element that exists keeps its counter);
``port_counters`` reads all counters by nfnetlink, one element dump per
set (:class:`ElementReader`; no nft process per pass).
nftables counts from the IP header on in the bridge family: the reported
bytes add the Ethernet header (naas.agent.l2.counters says what is
counted).

Elements are keyed by interface name, which a VIF plugged again keeps: when
a port's ifindex changes between two passes its address counters are reset
(deleted and added again) so that they start at 0 with the new ``vif``, as
the port counters do.
"""
import errno
import ipaddress
import logging
import socket
import struct
import threading

from naas.agent.l2 import base
from naas.agent.l2 import counters
from naas.agent.l2 import hooks
from naas.agent.l2 import nft_firewall
from naas.host import ip_lib

LOG = logging.getLogger(__name__)

TABLE = 'bridge naas-stats'
TABLE_NAME = 'naas-stats'
CHAIN = 'count'
#: set name -> (direction as the VM sees it, IP version, its rule)
SETS = {
    'tx4': ('tx', 4, 'iifname . ip saddr @tx4'),
    'rx4': ('rx', 4, 'oifname . ip daddr @rx4'),
    'tx6': ('tx', 6, 'iifname . ip6 saddr @tx6'),
    'rx6': ('rx', 6, 'oifname . ip6 daddr @rx6'),
}
#: After the port filter's forward chain (-100) and QoS policing (0).
PRIORITY = 100

# nfnetlink (linux/netfilter/nfnetlink.h, nf_tables.h)
NETLINK_NETFILTER = 12
NFPROTO_BRIDGE = 7
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


def base_definitions():
    """The table, its sets and its chain: idempotent (the sets and their
    elements are kept; the chain's rules are written again)."""
    lines = ['add table %s' % TABLE]
    for name, (_direction, version, _rule) in sorted(SETS.items()):
        lines.append('add set %s %s { type ifname . ipv%d_addr ; counter ; }'
                     % (TABLE, name, version))
    lines.append('add chain %s %s { type filter hook forward priority %d ; policy accept ; }'
                 % (TABLE, CHAIN, PRIORITY))
    lines.append('flush chain %s %s' % (TABLE, CHAIN))
    lines += ['add rule %s %s %s' % (TABLE, CHAIN, SETS[name][2]) for name in sorted(SETS)]
    return lines


def _set_of(direction, address):
    return '%s%d' % (direction, ipaddress.ip_address(address).version)


def element_lines(verb, ifname, addresses):
    """``add``/``delete element`` lines for ``addresses`` of ``ifname``, in
    both directions, one line per set."""
    by_set = {}
    for address in sorted(addresses):
        for direction in ('tx', 'rx'):
            by_set.setdefault(_set_of(direction, address), []).append(
                '"%s" . %s' % (ifname, address))
    return ['%s element %s %s { %s }' % (verb, TABLE, name, ', '.join(items))
            for name, items in sorted(by_set.items())]


def _decode_key(raw):
    """(ifname, address) of an element's key: IFNAMSIZ bytes of name, then
    the address (4 or 16 bytes)."""
    address = raw[IFNAMSIZ:]
    return (raw[:IFNAMSIZ].split(b'\0', 1)[0].decode(),
            socket.inet_ntop(socket.AF_INET if len(address) == 4 else socket.AF_INET6, address))


def _counter(data, expression):
    """(packets, bytes) of a counter expression's attributes (span)."""
    expr = ip_lib._attrs(data, *expression)
    if NFTA_EXPR_DATA not in expr:
        return 0, 0
    counter = ip_lib._attrs(data, *expr[NFTA_EXPR_DATA])
    return (_BE64.unpack_from(data, counter[NFTA_COUNTER_PACKETS][0])[0]
            if NFTA_COUNTER_PACKETS in counter else 0,
            _BE64.unpack_from(data, counter[NFTA_COUNTER_BYTES][0])[0]
            if NFTA_COUNTER_BYTES in counter else 0)


def parse_elements(data, offset, end, keys=None):
    """[(ifname, address, packets, bytes)] of one NFT_MSG_NEWSETELEM body
    (after the nlmsghdr) of a set keyed ``ifname . ipv4_addr`` or
    ``ifname . ipv6_addr`` with a counter per element.  ``keys``: a dict
    that caches decoded keys from one dump to the next."""
    attrs = ip_lib._attrs(data, offset + _NFGENMSG.size, end)
    if NFTA_SET_ELEM_LIST_ELEMENTS not in attrs:
        return []
    keys = {} if keys is None else keys
    out = []
    position, stop = attrs[NFTA_SET_ELEM_LIST_ELEMENTS]
    while position + 4 <= stop:
        length = ip_lib._RTATTR.unpack_from(data, position)[0]
        element = ip_lib._attrs(data, position + 4, position + length)
        position += (length + 3) & ~3
        if NFTA_SET_ELEM_KEY not in element:
            continue
        # The key attribute holds one NFTA_DATA_VALUE: its payload follows
        # its 4-byte header.
        key_start, key_end = element[NFTA_SET_ELEM_KEY]
        raw = bytes(data[key_start + 4:key_end])
        decoded = keys.get(raw)
        if decoded is None:
            decoded = keys[raw] = _decode_key(raw)
        expression = element.get(NFTA_SET_ELEM_EXPR)
        if expression is None and NFTA_SET_ELEM_EXPRESSIONS in element:
            # a list of expressions: the counter is the set's only one
            expression = ip_lib._attrs(data, *element[NFTA_SET_ELEM_EXPRESSIONS]).get(
                NFTA_LIST_ELEM)
        packets, nbytes = _counter(data, expression) if expression is not None else (0, 0)
        out.append((decoded[0], decoded[1], packets, nbytes))
    return out


def address_counters(elements):
    """{ifname: {address: hooks.AddressCounters}} from {set name: [(ifname,
    address, packets, bytes)]}, bytes with the Ethernet header added."""
    seen = {}
    for name, found in elements.items():
        direction = SETS[name][0]
        for ifname, address, packets, nbytes in found:
            seen.setdefault(ifname, {}).setdefault(address, {})[direction] = (packets, nbytes)
    out = {}
    for ifname, addresses in seen.items():
        out[ifname] = {}
        for address, counted in addresses.items():
            tx_packets, tx_bytes = counted.get('tx', (0, 0))
            rx_packets, rx_bytes = counted.get('rx', (0, 0))
            out[ifname][address] = hooks.AddressCounters(
                rx_bytes=rx_bytes + counters.ETH_HLEN * rx_packets, rx_packets=rx_packets,
                tx_bytes=tx_bytes + counters.ETH_HLEN * tx_packets, tx_packets=tx_packets)
    return out


class ElementReader:
    """The elements of the table's sets with their counters, read by
    nfnetlink (one NFT_MSG_GETSETELEM dump per set) on a socket opened in
    the namespace of an ip_lib.IPHandle: no nft process per pass (``nft
    list`` of 2,000 elements costs ~50 ms of CPU)."""

    def __init__(self, ip):
        self._route = ip.call(lambda ipr: ip_lib._RawRoute(
            socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)))
        self._lock = threading.Lock()
        self._keys = {}           # element key bytes -> (ifname, address)

    def __call__(self):
        """{set name: [(ifname, address, packets, bytes)]}, or None when the
        table (or a set of it) does not exist."""
        out = {}
        with self._lock:
            for name in SETS:
                payload = (_NFGENMSG.pack(NFPROTO_BRIDGE, 0, 0)
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
                             for element in parse_elements(data, start, end, self._keys)]
            if len(self._keys) > 2 * sum(map(len, out.values())) + 64:
                self._keys = {}         # keys of elements long deleted
        return out

    def close(self):
        self._route.close()


class LinuxBridgeCounters:
    """hooks.PortCounters for naas.agent.l2.linuxbridge.LinuxBridgeDriver,
    which delegates to it.  ``ip`` returns the driver's ip_lib.IPHandle;
    ``runner(args, text=None)`` runs nft in the namespace for changes;
    ``read_elements`` is an ElementReader (tests give fakes of both)."""

    def __init__(self, ip, namespace, runner=None, read_elements=None):
        self._ip = ip
        self._dump = None
        self.read_elements = read_elements
        self.runner = runner or (lambda args, text=None: nft_firewall.run_nft(
            namespace, args, text))
        self._lock = threading.Lock()
        self._counted = None      # {ifname: {address}} in the table; None: read it
        self._defined = False     # base_definitions applied by this process
        self._ifindex = {}        # port_id -> ifindex at the last pass

    # ---- hooks.PortCounters ----------------------------------------------------

    def port_counters(self, port_ids):
        if self._dump is None:
            self._dump = counters.LinkCounters(self._ip())
        wanted = set(port_ids)
        links = {link.alias: link for link in self._dump.read()
                 if link.alias in wanted and link.name == base.vif_name(link.alias)}
        with self._lock:
            addresses = address_counters(self._elements() or {}) if self._current() else {}
            replugged = [port_id for port_id, link in links.items()
                         if self._ifindex.get(port_id, link.index) != link.index]
            self._ifindex = {port_id: link.index for port_id, link in links.items()}
            if replugged:
                self._reset([links[port_id].name for port_id in replugged])
        return {port_id: hooks.PortSample(
                    vif=str(link.index), counters=counters.vm_view(link),
                    addresses={} if port_id in replugged else addresses.get(link.name, {}))
                for port_id, link in links.items()}

    def count_addresses(self, details):
        with self._lock:
            lines = [] if self._defined else base_definitions()
            counted = self._current()
            for d in details:
                ifname = base.vif_name(d['port_id'])
                want = set(counters.counted_addresses(d))
                have = counted.get(ifname, set())
                lines += element_lines('delete', ifname, have - want)
                lines += element_lines('add', ifname, want - have)
                counted[ifname] = want
            self._apply(lines)
            self._defined = True

    def uncount_port(self, port_id):
        with self._lock:
            ifname = base.vif_name(port_id)
            self._ifindex.pop(port_id, None)
            have = self._current().pop(ifname, set())
            self._apply(element_lines('delete', ifname, have))

    def remove_all(self):
        """Delete the table (naas-cleanup, the driver's cleanup_all)."""
        with self._lock:
            self._counted = None
            self._defined = False
            if TABLE_NAME in self.runner(['list', 'tables', 'bridge']):
                self.runner(['delete', 'table', TABLE])

    def close(self):
        if self._dump is not None:
            self._dump.close()
            self._dump = None
        if isinstance(self.read_elements, ElementReader):
            self.read_elements.close()
            self.read_elements = None

    # ---- the table -----------------------------------------------------------------

    def _current(self):
        """{ifname: {address}} counted in the table, read once per process
        (and after a failed transaction)."""
        if self._counted is None:
            found = address_counters(self._elements() or {})
            self._counted = {ifname: set(addresses) for ifname, addresses in found.items()}
        return self._counted

    def _elements(self):
        if self.read_elements is None:
            self.read_elements = ElementReader(self._ip())
        return self.read_elements()

    def _reset(self, ifnames):
        counted = self._current()
        lines = []
        for ifname in ifnames:
            lines += element_lines('delete', ifname, counted.get(ifname, ()))
            lines += element_lines('add', ifname, counted.get(ifname, ()))
        self._apply(lines)

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
