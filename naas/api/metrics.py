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
.metric_rows), read by a collector of our own (no registry of per-port
gauges kept in the process, which several API workers would each hold a
stale part of).  The collector gives prometheus_client metric families
(``collect``, for a registry) and, for the scrape, the same series as text
(``text``): the per-port lines written straight from the rows, each port's
labels formatted once (80,000 Sample objects built and formatted one by one
had cost two thirds of a 10,000-port scrape), the network families through
``render``:

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
    values = [str(value) for value in values]
    joined = ''.join(values)
    if '\\' in joined or '\n' in joined or '"' in joined:
        values = [value.replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')
                  for value in values]
    return '{%s}' % ','.join([name + '="' + value + '"' for name, value in zip(names, values)])


def _port_family(name):
    return prometheus_core.CounterMetricFamily(
        'naas_port_' + name, DESCRIPTIONS[name] + ', per port.', labels=PORT_LABELS)


def _header(family):
    """The HELP and TYPE lines of a family."""
    name = family.name + '_total' if family.type == 'counter' else family.name
    return '# HELP %s %s\n# TYPE %s %s\n' % (
        name, family.documentation.replace('\\', '\\\\').replace('\n', '\\n'),
        name, family.type)


class StatisticsCollector:
    """The series of one read of the statistics (``rows`` is a callable
    answering metric_rows' rows): ``collect`` gives prometheus_client
    metric families, ``text`` the text format of the same series."""

    def __init__(self, rows, max_ports):
        self.rows = rows
        self.max_ports = max_ports

    def _read(self):
        """The ports to give series of (none above max_ports) and the
        network families."""
        rows = self.rows()
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
        for labels, sums, count, latest in networks.values():
            for family, value in zip(network_families, sums):
                family.add_metric(labels, value)
            port_count.add_metric(labels, count)
            if latest is not None:
                collected.add_metric(labels, latest)
        if len(rows) > self.max_ports:
            reported = []
        return reported, network_families + [port_count, collected]

    def collect(self):
        reported, network_families = self._read()
        if reported:
            sample = prometheus_samples.Sample
            labels = [dict(zip(PORT_LABELS, row[:4])) for row in reported]
            for index, name in enumerate(COUNTERS, FIRST_COUNTER):
                family = _port_family(name)
                family.samples = [sample(family.name + '_total', port_labels, row[index])
                                  for port_labels, row in zip(labels, reported)]
                yield family
        yield from network_families

    def text(self):
        """The text exposition format (0.0.4) of ``collect``'s families."""
        reported, network_families = self._read()
        out = []
        if reported:
            labels = [_label_text(PORT_LABELS, row[:4]) for row in reported]
            for index, name in enumerate(COUNTERS, FIRST_COUNTER):
                family = _port_family(name)
                line = family.name + '_total%s %d\n'
                out.append(_header(family))
                out.append(''.join([line % (port_labels, row[index])
                                    for port_labels, row in zip(labels, reported)]))
        out.append(render(network_families))
        return ''.join(out).encode()


def render(families):
    """The text exposition format (0.0.4) of these metric families (str).

    As prometheus_client's generate_latest writes it, but each label set is
    formatted once however many series share its dict: generate_latest
    formats and checks every sample's labels again."""
    label_texts = {}
    out = []
    for family in families:
        out.append(_header(family))
        for sample in family.samples:
            text = label_texts.get(id(sample.labels))
            if text is None:
                text = label_texts[id(sample.labels)] = _label_text(
                    sample.labels.keys(), sample.labels.values())
            out.append('%s%s %r\n' % (sample.name, text, sample.value))
    return ''.join(out)


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
        return webob.Response(body=collector.text(),
                              content_type=exposition.CONTENT_TYPE_PLAIN_0_0_4, charset=None)
