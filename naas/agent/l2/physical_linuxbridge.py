"""Physical-network bridges on the Linux bridge driver (hooks.PhysicalBridges).

A join of a network to VLAN V of physical network P is a VLAN device
``pvl-<V>-<interface>`` on P's interface (``[agent] bridge_mappings``) in
the network's bridge ``brq<network>``: what the bridge floods or forwards
to it leaves P's interface tagged V, and what arrives tagged V enters the
network.  The prefix is not the VLAN networks' (``nvl-``): the driver's
reconcile, which deletes the NaaS devices no network needs, never sees
these; this module's reconcile does.  Untagged (flat) joins are refused
(ValueError): they would need P's interface itself in the bridge, which a
flat network of P may hold.

Ownership (naas.agent.l2.bridge_devices): the device's ifalias is
``naas-physical <network_id> <bridge_id>``; only ``pvl-*`` devices with
such an alias are changed or deleted.  A device that is right is left as
it is (an agent restart keeps the traffic).  Needs the kernel's 802.1Q support (module 8021q).
"""
import logging

from naas.agent.l2 import bridge_devices

LOG = logging.getLogger(__name__)

DEVICES = bridge_devices.OwnedDevices('pvl-', 'naas-physical ', 'vlan', 'physical join')
IFNAMSIZ = 15
device_alias = DEVICES.alias
owner = DEVICES.owner


def device_name(interface, vlan):
    head = '%s%d-' % (DEVICES.prefix, vlan)
    return (head + interface)[:IFNAMSIZ]


class LinuxBridgeJoins:
    """The joins of the Linux bridge driver: ``ip()`` its netlink handle,
    ``mappings`` its bridge_mappings {physical network: interface},
    ``bridge_name`` its network -> bridge name function.  The driver calls
    these under its lock."""

    def __init__(self, ip, mappings, bridge_name):
        self._ip = ip
        self.mappings = mappings
        self.bridge_name = bridge_name

    @property
    def ip(self):
        return self._ip()

    def _wanted(self, network_id, bridges):
        """{device name: (interface, VLAN, alias)} of the joins asked for."""
        out = {}
        for b in bridges:
            interface = self.mappings.get(b['physical_network'])
            if interface is None:
                raise ValueError('no bridge_mappings entry for physical network %s'
                                 % b['physical_network'])
            if not b['segmentation_id']:
                raise ValueError('untagged (flat) joins are not supported by the Linux '
                                 'bridge driver')
            name = device_name(interface, b['segmentation_id'])
            out[name] = (interface, b['segmentation_id'], device_alias(network_id, b['id']))
        return out

    def set_physical_bridges(self, network_id, bridges):
        links = {lk.name: lk for lk in self.ip.links()}
        wanted = self._wanted(network_id, bridges)
        DEVICES.prune(self.ip, links.values(), network_id, wanted)
        if not wanted:
            return
        bridge = links.get(self.bridge_name(network_id))
        if bridge is None or bridge.kind != 'bridge':
            raise LookupError('network %s has no bridge on this host' % network_id)
        for name, (interface, vlan, alias) in sorted(wanted.items()):
            parent = links.get(interface)
            if parent is None:
                raise LookupError('interface %s not found' % interface)
            link = links.get(name)
            if link is not None and (link.kind != 'vlan' or link.vlan_id != vlan
                                     or link.parent != parent.index):
                if owner(link) is None:
                    raise RuntimeError('%s exists and is not a NaaS join' % name)
                DEVICES.delete(self.ip, link)
                link = None
            if link is None:
                LOG.info('joining network %s to VLAN %d of %s (%s)', network_id, vlan,
                         interface, name)
                link = self.ip.add_link(name, 'vlan', ipv6_addresses=False,
                                        link=parent.index, vlan_id=vlan)
            DEVICES.attach(self.ip, link, alias, bridge)
            if not parent.up:
                self.ip.set_link(parent.index, state='up')

    def reconcile_physical_bridges(self, wanted):
        """Delete the join devices of networks or bridges not in ``wanted``
        (the right ones are made right by the set_physical_bridges that
        follows each network's wiring)."""
        keep = set()
        for network_id, bridges in wanted.items():
            try:
                keep |= {(network_id, name) for name in self._wanted(network_id, bridges)}
            except ValueError as exc:
                LOG.error('network %s: %s', network_id, exc)
        DEVICES.reconcile(self.ip, keep)
