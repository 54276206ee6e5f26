"""GET /metrics: the statistics extension's counters in the Prometheus text
format, for operators' scrapers (route in etc/naas/api-paste.ini, outside
/v2.0).

Not behind Keystone: a Prometheus server is not a Keystone client.  Access
is by client address instead, as for any exporter: only the CIDRs of
[statistics] prometheus_allowed_cidrs (loopback by default) may read it,
others get 403 (REMOTE_ADDR: behind a proxy, the proxy's address).  404 when
[statistics] prometheus_enabled is off or the statistics plugin is not
loaded.

One scrape is one query (naas.plugins.statistics.port_statistics
.metric_rows), turned into prometheus_client metric families by a collector
of our own (no registry of per-port gauges kept in the process, which
several API workers would each hold a stale part of), written out by
``render`` (the text format, each port's labels formatted once):

- per network, always: ``naas_network_<counter>_total`` (the sums over all
  its ports, DHCP and router ports included), ``naas_network_ports``,
  ``naas_network_collected_timestamp_seconds``; labels network_id,
  project_id (the network's);
- per port, while there are at most [statistics] prometheus_max_ports ports
  (the bound of the label cardinality): ``naas_port_<counter>_total`` with
  labels port_id, network_id, project_id, device_owner; ports never
  reported have no series.

Counters are as in the API: seen from the VM, monotonic.  Rates are left to
PromQL's rate().
"""
import netaddr
from prometheus_client import core as prometheus_core
from prometheus_client import exposition
from prometheus_client import samples as prometheus_samples
import webob
import webob.dec

from naas.conf import CONF
from naas.lib.definitions import port_statistics as definition
from naas.plugins import manager as plugin_manager

COUNTERS = definition.COUNTERS
DESCRIPTIONS = {
    'rx_bytes': 'Bytes received by the VM (Ceilometer network.incoming.bytes)',
    'rx_packets': 'Packets received by the VM (network.incoming.packets)',
    'tx_bytes': 'Bytes sent by the VM (network.outgoing.bytes)',
    'tx_packets': 'Packets sent by the VM (network.outgoing.packets)',
    'rx_dropped': 'Packets to the VM dropped (network.incoming.packets.drop)',
    'tx_dropped': 'Packets from the VM dropped (network.outgoing.packets.drop)',
    'rx_errors': 'Receive errors (network.incoming.packets.error)',
    'tx_errors': 'Transmit errors (network.outgoing.packets.error)',
}
PORT_LABELS = ('port_id', 'network_id', 'project_id', 'device_owner')
#: Where the counters start in a row of metric_rows (id, network_id,
#: project_id, device_owner, network_project_id, collected_at, counters...).
FIRST_COUNTER = 6
NETWORK_LABELS = ('network_id', 'project_id')


def _label_text(names, values):
    """A series' label set in the text format: {a="x",b="y"}."""
    return '{%s}' % ','.join(
        '%s="%s"' % (name, str(value).replace('\\', '\\\\').replace('\n', '\\n')
                     .replace('"', '\\"'))
        for name, value in zip(names, values))


class StatisticsCollector:
    """Metric families of one read of the statistics (``rows`` is a
    callable answering metric_rows' rows).

    The families are prometheus_client's; each port's labels are one dict
    shared by its series, which ``render`` formats once."""

    def __init__(self, rows, max_ports):
        self.rows = rows
        self.max_ports = max_ports

    def collect(self):
        rows = self.rows()
        per_port = len(rows) <= self.max_ports
        port_families = [prometheus_core.CounterMetricFamily(
            'naas_port_' + name, DESCRIPTIONS[name] + ', per port.', labels=PORT_LABELS)
            for name in COUNTERS]
        network_families = [prometheus_core.CounterMetricFamily(
            'naas_network_' + name, DESCRIPTIONS[name] + ', summed over the network\'s ports.',
            labels=NETWORK_LABELS) for name in COUNTERS]
        port_count = prometheus_core.GaugeMetricFamily(
            'naas_network_ports', 'Ports on the network.', labels=NETWORK_LABELS)
        collected = prometheus_core.GaugeMetricFamily(
            'naas_network_collected_timestamp_seconds',
            'When the latest sample of a port of the network was read (epoch).',
            labels=NETWORK_LABELS)
        networks = {}  # network_id -> [labels, sums, port count, latest collected_at]
        reported = []
        for row in rows:
            network = networks.get(row[1])
            if network is None:
                network = networks[row[1]] = [[row[1], row[4]], [0] * len(COUNTERS), 0, None]
            network[2] += 1
            if row[5] is not None:  # (never reported: no series)
                reported.append(row)
                network[1] = [total + value
                              for total, value in zip(network[1], row[FIRST_COUNTER:])]
                network[3] = row[5] if network[3] is None else max(network[3], row[5])
        if per_port:
            sample = prometheus_samples.Sample
            labels = [dict(zip(PORT_LABELS, row[:4])) for row in reported]
            for index, family in enumerate(port_families, FIRST_COUNTER):
                name = family.name + '_total'
                family.samples = [sample(name, port_labels, row[index])
                                  for port_labels, row in zip(labels, reported)]
        for labels, sums, count, latest in networks.values():
            for family, value in zip(network_families, sums):
                family.add_metric(labels, value)
            port_count.add_metric(labels, count)
            if latest is not None:
                collected.add_metric(labels, latest)
        if per_port:
            yield from port_families
        yield from network_families
        yield port_count
        yield collected


def render(families):
    """The text exposition format (0.0.4) of these metric families.

    As prometheus_client's generate_latest writes it, but each label set is
    formatted once however many series share its dict (a port's 8
    counters): generate_latest formats and checks every sample's labels
    again, ten times slower with 10,000 ports."""
    label_texts = {}
    out = []
    for family in families:
        name = family.name + '_total' if family.type == 'counter' else family.name
        out.append('# HELP %s %s\n# TYPE %s %s\n' % (
            name, family.documentation.replace('\\', '\\\\').replace('\n', '\\n'),
            name, family.type))
        for sample in family.samples:
            text = label_texts.get(id(sample.labels))
            if text is None:
                text = label_texts[id(sample.labels)] = _label_text(
                    sample.labels.keys(), sample.labels.values())
            out.append('%s%s %r\n' % (sample.name, text, sample.value))
    return ''.join(out).encode()


class MetricsApp:
    """The /metrics WSGI application."""

    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls()

    @staticmethod
    def _allowed(address):
        try:
            return address is not None and netaddr.IPAddress(address) in netaddr.IPSet(
                CONF.statistics.prometheus_allowed_cidrs)
        except (netaddr.AddrFormatError, ValueError):
            return False

    @webob.dec.wsgify
    def __call__(self, request):
        plugin = plugin_manager.get_manager().services.get('statistics')
        if (request.path_info not in ('', '/') or plugin is None
                or not CONF.statistics.prometheus_enabled):
            return webob.Response(status=404, content_type='text/plain', charset='utf-8',
                                  text='Not found\n')
        if request.method not in ('GET', 'HEAD'):
            return webob.Response(status=405, headers={'Allow': 'GET, HEAD'})
        if not self._allowed(request.remote_addr):
            return webob.Response(status=403, content_type='text/plain', charset='utf-8',
                                  text='%s may not read /metrics: see [statistics] '
                                       'prometheus_allowed_cidrs\n' % request.remote_addr)
        collector = StatisticsCollector(plugin.metric_rows, CONF.statistics.prometheus_max_ports)
        return webob.Response(body=render(collector.collect()),
                              content_type=exposition.CONTENT_TYPE_PLAIN_0_0_4, charset=None)
