"""Port statistics: the ingest of the agents' samples and the API's reads.

Owns the tables of models.py.  Reads join the core ports table (for the
port's network, project, device and binding, and the visibility of
naas.db.ports.visible_to): a statistics row is keyed by its port and shown
beside it, in one query.

Ingest (``ingest``): one agent batch in the caller's transaction, two
statements per chunk of ports (common.CHUNK) whatever the batch size, the
monotonic rule computed by the database: an upsert of the port rows
(INSERT ... SELECT from the batch's VALUES joined to the ports bound to the
reporting host, ON CONFLICT DO UPDATE ... RETURNING the ports stored;
MySQL/MariaDB: ON DUPLICATE KEY UPDATE between two SELECTs that tell them)
and an upsert of the address rows of the ports stored.  A third, a DELETE
of the addresses a sample no longer names, runs only for the ports whose
sample names other addresses than the one before (the port row keeps their
list, ``addresses``, and the upsert returns ``addresses_changed``): a
port's addresses seldom change, and looking for gone ones in every
interval had cost a third of PostgreSQL's work.  Rows are updated in place
(no foreign key check, no row deleted and inserted again); concurrent
ingests of one port serialize on its row.

The monotonic rule, per port, in the upsert's SET: a sample read from
another VIF (``vif`` changed), on another host, or with any counter lower
than the last raw value means the VIF started again from 0: each offset
grows by the last raw value, so that the total (raw + offset) never goes
back.  Per address the same, but only on a lower counter: the drivers keep
an address's counters across VIF re-plugs (naas.agent.l2.hooks
.PortCounters).  A sample not newer than the stored one (a late or repeated
batch) is ignored (the upsert's condition), and so is a sample of a port
not bound to the reporting host (the join: the port moved away and its new
host reports it, or it is gone).
"""
import collections
import datetime
import functools
import operator
import re

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
# Plain SQL with one placeholder per value, run by the driver in one execute
# each (SQLAlchemy's per-row parameter processing cost more than the
# database's work here), built once per dialect and chunk size.  The names
# come from the tables of models.py.  In the SET templates ``old.column`` is
# the stored row's value and ``new.column`` the sample's.

_RAW = ['raw_' + name for name in COUNTERS]
_ADDRESS_RAW = ['raw_' + name for name in ADDRESS_COUNTERS]

#: One stored sample (what ``stored`` returns, for the notifications).
Stored = collections.namedtuple(
    'Stored', 'port_id network_id project_id device_id totals rates addresses')


def _restarted(raw, vif=False):
    """The VIF (or the address) counts from 0 again."""
    tests = ['new.%s < old.%s' % (name, name) for name in raw]
    if vif:
        tests = ['old.host <> new.host', 'old.vif <> new.vif'] + tests
    return '(%s)' % ' OR '.join(tests)


def _grown_offsets(names, restarted):
    return [('offset_' + name, 'CASE WHEN %s THEN old.raw_%s + old.offset_%s'
             ' ELSE old.offset_%s END' % (restarted, name, name, name)) for name in names]


#: The SETs of the upserts, in an order MySQL can run (it assigns left to
#: right and later expressions see earlier assignments: a column comes after
#: every expression that reads its old value).
_PORT_SETS = (
    [(rate, '(CASE WHEN %s THEN new.%s ELSE new.%s - old.%s END)'
      ' / (new.collected_at - old.collected_at)' % (_restarted(_RAW, vif=True), raw, raw, raw))
     for rate, raw in ((rate, 'raw_' + rate[:-len('_rate')]) for rate in RATES)] +
    _grown_offsets(COUNTERS, _restarted(_RAW, vif=True)) +
    # (NULL: not known, a row from before migration 0015.)
    [('addresses_changed', 'COALESCE(old.addresses <> new.addresses, TRUE)')] +
    [(column, 'new.' + column)
     for column in _RAW + ['addresses', 'host', 'vif', 'collected_at']])
_ADDRESS_SETS = (
    _grown_offsets(ADDRESS_COUNTERS, _restarted(_ADDRESS_RAW)) +
    [(column, 'new.' + column) for column in _ADDRESS_RAW + ['collected_at']])
_NEWER = 'old.collected_at < new.collected_at'


def _mysql(dialect):
    return dialect.name in ('mysql', 'mariadb')


def _on_conflict(dialect, table, key, sets):
    """The upsert clause: update the row of the same ``key`` with ``sets``
    when the sample is newer than it (_NEWER)."""
    def spell(template):
        template = re.sub(r'\bold\.', table.name + '.', template)
        if _mysql(dialect):
            return re.sub(r'\bnew\.(\w+)', r'VALUES(\1)', template)
        return re.sub(r'\bnew\.', 'excluded.', template)
    if _mysql(dialect):
        # No WHERE: each column keeps its value unless the sample is newer.
        return ' ON DUPLICATE KEY UPDATE ' + ', '.join(
            '%s = IF(%s, %s, %s.%s)' % (column, spell(_NEWER), spell(expression), table.name,
                                        column) for column, expression in sets)
    return ' ON CONFLICT (%s) DO UPDATE SET %s WHERE %s' % (
        ', '.join(key), ', '.join('%s = %s' % (column, spell(expression))
                                  for column, expression in sets), spell(_NEWER))


