"""Devices the Linux bridge driver adds to a network's bridge for the
bridges plugin's objects: VLAN joins to a physical network
(physical_linuxbridge) and VXLAN tunnels to remote sites
(remote_linuxbridge).

Both mark what they own the same way: the device's name starts with the
module's prefix and its ifalias is ``<alias prefix><network_id>
<bridge_id>``.  Only such devices are ever changed or deleted, so a
network's other devices, other networks and an operator's own devices are
never touched.  This module is that rule, written once.
"""
import logging

LOG = logging.getLogger(__name__)


class OwnedDevices:
    """The devices of one kind (``kind``: the link kind, 'vlan' or 'vxlan')
    whose names start with ``prefix`` and whose aliases start with
    ``alias_prefix``; ``what`` names them in logs."""

    def __init__(self, prefix, alias_prefix, kind, what):
        self.prefix = prefix
        self.alias_prefix = alias_prefix
        self.kind = kind
        self.what = what

    def alias(self, network_id, bridge_id):
        return '%s%s %s' % (self.alias_prefix, network_id, bridge_id)

    def owner(self, link):
        """(network_id, bridge_id) of a device of ours, else None."""
        if not (link.name.startswith(self.prefix) and link.kind == self.kind
                and (link.alias or '').startswith(self.alias_prefix)):
            return None
        parts = link.alias[len(self.alias_prefix):].split()
        return tuple(parts) if len(parts) == 2 else None

    def prune(self, ip, links, network_id, keep_names):
        """Delete the devices of ``network_id`` among ``links`` whose names
        are not in ``keep_names``."""
        for link in links:
            who = self.owner(link)
            if who is not None and who[0] == network_id and link.name not in keep_names:
                self.delete(ip, link)

    def reconcile(self, ip, keep):
        """Delete every device of ours whose (network_id, name) is not in
        ``keep``."""
        for link in ip.links():
            who = self.owner(link)
            if who is not None and (who[0], link.name) not in keep:
                self.delete(ip, link)

    def delete(self, ip, link):
        LOG.info('deleting %s %s (%s)', self.what, link.name, link.alias)
        ip.del_link(link.index)

    def attach(self, ip, link, alias, bridge):
        """``link`` marked ours, in ``bridge`` and up; only what differs is
        changed (a device that is right is left as it is)."""
        changes = {}
        if link.alias != alias:
            changes['ifalias'] = alias
        if link.master != bridge.index:
            changes['master'] = bridge.index
        if not link.up:
            changes['state'] = 'up'
        if changes:
            ip.set_link(link.index, **changes)
