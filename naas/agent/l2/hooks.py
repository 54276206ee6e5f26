"""Optional capabilities of an L2 driver: the hooks the next features use.

A driver that has a capability inherits its interface beside
naas.agent.l2.base.L2Driver (``class OpenvSwitchDriver(base.L2Driver,
hooks.PortCounters)``) and implements its methods; the agent asks with
:func:`of` and calls nothing a driver does not declare.  A new feature adds a
method to the drivers that can do it, never a branch on the driver's name.

Each interface says its contract and where
naas.agent.agent.Agent calls it; the port details it receives are those of
naas.agent.l2.base (from the server's get_devices_details_list / sync), with
the attributes a feature adds to them.

Rules every hook keeps (they are the agent's):

* idempotent: the agent calls again after a restart, a resync or a retry
  with the same arguments; what is right is left as it is, so that traffic
  that flows keeps flowing;
* no state that matters in the process: what a hook made is found again on
  the host (marked with NaaS names or cookies) by its ``reconcile_*``;
* batched: one call carries every port of an agent batch, inside
  ``driver.batch()``, so that a driver applies them together.
"""
import abc
import collections


def of(driver, hook):
    """``driver`` if it has capability ``hook`` (one of the classes below),
    else None: ``if (f := hooks.of(driver, hooks.PortFilter)): f.filter_ports(...)``."""
    return driver if isinstance(driver, hook) else None


class PortFilter(abc.ABC):
    """Security groups and anti-spoofing on VIFs.

    Fails closed: a VIF that should be filtered (port_security_enabled)
    never passes traffic unfiltered, not during its first wiring, not
    during an agent restart.  Drivers keep a VIF that is not wired yet cut
    off (the Linux bridge driver: out of any bridge; the Open vSwitch
    driver: the dead VLAN), so the agent calls ``filter_ports`` BEFORE
    ``wire``; if it raises, the ports are not wired (they are parked and
    retried, still cut off).  Anti-spoofing: a filtered port sends only
    from its MAC and fixed IPs (and allowed_address_pairs), answers ARP/ND
    only for them, and never sends DHCP server or router advertisement
    packets unless its device_owner is the DHCP port or a router's.  A port
    with port_security_enabled False is not filtered at all.

    Port details (naas.agent.l2.base) add: ``port_security_enabled``,
    ``security_groups`` ([sg_id]; empty when port security is off),
    ``allowed_address_pairs`` ([{ip_address, mac_address}]).

    ``sg_info`` is what the server's get_security_group_info answers
    (naas.rpc.server_api) for the groups of the ports concerned::

        {'security_groups': {sg_id: {'stateful': bool, 'rules': [
             {'id', 'direction': 'ingress'|'egress' (as the VM sees it),
              'ethertype': 'IPv4'|'IPv6', 'protocol': IP protocol number
              or None (any), 'port_range_min', 'port_range_max' (ICMP:
              type and code), 'remote_ip_prefix', 'remote_group_id',
              'remote_address_group_id'}]}},
         'members': {sg_id: {'IPv4': [addresses], 'IPv6': [...]}},
         'address_groups': {ag_id: {'IPv4': [cidrs], 'IPv6': [...]}}}

    ``members`` has every group a rule names as remote_group_id (its
    ports' fixed IPs and allowed address pairs); ``address_groups`` every
    address group a rule names.

    Where the agent calls it: ``filter_ports`` in ``Agent._wire`` before the
    driver's ``wire`` of the same details; ``update_security_groups`` when
    the server casts security_groups_updated (rules, members or address
    groups changed: the driver changes set elements and rule chains in
    place, never a window without rules); ``unfilter_port`` after
    ``unwire`` (port deleted or unplugged); ``reconcile_filters`` in
    ``Agent.resync`` after ``driver.reconcile``.
    """

    @abc.abstractmethod
    def filter_ports(self, details, sg_info):
        """Make the filters of these ports what they say; replace changed
        rules atomically (no moment without a rule set)."""

    @abc.abstractmethod
    def update_security_groups(self, sg_info):
        """Rules or members of the groups in ``sg_info`` changed: apply them
        to every port filtered here that uses them."""

    @abc.abstractmethod
    def unfilter_port(self, port_id):
        """Remove the filter of a port that is unwired; missing is fine."""

    @abc.abstractmethod
    def reconcile_filters(self, wanted, sg_info):
        """After a (re)start: ``wanted`` is the details of every wired port.
        Remove the filters no wanted port needs; keep those that are right
        (no gap in filtering across a restart)."""


