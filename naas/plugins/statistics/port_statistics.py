"""Port statistics: the ingest of the agents' samples and the API's reads.

Owns the tables of models.py.  Reads join the core ports table (for the
port's network, project, device and binding, and the visibility of
naas.db.ports.visible_to): a statistics row is keyed by its port and shown
beside it, in one query.

Ingest (``ingest``): one agent batch in the caller's transaction, with a
constant number of statements per chunk of ports (common.CHUNK), whatever
the batch size: one SELECT of the ports bound to the reporting host with
their current rows, one SELECT of their address rows, then a DELETE and a
multi-row INSERT of each table (an upsert every database runs the same
way; a concurrent ingest of the same port loses on the primary key and is
retried by naas.db.api.retry, which reads the winner's row).

The monotonic rule, per port: a sample read from another VIF (``vif``
changed), on another host, or with any counter lower than the last raw
value means the VIF started again from 0: each offset grows by the last
raw value, so that the total (raw + offset) never goes back.  Per address
the same, but only on a lower counter: the drivers keep an address's
counters across VIF re-plugs (naas.agent.l2.hooks.PortCounters).  A sample
not newer than the stored one (a late or repeated batch) is ignored, and so
is a sample of a port not bound to the reporting host (the port moved away:
its new host reports it).
"""
import collections
import datetime
import itertools
import operator

import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import ports as ports_db
from naas.db import query
from naas.lib.definitions import port_statistics as definition
from naas.plugins.statistics import models

COUNTERS = definition.COUNTERS
ADDRESS_COUNTERS = definition.ADDRESS_COUNTERS
RATES = definition.RATES
stats = models.port_statistics
address_stats = models.port_address_statistics
ports = ports_db.ports
networks = ports_db.networks


def iso_time(seconds):
    """ISO 8601 UTC of an epoch time (None stays None)."""
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


# ---- ingest ----------------------------------------------------------------------
#
# The statements of the hot path are plain SQL with one placeholder per value,
# run by the driver in one execute each (a multi-row VALUES, an IN list):
# SQLAlchemy's per-row parameter processing cost more than the database's
# work here.  The names come from the tables of models.py.

_RAW = ['raw_' + name for name in COUNTERS]
_OFFSETS = ['offset_' + name for name in COUNTERS]
#: The columns in table order: (port_id, host, vif, collected_at, raw...,
#: offsets..., rates...) and (port_id, ip_address, raw..., offsets...), the
#: order of the rows _ingest_chunk makes.
_STATS_COLUMNS = [column.name for column in stats.c]
_ADDRESS_COLUMNS = [column.name for column in address_stats.c]

#: One stored sample (what ingest returns, for the notifications).
Stored = collections.namedtuple(
    'Stored', 'port_id network_id project_id device_id totals rates addresses')


def _marks(conn, count):
    """``count`` positional placeholders of the connection's driver."""
    return ', '.join(['?' if conn.dialect.paramstyle == 'qmark' else '%s'] * count)


def _values(conn, rows, width):
    """(VALUES clause, flat parameters) of ``rows`` of ``width`` values."""
    row = '(%s)' % _marks(conn, width)
    return ', '.join([row] * len(rows)), tuple(itertools.chain.from_iterable(rows))


def ingest(conn, host, collected_at, samples):
    """Store one batch of ``host``'s samples (naas.rpc.statistics_api's
    ``ports``: [{'port_id', 'vif', 'counters': {...}, 'addresses': {ip:
    {...}}}]) read at ``collected_at`` (epoch seconds).  Returns what was
    stored: a list of Stored (totals in the order of COUNTERS, rates of
    RATES, addresses [(ip_address, totals of ADDRESS_COUNTERS)])."""
    by_port = {sample['port_id']: sample for sample in samples}
    stored = []
    for port_ids in common.chunks(sorted(by_port)):
        stored += _ingest_chunk(conn, host, float(collected_at),
                                [by_port[port_id] for port_id in port_ids])
    return stored


def _current(conn, host, port_ids):
    """{port_id: row} of the ports among ``port_ids`` bound to ``host``:
    (id, network_id, project_id, device_id, host, vif, collected_at, raw...,
    offsets...); the statistics columns are NULL before the first sample."""
    sql = ('SELECT ports.id, ports.network_id, ports.project_id, ports.device_id, %s '
           'FROM ports LEFT OUTER JOIN port_statistics ON port_statistics.port_id = ports.id '
           'WHERE ports.binding_host_id = %s AND ports.id IN (%s)' % (
               ', '.join('port_statistics.' + c for c in ['host', 'vif', 'collected_at'] +
                         _RAW + _OFFSETS),
               _marks(conn, 1), _marks(conn, len(port_ids))))
    return {row[0]: row for row in conn.exec_driver_sql(sql, tuple([host] + port_ids)).all()}


