"""A "remote site" for the remote-bridges tests and benchmark: plain Linux
with nothing of NaaS (naas.plugins.bridges joins a NaaS network to it).

:class:`RemoteSite` -- a namespace ``<prefix>-rsN`` on the environment's
underlay (address 192.0.2.10N: inside the test's own namespaces, never the
root namespace) with a kernel VXLAN device ``vx0`` to a NaaS host's
tunnel_ip and a bridge ``br0``, and behind it a host namespace
``<prefix>-rhN`` (eth0 10.0.0.20N/24 and fd00:a::20N/64).  Built with
ip(8) only; every name has the environment's prefix, so naas-cleanup's
safety net finds what a killed run left.

:class:`LanHost` -- for the physical-bridges tests: a namespace
``<prefix>-lanN`` whose eth0 is an access port of a VLAN on a host's
physical bridge (br-phys, physnet1): a machine on a VLAN of the physical
network, nothing of NaaS.
"""
import fixtures

from tools.harness import fullstack
from tools.harness import ovs_host


class RemoteSite(fixtures.Fixture):
    """A VTEP with a bridge and a host behind it."""

    def __init__(self, env, index, vni, local_ip):
        super().__init__()
        self.env = env
        self.index = index
        self.vni = vni
        self.local_ip = local_ip            # the NaaS host's tunnel_ip
        self.namespace = '%s-rs%d' % (env.prefix, index)
        self.host_namespace = '%s-rh%d' % (env.prefix, index)
        self.underlay_ip = '192.0.2.%d' % (100 + index)
        self.ipv4 = '10.0.0.%d' % (200 + index)
        self.ipv6 = 'fd00:a::%d' % (200 + index)

    def _setUp(self):
        ns, rh = self.namespace, self.host_namespace
        for name in (ns, rh):
            self.addCleanup(fullstack.delete_netns, name)
            fullstack.run(['ip', 'netns', 'add', name])
            fullstack.ip('link', 'set', 'lo', 'up', ns=name)
        self.env.underlay.connect(ns, 'ul0', 'rs%d' % self.index)
        fullstack.ip('addr', 'add', self.underlay_ip + '/24', 'dev', 'ul0', ns=ns)
        # Checksums complete on the underlay, as on a wire (a veth passes
        # partial ones, which OVS's userspace tunnels drop).
        ovs_host.disable_tx_offload(ns, 'ul0')
        fullstack.ip('link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0',
                     'forward_delay', '0', ns=ns)
        self.add_vtep('vx0', self.vni, self.local_ip)
        fullstack.ip('link', 'add', 'eth0', 'netns', rh, 'type', 'veth', 'peer', 'name',
                     'site0', 'netns', ns)
        fullstack.ip('link', 'set', 'site0', 'master', 'br0', 'up', ns=ns)
        fullstack.ip('link', 'set', 'br0', 'up', ns=ns)
        fullstack.ip('addr', 'add', self.ipv4 + '/24', 'dev', 'eth0', ns=rh)
        fullstack.ip('addr', 'add', self.ipv6 + '/64', 'dev', 'eth0', 'nodad', ns=rh)
        # Behind a tunnel: at most the MTU of a VXLAN network.
        fullstack.ip('link', 'set', 'eth0', 'mtu', 1400, 'up', ns=rh)

    def add_vtep(self, name, vni, remote_ip):
        """Another VXLAN device in the site's bridge (``vni`` to ``remote_ip``)."""
        fullstack.ip('link', 'add', name, 'type', 'vxlan', 'id', vni, 'local',
                     self.underlay_ip, 'remote', remote_ip, 'dstport', 4789,
                     'dev', 'ul0', ns=self.namespace)
        fullstack.ip('link', 'set', name, 'master', 'br0', 'up', ns=self.namespace)

    @property
    def mac(self):
        """The MAC of the site's host."""
        return fullstack.links(self.host_namespace)['eth0']['address']


class LanHost(fixtures.Fixture):
    """A machine on VLAN ``vlan`` (None: untagged) of physnet1, seen from
    ``host``: a namespace whose eth0 (``address``) is an access port of
    ``vlan`` on the host's physical bridge (br-phys: an OVS bridge of the
    harness, not NaaS's; this kernel has no 802.1Q devices, so the tag is
    OVS's)."""

    def __init__(self, env, host, index, vlan, address):
        super().__init__()
        self.env = env
        self.host = host
        self.vlan = vlan
        self.address = address                  # 'a.b.c.d/len'
        self.namespace = '%s-lan%d' % (env.prefix, index)
        self.port = 'lan%d' % index              # its end on br-phys

    def _setUp(self):
        ns = self.namespace
        self.addCleanup(fullstack.delete_netns, ns)
        fullstack.run(['ip', 'netns', 'add', ns])
        fullstack.ip('link', 'set', 'lo', 'up', ns=ns)
        fullstack.ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name',
                     self.port, 'netns', self.host.namespace)
        ovs_host.disable_tx_offload(ns, 'eth0')
        tag = [] if self.vlan is None else ['tag=%d' % self.vlan]
        self.host.vsctl('add-port', fullstack.PHYS_BRIDGE, self.port, *tag)
        fullstack.ip('link', 'set', self.port, 'up', ns=self.host.namespace)
        fullstack.ip('addr', 'add', self.address, 'dev', 'eth0', ns=ns)
        # Bridged into an overlay network: at most its MTU.
        fullstack.ip('link', 'set', 'eth0', 'mtu', 1400, 'up', ns=ns)
