"""Remote-site bridges on the Linux bridge driver (hooks.RemoteTunnels).

One kernel VXLAN device per remote, ``rvx-<vni>``, in the host's namespace
(the driver's), attached to the network's bridge ``brq<network>``: VNI the
bridge's segmentation_id, local ``[agent] tunnel_ip``, remote (``group``)
the remote VTEP's address, UDP 4789, through ``[agent] underlay_interface``
if set, learning on.  The network's bridge floods broadcast, ARP and ND,
and unknown unicast to it like to any port; the device sends all of it to
the one remote, and what comes back enters the bridge, which learns the
remote site's MACs on it.  Static remote entries become static entries of
the bridge's FDB on the device (``bridge fdb replace MAC dev rvx-N master
static``): the bridge forwards to them without flooding or learning first.

Ownership (naas.agent.l2.bridge_devices): the device's ifalias is
``naas-remote <network_id> <bridge_id>``.
Only devices named ``rvx-*`` with such an alias are ever changed or
deleted; a network's other devices and other networks are not touched.
A device that is right (VNI, local and remote address, port, underlay,
alias) is kept as it is across agent restarts: reconcile_remotes deletes
only what no network wants, and set_remotes fixes only what differs.
"""
import logging

from naas.agent.l2 import bridge_devices
from naas.host import ip_lib

LOG = logging.getLogger(__name__)

DEVICES = bridge_devices.OwnedDevices('rvx-', 'naas-remote ', 'vxlan', 'remote tunnel')
VXLAN_PORT = 4789
NTF_MASTER = 0x04
NUD_NOARP = 0x40
device_alias = DEVICES.alias
owner = DEVICES.owner


def device_name(vni):
    return '%s%d' % (DEVICES.prefix, vni)


class LinuxBridgeRemotes:
    """The remote tunnels of the Linux bridge driver: ``ip()`` is its
    netlink handle (naas.host.ip_lib.IPHandle), ``bridge_name`` its
    network -> bridge name function.  The driver calls these under its
    lock."""

    def __init__(self, ip, tunnel_ip, underlay, bridge_name):
        self._ip = ip
        self.tunnel_ip = tunnel_ip
        self.underlay = underlay
        self.bridge_name = bridge_name

    @property
    def ip(self):
        return self._ip()

    def set_remotes(self, network_id, remotes):
        links = {lk.name: lk for lk in self.ip.links()}
        wanted = {device_name(r['segmentation_id']): r for r in remotes}
        DEVICES.prune(self.ip, links.values(), network_id, wanted)
        if not wanted:
            return
        bridge = links.get(self.bridge_name(network_id))
        if bridge is None or bridge.kind != 'bridge':
            raise LookupError('network %s has no bridge on this host' % network_id)
        for name, remote in sorted(wanted.items()):
            device = self._ensure_device(links.get(name), name, network_id, remote, bridge)
            self._sync_entries(device, bridge, remote.get('entries') or ())

    def reconcile_remotes(self, wanted):
        keep = {(network_id, device_name(r['segmentation_id']))
                for network_id, remotes in wanted.items() for r in remotes}
        DEVICES.reconcile(self.ip, keep)

    def remove_all(self):
        self.reconcile_remotes({})

    # ---- one device ----------------------------------------------------------

    def _underlay_index(self):
        if not self.underlay:
            return 0
        under = self.ip.link(self.underlay)
        if under is None:
            raise LookupError('underlay_interface %s not found' % self.underlay)
        return under.index

    def _remote_of(self, link):
        """The remote address (IFLA_VXLAN_GROUP/GROUP6) of a VXLAN device."""
        def read(ipr):
            info = ipr.get_links(link.index)[0].get_attr('IFLA_LINKINFO').get_attr(
                'IFLA_INFO_DATA')
            return info.get_attr('IFLA_VXLAN_GROUP') or info.get_attr('IFLA_VXLAN_GROUP6')
        return self.ip.call(read)

    def _ensure_device(self, link, name, network_id, remote, bridge):
        if not self.tunnel_ip:
            raise ValueError('remote tunnels need [agent] tunnel_ip')
        underlay = self._underlay_index()
        alias = device_alias(network_id, remote['id'])
        want = ip_lib.VxlanInfo(vni=remote['segmentation_id'], local=self.tunnel_ip,
                                port=VXLAN_PORT, link=underlay, learning=1)
        if link is not None and (link.kind != 'vxlan' or link.vxlan != want
                                 or link.alias != alias
                                 or self._remote_of(link) != remote['remote_ip']):
            if owner(link) is None:
                raise RuntimeError('%s exists and is not a NaaS remote tunnel' % name)
            LOG.warning('%s is not the tunnel to %s wanted: recreating', name,
                        remote['remote_ip'])
            DEVICES.delete(self.ip, link)
            link = None
        if link is None:
            LOG.info('creating remote tunnel %s to %s (VNI %s) in %s', name,
                     remote['remote_ip'], remote['segmentation_id'], bridge.name)
            v6 = ':' in self.tunnel_ip
            kwargs = {'vxlan_id': remote['segmentation_id'], 'vxlan_port': VXLAN_PORT,
                      'vxlan_learning': 1,
                      ('vxlan_local6' if v6 else 'vxlan_local'): self.tunnel_ip,
                      ('vxlan_group6' if v6 else 'vxlan_group'): remote['remote_ip']}
            if underlay:
                kwargs['vxlan_link'] = underlay
            if bridge.mtu:
                kwargs['mtu'] = bridge.mtu
            link = self.ip.add_link(name, 'vxlan', ipv6_addresses=False, **kwargs)
        DEVICES.attach(self.ip, link, alias, bridge)
        return link

    def _sync_entries(self, device, bridge, entries):
        """The bridge's static FDB entries on ``device``: exactly the
        remote entries' MACs (learned entries are left alone)."""
        wanted = {e['mac_address'].lower() for e in entries}

        def static_macs(ipr):
            return {m.get_attr('NDA_LLADDR') for m in ipr.fdb('dump', ifindex=device.index)
                    if m['ifindex'] == device.index and m['state'] == NUD_NOARP
                    and m.get_attr('NDA_MASTER') == bridge.index}
        have = self.ip.call(static_macs)
        for mac in sorted(wanted - have):
            self.ip.call(lambda ipr: ipr.fdb('replace', ifindex=device.index, lladdr=mac,
                                             master=bridge.index, flags=NTF_MASTER,
                                             state=NUD_NOARP))
        for mac in sorted(have - wanted):
            self.ip.call(lambda ipr: ipr.fdb('del', ifindex=device.index, lladdr=mac,
                                             master=bridge.index, flags=NTF_MASTER))
