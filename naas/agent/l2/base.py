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
"""
import abc
import contextlib

#: Host-side VIF names: "tap" + the first 11 characters of the port id.
VIF_PREFIX = 'tap'


def vif_name(port_id):
    return (VIF_PREFIX + port_id)[:14]


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
