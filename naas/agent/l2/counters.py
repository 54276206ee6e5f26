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

:func:`link_stats` reads the counters of every link of a namespace with one
RTM_GETLINK dump, decoding only the name, alias and IFLA_STATS64 of each
message (pyroute2 decodes every attribute: ~50x slower, see
naas.host.ip_lib).
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

IFLA_STATS64 = 23
#: struct rtnl_link_stats64: the first eight of its u64 fields.
_STATS64 = struct.Struct('=8Q')

#: A link's counters as its own host side sees them (the kernel's names).
LinkStats = collections.namedtuple(
    'LinkStats', 'index name alias rx_packets tx_packets rx_bytes tx_bytes '
                 'rx_errors tx_errors rx_dropped tx_dropped')


def vm_view(host):
    """hooks.Counters as the VM sees them, from the host side's counters
    (any object with the kernel's counter names): what the host end
    transmitted, the VM received."""
    return hooks.Counters(
        rx_bytes=host.tx_bytes, rx_packets=host.tx_packets,
        tx_bytes=host.rx_bytes, tx_packets=host.rx_packets,
        rx_dropped=host.tx_dropped, tx_dropped=host.rx_dropped,
        rx_errors=host.tx_errors, tx_errors=host.rx_errors)


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


def sample_data(port_id, sample):
    """One port of StatisticsAPI.report_statistics: a PortSample as plain data."""
    return {'port_id': port_id, 'vif': sample.vif,
            'counters': sample.counters._asdict(),
            'addresses': {address: counters._asdict()
                          for address, counters in sample.addresses.items()}}


def parse_link_stats(data, offset, end):
    """LinkStats of one RTM_NEWLINK body (after the nlmsghdr); counters 0
    when the message has no IFLA_STATS64."""
    index = ip_lib._IFINFOMSG.unpack_from(data, offset)[2]
    attrs = ip_lib._attrs(data, offset + ip_lib._IFINFOMSG.size, end)
    name = ip_lib._str(data, attrs[ip_lib.IFLA_IFNAME]) if ip_lib.IFLA_IFNAME in attrs else ''
    alias = (ip_lib._str(data, attrs[ip_lib.IFLA_IFALIAS])
             if ip_lib.IFLA_IFALIAS in attrs else None)
    stats = (_STATS64.unpack_from(data, attrs[IFLA_STATS64][0])
             if IFLA_STATS64 in attrs else (0,) * 8)
    return LinkStats(index, name, alias, *stats)


class LinkDump:
    """One raw netlink socket in the namespace of an ip_lib.IPHandle, for
    the counter dumps of the statistics thread (the handle's own socket
    serves the driver's threads; this one never waits for them)."""

    def __init__(self, ip):
        self._route = ip.call(lambda ipr: ip_lib._RawRoute(
            socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, ip_lib.NETLINK_ROUTE)))
        self._lock = threading.Lock()

    def links(self):
        """[LinkStats] of every link of the namespace: one dump."""
        payload = ip_lib._IFINFOMSG.pack(0, 0, 0, 0, 0)
        with self._lock:
            answers = self._route.dump(ip_lib.RTM_GETLINK, payload)
        return [parse_link_stats(data, start, end) for kind, data, start, end in answers
                if kind == ip_lib.RTM_NEWLINK]

    def close(self):
        self._route.close()