def _current_addresses(conn, port_ids):
    """{(port_id, ip_address): (raw..., offsets...)} of these ports."""
    sql = 'SELECT %s FROM port_address_statistics WHERE port_id IN (%s)' % (
        ', '.join(_ADDRESS_COLUMNS), _marks(conn, len(port_ids)))
    return {(row[0], row[1]): row[2:]
            for row in conn.exec_driver_sql(sql, tuple(port_ids)).all()}


_read_counters = operator.itemgetter(*COUNTERS)
_read_address_counters = operator.itemgetter(*ADDRESS_COUNTERS)


def _raw(read, names, counters):
    """The counters ``names`` of a sample as a list of ints (a missing one: 0)."""
    try:
        return list(map(int, read(counters)))
    except KeyError:
        return [int(counters.get(name) or 0) for name in names]


def _restarted(raw, old_raw):
    """Whether any counter went back: the VIF (or address) counts from 0 again."""
    return any(map(operator.lt, raw, old_raw))


def _ingest_chunk(conn, host, collected_at, samples):
    current = _current(conn, host, [s['port_id'] for s in samples])
    n, n_address = len(COUNTERS), len(ADDRESS_COUNTERS)
    # Ports bound elsewhere (or gone) and samples not newer than the stored one.
    samples = [s for s in samples if s['port_id'] in current and (
        current[s['port_id']][6] is None or current[s['port_id']][6] < collected_at)]
    if not samples:
        return []
    ids = [s['port_id'] for s in samples]
    old_addresses = _current_addresses(conn, ids)
    replaced = [port_id for port_id in ids if current[port_id][6] is not None]
    rate_at = [COUNTERS.index(name[:-len('_rate')]) for name in RATES]
    no_offsets, no_rates = [0] * n, [0.0] * len(RATES)
    rows, address_rows, stored = [], [], []
    for sample in samples:
        port_id = sample['port_id']
        old = current[port_id]
        raw = _raw(_read_counters, COUNTERS, sample['counters'])
        vif = str(sample.get('vif') or '')
        if old[6] is None:
            offsets, totals, rates = no_offsets, raw, no_rates
        else:
            old_raw, offsets = old[7:7 + n], old[7 + n:7 + 2 * n]
            old_totals = list(map(operator.add, old_raw, offsets))
            if old[4] != host or old[5] != vif or _restarted(raw, old_raw):
                offsets = old_totals
            totals = list(map(operator.add, raw, offsets))
            interval = collected_at - old[6]
            rates = [(totals[i] - old_totals[i]) / interval for i in rate_at]
        rows.append((port_id, host, vif, collected_at, *raw, *offsets, *rates))
        addresses = []
        for ip_address, address_counters in sorted((sample.get('addresses') or {}).items()):
            address_raw = _raw(_read_address_counters, ADDRESS_COUNTERS, address_counters)
            old_address = old_addresses.get((port_id, ip_address))
            if old_address is None:
                address_offsets = no_offsets[:n_address]
            else:
                old_raw, address_offsets = old_address[:n_address], old_address[n_address:]
                if _restarted(address_raw, old_raw):
                    address_offsets = list(map(operator.add, old_raw, address_offsets))
            address_rows.append((port_id, ip_address, *address_raw, *address_offsets))
            addresses.append((ip_address, list(map(operator.add, address_raw, address_offsets))))
        stored.append(Stored(port_id, old[1], old[2], old[3], totals, rates, addresses))
    if replaced:
        conn.exec_driver_sql('DELETE FROM port_statistics WHERE port_id IN (%s)'
                             % _marks(conn, len(replaced)), tuple(replaced))
    values, params = _values(conn, rows, len(_STATS_COLUMNS))
    conn.exec_driver_sql('INSERT INTO port_statistics (%s) VALUES %s'
                         % (', '.join(_STATS_COLUMNS), values), params)
    if old_addresses:
        had = sorted({key[0] for key in old_addresses})
        conn.exec_driver_sql('DELETE FROM port_address_statistics WHERE port_id IN (%s)'
                             % _marks(conn, len(had)), tuple(had))
    if address_rows:
        values, params = _values(conn, address_rows, len(_ADDRESS_COLUMNS))
        conn.exec_driver_sql('INSERT INTO port_address_statistics (%s) VALUES %s'
                             % (', '.join(_ADDRESS_COLUMNS), values), params)
    return stored


