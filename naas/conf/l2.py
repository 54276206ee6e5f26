"""Options of the [l2] group: the core plugin's network types and ranges."""
from oslo_config import cfg

OPTS = [
    cfg.ListOpt('type_drivers', default=['local', 'flat', 'vlan', 'vxlan', 'gre'],
                help='Network types the core plugin accepts.'),
    cfg.ListOpt('tenant_network_types', default=['vxlan'],
                help='Types given to tenant networks, in order of '
                     'preference.'),
    cfg.ListOpt('vni_ranges', default=['1:65535'],
                help='VXLAN VNI ranges for tenant networks, "MIN:MAX".'),
    cfg.ListOpt('tunnel_id_ranges', default=['1:65535'],
                help='GRE key ranges for tenant networks, "MIN:MAX".'),
    cfg.ListOpt('network_vlan_ranges', default=[],
                help='"physnet:MIN:MAX" VLAN ranges for tenant networks, or '
                     '"physnet" for a physical network usable by provider '
                     'networks only.'),
    cfg.ListOpt('flat_networks', default=['*'],
                help='Physical networks that flat provider networks may '
                     'use; "*" allows any.'),
    cfg.IntOpt('path_mtu', default=0,
               help='Largest IP packet the underlay carries; 0 uses '
                    'global_physnet_mtu.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group='l2')


def list_opts():
    return [('l2', OPTS)]
