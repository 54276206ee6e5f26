"""API extension ``port-statistics`` (a NaaS extension, naas.plugins.statistics):
traffic counters per port, per address of a port, and per network
(network_statistics.py), read only.

GET /v2.0/port-statistics lists every port the caller may see (the same
visibility as the port: its project, or the project owning its network),
with the counters its host's agent last reported; a port never reported has
zero counters and a null ``collected_at``.  Counters are 64-bit totals over
the port's life, seen from the VM (rx: what the VM received, as Ceilometer's
network.incoming.* meters); they only grow, across VIF re-plugs, agent
restarts and host moves.  Rates are per second over the last reporting
interval.  docs/statistics.md is the reference.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'port-statistics'
NAME = 'Port statistics'
DESCRIPTION = ('Traffic counters (bytes, packets, drops, errors) and rates per port, '
               'per address of a port and per network')

RESOURCE_NAME = 'port_statistic'
COLLECTION_NAME = 'port-statistics'
#: The key of its lists in bodies: {"port_statistics": [...]}.
COLLECTION_KEY = 'port_statistics'
#: A port the caller may not see is not found, as the port itself.
NOT_FOUND = (exceptions.PortNotFound, 'port_id')

#: The counters of a port (and the sums of a network), as the VM sees them.
COUNTERS = ('rx_bytes', 'rx_packets', 'tx_bytes', 'tx_packets',
            'rx_dropped', 'tx_dropped', 'rx_errors', 'tx_errors')
#: The counters of one address of a port.
ADDRESS_COUNTERS = ('rx_bytes', 'rx_packets', 'tx_bytes', 'tx_packets')
#: Per second over the last reporting interval.
RATES = ('rx_bytes_rate', 'tx_bytes_rate', 'rx_packets_rate', 'tx_packets_rate')


def read_only(filter_=False, sort=False):
    return {'allow_post': False, 'allow_put': False, 'is_visible': True,
            'is_filter': filter_, 'is_sort_key': sort}


def id_filter():
    """An id attribute (of the port or its network) usable as a filter."""
    return dict(read_only(filter_=True, sort=True), validate=(validators.validate_uuid, None))


def figures():
    """The counters, their rates and the time of the sample they come from."""
    attrs = {name: read_only() for name in COUNTERS + RATES}
    attrs['collected_at'] = read_only()
    return attrs


RESOURCE_ATTRIBUTE_MAP = dict(
    figures(),
    id=dict(base.id_attr()),
    port_id=id_filter(),
    network_id=id_filter(),
    project_id=read_only(filter_=True, sort=True),
    device_id=read_only(filter_=True, sort=True),
    device_owner=read_only(filter_=True, sort=True),
    # The host the port is bound to: an administrator's, as binding:host_id.
    host=dict(read_only(), enforce_policy=True),
    addresses=read_only(),
)
