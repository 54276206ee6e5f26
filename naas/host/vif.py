"""VIF plumbing primitives: the veth pair that joins a namespace to a host.

Every port NaaS plugs on a host is one veth pair:

* the host end, in the host's namespace (``host_namespace``; None: this
  process's own, as on a real hypervisor), named :func:`vif_name`
  (``tap`` + the first 11 characters of the port id), with ifalias = the
  full port id, up: what the L2 driver finds and wires;
* the other end, in ``peer_namespace`` (a VM, a DHCP or router namespace),
  named ``ifname``, with the port's MAC address and the network's MTU, up.

On an Open vSwitch host the host end is also a port of the integration
bridge with the external_ids nova sets (naas.host.ovs_lib.op_plug_vif).

Used by the compute library (naas.compute.vif: VM VIFs) and by the L2 drivers
(service ports: DHCP ports, router interfaces and gateways).
"""
import errno
import logging

from naas.host import ip_lib
from naas.host import netns

LOG = logging.getLogger(__name__)

#: Host-side VIF names: "tap" + the first 11 characters of the port id.
VIF_PREFIX = 'tap'


def vif_name(port_id):
    return (VIF_PREFIX + port_id)[:14]


def plug_veth(port_id, host_namespace, peer_namespace, ifname, mac=None, mtu=None):
    """Make the veth pair of ``port_id`` (see the module's docstring).

    ``peer_namespace`` must exist.  Idempotent: a pair that is there is left
    alone; a host end whose peer is not ``ifname`` in ``peer_namespace``
    any more (the port was plugged elsewhere) is replaced.  Raises
    RuntimeError if the host end's name belongs to another port.  Returns
    True if a new pair was made.
    """
    tap = vif_name(port_id)
    with netns.handle(host_namespace) as host:
        existing = host.link(tap)
        if existing is not None and existing.alias and existing.alias != port_id:
            raise RuntimeError('%s exists and belongs to port %s' % (tap, existing.alias))
        if existing is not None and netns.link(peer_namespace, ifname) is None:
            LOG.warning('%s of port %s is not joined to %s in %s: plugging it again',
                        tap, port_id, ifname, peer_namespace)
            host.del_link(existing.index)
            existing = None
        made = existing is None
        if made:
            # One request from the host's side: the peer is created straight
            # in its namespace, up (the kernel applies its flags there).
            peer_end = {'net_ns_fd': peer_namespace, 'state': 'up'}
            if mac:
                peer_end['address'] = mac
            host_end = {'ifname': tap}
            if mtu:
                peer_end['mtu'] = host_end['mtu'] = mtu
            host.call(lambda ipr: ipr.link('add', ifname=ifname, kind='veth',
                                           peer=host_end, **peer_end))
            existing = host.link(tap)
            host.no_ipv6_addresses(existing.index)
            LOG.info('plugged port %s: %s in %s, %s in %s', port_id, tap,
                     host_namespace or '(own)', ifname, peer_namespace)
        host.set_link(existing.index, ifalias=port_id, state='up')
    return made


def unplug_veth(port_id, host_namespace):
    """Delete the veth pair of ``port_id`` (its host end; the peer goes with
    it).  Missing is fine, and so is a host namespace that is gone."""
    try:
        netns.delete_link(host_namespace, vif_name(port_id))
    except ip_lib.NetlinkError as exc:
        if exc.errno != errno.ENOENT:
            raise
