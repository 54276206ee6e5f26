"""Agent -> server RPC of the statistics extension: counter samples.

Each agent whose L2 driver has the PortCounters hook
(naas.agent.l2.hooks) reads the counters of its wired ports once every
[statistics] report_interval and casts them here in batches; whichever
naas-server consumes a batch stores it (naas.plugins.statistics), so the
casts are load-balanced over the servers and never fanned out.  A server
without the statistics plugin has no listener on the topic: the samples
are dropped, the agent does not care.

Version history (StatisticsAPI / StatisticsEndpoint):
    1.0 - report_statistics
    1.1 - report_statistics: each port may name its ``network_id`` (the
          server then finds a steady port in its network's samples row
          without a look at the ports table)
"""
import oslo_messaging as messaging

from naas import rpc

STATISTICS_TOPIC = 'naas-statistics'


class StatisticsAPI(rpc.Client):
    """Client side, used by naas-agent; capped by [upgrade_levels]
    statistics."""

    TOPIC = STATISTICS_TOPIC
    VERSION = '1.1'
    UPGRADE_LEVEL = 'statistics'

    def __init__(self, host):
        super().__init__()
        self.host = host

    def report_statistics(self, context, collected_at, ports):
        """Cast one batch: ``collected_at`` is the agent's wall-clock time of
        the read (seconds since the epoch, a float); ``ports`` is a list of
        {'port_id', 'network_id', 'vif', 'counters': {Counters' fields},
        'addresses': {ip_address: {AddressCounters' fields}}}
        (naas.agent.l2.hooks.PortSample as plain data).  Capped at 1.0,
        the ports go without their network_id."""
        version = '1.1'
        if not self.can_send_version(version):
            version = '1.0'
            ports = [{key: value for key, value in port.items() if key != 'network_id'}
                     for port in ports]
        cctxt = self.client.prepare(version=version)
        cctxt.cast(context, 'report_statistics', host=self.host,
                   collected_at=collected_at, ports=ports)


class StatisticsEndpoint:
    """Server side, in naas-server (started by the statistics plugin's
    start_rpc_listeners); ``handler.report_statistics(host, collected_at,
    ports)`` stores a batch in one transaction."""

    target = messaging.Target(version='1.1')

    def __init__(self, handler):
        self.handler = handler

    def report_statistics(self, context, host, collected_at, ports):
        return self.handler.report_statistics(host, collected_at, ports)
