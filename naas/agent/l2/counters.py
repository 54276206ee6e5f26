"""What both drivers' port counters (naas.agent.l2.hooks.PortCounters) share.

What is counted, the same on both drivers, so that a test or a user can
predict the figures:

* port counters are the host side's counters of the VIF (the tap/veth host
  end on the Linux bridge driver, the OVS Interface on the Open vSwitch
  driver) turned round to the VM's view: the host's tx is the VM's rx.
  Bytes are Ethernet frame bytes: the 14-byte Ethernet header included, no
  preamble, no FCS (a 56-byte ping is 98 bytes each way).  Every frame
  counts, ARP and DHCP too, and frames the port filter drops after they
  left the VM (they were sent);
* address counters count IPv4/IPv6 packets of one address of the port (a
  fixed IP, or an allowed address pair with a single address; a pair with a
  wider prefix is not counted): tx = sent by the port from that source
  address, rx = delivered to the port for that destination address.  Bytes
  are Ethernet frame bytes too, so that the sum over a port's addresses is
  at most its IP share of the port counters.  Multicast and broadcast
  destinations are not any address's.

:class:`LinkCounters` reads the counters of every link of a namespace with
one RTM_GETSTATS dump (IFLA_STATS_LINK_64 only: ~200 bytes a link, where an
RTM_GETLINK message carries some fifty attributes that cost ~40 ms to walk
for 1,000 links in Python), and names the links from a link dump made only
when the set of links changed since the last one.
"""
import collections
import ipaddress
import socket
import struct
import threading

from naas.agent.l2 import hooks
from naas.host import ip_lib

#: The Ethernet header the address counters add per packet where the
#: datapath counts from the IP header on (nftables' bridge family).
ETH_HLEN = 14

RTM_NEWSTATS = 92
RTM_GETSTATS = 94
IFLA_STATS_LINK_64 = 1
#: struct if_stats_msg: family, pad, pad, ifindex, filter_mask.
_IF_STATS_MSG = struct.Struct('=BBHII')
#: struct rtnl_link_stats64: its first eight u64 fields.
_STATS64 = struct.Struct('=8Q')

#: A link's counters as its own host side sees them (the kernel's names).
LinkStats = collections.namedtuple(
    'LinkStats', 'index name alias rx_packets tx_packets rx_bytes tx_bytes '
                 'rx_errors tx_errors rx_dropped tx_dropped')


def vm_view(host):
    """hooks.Counters as the VM sees them, from the host side's counters
    (any object with the kernel's counter names): what the host end
    transmitted, the VM received."""
    # (Positional, in the order of hooks.Counters: rx_bytes rx_packets
    # tx_bytes tx_packets rx_dropped tx_dropped rx_errors tx_errors.)
    return hooks.Counters(host.tx_bytes, host.tx_packets, host.rx_bytes, host.rx_packets,
                          host.tx_dropped, host.rx_dropped, host.tx_errors, host.rx_errors)


def counted_addresses(details):
    """{address: mac} of the port's addresses that are counted: its fixed IPs
    (the port's MAC) and each allowed address pair that is one address (its
    own MAC if it has one), in the kernel's spelling."""
    out = {}
    for fixed in details.get('fixed_ips') or ():
        out[str(ipaddress.ip_address(fixed['ip_address']))] = details['mac_address']
    for pair in details.get('allowed_address_pairs') or ():
        network = ipaddress.ip_network(pair['ip_address'], strict=False)
        if network.num_addresses == 1:
            out.setdefault(str(network.network_address),
                           pair.get('mac_address') or details['mac_address'])
    return out


def sample_data(port_id, network_id, sample):
    """One port of StatisticsAPI.report_statistics: a PortSample as a compact
    row (naas.rpc.statistics_api; the fields of hooks.Counters and
    AddressCounters are in its order)."""
    return [port_id, network_id, sample.vif, list(sample.counters),
            {address: list(counters) for address, counters in sample.addresses.items()}]


def parse_stats(data, offset, end):
    """(ifindex, the first eight counters of rtnl_link_stats64) of one
    RTM_NEWSTATS body (after the nlmsghdr); zeros without the attribute."""
    ifindex = _IF_STATS_MSG.unpack_from(data, offset)[3]
    attrs = ip_lib._attrs(data, offset + _IF_STATS_MSG.size, end)
    if IFLA_STATS_LINK_64 not in attrs:
        return ifindex, (0,) * 8
    return ifindex, _STATS64.unpack_from(data, attrs[IFLA_STATS_LINK_64][0])


class LinkCounters:
    """The counters of the links of the namespace of an ip_lib.IPHandle,
    on a raw netlink socket of its own opened there (the handle's socket
    serves the driver's threads; the statistics thread never waits for
    them)."""

    def __init__(self, ip):
        self._route = ip.call(lambda ipr: ip_lib._RawRoute(
            socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, ip_lib.NETLINK_ROUTE)))
        self._lock = threading.Lock()
        self._names = {}          # ifindex -> (name, alias), from the last link dump

    def read(self):
        """[LinkStats] of every link of the namespace: one RTM_GETSTATS
        dump, plus one link dump when links came or went since the last."""
        payload = _IF_STATS_MSG.pack(0, 0, 0, 0, 1 << (IFLA_STATS_LINK_64 - 1))
        with self._lock:
            stats = dict(parse_stats(data, start, end) for kind, data, start, end
                         in self._route.dump(RTM_GETSTATS, payload) if kind == RTM_NEWSTATS)
            if stats.keys() != self._names.keys():
                self._names = {link.index: (link.name, link.alias)
                               for link in self._route.links()}
        return [LinkStats(index, *self._names[index], *counters)
                for index, counters in stats.items() if index in self._names]

    def close(self):
        self._route.close()
