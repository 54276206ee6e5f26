"""The statistics service plugin (entry point ``statistics``): traffic
counters per port, per address of a port and per network (the
``port-statistics`` extension, read only: naas.lib.definitions
.port_statistics and network_statistics).

The agents cast their samples on topic naas-statistics
(naas.rpc.statistics_api); whichever naas-server consumes a batch stores it
with ``report_statistics`` in one transaction (port_statistics.ingest) and
then sends it as a notification (notify.py).  The API reads
(port_statistics.py, network_statistics.py) join the core ports table; the
Prometheus endpoint (naas.api.metrics) reads through ``metric_rows``.
"""
import threading

from naas.common import context as naas_context
from naas.conf import CONF
from naas.db import api as db_api
from naas.lib.definitions import network_statistics as network_statistics_def
from naas.lib.definitions import port_statistics as port_statistics_def
from naas.plugins import core
from naas.plugins.statistics import network_statistics
from naas.plugins.statistics import notify
from naas.plugins.statistics import port_statistics


class StatisticsPlugin(core.ServicePlugin):
    resources = (port_statistics_def, network_statistics_def)
    extensions = (port_statistics_def.ALIAS,)

    def __init__(self):
        self.core = None
        self.notifier = notify.Notifier()
        # Batches stored at once ([statistics] ingest_concurrency): the RPC
        # server's pool hands over as many casts as arrive together, and
        # beyond two they only contend for the GIL (100 agents x 500 ports,
        # tools/bench_statistics_server.py --threads 8: 1.48 s an interval
        # unbounded, 1.12 s two at a time, 1.35 s one at a time).
        self.ingesting = threading.BoundedSemaphore(CONF.statistics.ingest_concurrency)

    def start_rpc_listeners(self):
        """The agents' samples (topic naas-statistics, load-balanced over
        the servers)."""
        import oslo_messaging as messaging

        from naas import rpc
        from naas.rpc import statistics_api
        target = messaging.Target(topic=statistics_api.STATISTICS_TOPIC, server=CONF.host)
        server = rpc.get_server(target, [statistics_api.StatisticsEndpoint(self)])
        server.start()
        return [server]

    # ---- RPC -----------------------------------------------------------------

    def report_statistics(self, host, collected_at, groups):
        """Store one batch of ``host``'s samples (groups of
        naas.rpc.statistics_api), then notify it (what was stored is read
        back in the same transaction, only when the notifications go
        somewhere).  Returns how many ports were stored."""
        notify = self.notifier.enabled()

        def store(ctx):
            count = port_statistics.ingest(ctx.connection, host, collected_at, groups)
            if not (notify and count):
                return count, []
            return count, port_statistics.stored(
                ctx.connection, host, collected_at,
                [port_id for group in groups for port_id in group[1]])

        with self.ingesting:
            count, stored = db_api.retry(store, naas_context.get_admin_context())
        self.notifier.batch_stored(host, collected_at, stored)
        return count

    def metric_rows(self):
        """Every port's totals, for the Prometheus endpoint (two queries:
        port_statistics.metric_rows)."""
        return db_api.retry(lambda ctx: port_statistics.metric_rows(ctx.connection),
                            naas_context.get_admin_context(), writer=False)

    # ---- API -----------------------------------------------------------------

    def get_port_statistic(self, context, id):
        return port_statistics.get(context, id)

    def get_port_statistics(self, context, filters=None, sorts=(), limit=None,
                            marker=None, page_reverse=False):
        return port_statistics.select(context, filters, sorts, limit, marker, page_reverse)

    def get_network_statistic(self, context, id):
        return network_statistics.get(context, id)

    def get_network_statistics(self, context, filters=None, sorts=(), limit=None,
                               marker=None, page_reverse=False):
        return network_statistics.select(context, filters, sorts, limit, marker, page_reverse)
