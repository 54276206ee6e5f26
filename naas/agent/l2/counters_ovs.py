"""Port counters of the Open vSwitch driver (naas.agent.l2.hooks.PortCounters).

Port counters: the Interface rows of the VIFs (external_ids iface-id) in
the driver's OVSDB replica, read in one pass under the IDL's lock (no
request to the server): ``statistics`` (ovs-vswitchd refreshes the column
every 5 s, other_config:stats-update-interval, which cannot be lower) turned
round to the VM's view; ``vif`` is ``<ofport>/<ifindex>``.

Address counters: OpenFlow flow statistics of br-int, in two tables of
their own under a cookie of their own (not the driver's generation cookie:
the driver's bundles, reconcile and cleanup never touch these flows)::

    table 0  prio 65535 reg2=0/0x20000
             load:1->reg2[17],resubmit(,81),resubmit(,82),resubmit(,0)
    table 81 prio 1  ip,dl_src=<MAC>,nw_src=<address>  (no action: counts)
                     ipv6,dl_src=<MAC>,ipv6_src=<address>
    table 82 prio 1  ip,dl_dst=<MAC>,nw_dst=<address>
                     ipv6,dl_dst=<MAC>,ipv6_dst=<address>

Every packet that enters br-int (from a VIF, a patch port, a tunnel
through br-tun) passes table 0's entry flow once: it looks the packet up
in table 81 (the VM sent it: its MAC and source address) and table 82 (it
is for the VM: its MAC and destination address), flags it in reg2 bit 17,
and goes through table 0 again, where the flag keeps it from matching a
second time: the driver's flows, the firewall's and QoS's (which flags
reg2 bit 16 the same way) see the packet as before.  Both tables count
and do nothing else.  Packets are counted as br-int receives them: before
the port filter (a packet it drops was counted); flow bytes are Ethernet
frame bytes (naas.agent.l2.counters).  ovs-vswitchd updates flow
statistics from the datapath about once a second.

So an address's tx is what reached ovs-vswitchd, where the port's tx is
what the kernel took from the VM: on the userspace datapath (netdev,
AF_PACKET ports) frames the VM sends faster than ovs-vswitchd reads them
are dropped at its socket and count in the port's tx only (a burst of
20,000 UDP datagrams on a loaded test machine: port tx 20,001, address tx
6,548, the receiver got 6,549).  The kernel datapath has no such queue.

Flows are keyed by MAC and address, which a VIF plugged again keeps: when
a port's ``vif`` changes between two passes its flows are replaced
(counters at 0), as the port counters start again.  A pass that finds the
entry flow missing (ovs-vswitchd restarted with an empty table) installs
every flow again.
"""
import ipaddress
import logging
import re
import threading

from naas.agent.l2 import counters
from naas.agent.l2 import hooks

LOG = logging.getLogger(__name__)

#: "NSTA": not the driver's "NAAS" mark (naas.agent.l2.ovs_flows).
COOKIE = 0x4E535441 << 32
TX_TABLE = 81
RX_TABLE = 82
#: reg2 bit 17 (QoS uses bit 16): the packet went through the tables.
FLAG_MATCH = 'reg2=0/0x20000'
ENTRY = ('table=0,priority=65535,%s' % FLAG_MATCH,
         'load:1->NXM_NX_REG2[17],resubmit(,%d),resubmit(,%d),resubmit(,0)'
         % (TX_TABLE, RX_TABLE))

#: One counting flow in ``ovs-ofctl dump-flows`` output (OpenFlow 1.4).
_FLOW = re.compile(
    r'table=(\d+), n_packets=(\d+), n_bytes=(\d+), priority=1,ipv?6?,'
    r'dl_[sd][rs][ct]=([0-9a-f:]+),(?:nw|ipv6)_[sd][rs][ct]=([0-9a-f.:]+)')


def address_matches(mac, address):
    """{table: match} of one counted address (without table and priority)."""
    if ipaddress.ip_address(address).version == 4:
        return {TX_TABLE: 'ip,dl_src=%s,nw_src=%s' % (mac, address),
                RX_TABLE: 'ip,dl_dst=%s,nw_dst=%s' % (mac, address)}
    return {TX_TABLE: 'ipv6,dl_src=%s,ipv6_src=%s' % (mac, address),
            RX_TABLE: 'ipv6,dl_dst=%s,ipv6_dst=%s' % (mac, address)}


def flow_lines(verb, pairs):
    """``add`` / ``delete_strict`` flow mods of the (address, mac) pairs."""
    out = []
    for address, mac in sorted(pairs):
        for table, match in sorted(address_matches(mac, address).items()):
            head = 'cookie=%#x,table=%d,priority=1,%s' % (COOKIE, table, match)
            out.append('add %s,actions=' % head if verb == 'add'
                       else 'delete_strict %s' % head)
    return out


def entry_line():
    return 'add cookie=%#x,%s,actions=%s' % (COOKIE, ENTRY[0], ENTRY[1])


def parse_flows(lines):
    """({(table, mac, address): (packets, bytes)}, entry flow present) from
    ``ovs-ofctl dump-flows`` lines of the cookie."""
    text = '\n'.join(lines)
    found = {(int(table), mac, address): (int(packets), int(nbytes))
             for table, packets, nbytes, mac, address in _FLOW.findall(text)}
    return found, ', table=0, ' in text and FLAG_MATCH in text


