"""Port counters of the Linux bridge driver (naas.agent.l2.hooks.PortCounters).

Port counters: one netlink statistics dump of the driver's namespace per
pass (naas.agent.l2.counters.LinkCounters), the VIF host ends picked by
name and ifalias as the driver scans them; ``vif`` is the host end's
ifindex.

Address counters: nftables, ``bridge naas-stats`` (naas.agent.l2.counters_nft,
layout BRIDGE): what the bridge forwards from and to each VIF, per address.

Elements are keyed by interface name, which a VIF plugged again keeps: when
a port's ifindex changes between two passes its address counters are reset
(deleted and added again) so that they start at 0 with the new ``vif``, as
the port counters do.  (A VIF unplugged for longer than the agent's poll
interval is unwired, its addresses uncounted, and counted again from 0
when it is wired again.)
"""
import threading

from naas.agent.l2 import base
from naas.agent.l2 import counters
from naas.agent.l2 import counters_nft
from naas.agent.l2 import hooks


class LinuxBridgeCounters:
    """hooks.PortCounters for naas.agent.l2.linuxbridge.LinuxBridgeDriver,
    which delegates to it.  ``ip`` returns the driver's ip_lib.IPHandle;
    ``runner`` and ``read_elements``: see counters_nft.AddressCounters."""

    def __init__(self, ip, namespace, runner=None, read_elements=None):
        self._ip = ip
        self._dump = None
        self.addresses = counters_nft.AddressCounters(
            ip, namespace, counters_nft.BRIDGE, runner=runner, read_elements=read_elements)
        self._lock = threading.Lock()
        self._ifindex = {}        # port_id -> ifindex at the last pass

    def port_counters(self, port_ids):
        with self._lock:
            if self._dump is None:
                self._dump = counters.LinkCounters(self._ip())
            wanted = set(port_ids)
            links = {link.alias: link for link in self._dump.read()
                     if link.alias in wanted and link.name == base.vif_name(link.alias)}
            addresses = self.addresses.read()
            replugged = [port_id for port_id, link in links.items()
                         if self._ifindex.get(port_id, link.index) != link.index]
            self._ifindex = {port_id: link.index for port_id, link in links.items()}
        if replugged:
            self.addresses.reset([links[port_id].name for port_id in replugged])
        return {port_id: hooks.PortSample(
                    vif=str(link.index), counters=counters.vm_view(link),
                    addresses={} if port_id in replugged else addresses.get(link.name, {}))
                for port_id, link in links.items()}

    def count_addresses(self, details):
        self.addresses.count(details)

    def uncount_port(self, port_id):
        with self._lock:
            self._ifindex.pop(port_id, None)
        self.addresses.uncount(port_id)

    def remove_all(self):
        """Delete the table (the driver's cleanup_all)."""
        self.addresses.remove_all()

    def close(self):
        with self._lock:
            if self._dump is not None:
                self._dump.close()
                self._dump = None
        self.addresses.close()
