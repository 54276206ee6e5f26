"""The statistics of each ingested batch as one oslo.messaging notification,
for a telemetry pipeline (Ceilometer's notification agent, or anything that
reads the notifications topic).

Event type ``port.statistics``, priority INFO, publisher
``naas-statistics.<server host>``; the payload names each figure with
Ceilometer's meter name (the meters its libvirt pollsters give per vNIC,
seen from the VM as here)::

    {'host': the reporting agent's host, 'collected_at': ISO 8601 UTC,
     'ports': [{'port_id', 'network_id', 'project_id', 'device_id',
                'network.incoming.bytes', 'network.incoming.packets',
                'network.outgoing.bytes', 'network.outgoing.packets',
                'network.incoming.packets.drop', 'network.outgoing.packets.drop',
                'network.incoming.packets.error', 'network.outgoing.packets.error',
                'network.incoming.bytes.rate', 'network.outgoing.bytes.rate',
                'network.incoming.packets.rate', 'network.outgoing.packets.rate',
                'addresses': [{'ip_address', 'network.incoming.bytes', ...}]}]}

Sent after the batch's transaction commits, only when [statistics]
notifications is on; [oslo_messaging_notifications] driver says where they
go (none: dropped, as for every OpenStack service).
"""
import logging

import oslo_messaging as messaging

from naas.conf import CONF
from naas.lib.definitions.port_statistics import ADDRESS_COUNTERS
from naas.lib.definitions.port_statistics import COUNTERS
from naas.lib.definitions.port_statistics import RATES
from naas.plugins.statistics import port_statistics

LOG = logging.getLogger(__name__)

EVENT_TYPE = 'port.statistics'

#: API name -> Ceilometer meter name.
METERS = {
    'rx_bytes': 'network.incoming.bytes',
    'rx_packets': 'network.incoming.packets',
    'tx_bytes': 'network.outgoing.bytes',
    'tx_packets': 'network.outgoing.packets',
    'rx_dropped': 'network.incoming.packets.drop',
    'tx_dropped': 'network.outgoing.packets.drop',
    'rx_errors': 'network.incoming.packets.error',
    'tx_errors': 'network.outgoing.packets.error',
    'rx_bytes_rate': 'network.incoming.bytes.rate',
    'tx_bytes_rate': 'network.outgoing.bytes.rate',
    'rx_packets_rate': 'network.incoming.packets.rate',
    'tx_packets_rate': 'network.outgoing.packets.rate',
}


def payload(host, collected_at, stored):
    """The notification's payload of a batch (``stored``: the
    port_statistics.Stored list that ingest returned)."""
    port_meters = [METERS[name] for name in COUNTERS + RATES]
    address_meters = [METERS[name] for name in ADDRESS_COUNTERS]
    ports = []
    for port in stored:
        item = {'port_id': port.port_id, 'network_id': port.network_id,
                'project_id': port.project_id, 'device_id': port.device_id}
        item.update(zip(port_meters, port.totals + port.rates))
        item['addresses'] = [dict(zip(address_meters, totals), ip_address=ip_address)
                             for ip_address, totals in port.addresses]
        ports.append(item)
    return {'host': host, 'collected_at': port_statistics.iso_time(collected_at),
            'ports': ports}


class Notifier:
    """Made on first use, so that loading the plugin opens no transport."""

    def __init__(self):
        self._notifier = None

    def _get(self):
        if self._notifier is None:
            transport = messaging.get_notification_transport(CONF)
            self._notifier = messaging.Notifier(
                transport, publisher_id='naas-statistics.%s' % CONF.host)
        return self._notifier

    def enabled(self):
        """Whether a stored batch is sent anywhere ([statistics]
        notifications on and a notification driver configured)."""
        return CONF.statistics.notifications and self._get().is_enabled()

    def batch_stored(self, host, collected_at, stored):
        """Send ``stored`` (port_statistics.Stored list), if enabled()."""
        if not (stored and self.enabled()):
            return
        try:
            self._get().info({}, EVENT_TYPE, payload(host, collected_at, stored))
        except Exception:
            LOG.exception('statistics notification of %d ports from %s not sent',
                          len(stored), host)
