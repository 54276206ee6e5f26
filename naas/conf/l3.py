"""Options of HA routers (Neutron's l3-ha names, group [DEFAULT]).

l3_ha, max_l3_agents_per_router and l3_ha_net_cidr are read by naas-server
(naas.plugins.l3.ha); ha_vrrp_advert_int by the L3 agents
(naas.agent.l3.keepalived), as in Neutron.  docs/ha.md says how they add up
to a failover time.
"""
from oslo_config import cfg

OPTS = [
    cfg.BoolOpt('l3_ha', default=False,
                help='New routers are HA routers (keepalived VRRP on several '
                     'L3 agents) unless their creator, an administrator, '
                     'says "ha": false.'),
    cfg.IntOpt('max_l3_agents_per_router', default=3, min=2,
               help='How many L3 agents run each HA router (fewer when fewer '
                    'are alive, at least one).'),
    cfg.StrOpt('l3_ha_net_cidr', default='169.254.192.0/18',
               help='Subnet of the HA network of each project (VRRP '
                    'advertisements between the instances of its routers).'),
    cfg.FloatOpt('ha_vrrp_advert_int', default=2.0, min=0.1, max=255,
                 help='Seconds between VRRP advertisements of an HA router\'s '
                      'master (VRRPv3: fractions allowed).  A backup takes '
                      'over about 3 intervals after the master falls silent.'),
]


def register_opts(conf):
    conf.register_opts(OPTS)


def list_opts():
    return [('DEFAULT', OPTS)]
