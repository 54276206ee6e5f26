"""L2 population on the Open vSwitch driver (hooks.L2Population).

The entries become br-tun flows, rendered into the driver's br-tun table
(naas.agent.l2.ovs_flows) so that they go in its bundles and cookie
generations like every other flow::

    table 0  prio 2  in_port=<patch-int>,arp,arp_op=1      resubmit(,21)
             prio 2  in_port=<patch-int>,dl_dst=<unicast>   resubmit(,20)
    table 20 (UCAST_TO_TUN)
             prio 2  dl_vlan=<lvid>,dl_dst=<remote MAC>     strip_vlan,set_tunnel:<seg>,
                                                            output:<its host's tunnel port>
             prio 0                                         resubmit(,22) (flood)
    table 21 (ARP_RESPONDER)
             prio 1  dl_vlan=<lvid>,arp,arp_tpa=<remote IP> the ARP reply, back out of
                                                            in_port (to br-int)
             prio 0                                         resubmit(,22) (flood)

So unicast to a known remote MAC goes to its host only, an ARP request of a
local port for a remote port's IPv4 address is answered on br-tun (it never
reaches another host), and broadcast, IPv6 neighbour discovery and unknown
unicast still flood to the hosts of the network (table 22).  A remote
whose tunnel port is not there yet floods until it is.

The entries are kept in the process (``entries``): after a restart the
agent calls set_fdb for every network again right after it wired the ports
(Agent.resync); between the two flow bundles the network floods, as
without L2 population.
"""
import ipaddress

from naas.agent.l2 import ovs_flows as flows

UNICAST = '00:00:00:00:00:00/01:00:00:00:00:00'

#: The ARP reply, made of the request (as Neutron's OVS ARP responder).
ARP_REPLY = ('move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:%(mac)s,'
             'load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],'
             'move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:%(mac_int)#x->NXM_NX_ARP_SHA[],'
             'load:%(ip_int)#x->NXM_OF_ARP_SPA[],in_port')


def _ip(address):
    return str(ipaddress.ip_address(address))


class OvsL2Pop:
    """The L2 population entries of the Open vSwitch driver: {network_id:
    {mac: FdbEntry}}; ``set_fdb`` and ``update_fdb`` return whether the
    flows change (the driver then applies them)."""

    def __init__(self, tunnel_ip, arp_responder=False):
        self.tunnel_ip = tunnel_ip and _ip(tunnel_ip)
        self.arp_responder = arp_responder   # [agent] arp_responder
        self.entries = {}

    def set_fdb(self, network_id, entries):
        wanted = {}
        for entry in entries:
            if entry.tunnel_ip and _ip(entry.tunnel_ip) != self.tunnel_ip:
                wanted[entry.mac_address.lower()] = entry._replace(
                    tunnel_ip=_ip(entry.tunnel_ip), mac_address=entry.mac_address.lower())
        old = self.entries.pop(network_id, {})
        if wanted:
            self.entries[network_id] = wanted
        return old != wanted

    def update_fdb(self, network_id, add, remove):
        current = dict(self.entries.get(network_id, {}))
        for entry in list(remove) + list(add):
            current.pop(entry.mac_address.lower(), None)
        return self.set_fdb(network_id, list(current.values()) + list(add))

    def flows(self, layout, nets):
        """br-tun's L2 population flows {(table, priority, match): actions}
        for the networks ``nets`` (flows.Net) of this host."""
        patch = layout.patch_int_ofport
        if not (layout.tun_br and isinstance(patch, int) and patch > 0):
            return {}
        out = {
            (0, 2, 'in_port=%d,dl_dst=%s' % (patch, UNICAST)):
                'resubmit(,%d)' % flows.UCAST_TO_TUN,
            (flows.UCAST_TO_TUN, 0, ''): 'resubmit(,%d)' % flows.FLOOD_TO_TUN,
        }
        if self.arp_responder:
            out[(0, 2, 'in_port=%d,arp,arp_op=1' % patch)] = (
                'resubmit(,%d)' % flows.ARP_RESPONDER)
            out[(flows.ARP_RESPONDER, 0, '')] = 'resubmit(,%d)' % flows.FLOOD_TO_TUN
        tunnels = layout.tunnels or {}
        for net in nets:
            if net.network_type not in flows.TUN_TABLE:
                continue
            for mac, entry in sorted(self.entries.get(net.network_id, {}).items()):
                ofport = tunnels.get((net.network_type, entry.tunnel_ip))
                if isinstance(ofport, int) and ofport > 0:
                    out[(flows.UCAST_TO_TUN, 2, 'dl_vlan=%d,dl_dst=%s' % (net.lvid, mac))] = (
                        'strip_vlan,set_tunnel:%#x,output:%d' % (net.segmentation_id, ofport))
                for address in entry.ip_addresses if self.arp_responder else ():
                    ip = ipaddress.ip_address(address)
                    if ip.version != 4:
                        continue    # IPv6 neighbour discovery floods
                    out[(flows.ARP_RESPONDER, 1, 'dl_vlan=%d,arp,arp_tpa=%s' % (
                        net.lvid, ip))] = ARP_REPLY % {
                            'mac': mac, 'mac_int': int(mac.replace(':', ''), 16),
                            'ip_int': int(ip)}
        return out