class QoS(abc.ABC):
    """Bandwidth limits, packet rate limits and DSCP marking per VIF.

    Port details add ``qos_policy``: the port's policy, or its network's
    when the port has none, or None: {'id', 'rules': [{'type':
    'bandwidth_limit', 'max_kbps', 'max_burst_kbps', 'direction':
    'egress'|'ingress'}, {'type': 'dscp_marking', 'dscp_mark'}, {'type':
    'packet_rate_limit', 'max_kpps', 'max_burst_kpps', 'direction'}]}.
    Directions are Neutron's: egress leaves the VM, ingress reaches it.

    Where the agent calls it: ``set_port_qos`` in ``Agent._wire`` after the
    driver's ``wire``; ``reconcile_qos`` in ``Agent.resync``.  The agent
    reports ``qos_rule_types`` in its configurations: the server refuses a
    rule type that no alive agent can enforce.
    """

    #: Rule types this driver enforces ('bandwidth_limit', 'dscp_marking',
    #: 'packet_rate_limit').
    qos_rule_types = ()

    @abc.abstractmethod
    def set_port_qos(self, port_id, policy):
        """Make the port's QoS what ``policy`` says; None removes what was
        set.  A rule the driver cannot realise raises ValueError (the port
        is still wired; the agent logs it)."""

    @abc.abstractmethod
    def reconcile_qos(self, wanted):
        """After a (re)start: remove the QoS of ports not in ``wanted``
        (details of every wired port)."""


#: Counters of one VIF, as the VM sees them (rx: what the VM received).
Counters = collections.namedtuple(
    'Counters', 'rx_bytes rx_packets tx_bytes tx_packets rx_dropped tx_dropped '
                'rx_errors tx_errors')

#: Counters of one address of a VIF (a fixed IP or an allowed address
#: pair), as the VM sees them: rx is what the VM received for that address,
#: tx what it sent from it.
AddressCounters = collections.namedtuple(
    'AddressCounters', 'rx_bytes rx_packets tx_bytes tx_packets')

#: One port's sample: ``vif`` identifies the VIF instance the counters were
#: read from (any string that changes when the VIF is plugged again: the
#: Linux bridge driver's tap ifindex, the OVS interface's ofport and
#: ifindex); ``counters`` a Counters; ``addresses`` {ip_address:
#: AddressCounters} of the addresses the driver counts (may be empty).
PortSample = collections.namedtuple('PortSample', 'vif counters addresses')


class PortCounters(abc.ABC):
    """Per-port and per-address traffic counters, for the statistics
    extension (naas.plugins.statistics).

    Where the agent calls it: ``count_addresses`` in ``Agent._wire`` after
    the driver's ``wire`` (and in ``Agent.resync`` for every wanted port:
    idempotent); ``uncount_port`` after ``unwire``; ``port_counters`` from
    a statistics thread of its own (not the poll loop), every
    [statistics] report_interval, with the ports it has wired; the agent
    sends the samples in batches (naas.rpc.statistics_api).
    """

    @abc.abstractmethod
    def port_counters(self, port_ids):
        """{port_id: PortSample} of ``port_ids`` in ONE pass over the host
        (one netlink link dump, one OVSDB read or OpenFlow port-stats
        request per bridge, one nftables counter listing), never one
        request or subprocess per port.  Ports not plugged are left out.
        Counters only grow while the VIF exists; a VIF plugged again
        starts at 0 and has another ``vif``: the server keeps the totals
        monotonic with it."""

    @abc.abstractmethod
    def count_addresses(self, details):
        """Start (or keep) counting the addresses of these ports (fixed IPs
        and allowed address pairs in the details), without resetting the
        counters of an address already counted; stop counting addresses
        the ports no longer have."""

    @abc.abstractmethod
    def uncount_port(self, port_id):
        """Remove the address counters of an unwired port; missing is fine."""


class RemoteTunnels(abc.ABC):
    """A network's bridge to a remote site: a tunnel from this host to a
    remote VTEP that is not a NaaS host (the remote-bridges extension,
    naas.plugins.bridges).

    Port details add ``remotes``: the network's remote-site bridges that
    this host terminates, [{'id': bridge id, 'remote_ip', 'type': 'vxlan',
    'segmentation_id': the VNI on the wire, 'entries': [{'mac_address',
    'ip_address' (or None)}] (static remote entries)}] -- empty on every
    other host, and on this one when the network has none.  Without the
    bridges plugin the key is absent.

    Where the agent calls it: ``set_remotes`` in ``Agent._wire`` after the
    driver's ``wire``, once per network of the batch whose details carry
    ``remotes`` (the server casts remote_bridges_updated to the bridging
    host, whose agent then re-reads its ports of the network); with an
    empty list when the host's last port of a network goes;
    ``reconcile_remotes`` in ``Agent.resync`` after ``driver.reconcile``.
    The agent reports each bridge ACTIVE after ``set_remotes`` returned,
    ERROR if it raised (naas.rpc.bridges_api), and ``remote_tunnel_types``
    in its configurations (the server schedules bridges to agents that
    report the encapsulation).
    """

    #: Encapsulations this driver terminates ('vxlan'); empty without a
    #: tunnel address.
    remote_tunnel_types = ()

    @abc.abstractmethod
    def set_remotes(self, network_id, remotes):
        """Make the network's tunnels to remote VTEPs exactly ``remotes``:
        broadcast, ARP/ND and unknown unicast of the network flood to them,
        what comes back (with the remote's segmentation id) enters the
        network, the remote MACs are learned or taken from ``entries``;
        a tunnel that is right is left as it is, one that differs is made
        right; an empty list removes them all.  Other networks' tunnels
        and the network's own overlay are not touched.  Raises when the
        network is not on this host (no port of it wired here)."""

    @abc.abstractmethod
    def reconcile_remotes(self, wanted):
        """After a (re)start: ``wanted`` is {network_id: remotes} of every
        network with ports here; remove every other remote tunnel, keep
        those that are right (no loss of traffic across a restart)."""