def _marks(dialect, count):
    """``count`` positional placeholders of the dialect's driver."""
    return ', '.join(['?' if dialect.paramstyle == 'qmark' else '%s'] * count)


def _sample_rows(dialect, columns, count):
    """``WITH sample (columns) AS (...) `` of ``count`` rows given by
    _sample_parameters: VALUES, or on PostgreSQL one array per column
    (unnest: a few parameters to parse instead of thousands)."""
    if dialect.name == 'postgresql':
        return 'WITH sample (%s) AS (SELECT * FROM unnest(%s)) ' % (
            ', '.join(columns), ', '.join(
                '%%s::%s[]' % ('text' if column in _TEXT else 'bigint') for column in columns))
    row = '(%s)' % _marks(dialect, len(columns))
    return 'WITH sample (%s) AS (VALUES %s) ' % (', '.join(columns), ', '.join([row] * count))


#: The text columns of the samples (the others are counters).
_TEXT = ('port_id', 'vif', 'addresses', 'ip_address')


def _array_literal(column):
    """A PostgreSQL array literal of ``column``'s values (text quoted, with
    a backslash before each backslash and double quote in them)."""
    if not isinstance(column[0], str):
        return '{%s}' % ','.join(map(str, column))
    values = ''.join(column)
    if '"' in values or '\\' in values:
        column = [value.replace('\\', '\\\\').replace('"', '\\"') for value in column]
    return '{"%s"}' % '","'.join(column)


def _sample_parameters(dialect, rows):
    """The parameters of _sample_rows: the rows' values, or one PostgreSQL
    array literal per column."""
    if dialect.name != 'postgresql':
        return [value for row in rows for value in row]
    return [_array_literal(column) for column in zip(*rows)]


@functools.lru_cache(maxsize=64)
def _port_upsert(dialect, count):
    """Parameters: ``count`` rows of (port_id, vif, addresses, raw...),
    then host, collected_at, host.  Returns the ports stored (port_id,
    addresses_changed) (not on MySQL: see _ids_at).  A port's first row
    counts as changed addresses."""
    mark = _marks(dialect, 1)
    return ('INSERT INTO port_statistics (port_id, vif, addresses, %s, host, collected_at, '
            'addresses_changed, %s, %s) ' % (
                ', '.join(_RAW), ', '.join('offset_' + name for name in COUNTERS),
                ', '.join(RATES)) +
            _sample_rows(dialect, ['port_id', 'vif', 'addresses'] + _RAW, count) +
            'SELECT sample.port_id, sample.vif, sample.addresses, %s, %s, %s, TRUE, %s, %s '
            'FROM sample JOIN ports ON ports.id = sample.port_id '
            'WHERE ports.binding_host_id = %s' % (
                ', '.join('sample.' + raw for raw in _RAW), mark, mark,
                ', '.join(['0'] * len(COUNTERS)), ', '.join(['0.0'] * len(RATES)), mark) +
            _on_conflict(dialect, stats, ['port_id'], _PORT_SETS) +
            ('' if _mysql(dialect) else ' RETURNING port_id, addresses_changed'))


@functools.lru_cache(maxsize=64)
def _ids_at(dialect, count, compare):
    """The ports among ``count`` whose row was collected ``compare`` (=,
    >=) a time: which ones the upsert stored, or will leave alone (MySQL's
    upsert has no RETURNING), as (port_id, addresses_changed).
    Parameters: the port ids, then the time."""
    return ('SELECT port_id, addresses_changed FROM port_statistics WHERE port_id IN (%s) '
            'AND collected_at %s %s' % (_marks(dialect, count), compare, _marks(dialect, 1)))


@functools.lru_cache(maxsize=64)
def _address_upsert(dialect, count):
    """Parameters: _sample_parameters of ``count`` rows of (port_id,
    ip_address, raw...), then collected_at."""
    return ('INSERT INTO port_address_statistics (port_id, ip_address, %s, collected_at, %s) '
            % (', '.join(_ADDRESS_RAW), ', '.join('offset_' + n for n in ADDRESS_COUNTERS)) +
            _sample_rows(dialect, ['port_id', 'ip_address'] + _ADDRESS_RAW, count) +
            # (WHERE true: SQLite would read the ON of ON CONFLICT as a join's.)
            'SELECT sample.port_id, sample.ip_address, %s, %s, %s FROM sample WHERE 1 = 1' % (
                ', '.join('sample.' + raw for raw in _ADDRESS_RAW), _marks(dialect, 1),
                ', '.join(['0'] * len(ADDRESS_COUNTERS))) +
            _on_conflict(dialect, address_stats, ['port_id', 'ip_address'], _ADDRESS_SETS))


