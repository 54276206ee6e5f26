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
    # naas-server (naas.plugins.statistics, naas.api.metrics)
    cfg.BoolOpt('notifications', default=True,
                help='Send each ingested batch of port counters as an '
                     'oslo.messaging notification (event type '
                     'port.statistics, with Ceilometer meter names: '
                     'network.incoming.bytes, ...) for a telemetry '
                     'pipeline. They go where [oslo_messaging_notifications] '
                     'driver says; with no driver they are dropped anyway.'),
    cfg.IntOpt('ingest_concurrency', default=2, min=1,
               help='How many agents\' batches of samples one naas-server '
                    'process stores at once; the others wait their turn. Two '
                    'overlap one batch\'s database waits with the other\'s '
                    'Python work; more only contend for the interpreter\'s '
                    'lock (oslo.messaging hands casts that arrive together '
                    'to up to executor_thread_pool_size threads).'),
    cfg.BoolOpt('prometheus_enabled', default=True,
                help='Serve the port and network counters in the Prometheus '
                     'text format at /metrics on naas-server (outside '
                     '/v2.0, without Keystone authentication: only the '
                     'clients of prometheus_allowed_cidrs may read it).'),
    cfg.ListOpt('prometheus_allowed_cidrs', default=['127.0.0.0/8', '::1/128'],
                help='Client addresses (CIDRs) that may read /metrics; '
                     'others get 403. Add the address of your Prometheus '
                     'servers. The address is the TCP peer\'s: behind a '
                     'reverse proxy, the proxy\'s.'),
    cfg.IntOpt('prometheus_max_ports', default=10000, min=0,
               help='Bound of the label cardinality of /metrics: while at '
                    'most this many ports exist, each port has its own '
                    'series (labels port_id, network_id, project_id); above '
                    'it only the per-network sums are exported.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group='statistics')


def list_opts():
    return [('statistics', OPTS)]
