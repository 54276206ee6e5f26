"""Network statistics of the ``port-statistics`` extension (port_statistics.py):
GET /v2.0/network-statistics[/{network_id}], the counters and rates of a
network summed over all of its ports (DHCP and router ports included; each
port's device_owner is in its port statistics), read only.  Only the
network's owner (and an administrator) sees them: a shared network's sums
include other projects' traffic, so another project's network answers 404
here even where the network itself is visible.
"""
from naas.common import exceptions
from naas.lib.definitions import base
from naas.lib.definitions import port_statistics

RESOURCE_NAME = 'network_statistic'
COLLECTION_NAME = 'network-statistics'
#: The key of its lists in bodies: {"network_statistics": [...]}.
COLLECTION_KEY = 'network_statistics'
NOT_FOUND = (exceptions.NetworkNotFound, 'net_id')

RESOURCE_ATTRIBUTE_MAP = dict(
    port_statistics.figures(),
    id=dict(base.id_attr()),
    network_id=port_statistics.id_filter(),
    project_id=port_statistics.read_only(filter_=True, sort=True),
    port_count=port_statistics.read_only(),
)
