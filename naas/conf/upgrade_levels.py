"""Options of the [upgrade_levels] group: the newest version each RPC client
may send (naas.rpc), as nova and ironic have them.

One option per RPC API, named after who serves it.  Unset, a client sends
the newest version it knows.  Set to an older version of the same major
(e.g. ``agent = 1.0``) while the other side still runs the old code: the
client then sends only what that version understands, and a method added
later either falls back to its older form or is refused with
naas.rpc.VersionCapped (each client's docstring says which).  The rolling
upgrade that uses them is described in naas/rpc/__init__.py.
"""
from oslo_config import cfg

_VERSION = r'^\d+\.\d+$'

OPTS = [
    cfg.StrOpt('agent', regex=_VERSION,
               help='Newest version naas-server may send to the agents '
                    '(naas.rpc.agent_api, topic naas-agent). Unset: the '
                    'newest. Set it to the old agents\' version while they '
                    'are upgraded after the server.'),
    cfg.StrOpt('l3_agent', regex=_VERSION,
               help='Newest version naas-server may send to the L3 agents '
                    '(naas.rpc.l3_api, topic naas-l3-agent). Unset: the '
                    'newest.'),
    cfg.StrOpt('compute', regex=_VERSION,
               help='Newest version naas-server may send to compute hosts '
                    '(naas.rpc.compute_api, topic naas-compute). Unset: the '
                    'newest.'),
    cfg.StrOpt('server', regex=_VERSION,
               help='Newest version an agent or compute host may send to '
                    'naas-server (naas.rpc.server_api, topic naas-plugin). '
                    'Unset: the newest. Needed only when agents are '
                    'upgraded before the server.'),
    cfg.StrOpt('l3_server', regex=_VERSION,
               help='Newest version an L3 agent may send to naas-server '
                    '(naas.rpc.l3_api, topic naas-l3-plugin). Unset: the '
                    'newest.'),
    cfg.StrOpt('statistics', regex=_VERSION,
               help='Newest version an agent may send to the statistics '
                    'plugin of naas-server (naas.rpc.statistics_api, topic '
                    'naas-statistics). Unset: the newest.'),
    cfg.StrOpt('bridges', regex=_VERSION,
               help='Newest version an agent may send to the bridges '
                    'plugin of naas-server (naas.rpc.bridges_api, topic '
                    'naas-bridges). Unset: the newest.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group='upgrade_levels')


def list_opts():
    return [('upgrade_levels', OPTS)]
