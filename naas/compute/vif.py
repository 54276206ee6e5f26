"""Plugging VIFs on a compute host: what os-vif does for nova, for NaaS.

A VIF is a veth pair:

* the VM end, in the VM's namespace (``vm_namespace``), named ``ifname``
  (eth0), with the port's MAC address and the network's MTU, up;
* the host end, in the host's namespace (``host_namespace``; None: this
  process's, as on a real hypervisor), named ``base.vif_name(port_id)``
  ("tap" + port_id[:11]) with ifalias = the full port id, up.

The host's L2 agent finds host ends by name and ifalias (one link dump) and
wires them: the Linux bridge agent (vif_type ``bridge``) puts them in the
network's bridge; for vif_type ``ovs`` this module also adds the host end to
the integration bridge with external_ids iface-id=<port id>,
attached-mac=<mac>, iface-status=active, the way nova does, and the Open
vSwitch agent wires it from there.

``port`` is a port as the API returns it (id, mac_address,
binding:vif_type, binding:vif_details) or a VIF of
naas.compute.network_info (id, address, type, details, network.meta.mtu).
"""
import errno
import logging

from naas.host import ip_lib
from naas.host import netns
from naas.agent.l2 import base

LOG = logging.getLogger(__name__)

PLUGGABLE_VIF_TYPES = ('bridge', 'ovs')


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
         ovsdb_connection=None):
    """Plug ``port``: a veth pair between the VM and the host, see above.

    ``mtu``: the network's MTU (default: what ``port`` carries, else the
    kernel's 1500).  ``vm_namespace`` must exist.  Idempotent: a VIF that is
    already there is checked and left alone.  Returns the host end's name.
    """
    if vm_namespace is None:
        raise ValueError('vm_namespace is required')
    kind = vif_type(port)
    if kind not in PLUGGABLE_VIF_TYPES:
        raise ValueError('port %s has vif_type %s: not pluggable here (bound to '
                         'a host whose agent is alive?)' % (port['id'], kind))
    if kind == 'ovs':
        _ovs_lib()      # before anything is made: NotImplementedError if absent
    port_id = port['id']
    mac = _field(port, 'mac_address', 'address')
    mtu = mtu or mtu_of(port)
    tap = base.vif_name(port_id)
    with netns.handle(host_namespace) as host:
        existing = host.link(tap)
        if existing is not None and existing.alias != port_id:
            raise RuntimeError('%s exists and belongs to port %s' % (tap, existing.alias))
        if existing is None:
            # One request from the host's side: the VM end is created
            # straight in the VM's namespace, up (the kernel applies its
            # flags there), the host end here.
            vm_end = {'net_ns_fd': vm_namespace, 'state': 'up'}
            if mac:
                vm_end['address'] = mac
            peer = {'ifname': tap}
            if mtu:
                vm_end['mtu'] = peer['mtu'] = mtu
            host.call(lambda ipr: ipr.link('add', ifname=ifname, kind='veth',
                                           peer=peer, **vm_end))
            existing = host.link(tap)
            LOG.info('plugged port %s: %s in %s, %s in %s', port_id, tap,
                     host_namespace or '(own)', ifname, vm_namespace)
        host.set_link(existing.index, ifalias=port_id, state='up')
    if kind == 'ovs':
        _ovs_plug(port, tap, mac, mtu, host_namespace, ovsdb_connection)
    return tap


def unplug(port, host_namespace=None, vm_namespace=None, ifname='eth0',
           ovsdb_connection=None):
    """Remove the VIF of ``port`` (a port/VIF dict or a port id): the
    integration bridge port (ovs) and the veth pair.  Missing is fine.
    ``vm_namespace`` and ``ifname`` are accepted for symmetry with
    ``plug``: deleting the host end deletes the VM end with it."""
    port_id = port if isinstance(port, str) else port['id']
    tap = base.vif_name(port_id)
    if not isinstance(port, str) and vif_type(port) == 'ovs':
        try:
            _ovs_unplug(port, tap, host_namespace, ovsdb_connection)
        except NotImplementedError:
            LOG.warning('port %s: no OVS library to unplug it from OVS with', port_id)
    try:
        netns.delete_link(host_namespace, tap)   # and with it the VM's end
    except ip_lib.NetlinkError as exc:
        if exc.errno != errno.ENOENT:   # the host namespace is gone: so is the VIF
            raise


# ---- Open vSwitch ----------------------------------------------------------
# naas.host.ovs_lib (the Open vSwitch driver's library) provides:
#   add_vif_port(bridge, ifname, port_id, mac, connection=None, namespace=None,
#                mtu=None)
#   del_vif_port(bridge, ifname, connection=None, namespace=None)
# Without it, plugging an 'ovs' VIF raises NotImplementedError.

def _ovs_bridge(port):
    details = _field(port, 'binding:vif_details', 'details') or {}
    return details.get('bridge_name') or 'br-int'


def _ovs_lib():
    try:
        from naas.host import ovs_lib
    except ImportError:
        ovs_lib = None
    if ovs_lib is None or not hasattr(ovs_lib, 'add_vif_port'):
        raise NotImplementedError(
            'vif_type ovs needs naas.host.ovs_lib.add_vif_port (the Open '
            'vSwitch driver library)')
    return ovs_lib


def _ovs_plug(port, tap, mac, mtu, namespace, connection):
    _ovs_lib().add_vif_port(_ovs_bridge(port), tap, port['id'], mac,
                            connection=connection, namespace=namespace, mtu=mtu)


def _ovs_unplug(port, tap, namespace, connection):
    _ovs_lib().del_vif_port(_ovs_bridge(port), tap, connection=connection,
                            namespace=namespace)
