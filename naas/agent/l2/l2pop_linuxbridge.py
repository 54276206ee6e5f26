"""L2 population on the Linux bridge driver (hooks.L2Population).

On the network's kernel VXLAN device ``vxlan-<vni>`` (made by the driver
with learning off, and the ARP/ND proxy flag on when ``[agent]
arp_responder`` is set), for each port of another host:

* a forwarding entry of the device (``bridge fdb replace MAC dev vxlan-N
  dst TUNNEL_IP self permanent``): unicast to that MAC goes to that host
  only.  The all-zeros entries (the flooding list, set_endpoints) still
  carry broadcast and unknown unicast to every host of the network;
* a neighbour entry per fixed IP (``ip neigh replace IP lladdr MAC dev
  vxlan-N nud permanent``): with arp_responder, the device's proxy answers
  the ARP requests and IPv6 neighbour solicitations of the local ports for
  it, so they never leave the host (without it they flood to the hosts of
  the network, and the entries wait unused).  With the proxy flag the device answers ARP from its
  neighbour table only: an ARP request for an address no port has (an
  allowed address pair that moves without telling) is not sent to other
  hosts, as with Neutron's Linux bridge ARP responder.

Nothing is kept in the process: the entries are read back from the device
(unicast entries with a destination that are not the bridge's; permanent
neighbour entries), so a restarted agent changes only what differs.  The
entries go with the device when the network leaves the host.
"""
import errno
import ipaddress
import logging

from naas.host import ip_lib

LOG = logging.getLogger(__name__)

NTF_SELF = 0x02
NUD_PERMANENT = 0x80


def _ip(address):
    return str(ipaddress.ip_address(address))


class LinuxBridgeL2Pop:
    """``ip()``: the driver's netlink handle (naas.host.ip_lib.IPHandle);
    ``vxlan_of(network_id)``: the network's VXLAN Link or None.  The driver
    calls these under its lock."""

    def __init__(self, ip, vxlan_of, tunnel_ip):
        self._ip = ip
        self.vxlan_of = vxlan_of
        self.tunnel_ip = tunnel_ip and _ip(tunnel_ip)

    @property
    def ip(self):
        return self._ip()

    def set_fdb(self, network_id, entries):
        device = self.vxlan_of(network_id)
        if device is None:
            if entries:
                LOG.debug('network %s has no VXLAN device here: %d entries not set',
                          network_id, len(entries))
            return
        self._apply(device, entries)

    def update_fdb(self, network_id, add, remove):
        device = self.vxlan_of(network_id)
        if device is None:
            return
        touched = {e.mac_address.lower() for e in list(add) + list(remove)}
        kept = [e for e in self._read(device) if e[1] not in touched]
        self._apply(device, kept + list(add))

    # ---- the device's entries ------------------------------------------------

    def _read(self, device):
        """[(dst, mac, (ips))] of the entries on the device now."""
        macs = {mac: dst for index, mac, dst, master in self.ip.fdb(device.index)
                if index == device.index and dst and not master
                and mac and mac != ip_lib.ZERO_MAC}
        ips = {}
        for address, mac in self._neighbours(device).items():
            ips.setdefault(mac, []).append(address)
        return [(dst, mac, tuple(sorted(ips.get(mac, ())))) for mac, dst in macs.items()]

    def _neighbours(self, device):
        """{ip: mac} of the device's permanent neighbour entries."""
        def dump(ipr):
            return {n.get_attr('NDA_DST'): n.get_attr('NDA_LLADDR')
                    for n in ipr.neigh('dump', ifindex=device.index)
                    if n['ifindex'] == device.index and n['state'] & NUD_PERMANENT
                    and n.get_attr('NDA_LLADDR')}
        return {_ip(address): mac.lower() for address, mac in self.ip.call(dump).items()}

    def _apply(self, device, entries):
        """Make the device's entries exactly ``entries`` (FdbEntry or tuples
        of the same form), those of this host left out."""
        want_macs, want_ips = {}, {}
        for tunnel_ip, mac, ips in entries:
            if not tunnel_ip or _ip(tunnel_ip) == self.tunnel_ip:
                continue
            mac = mac.lower()
            want_macs[mac] = _ip(tunnel_ip)
            want_ips.update((_ip(address), mac) for address in ips)
        have_macs = {mac: dst for index, mac, dst, master in self.ip.fdb(device.index)
                     if index == device.index and dst and not master
                     and mac and mac != ip_lib.ZERO_MAC}
        have_ips = self._neighbours(device)
        for mac, dst in sorted(want_macs.items()):
            if have_macs.get(mac) != dst:
                LOG.debug('%s: %s at %s', device.name, mac, dst)
                self.ip.call(lambda ipr: ipr.fdb('replace', ifindex=device.index, lladdr=mac,
                                                 dst=dst, flags=NTF_SELF,
                                                 state=NUD_PERMANENT))
        for address, mac in sorted(want_ips.items()):
            if have_ips.get(address) != mac:
                self.ip.call(lambda ipr: ipr.neigh('replace', ifindex=device.index,
                                                   dst=address, lladdr=mac,
                                                   state=NUD_PERMANENT))
        for address in sorted(set(have_ips) - set(want_ips)):
            self._ignore_missing(lambda ipr: ipr.neigh('del', ifindex=device.index,
                                                       dst=address))
        for mac in sorted(set(have_macs) - set(want_macs)):
            LOG.debug('%s: %s gone', device.name, mac)
            self._ignore_missing(lambda ipr: ipr.fdb('del', ifindex=device.index, lladdr=mac,
                                                     dst=have_macs[mac], flags=NTF_SELF))

    def _ignore_missing(self, change):
        def run(ipr):
            try:
                change(ipr)
            except Exception as exc:
                if getattr(exc, 'code', None) not in (errno.ENOENT, errno.ENODEV):
                    raise
        self.ip.call(run)
