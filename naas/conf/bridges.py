"""Options of the [bridges] group: the remote-site bridges extension
(naas.plugins.bridges, on naas-server)."""
from oslo_config import cfg

OPTS = [
    cfg.ListOpt('allowed_remote_cidrs', default=['0.0.0.0/0', '::/0'],
                help='Prefixes a remote-site bridge\'s remote_ip must be in '
                     '(an administrator is held to them too). Loopback, '
                     'multicast, link-local and unspecified addresses are '
                     'refused whatever this says. Narrow it to the sites '
                     'and VPN ranges tenants may tunnel to.'),
    cfg.BoolOpt('allow_automatic_failover', default=True,
                help='Move the remote-site bridges of a host whose L2 agent is '
                     'dead for agent_down_time to another host that can '
                     'terminate them (physical-network bridges stay on their '
                     'host and show DOWN). docs/bridges.md.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group='bridges')


def list_opts():
    return [('bridges', OPTS)]