def _column(row, column):
    """The atoms of one column of a replica row: {key: value} (a map) or
    {value: None} (a set, an optional value), from the row's committed
    data.  Row attributes convert every column through python-ovs's Datum
    objects (~150 us a row: 80 ms for 500 interfaces); this reads the same
    data without the conversion."""
    datum = row._data.get(column) if row._data is not None else None
    if datum is None:
        return {}
    return {key.value: value.value if value is not None else None
            for key, value in datum.values.items()}


def interface_counters(api, port_ids):
    """{port_id: (vif, counters.LinkStats)} of the plugged VIFs among
    ``port_ids``, from the OVSDB replica of ``api`` (one pass, no request)."""
    out = {}
    fields = counters.LinkStats._fields[3:]
    with api.ovsdb_connection.lock:
        for row in api.tables['Interface'].rows.values():
            port_id = _column(row, 'external_ids').get('iface-id')
            if port_id not in port_ids:
                continue
            ofport = next(iter(_column(row, 'ofport')), -1)
            if ofport <= 0:
                continue
            stats = _column(row, 'statistics')
            ifindex = next(iter(_column(row, 'ifindex')), 0)
            out[port_id] = ('%d/%d' % (ofport, ifindex), counters.LinkStats(
                ifindex, next(iter(_column(row, 'name')), ''), port_id,
                *[stats.get(field, 0) for field in fields]))
    return out


class OvsCounters:
    """hooks.PortCounters for naas.agent.l2.openvswitch.OpenvSwitchDriver,
    which delegates to it.  ``api`` returns the driver's OVSDB API;
    ``ofctl`` is its naas.host.ovs_lib.OFCtl; ``bridge`` br-int."""

    def __init__(self, api, ofctl, bridge):
        self._api = api
        self.ofctl = ofctl
        self.bridge = bridge
        self._lock = threading.Lock()
        self._ports = {}          # port_id -> {address: mac} counted
        self._installed = None    # {(address, mac)} with flows; None: read them
        self._vifs = {}           # port_id -> vif at the last pass

    # ---- hooks.PortCounters ----------------------------------------------------

    def port_counters(self, port_ids):
        wanted = set(port_ids)
        interfaces = interface_counters(self._api(), wanted)
        with self._lock:
            flows, entry = parse_flows(self.ofctl.dump_flows(
                self.bridge, 'cookie=%#x/-1' % COOKIE))
            if not entry and self._ports:
                LOG.warning('address counter flows of %s are gone: installing them again',
                            self.bridge)
                self._installed = set()
                self._apply([])
            replugged = [port_id for port_id, (vif, _link) in interfaces.items()
                         if self._vifs.get(port_id, vif) != vif]
            self._vifs = {port_id: vif for port_id, (vif, _link) in interfaces.items()}
            if replugged:
                pairs = {pair for port_id in replugged
                         for pair in self._ports.get(port_id, {}).items()}
                self.ofctl.bundle(self.bridge, flow_lines('delete', pairs)
                                  + flow_lines('add', pairs))
            samples = {}
            for port_id, (vif, link) in interfaces.items():
                addresses = {}
                if port_id not in replugged:
                    for address, mac in self._ports.get(port_id, {}).items():
                        tx = flows.get((TX_TABLE, mac, address), (0, 0))
                        rx = flows.get((RX_TABLE, mac, address), (0, 0))
                        addresses[address] = hooks.AddressCounters(
                            rx_bytes=rx[1], rx_packets=rx[0], tx_bytes=tx[1], tx_packets=tx[0])
                samples[port_id] = hooks.PortSample(vif, counters.vm_view(link), addresses)
        return samples

    def count_addresses(self, details):
        with self._lock:
            for d in details:
                self._ports[d['port_id']] = counters.counted_addresses(d)
            self._apply(self._current())

    def uncount_port(self, port_id):
        with self._lock:
            self._vifs.pop(port_id, None)
            if self._ports.pop(port_id, None) is not None:
                self._apply(self._current())

    def remove_all(self):
        """Delete every flow of the cookie (the driver's cleanup_all)."""
        with self._lock:
            self._ports.clear()
            self._installed = None
            self.ofctl.bundle(self.bridge, ['delete cookie=%#x/-1' % COOKIE])

    # ---- the flows -------------------------------------------------------------------

    def _current(self):
        """The (address, mac) pairs with flows on the bridge, read once per
        process (and after a failed bundle); the entry flow is added again
        with any change (an add of the same flow keeps it)."""
        if self._installed is None:
            flows, _entry = parse_flows(self.ofctl.dump_flows(
                self.bridge, 'cookie=%#x/-1' % COOKIE))
            self._installed = {(address, mac) for (_table, mac, address) in flows}
        return self._installed

    def _apply(self, installed):
        """One bundle that makes the flows those of ``self._ports``."""
        wanted = {pair for pairs in self._ports.values() for pair in pairs.items()}
        installed = set(installed)
        lines = flow_lines('delete', installed - wanted) + flow_lines('add', wanted - installed)
        if not lines:
            return
        try:
            self.ofctl.bundle(self.bridge, [entry_line()] + lines)
        except Exception:
            self._installed = None
            raise
        self._installed = wanted
