"""Plugging VIFs on a compute host: what os-vif does for nova, for NaaS.

A VIF is the veth pair of naas.host.vif: the VM end in the VM's namespace
(``vm_namespace``), named ``ifname`` (eth0), with the port's MAC address and
the network's MTU; the host end in the host's namespace (``host_namespace``;
None: this process's, as on a real hypervisor), named ``tap<port_id[:11]>``
with ifalias = the full port id.

The host's L2 agent finds host ends by name and ifalias (one link dump) and
wires them: the Linux bridge agent (vif_type ``bridge``) puts them in the
network's bridge; for vif_type ``ovs`` this module also adds the host end to
the integration bridge with external_ids iface-id=<port id>,
attached-mac=<mac>, iface-status=active, the way nova does
(naas.host.ovs_lib.op_plug_vif), and the Open vSwitch agent wires it from
there.

Host settings are the agent's options (naas.conf.agent): [agent] namespace,
[ovs] ovsdb_connection and integration_bridge; :func:`host_settings` reads
them from a configuration file (the agent's own serves), so that a host built
as a namespace with an OVS of its own is served like a real one.

``port`` is a port as the API returns it (id, mac_address,
binding:vif_type, binding:vif_details) or a VIF of
naas.compute.network_info (id, address, type, details, network.meta.mtu).
"""
import logging

from oslo_config import cfg

from naas.conf import agent as agent_conf
from naas.host import vif as host_vif

LOG = logging.getLogger(__name__)

PLUGGABLE_VIF_TYPES = ('bridge', 'ovs')


def host_settings(config_files=(), **overrides):
    """{host_namespace, ovsdb_connection, integration_bridge} from the
    [agent] and [ovs] options of ``config_files`` (oslo.config, as the agent
    reads them), then ``overrides`` that are not None."""
    conf = cfg.ConfigOpts()
    agent_conf.register_opts(conf)
    conf([], project='naas', default_config_files=list(config_files))
    settings = {'host_namespace': conf.agent.namespace or None,
                'ovsdb_connection': conf.ovs.ovsdb_connection,
                'integration_bridge': conf.ovs.integration_bridge}
    settings.update((k, v) for k, v in overrides.items() if v is not None)
    return settings


def _field(port, *names):
    for name in names:
        if port.get(name) is not None:
            return port[name]
    return None


def vif_type(port):
    return _field(port, 'binding:vif_type', 'type') or 'bridge'


def mtu_of(port):
    """The network MTU a port/VIF dict carries (network_info VIFs do)."""
    network = port.get('network') or {}
    return (port.get('mtu') or network.get('mtu')
            or (network.get('meta') or {}).get('mtu'))


def plug(port, host_namespace=None, vm_namespace=None, ifname='eth0', mtu=None,
         ovsdb_connection=None, integration_bridge=None):
    """Plug ``port``: a veth pair between the VM and the host, see above.

    ``mtu``: the network's MTU (default: what ``port`` carries, else the
    kernel's 1500).  ``vm_namespace`` must exist.  vif_type ``ovs``: the
    OVSDB at ``ovsdb_connection`` (default [ovs] ovsdb_connection's
    default), the bridge the port's binding:vif_details name, else
    ``integration_bridge`` (default [ovs] integration_bridge's default).  Idempotent: a VIF that is
    already there is checked and left alone.  Returns the host end's name.
    """
    if vm_namespace is None:
        raise ValueError('vm_namespace is required')
    kind = vif_type(port)
    if kind not in PLUGGABLE_VIF_TYPES:
        raise ValueError('port %s has vif_type %s: not pluggable here (bound to '
                         'a host whose agent is alive?)' % (port['id'], kind))
    if kind == 'ovs':
        ovs_lib = _ovs_lib()   # before anything is made: NotImplementedError if absent
    port_id = port['id']
    mac = _field(port, 'mac_address', 'address')
    mtu = mtu or mtu_of(port)
    host_vif.plug_veth(port_id, host_namespace, vm_namespace, ifname, mac, mtu)
    tap = host_vif.vif_name(port_id)
    if kind == 'ovs':
        bridge = _ovs_bridge(port, integration_bridge)
        ovs_lib.transact(_ovs_api(ovs_lib, ovsdb_connection),
                         [ovs_lib.op_plug_vif(bridge, tap, port_id, mac, mtu)])
        LOG.info('plugged VIF %s (port %s) into %s', tap, port_id, bridge)
    return tap


def unplug(port, host_namespace=None, vm_namespace=None, ifname='eth0',
           ovsdb_connection=None):
    """Remove the VIF of ``port`` (a port/VIF dict or a port id): the
    integration bridge port (ovs) and the veth pair.  Missing is fine.
    ``vm_namespace`` and ``ifname`` are accepted for symmetry with
    ``plug``: deleting the host end deletes the VM end with it."""
    port_id = port if isinstance(port, str) else port['id']
    if not isinstance(port, str) and vif_type(port) == 'ovs':
        try:
            ovs_lib = _ovs_lib()
        except NotImplementedError:
            LOG.warning('port %s: no OVS library to unplug it from OVS with', port_id)
        else:
            ovs_lib.transact(_ovs_api(ovs_lib, ovsdb_connection),
                             [ovs_lib.op_del_port(host_vif.vif_name(port_id))])
    host_vif.unplug_veth(port_id, host_namespace)


# ---- Open vSwitch ----------------------------------------------------------

def _ovs_bridge(port, integration_bridge=None):
    details = _field(port, 'binding:vif_details', 'details') or {}
    return (details.get('bridge_name') or integration_bridge
            or agent_conf.DEFAULT_INTEGRATION_BRIDGE)


def _ovs_api(ovs_lib, connection):
    return ovs_lib.get_api(connection or agent_conf.DEFAULT_OVSDB_CONNECTION)


def _ovs_lib():
    """naas.host.ovs_lib (it needs ovsdbapp); NotImplementedError without it."""
    try:
        from naas.host import ovs_lib
    except ImportError as exc:
        raise NotImplementedError('vif_type ovs needs naas.host.ovs_lib: %s' % exc)
    return ovs_lib