# ---- reads -----------------------------------------------------------------------

def totals(table, counters):
    """Labelled ``raw + offset`` columns of ``counters`` in ``table``."""
    return [(table.c['raw_' + name] + table.c['offset_' + name]).label(name)
            for name in counters]


COLUMNS = {
    'id': ports.c.id, 'port_id': ports.c.id, 'network_id': ports.c.network_id,
    'project_id': ports.c.project_id, 'device_id': ports.c.device_id,
    'device_owner': ports.c.device_owner,
}

_LIST_COLUMNS = (
    ports.c.id, ports.c.network_id, ports.c.project_id, ports.c.device_id,
    ports.c.device_owner, ports.c.binding_host_id,
    networks.c.project_id.label('network_project_id'), stats.c.collected_at,
    *totals(stats, COUNTERS), *[stats.c[name] for name in RATES])


def _select():
    return (sa.select(*_LIST_COLUMNS)
            .select_from(ports.join(networks, networks.c.id == ports.c.network_id)
                         .outerjoin(stats, stats.c.port_id == ports.c.id)))


def get(context, port_id):
    """The statistics of a port the context may see, or PortNotFound."""
    row = context.connection.execute(
        _select().where(ports.c.id == port_id, ports_db.visible_to(context)),
        common.ctx_params(context)).first()
    if row is None:
        raise exceptions.PortNotFound(port_id=port_id)
    return to_dicts(context.connection, [row])[0]


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    stmt = _select().where(ports_db.visible_to(context))
    rows = query.list_rows(context, stmt, ports, COLUMNS, dict(filters or {}), sorts, limit,
                           marker, page_reverse, ports_db.get_row)
    return to_dicts(context.connection, rows)


def _addresses(conn, port_ids):
    """{port_id: [address dicts]} of these ports, sorted by address."""
    out = {}
    columns = (address_stats.c.port_id, address_stats.c.ip_address,
               *totals(address_stats, ADDRESS_COUNTERS))
    for chunk in common.chunks(port_ids):
        for row in conn.execute(sa.select(*columns).where(address_stats.c.port_id.in_(chunk))
                                .order_by(address_stats.c.port_id, address_stats.c.ip_address)):
            out.setdefault(row[0], []).append(
                dict(zip(('ip_address',) + ADDRESS_COUNTERS, row[1:])))
    return out


def to_dicts(conn, rows):
    sampled = [row.id for row in rows if row.collected_at is not None]
    addresses = _addresses(conn, sampled) if sampled else {}
    out = []
    zero_counters = dict.fromkeys(COUNTERS, 0)
    zero_rates = dict.fromkeys(RATES, 0.0)
    for row in rows:
        item = {'id': row.id, 'port_id': row.id, 'network_id': row.network_id,
                'project_id': row.project_id, 'device_id': row.device_id,
                'device_owner': row.device_owner, 'host': row.binding_host_id,
                'network:project_id': row.network_project_id,
                'collected_at': iso_time(row.collected_at),
                'addresses': addresses.get(row.id, [])}
        if row.collected_at is None:
            item.update(zero_counters)
            item.update(zero_rates)
        else:
            for name in COUNTERS + RATES:
                item[name] = getattr(row, name)
        out.append(item)
    return out


# ---- export (naas.api.metrics) ---------------------------------------------------

_METRIC_ROWS = common.prebuilt(lambda: sa.select(
    ports.c.id, ports.c.network_id, ports.c.project_id, ports.c.device_owner,
    networks.c.project_id.label('network_project_id'), stats.c.collected_at,
    *totals(stats, COUNTERS))
    .select_from(ports.join(networks, networks.c.id == ports.c.network_id)
                 .outerjoin(stats, stats.c.port_id == ports.c.id))
    .order_by(ports.c.network_id, ports.c.id))


def metric_rows(conn):
    """Every port with its totals (None before its first sample), ordered by
    network: (id, network_id, project_id, device_owner, network_project_id,
    collected_at, *COUNTERS), in one query."""
    return conn.execute(_METRIC_ROWS()).all()
