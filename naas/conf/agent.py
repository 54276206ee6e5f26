"""Options of naas-agent: [agent] and [ovs].

The compute library (naas.compute.vif, naas-sandbox) reads the host settings
from the same options: [agent] namespace, [ovs] ovsdb_connection and
integration_bridge, so that one configuration file serves both.
"""
from oslo_config import cfg

#: The system's OVSDB server (openvswitch-switch).
DEFAULT_OVSDB_CONNECTION = 'unix:/var/run/openvswitch/db.sock'
DEFAULT_INTEGRATION_BRIDGE = 'br-int'

AGENT_OPTS = [
    cfg.StrOpt('l2_driver', default='linuxbridge',
               choices=['linuxbridge', 'openvswitch'],
               help='How this host realises networks: Linux bridges with '
                    'kernel VXLAN, or Open vSwitch.'),
    cfg.StrOpt('namespace',
               help='Network namespace the agent manages, for hosts built as '
                    'namespaces (the fullstack tests); unset: the agent\'s '
                    'own namespace, as on a real hypervisor.'),
    cfg.StrOpt('tunnel_ip',
               help='This host\'s underlay address for VXLAN/GRE tunnels; '
                    'unset: no overlay networks on this host.'),
    cfg.ListOpt('tunnel_types', default=['vxlan'],
                help='Overlay types this host supports (vxlan, gre).'),
    cfg.StrOpt('underlay_interface',
               help='Interface VXLAN devices send through (Linux bridge); '
                    'unset: the route to each remote decides.'),
    cfg.DictOpt('bridge_mappings', default={},
                help='physnet:interface (linuxbridge) or physnet:bridge '
                     '(openvswitch) for VLAN and flat networks.'),
    cfg.FloatOpt('polling_interval', default=0.2,
                 help='Seconds between scans for plugged and unplugged VIFs.'),
    cfg.FloatOpt('report_interval', default=10,
                 help='Seconds between heartbeats to the server.'),
    cfg.BoolOpt('enable_dhcp', default=False,
                help='Serve DHCP on this host: the server schedules networks '
                     'with DHCP-enabled subnets to it and the agent runs '
                     'dnsmasq for each in a namespace (naas.agent.dhcp).'),
    cfg.IntOpt('dhcp_lease_duration', default=86400, min=120,
               help='DHCP lease time in seconds (dnsmasq allows 120 at least).'),
    cfg.BoolOpt('enable_l3', default=False,
                help='Run routers on this host: the agent also reports an '
                     'L3 agent (NaaS L3 agent) that the L3 plugin schedules '
                     'routers to, and realises each in a namespace of its own '
                     '(naas.agent.l3).'),
    cfg.BoolOpt('arp_responder', default=False,
                help='Answer ARP for the ports of other hosts here, from the '
                     'L2 population entries (Linux bridge: the VXLAN '
                     "device's ARP/ND proxy; Open vSwitch: an ARP responder "
                     'table), instead of flooding the request to the hosts '
                     'of the network. Off by default, as in Neutron: with it, '
                     'an address a port uses without the server knowing (an '
                     'allowed address pair on Linux bridge, a MAC changed in '
                     'a VM without port security) gets no or a wrong answer '
                     'from another host.'),
]

OVS_OPTS = [
    cfg.StrOpt('ovsdb_connection', default=DEFAULT_OVSDB_CONNECTION,
               help='OVSDB server of this host.'),
    cfg.StrOpt('integration_bridge', default=DEFAULT_INTEGRATION_BRIDGE,
               help='The bridge VIFs are plugged into.'),
    cfg.StrOpt('tunnel_bridge', default='br-tun',
               help='The bridge of VXLAN/GRE tunnel ports.'),
    cfg.StrOpt('datapath_type', default='system', choices=['system', 'netdev'],
               help='OVS datapath: the kernel module (system) or userspace '
                    '(netdev), where the module is missing.'),
]


def register_opts(conf):
    conf.register_opts(AGENT_OPTS, group='agent')
    conf.register_opts(OVS_OPTS, group='ovs')


def list_opts():
    return [('agent', AGENT_OPTS), ('ovs', OVS_OPTS)]