#: A port on another host of an overlay network, as L2 population knows it:
#: ``tunnel_ip`` of its host, its MAC and its IP addresses (fixed IPs; an
#: allowed address pair is not announced: it may move without telling).
FdbEntry = collections.namedtuple('FdbEntry', 'tunnel_ip mac_address ip_addresses')


class L2Population(abc.ABC):
    """L2 population: the server tells each agent where the ports of the
    other hosts of its overlay networks are, so that unicast goes straight
    to the right host and ARP/ND is answered on the host (no flooding to
    learn).  Only for networks with a tunnel type (vxlan, gre); the agent
    reports ``l2_population: True`` in its configurations, and the server
    sends entries only to hosts that have a port of the network.

    Entries are FdbEntry tuples (``ip_addresses`` a tuple of strings); a
    driver ignores entries whose tunnel_ip is its own.  Broadcast and
    unknown unicast still go to every host of the network (the flooding
    list of ``set_endpoints``), and nowhere else.

    Where the agent calls it: ``set_fdb`` with a network's complete list
    when the first port of that network is wired here and in
    ``Agent.resync`` (replace: entries not in the list are removed);
    ``update_fdb`` when the server casts fdb_update (a port on another
    host was bound, moved, changed its addresses or went); ``set_fdb(nid,
    [])`` when the host's last port of the network goes.  The Linux bridge
    driver programs FDB entries (MAC -> remote VTEP) and neighbour entries
    (IP -> MAC, answered by the VXLAN device's ARP/ND proxy); Open vSwitch
    unicast flows to the tunnel port and an ARP/ND responder table.
    """

    @abc.abstractmethod
    def set_fdb(self, network_id, entries):
        """Make the network's remote entries exactly ``entries``; those that
        are right are left as they are."""

    @abc.abstractmethod
    def update_fdb(self, network_id, add, remove):
        """Add ``add`` and remove ``remove`` (FdbEntry lists) of a network;
        adding an entry that is there or removing one that is not is fine.
        An entry whose MAC is there with another tunnel_ip or other
        addresses replaces it."""


class PhysicalBridges(abc.ABC):
    """A network joined to a physical network of this host: a VLAN of it,
    or its untagged traffic (flat) (the physical-bridges extension,
    naas.plugins.bridges; an administrator names the host).

    Port details add ``physical_bridges``: the network's physical bridges
    through this host, [{'id': bridge id, 'physical_network' (a key of
    the driver's bridge_mappings), 'segmentation_id': the VLAN id, or None
    for untagged}] -- empty on every other host, and on this one when the
    network has none.  Without the bridges plugin the key is absent.

    Where the agent calls it: ``set_physical_bridges`` in ``Agent._wire``
    after the driver's ``wire``, once per network of the batch whose
    details carry ``physical_bridges`` (the server casts
    remote_bridges_updated to the host, whose agent then re-reads its ports
    of the network); with an empty list when the host's last port of the
    network goes; ``reconcile_physical_bridges`` in ``Agent.resync`` BEFORE
    ``driver.reconcile`` (a driver that renders them with its own flows
    then installs them in the restart's first generation: no gap).  The
    agent reports each bridge ACTIVE after ``set_physical_bridges``
    returned, ERROR if it raised (naas.rpc.bridges_api).
    """

    @abc.abstractmethod
    def set_physical_bridges(self, network_id, bridges):
        """Make the network's joins to physical networks exactly
        ``bridges``: frames of the network leave on the physical network
        with the bridge's VLAN (untagged for None), frames of that VLAN
        enter the network; an empty list removes them.  Other networks and
        the physical network's own VLAN networks are not touched.  Raises
        when the network is not on this host or the physical network is
        not mapped here."""

    @abc.abstractmethod
    def reconcile_physical_bridges(self, wanted):
        """After a (re)start: ``wanted`` is {network_id: bridges} of every
        network with ports here; every other join is removed."""


class VifEvents(abc.ABC):
    """The driver says at once that a VIF may have been plugged or unplugged.

    The agent's poll loop then scans at once instead of at its next
    ``[agent] polling_interval`` (the scan stays what decides; a notice only
    makes it sooner).  Agent.start calls ``watch_vifs`` once, after setup().
    """

    @abc.abstractmethod
    def watch_vifs(self, notify):
        """Call ``notify()`` (no argument; cheap, it only takes note; from
        any thread) whenever a VIF may have come, gone or changed."""
