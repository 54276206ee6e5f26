"""Options of the [statistics] group: the statistics extension
(naas.plugins.statistics on the server, the statistics thread of
naas-agent).  The server-side options are added by the statistics plugin's
owner below the agent's."""
from oslo_config import cfg

OPTS = [
    cfg.FloatOpt('report_interval', default=10, min=1,
                 help='Seconds between two reads of the port counters by '
                      'naas-agent (one pass over the host each time), sent '
                      'to naas-server in batches. The rates the API shows '
                      'are over this interval.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group='statistics')


def list_opts():
    return [('statistics', OPTS)]
