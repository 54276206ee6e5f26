"""Network statistics: the counters and rates of a network summed over all of
its ports (DHCP and router ports included).

The networks of a request (with their visibility, filters, sorting and
paging) are one query over the core networks table; their sums are
port_statistics.network_sums (the ports with their offsets, and the
samples rows of those networks, added up here).

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
networks = port_statistics.networks

COLUMNS = {'id': networks.c.id, 'network_id': networks.c.id,
           'project_id': networks.c.project_id}


def _select(context):
    return (sa.select(networks.c.id, networks.c.project_id)
            .where(common.owned_by(context, networks)))


def get(context, network_id):
    row = context.connection.execute(_select(context).where(networks.c.id == network_id),
                                     common.ctx_params(context)).first()
    if row is None:
        raise exceptions.NetworkNotFound(net_id=network_id)
    return to_dicts(context.connection, [row])[0]


def _get_marker(context, network_id):
    """A marker is a network whose statistics the context may see."""
    get(context, network_id)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    rows = query.list_rows(context, _select(context), networks, COLUMNS, dict(filters or {}),
                           sorts, limit, marker, page_reverse, _get_marker)
    return to_dicts(context.connection, rows)


def to_dicts(conn, rows):
    sums = port_statistics.network_sums(conn, [row.id for row in rows]) if rows else {}
    out = []
    for row in rows:
        port_count, collected_at, totals, rates = sums[row.id]
        item = {'id': row.id, 'network_id': row.id, 'project_id': row.project_id,
                'port_count': port_count, 'collected_at': port_statistics.iso_time(collected_at)}
        item.update(zip(COUNTERS, [int(value) for value in totals]))
        item.update(zip(RATES, [float(value) for value in rates]))
        out.append(item)
    return out
