"""What an L2 driver of naas-agent does on its host.

Port details (from the server, naas.plugins.l2.agents.port_details) are
dicts with: port_id, network_id, mac_address, admin_state_up, mtu,
network_type (vxlan, gre, vlan, flat, local), physical_network,
segmentation_id, fixed_ips, device_owner, and endpoints ([{host,
tunnel_ip}] of every host with ports on the network, this one included).

Drivers keep no state that matters: everything they need is on the host
(bridges, devices, OVSDB) or comes again from the server, so an agent can be
killed at any time and a new one converges without touching traffic that is
flowing.  Every name a driver creates starts with a NaaS prefix, so that
``cleanup_all`` can find what is NaaS's and nothing else.

A driver owns every port on its host:

* VM VIFs, plugged by the compute library (naas.compute.vif): the agent
  finds them (``scan_vifs``) and wires them (``wire``);
* service ports, plugged by the agent's services into a namespace of their
  own (DHCP ports, router interfaces and gateways): the service asks the
  driver to plug them (``plug_service_ports``), never the VIF plumbing
  directly, so that DHCP and L3 work on any driver and name none; the
  agent then finds and wires them like VM VIFs (the server binds them to
  this host).

Optional capabilities (port filtering, QoS, counters, remote tunnels) are
the interfaces of naas.agent.l2.hooks: a driver that has one inherits it.
"""
import abc
import collections
import contextlib

from naas.host.vif import VIF_PREFIX, vif_name  # noqa: F401 (the names drivers use)

#: A service port to plug: ``ifname`` in ``namespace`` (which exists) with
#: the port's MAC address and the network's MTU (None: the kernel's).
ServicePort = collections.namedtuple('ServicePort', 'port_id mac namespace ifname mtu')


class L2Driver(abc.ABC):
    #: The agent_type this driver reports (naas.plugins.l2.agents.VIF_TYPES).
    agent_type = None

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def configurations(self):
        """What the server needs to bind ports here: tunnel_ip, tunnel_types,
        bridge_mappings (and anything useful to an operator)."""

    @abc.abstractmethod
    def setup(self):
        """One-time, idempotent host setup (e.g. the integration bridge)."""

    @abc.abstractmethod
    def scan_vifs(self):
        """{port_id: interface name} of the VIFs plugged on this host."""

    @abc.abstractmethod
    def wire(self, details):
        """Connect a VIF to its network as ``details`` say; idempotent.

        admin_state_up False cuts the VIF's traffic (it stays plugged).
        """

    @contextlib.contextmanager
    def batch(self):
        """The agent wraps each batch of wire/unwire calls in this: a driver
        may apply their changes together when the block ends (the Open
        vSwitch driver: one OVSDB transaction, one flow bundle per bridge).
        Default: each call applies its changes at once."""
        yield

    @abc.abstractmethod
    def unwire(self, port_id):
        """Disconnect a VIF that was unplugged or whose port was deleted;
        remove the network's host objects when its last VIF goes."""

    @abc.abstractmethod
    def set_endpoints(self, network_id, endpoints):
        """The hosts with ports on an overlay network changed: update the
        tunnels / forwarding entries that flood to them."""

    @abc.abstractmethod
    def reconcile(self, wanted):
        """After a (re)start: ``wanted`` is the details of every port that is
        bound here and plugged.  Remove what NaaS made that no wanted port
        needs; keep (do not recreate) what is already right."""

    @abc.abstractmethod
    def cleanup_all(self):
        """Remove every object NaaS created on this host."""

    @abc.abstractmethod
    def plug_service_ports(self, ports):
        """Plug ``ports`` (ServicePorts) as naas.host.vif says: a veth pair
        per port, ``ifname`` in its namespace, the host end a VIF of this
        host as the compute library would plug it, then scanned and wired
        by the agent.  Whatever the datapath needs of the namespace end is
        done here (the Open vSwitch driver on the netdev datapath: TX
        checksum offload off).  Idempotent; a port whose host end exists but
        is not joined to ``ifname`` in its namespace is plugged again.
        Drivers apply the ports of one call together where they can (the
        Open vSwitch driver: one OVSDB transaction)."""

    @abc.abstractmethod
    def unplug_service_port(self, port_id):
        """Remove what ``plug_service_ports`` made for ``port_id`` (the veth
        pair, both ends, and the driver's own objects); missing is fine."""