@functools.lru_cache(maxsize=64)
def _gone_addresses(dialect, count):
    """Parameters: ``count`` port ids, then collected_at."""
    return ('DELETE FROM port_address_statistics WHERE port_id IN (%s) AND collected_at < %s'
            % (_marks(dialect, count), _marks(dialect, 1)))


_read_counters = operator.itemgetter(*COUNTERS)
_read_address_counters = operator.itemgetter(*ADDRESS_COUNTERS)


def _raw(read, names, counters):
    """The counters ``names`` of a sample (``read``: their itemgetter; a
    missing one: 0)."""
    try:
        return read(counters)
    except KeyError:
        return [counters.get(name) or 0 for name in names]


def address_key(addresses):
    """What the port row keeps of a sample's addresses (its ``addresses``
    column): the addresses, sorted, separated by spaces."""
    return ' '.join(sorted(addresses or ()))


def ingest(conn, host, collected_at, samples):
    """Store one batch of ``host``'s samples (naas.rpc.statistics_api's
    ``ports``: [{'port_id', 'vif', 'counters': {...}, 'addresses': {ip:
    {...}}}]) read at ``collected_at`` (epoch seconds).  Returns how many
    ports' samples were stored (the others were ignored)."""
    by_port = {sample['port_id']: sample for sample in samples}
    collected_at = float(collected_at)
    dialect = conn.dialect
    count = 0
    for port_ids in common.chunks(by_port, common.CHUNK):
        rows = [(port_id, str(by_port[port_id].get('vif') or ''),
                 address_key(by_port[port_id].get('addresses')),
                 *_raw(_read_counters, COUNTERS, by_port[port_id]['counters']))
                for port_id in port_ids]
        parameters = (*_sample_parameters(dialect, rows), host, collected_at, host)
        if _mysql(dialect):
            not_newer = set(conn.exec_driver_sql(_ids_at(dialect, len(port_ids), '>='),
                                                 (*port_ids, collected_at)).scalars())
            conn.exec_driver_sql(_port_upsert(dialect, len(port_ids)), parameters)
            stored = [row for row in conn.exec_driver_sql(
                _ids_at(dialect, len(port_ids), '='), (*port_ids, collected_at))
                if row[0] not in not_newer]
        else:
            stored = conn.exec_driver_sql(_port_upsert(dialect, len(port_ids)),
                                          parameters).all()
        if not stored:
            continue
        stored_ids = [row[0] for row in stored]
        count += len(stored_ids)
        rows = [(port_id, ip_address,
                 *_raw(_read_address_counters, ADDRESS_COUNTERS, counters))
                for port_id in stored_ids
                for ip_address, counters in (by_port[port_id].get('addresses') or {}).items()]
        for chunk in common.chunks(rows, common.CHUNK):
            conn.exec_driver_sql(_address_upsert(dialect, len(chunk)),
                                 (*_sample_parameters(dialect, chunk), collected_at))
        changed = [row[0] for row in stored if row[1]]
        if changed:
            conn.exec_driver_sql(_gone_addresses(dialect, len(changed)),
                                 (*changed, collected_at))
    return count


def stored(conn, host, collected_at, port_ids):
    """The samples of ``port_ids`` that ``ingest`` stored from ``host`` at
    ``collected_at``, as Stored (totals in the order of COUNTERS, rates of
    RATES, addresses [(ip_address, totals of ADDRESS_COUNTERS)]), for the
    notifications."""
    collected_at = float(collected_at)
    columns = (ports.c.id, ports.c.network_id, ports.c.project_id, ports.c.device_id,
               *totals(stats, COUNTERS), *[stats.c[name] for name in RATES])
    out = []
    for chunk in common.chunks(sorted(set(port_ids))):
        rows = conn.execute(
            sa.select(*columns).select_from(stats.join(ports, ports.c.id == stats.c.port_id))
            .where(stats.c.port_id.in_(chunk), stats.c.host == host,
                   stats.c.collected_at == collected_at).order_by(ports.c.id)).all()
        addresses = _addresses(conn, [row[0] for row in rows])
        n = len(COUNTERS)
        out += [Stored(row[0], row[1], row[2], row[3], list(row[4:4 + n]), list(row[4 + n:]),
                       [(address['ip_address'], [address[name] for name in ADDRESS_COUNTERS])
                        for address in addresses.get(row[0], [])])
                for row in rows]
    return out


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


@functools.lru_cache(maxsize=8)
def _metric_rows_sql(dialect):
    return str(_METRIC_ROWS().compile(dialect=dialect))


def metric_rows(conn):
    """Every port with its totals (None before its first sample), ordered by
    network: (id, network_id, project_id, device_owner, network_project_id,
    collected_at, *COUNTERS), in one query.  Plain tuples from the driver's
    cursor (10,000 rows: SQLAlchemy's Row objects were a sixth of a
    scrape)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_metric_rows_sql(conn.dialect))
        return cursor.fetchall()
    finally:
        cursor.close()
