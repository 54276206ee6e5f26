"""Options of the [quotas] group: per-project defaults, -1 is unlimited."""
from oslo_config import cfg

OPTS = [
    cfg.IntOpt('quota_network', default=100,
               help='Networks a project may have; -1 is unlimited.'),
    cfg.IntOpt('quota_subnet', default=100,
               help='Subnets a project may have; -1 is unlimited.'),
    cfg.IntOpt('quota_port', default=500,
               help='Ports a project may have; -1 is unlimited.'),
    cfg.IntOpt('quota_router', default=10,
               help='Routers a project may have; -1 is unlimited.'),
    cfg.IntOpt('quota_floatingip', default=50,
               help='Floating IPs a project may have; -1 is unlimited.'),
    cfg.IntOpt('quota_security_group', default=10,
               help='Security groups a project may have; -1 is unlimited.'),
    cfg.IntOpt('quota_security_group_rule', default=100,
               help='Security group rules a project may have; -1 is unlimited.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group='quotas')


def list_opts():
    return [('quotas', OPTS)]
