"""Network statistics: the counters and rates of a network summed over all of
its ports (DHCP and router ports included), in one aggregate query over the
core ports and networks tables and port_statistics.

Only the network's owner and administrators see them (owned_by): a shared
or external network's sums include other projects' traffic.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import query
from naas.lib.definitions import port_statistics as definition
from naas.plugins.statistics import port_statistics

COUNTERS = definition.COUNTERS
RATES = definition.RATES
stats = port_statistics.stats
ports = port_statistics.ports
networks = port_statistics.networks

COLUMNS = {'id': networks.c.id, 'network_id': networks.c.id,
           'project_id': networks.c.project_id}


def _select(context):
    sums = [sa.func.coalesce(sa.func.sum(total), 0).label(total.name)
            for total in port_statistics.totals(stats, COUNTERS)]
    rates = [sa.func.coalesce(sa.func.sum(stats.c[name]), 0.0).label(name) for name in RATES]
    return (sa.select(networks.c.id, networks.c.project_id,
                      sa.func.count(ports.c.id).label('port_count'),
                      sa.func.max(stats.c.collected_at).label('collected_at'), *sums, *rates)
            .select_from(networks.outerjoin(ports, ports.c.network_id == networks.c.id)
                         .outerjoin(stats, stats.c.port_id == ports.c.id))
            .where(common.owned_by(context, networks))
            .group_by(networks.c.id, networks.c.project_id))


def get(context, network_id):
    row = context.connection.execute(_select(context).where(networks.c.id == network_id),
                                     common.ctx_params(context)).first()
    if row is None:
        raise exceptions.NetworkNotFound(net_id=network_id)
    return to_dict(row)


def _get_marker(context, network_id):
    """A marker is a network whose statistics the context may see."""
    get(context, network_id)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    rows = query.list_rows(context, _select(context), networks, COLUMNS, dict(filters or {}),
                           sorts, limit, marker, page_reverse, _get_marker)
    return [to_dict(row) for row in rows]


def to_dict(row):
    item = {'id': row.id, 'network_id': row.id, 'project_id': row.project_id,
            'port_count': row.port_count,
            'collected_at': port_statistics.iso_time(row.collected_at)}
    for name in COUNTERS:
        item[name] = int(getattr(row, name))
    for name in RATES:
        item[name] = float(getattr(row, name))
    return item
