"""Physical-network bridges on the Open vSwitch driver (hooks.PhysicalBridges).

A join of a network (of any type: a VXLAN one usually) to VLAN V of
physical network P is, on the host, what a VLAN network of P with segment
V is: the translation flows on the patch ports between br-int and P's
bridge (naas.agent.l2.ovs_flows.render, "physical bridge of a physnet")::

    br-int     prio 3  in_port=<int-P>,dl_vlan=V      mod_vlan_vid:<lvid>,NORMAL
    P's bridge prio 4  in_port=<phy-P>,dl_vlan=<lvid> mod_vlan_vid:V,NORMAL
                                                       (flat: strip_vlan,NORMAL)

with the network's own local VLAN.  So this module keeps only which joins
each network has and hands them to the driver's flow rendering as such
Nets (:meth:`OvsPhysicalBridges.nets`): they go in the driver's bundles
and generations like every other NaaS flow, and a network's overlay
(br-tun) is untouched.  The server refuses a join whose VLAN (or flat
traffic) is a network's own segment on that physical network, or a second
join of one network to one physical network on the host, so no two flows
want the same match.

State: in the process only, given again by the agent's
reconcile_physical_bridges (called before the driver's reconcile, so a
restart's first generation of flows has them: no gap).
"""
import logging

from naas.agent.l2 import ovs_flows as flows

LOG = logging.getLogger(__name__)


class OvsPhysicalBridges:
    """The joins of the Open vSwitch driver: ``mappings`` its
    bridge_mappings {physical network: bridge}."""

    def __init__(self, mappings):
        self.mappings = mappings
        self.joins = {}       # network_id -> ((physical_network, VLAN or 0), ...)

    def _joins(self, bridges):
        unknown = sorted({b['physical_network'] for b in bridges} - set(self.mappings))
        if unknown:
            raise ValueError('no bridge_mappings entry for physical network(s) %s'
                             % ', '.join(unknown))
        return tuple(sorted((b['physical_network'], b['segmentation_id'] or 0)
                            for b in bridges))

    def set(self, network_id, bridges, lvid):
        """Record the network's joins; True when they changed."""
        if bridges and lvid is None:
            raise LookupError('network %s is not on this host' % network_id)
        joins = self._joins(bridges)
        if joins == self.joins.get(network_id, ()):
            return False
        LOG.info('network %s joined to physical networks %s', network_id,
                 ['%s:%s' % (p, v or 'flat') for p, v in joins])
        if joins:
            self.joins[network_id] = joins
        else:
            self.joins.pop(network_id, None)
        return True

    def reconcile(self, wanted):
        """Keep exactly the joins of ``wanted`` {network_id: bridges}; a join
        to a physical network not mapped here is left out (logged)."""
        joins = {}
        for network_id, bridges in wanted.items():
            try:
                found = self._joins(bridges)
            except ValueError as exc:
                LOG.error('network %s: %s', network_id, exc)
                continue
            if found:
                joins[network_id] = found
        self.joins = joins

    def nets(self, lvid_of):
        """[flows.Net] of the joins of the networks on this host, each as
        the VLAN (or flat) network of its physical network it maps to."""
        out = []
        for network_id, joins in sorted(self.joins.items()):
            lvid = lvid_of(network_id)
            if lvid is None:
                continue
            for physical_network, vlan in joins:
                out.append(flows.Net(network_id, lvid, 'vlan' if vlan else 'flat',
                                     physical_network, vlan or None, ()))
        return out
