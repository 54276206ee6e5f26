"""Port counters of the Open vSwitch driver (naas.agent.l2.hooks.PortCounters).

Port counters: the Interface rows of the VIFs (external_ids iface-id) in
the driver's OVSDB replica, read in one pass under the IDL's lock (no
request to the server): ``statistics`` (ovs-vswitchd refreshes the column
every 5 s, other_config:stats-update-interval, which cannot be lower) turned
round to the VM's view; ``vif`` is ``<ofport>/<ifindex>``.

Address counters: nftables, ``netdev naas-stats`` in the driver's namespace
(naas.agent.l2.counters_nft, layout NETDEV): chains on the ingress and
egress hooks of each VIF's host end, so that they count in the kernel what
the port counters count, whatever the datapath.  Not OpenFlow flow
statistics: flows count what reaches ovs-vswitchd, and on the userspace
datapath (netdev, AF_PACKET ports) frames the VM sends faster than
ovs-vswitchd reads them are dropped at its socket (a burst of 20,000 UDP
datagrams on a loaded test machine: port tx 20,001, a counting flow 6,548);
the netdev hooks also leave br-int's flows, the firewall's and QoS's
exactly as they are.

Elements are keyed by interface name, which a VIF plugged again keeps: when
a port's ``vif`` changes between two passes its address counters are reset
and its chains bound to the new device.
"""
import operator
import threading

from naas.agent.l2 import counters
from naas.agent.l2 import counters_nft
from naas.agent.l2 import hooks
from naas.host import ip_lib


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


def _first(row, column, default):
    return next(iter(_column(row, column)), default)


def interface_counters(api, port_ids, known=None):
    """{port_id: (vif, counters.LinkStats)} of the plugged VIFs among
    ``port_ids``, from the OVSDB replica of ``api`` (one pass, no request).
    ``known``: a dict kept from one pass to the next, {row uuid: (the row's
    external_ids, ofport, ifindex and name data, port_id, vif, ifindex,
    name)}: a column the replica did not change since is not decoded again
    (it replaces a column's data on each update)."""
    out = {}
    fields = counters.LinkStats._fields[3:]
    known = {} if known is None else known
    with api.ovsdb_connection.lock:
        seen = set()
        for uuid, row in api.tables['Interface'].rows.items():
            data = row._data
            if data is None:
                continue
            identity = (data.get('external_ids'), data.get('ofport'), data.get('ifindex'),
                        data.get('name'))
            entry = known.get(uuid)
            if entry is None or any(map(operator.is_not, identity, entry[:4])):
                ofport = _first(row, 'ofport', -1)
                ifindex = _first(row, 'ifindex', 0)
                entry = known[uuid] = identity + (
                    _column(row, 'external_ids').get('iface-id'),
                    '%d/%d' % (ofport, ifindex) if ofport > 0 else None,
                    ifindex, _first(row, 'name', ''))
            seen.add(uuid)
            port_id, vif, ifindex, name = entry[4:]
            if vif is None or port_id not in port_ids:
                continue
            stats = _column(row, 'statistics')
            out[port_id] = (vif, counters.LinkStats(
                ifindex, name, port_id, *[stats.get(field, 0) for field in fields]))
        for uuid in set(known) - seen:
            del known[uuid]
    return out


class OvsCounters:
    """hooks.PortCounters for naas.agent.l2.openvswitch.OpenvSwitchDriver,
    which delegates to it.  ``api`` returns the driver's OVSDB API;
    ``namespace`` is the driver's (where the VIFs' host ends are);
    ``runner`` and ``read_elements``: see counters_nft.AddressCounters."""

    def __init__(self, api, namespace, runner=None, read_elements=None):
        self._api = api
        self.namespace = namespace
        self._ip = None
        self.addresses = counters_nft.AddressCounters(
            self._handle, namespace, counters_nft.NETDEV, runner=runner,
            read_elements=read_elements)
        self._lock = threading.Lock()
        self._vifs = {}           # port_id -> vif at the last pass
        self._interfaces = {}     # interface_counters' known rows

    def _handle(self):
        """A netlink handle in the namespace, for the nfnetlink socket."""
        if self._ip is None:
            self._ip = ip_lib.IPHandle(self.namespace)
        return self._ip

    def port_counters(self, port_ids):
        interfaces = interface_counters(self._api(), set(port_ids), self._interfaces)
        with self._lock:
            addresses = self.addresses.read()
            replugged = [port_id for port_id, (vif, _link) in interfaces.items()
                         if self._vifs.get(port_id, vif) != vif]
            self._vifs = {port_id: vif for port_id, (vif, _link) in interfaces.items()}
        if replugged:
            self.addresses.reset([interfaces[port_id][1].name for port_id in replugged])
        return {port_id: hooks.PortSample(
                    vif, counters.vm_view(link),
                    {} if port_id in replugged else addresses.get(link.name, {}))
                for port_id, (vif, link) in interfaces.items()}

    def count_addresses(self, details):
        self.addresses.count(details)

    def uncount_port(self, port_id):
        with self._lock:
            self._vifs.pop(port_id, None)
        self.addresses.uncount(port_id)

    def remove_all(self):
        """Delete the table (the driver's cleanup_all)."""
        self.addresses.remove_all()

    def close(self):
        self.addresses.close()
        if self._ip is not None:
            self._ip.close()
            self._ip = None
