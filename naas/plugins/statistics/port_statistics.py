"""Port statistics: the ingest of the agents' samples and the API's reads.

Storage (models.py): the latest sample of each port is an entry of the
samples row of (the host it is counted on, the port's network), one text
value per row; a port's offsets and the host it is counted on
(port_statistics_offsets), and its addresses' offsets, have rows of their
own, written only when something happens.

Why one row per (host, network) and not per port: an interval of 100
agents of 500 ports each rewrote 50,000 port rows and 50,000 address rows,
and PostgreSQL's cost per row update (about 20 us of its CPU, a new row
version and index entry each, whatever the statement) made that 2.5-3.5 s
(tools/bench_statistics_server.py); batching the statements differently
did not help.  An agent's batch (about naas.rpc.statistics_api.BATCH
ports; all batches of one interval have the same ``collected_at``) touches
a few dozen (host, network) rows: their entries are merged in Python and
the rows written back in one statement.  Offsets change only on an event (a
VIF re-plug, a counter reset, a host move), so a steady port costs no write
of its own.  Per (host, network) rather than per host: a network's reads
(network statistics) read only its own rows, and a host's batches of one
interval each touch their own networks' rows.

A row's text is JSON (every database stores text, and orjson reads and
writes an agent's 500 samples in well under a millisecond) in columns
(samples.py): the ports' ids, VIFs, times, raw counters, rates and
addresses' raw counters.  Its per-port view, an entry, is::

    (vif, collected_at, (raw COUNTERS), (RATES), {ip_address: (raw ADDRESS_COUNTERS)})

The rule that makes a steady batch cheap: **a port's entry is only in the
row of the host it is counted on** (port_statistics_offsets.host).  So a
batch's port that has an entry in the reporting host's row is counted
there, and needs no read of its offsets row.

Ingest (``ingest``), one batch (groups of ports by network, RPC 1.4) in the
caller's transaction.  The usual interval is a steady group: it names the
ports of its row with the same VIFs and addresses, every counter grew, and
it is stored a column at a time (samples.steady and samples.advanced: one
lock, one write, no Python loop per port).  The others go through the
rules, port by port:

1. the reporting host's samples rows of the networks the agent names for
   its ports (RPC 1.1), locked (SELECT ... FOR UPDATE).  A port with an
   entry in its network's row is counted on this host, and its sample is
   stored without a look at the ports table: an entry is put only in the
   row of the port's own network and the host it is bound to (step 2),
   and leaves it when another host reports the port (step 3).  So a
   port's late samples from the host it has just left still count until
   the new host reports it (the VIF was still there), and a deleted
   port's entry lives until its agent stops reporting it (step 5 prunes
   it; reads never show it, they join the ports table);
2. the batch's other ports (no entry: a first sample, a port moved here;
   and every port of an agent older than RPC 1.1, which names no
   network): those bound to the reporting host and their networks (a
   sample of a port bound elsewhere, moved away or gone, is ignored), and
   the host's rows of those networks, locked (a missing row is first
   created empty, INSERT ... DO NOTHING / INSERT IGNORE, so that
   concurrent ingests of one host serialize on it);
3. for the ports without an entry there only: where they are counted (not
   at all: a first sample, an offsets row is inserted; on another host:
   the port moved here, and that host's row is locked too, its entry is the
   previous sample and leaves it);
4. per port, against its previous entry: a sample not newer is ignored (a
   late or repeated batch).  Otherwise the monotonic rule: a sample from
   another host or VIF, or with any counter lower than the previous raw
   value, means the VIF started again from 0: the offsets grow by the
   previous raw values (an UPDATE adding them, and ``host`` set to the
   reporting host: a move is folded once, since the old host's entry is
   gone and its late samples of the port are ignored by step 2).  Per
   address the same, but only on a lower counter (the drivers keep an
   address's counters across VIF re-plugs, naas.agent.l2.hooks
   .PortCounters); the offsets of addresses the sample no longer names are
   deleted.  Rates are over the interval since the previous entry;
5. entries of the rows that are not the batch's and whose port is gone are
   pruned (one SELECT of those ports, none in the usual case), and the rows
   written back (one multi-row upsert; an emptied row is deleted).

A steady batch: two statements (lock, write) and a few dozen rows
written.  The storage stays proportional to the ports: one row per (host,
network) pair in use, an entry per port, a gone port's entry until its
row's next merge, a row until it is emptied or its network deleted.

Reads join the core ports table (for the port's network, project, device,
binding and visibility, naas.db.ports.visible_to) to the offsets, then
read the samples rows of the (counted host, network) pairs of the ports
shown: a port's totals are its entry's raw values plus its offsets, also
while it has moved and its new host has not reported it yet (the old
host's last sample still counts until then).
"""
import collections
import datetime
import functools
import itertools
import operator

import sqlalchemy as sa

from naas.common import exceptions
from naas.common import memory
from naas.db import common
from naas.db import ports as ports_db
from naas.db import query
from naas.lib.definitions import port_statistics as definition
from naas.plugins.statistics import models
from naas.plugins.statistics import samples

COUNTERS = definition.COUNTERS
ADDRESS_COUNTERS = definition.ADDRESS_COUNTERS
RATES = definition.RATES
samples_table = models.port_statistics_samples
offsets_table = models.port_statistics_offsets
address_offsets_table = models.port_address_statistics_offsets
ports = ports_db.ports
networks = ports_db.networks

_OFFSETS = ['offset_' + name for name in COUNTERS]
_ADDRESS_OFFSETS = ['offset_' + name for name in ADDRESS_COUNTERS]

#: The fields of an entry of a samples row.
VIF, COLLECTED_AT, RAW, RATE, ADDRESSES = range(5)

#: One stored sample (what ``stored`` returns, for the notifications).
Stored = collections.namedtuple(
    'Stored', 'port_id network_id project_id device_id totals rates addresses')


def iso_time(seconds):
    """ISO 8601 UTC of an epoch time (None stays None)."""
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def loads(text):
    """{port_id: entry} of a samples row's text (samples.entries)."""
    return samples.entries(samples.parse(text))


# ---- ingest ----------------------------------------------------------------------
#
# Plain SQL with one placeholder per value, run by the driver (SQLAlchemy's
# per-row parameter processing costs more than the database's work here),
# built once per dialect and size.

def _mysql(dialect):
    return dialect.name in ('mysql', 'mariadb')


def _marks(dialect, count):
    """``count`` positional placeholders of the dialect's driver."""
    return ', '.join(['?' if dialect.paramstyle == 'qmark' else '%s'] * count)


@functools.lru_cache(maxsize=64)
def _bound_sql(dialect, count):
    """The ports bound to a host among ``count`` (port_id, network_id).
    Parameters: host, then _ids."""
    return ('SELECT id, network_id FROM ports WHERE binding_host_id = %s AND id %s' % (
        _marks(dialect, 1), '= ANY(%s::varchar[])' if dialect.name == 'postgresql'
        else 'IN (%s)' % _marks(dialect, count)))


def _ids(dialect, ids):
    """Port ids as parameters: one each, or on PostgreSQL one array
    literal (one parameter to parse instead of 500)."""
    if dialect.name != 'postgresql':
        return tuple(ids)
    text = ''.join(ids)
    if '"' in text or '\\' in text:
        ids = [value.replace('\\', '\\\\').replace('"', '\\"') for value in ids]
    return ('{"%s"}' % '","'.join(ids),)


@functools.lru_cache(maxsize=64)
def _lock_sql(dialect, count):
    """Parameters: host, then ``count`` network ids."""
    return ('SELECT network_id, samples FROM port_statistics_samples WHERE host = %s AND '
            'network_id IN (%s) ORDER BY network_id%s' % (
                _marks(dialect, 1), _marks(dialect, count),
                '' if dialect.name == 'sqlite' else ' FOR UPDATE'))


def _rows_sql(dialect, count):
    row = '(%s)' % _marks(dialect, 3)
    return ('INTO port_statistics_samples (host, network_id, samples) VALUES %s'
            % ', '.join([row] * count))


@functools.lru_cache(maxsize=64)
def _create_sql(dialect, count):
    """Empty rows, unless they exist.  Parameters: (host, network_id, '{}')
    ``count`` times."""
    if _mysql(dialect):
        return 'INSERT IGNORE ' + _rows_sql(dialect, count)
    return 'INSERT ' + _rows_sql(dialect, count) + ' ON CONFLICT DO NOTHING'


@functools.lru_cache(maxsize=64)
def _write_sql(dialect, count):
    """Parameters: (host, network_id, samples) ``count`` times."""
    if _mysql(dialect):
        return ('INSERT ' + _rows_sql(dialect, count) +
                ' ON DUPLICATE KEY UPDATE samples = VALUES(samples)')
    return ('INSERT ' + _rows_sql(dialect, count) +
            ' ON CONFLICT (host, network_id) DO UPDATE SET samples = excluded.samples')


@functools.lru_cache(maxsize=64)
def _delete_rows_sql(dialect, count):
    """Parameters: host, then ``count`` network ids."""
    return ('DELETE FROM port_statistics_samples WHERE host = %s AND network_id IN (%s)'
            % (_marks(dialect, 1), _marks(dialect, count)))


@functools.lru_cache(maxsize=64)
def _counted_sql(dialect, count):
    """Parameters: ``count`` port ids."""
    return ('SELECT port_id, host FROM port_statistics_offsets WHERE port_id IN (%s)'
            % _marks(dialect, count))


@functools.lru_cache(maxsize=64)
def _existing_sql(dialect, count):
    """Parameters: ``count`` port ids."""
    return 'SELECT id FROM ports WHERE id IN (%s)' % _marks(dialect, count)


@functools.lru_cache(maxsize=64)
def _insert_offsets_sql(dialect, count):
    """Parameters: (port_id, host, offsets...) ``count`` times."""
    row = '(%s)' % _marks(dialect, 2 + len(COUNTERS))
    return ('INSERT INTO port_statistics_offsets (port_id, host, %s) VALUES %s' % (
        ', '.join(_OFFSETS), ', '.join([row] * count)))


@functools.lru_cache(maxsize=8)
def _grow_offsets_sql(dialect):
    """Parameters: host, the amounts to add, port_id."""
    mark = _marks(dialect, 1)
    return ('UPDATE port_statistics_offsets SET host = %s, %s WHERE port_id = %s' % (
        mark, ', '.join('%s = %s + %s' % (name, name, mark) for name in _OFFSETS), mark))


@functools.lru_cache(maxsize=8)
def _grow_address_offsets_sql(dialect):
    """Parameters: the amounts to add, port_id, ip_address."""
    mark = _marks(dialect, 1)
    return ('UPDATE port_address_statistics_offsets SET %s WHERE port_id = %s AND '
            'ip_address = %s' % (', '.join('%s = %s + %s' % (name, name, mark)
                                           for name in _ADDRESS_OFFSETS), mark, mark))


@functools.lru_cache(maxsize=8)
def _insert_address_offsets_sql(dialect):
    """Parameters: port_id, ip_address, offsets."""
    return ('INSERT INTO port_address_statistics_offsets (port_id, ip_address, %s) '
            'VALUES (%s)' % (', '.join(_ADDRESS_OFFSETS),
                             _marks(dialect, 2 + len(ADDRESS_COUNTERS))))


@functools.lru_cache(maxsize=8)
def _delete_address_offsets_sql(dialect):
    """Parameters: port_id, ip_address."""
    mark = _marks(dialect, 1)
    return ('DELETE FROM port_address_statistics_offsets WHERE port_id = %s AND '
            'ip_address = %s' % (mark, mark))


def _lock_rows(conn, host, network_ids, create=True):
    """{network_id: row (naas.plugins.statistics.samples)} of host's samples
    rows of these networks, locked for this transaction (missing rows
    created empty, None, unless not ``create``)."""
    dialect = conn.dialect
    rows = {}
    for chunk in common.chunks(sorted(network_ids)):
        rows.update(conn.exec_driver_sql(_lock_sql(dialect, len(chunk)), (host, *chunk)).all())
    missing = sorted(set(network_ids) - set(rows)) if create else ()
    if missing:
        for chunk in common.chunks(missing):
            conn.exec_driver_sql(_create_sql(dialect, len(chunk)),
                                 tuple(value for network_id in chunk
                                       for value in (host, network_id, '')))
            rows.update(conn.exec_driver_sql(_lock_sql(dialect, len(chunk)),
                                             (host, *chunk)).all())
    return {network_id: samples.parse(text) for network_id, text in rows.items()}


def _other_rows(conn, pairs):
    """{(host, network_id): entries} of other hosts' samples rows (where
    ports that moved here were counted), locked: their entries move here."""
    by_host = collections.defaultdict(set)
    for host, network_id in pairs:
        by_host[host].add(network_id)
    out = {}
    for host in sorted(by_host):
        for chunk in common.chunks(sorted(by_host[host])):
            for network_id, text in conn.exec_driver_sql(
                    _lock_sql(conn.dialect, len(chunk)), (host, *chunk)).all():
                out[host, network_id] = loads(text)
    return out


def ingest(conn, host, collected_at, groups):
    """Store one batch of ``host``'s samples read at ``collected_at``
    (epoch seconds): groups of naas.rpc.statistics_api (of the shape its
    ``grouped`` makes and ``checked_groups`` checks), one per network
    (None: agents older than RPC 1.1 name none).  Returns how many ports'
    samples were stored (the others were ignored)."""
    return memory.without_gc(_ingest, conn, host, float(collected_at), groups)


def _ingest(conn, host, collected_at, groups):
    # 1. The host's rows of the networks the agent names, locked.  A steady
    # group (the usual interval: samples.steady) is stored a column at a
    # time, a batch of them all checked at once; the others go port by
    # port.
    named = {group[0] for group in groups}
    named.discard(None)
    rows = _lock_rows(conn, host, named, create=False) if named else {}
    written, rest, stored = {}, [], 0
    old = [rows.get(group[0]) for group in groups]
    if (old and None not in old and len(named) == len(groups)
            and samples.all_steady(old, groups, collected_at)):
        for row, group in zip(old, groups):
            written[host, group[0]] = samples.advanced(row, group, collected_at)
        _write(conn, written)
        return sum(len(group[1]) for group in groups)
    for group in groups:
        row = rows.get(group[0])
        if row is not None and samples.steady(row, group, collected_at):
            row = samples.advanced(row, group, collected_at)
            rows[group[0]] = written[host, group[0]] = row
            stored += len(group[1])
        else:
            rest.append(group)
    if rest:
        stored += _per_port(conn, host, collected_at, rest, rows, written)
    _write(conn, written)
    return stored


def _per_port(conn, host, collected_at, groups, rows, written):
    """Steps 1-5 of ingest for the ports of ``groups``, with the host's
    rows (``rows``, locked, by network) as entries; the rows to write are
    added to ``written``.  Returns how many ports were stored."""
    by_port = {}
    for group in groups:
        by_port.update(samples.group_samples(group))
    entries_rows = {group[0]: samples.entries(rows[group[0]])
                    for group in groups if rows.get(group[0]) is not None}
    # A port with an entry in its network's row is counted here.
    bound, unknown = {}, []
    for port_id, row in by_port.items():
        network_id = row[1]
        entries = entries_rows.get(network_id)
        if entries is not None and port_id in entries:
            bound[port_id] = network_id
        else:
            unknown.append(port_id)
    # 2. The others, if bound to the host, and their networks' rows.
    if unknown:
        _bind(conn, host, unknown, bound, rows, entries_rows)
    if not bound:
        return 0
    return _merge(conn, host, collected_at, by_port, bound, entries_rows, written)


def _bind(conn, host, port_ids, bound, rows, entries_rows):
    """Step 2 of ingest: those of ``port_ids`` bound to ``host`` added to
    ``bound``, and the host's rows of their networks to ``entries_rows``
    (those not among ``rows`` locked, and created empty where missing)."""
    dialect = conn.dialect
    for chunk in common.chunks(port_ids):
        bound.update(conn.exec_driver_sql(_bound_sql(dialect, len(chunk)),
                                          (host, *_ids(dialect, chunk))).all())
    missing = set(bound.values()).difference(entries_rows)
    locked = missing.intersection(rows)
    if missing - locked:
        rows.update(_lock_rows(conn, host, missing - locked))
    for network_id in missing:
        entries_rows[network_id] = samples.entries(rows[network_id])


def _merge(conn, host, collected_at, by_port, bound, rows, written):
    """Steps 3-5 of ingest (``rows``: {network_id: entries})."""
    dialect = conn.dialect
    # 3. Where the ports without an entry here are counted (nowhere: a
    # first sample; another host: the port moved here), and the rows of
    # those other hosts, locked (their entries move here).
    unknown = [port_id for port_id, network_id in bound.items()
               if port_id not in rows[network_id]]
    counted = {}
    for chunk in common.chunks(unknown):
        counted.update(conn.exec_driver_sql(_counted_sql(dialect, len(chunk)),
                                            tuple(chunk)).all())
    moved = {port_id: counted_host for port_id, counted_host in counted.items()
             if counted_host != host}
    others = (_other_rows(conn, {(counted_host, bound[port_id])
                                 for port_id, counted_host in moved.items()})
              if moved else {})
    # 4. The rules, per port.
    first, grown, address_grown, address_gone = [], [], [], []
    stored = _apply(host, collected_at, by_port, bound, counted, rows, moved, others,
                    first, grown, address_grown, address_gone)
    # 5. The entries of ports gone pruned (those not in the batch are looked
    # for), the moved ports' entries taken out of their old rows, the rows
    # to write.
    extra = [port_id for entries in rows.values() for port_id in entries
             if port_id not in bound]
    if extra:
        existing = set()
        for chunk in common.chunks(extra):
            existing.update(conn.exec_driver_sql(_existing_sql(dialect, len(chunk)),
                                                 tuple(chunk)).scalars())
        for entries in rows.values():
            for port_id in [port_id for port_id in entries
                            if port_id not in bound and port_id not in existing]:
                del entries[port_id]
    changed = {(host, network_id): entries for network_id, entries in rows.items()}
    moved_here = [port_id for port_id in stored if port_id in moved] if moved else []
    for port_id in moved_here:
        key = (moved[port_id], bound[port_id])
        if key in others and others[key].pop(port_id, None) is not None:
            changed[key] = others[key]
    for key, entries in changed.items():
        written[key] = samples.from_entries(entries) if entries else None
    for chunk in common.chunks(first):
        conn.exec_driver_sql(_insert_offsets_sql(dialect, len(chunk)),
                             tuple(value for row in chunk for value in row))
    if grown:
        conn.exec_driver_sql(_grow_offsets_sql(dialect), grown)
    if address_gone:
        conn.exec_driver_sql(_delete_address_offsets_sql(dialect), address_gone)
    for port_id, ip_address, amounts in address_grown:
        if not conn.exec_driver_sql(_grow_address_offsets_sql(dialect),
                                    (*amounts, port_id, ip_address)).rowcount:
            conn.exec_driver_sql(_insert_address_offsets_sql(dialect),
                                 (port_id, ip_address, *amounts))
    return len(stored)


def _write(conn, written):
    """Step 5's write: the rows of {(host, network_id): row, or None to
    delete it} in one upsert (and a delete per emptied row)."""
    dialect = conn.dialect
    rows = [(host, network_id, samples.dumps(row))
            for (host, network_id), row in sorted(written.items()) if row is not None]
    for chunk in common.chunks(rows):
        conn.exec_driver_sql(_write_sql(dialect, len(chunk)),
                             tuple(value for row in chunk for value in row))
    for host, network_id in sorted(key for key, row in written.items() if row is None):
        conn.exec_driver_sql(_delete_rows_sql(dialect, 1), (host, network_id))


def _apply(host, collected_at, by_port, bound, counted, rows, moved, others,
           first, grown, address_grown, address_gone):
    """Step 4 of ingest: the new entries put into ``rows``, the offsets to
    write appended to the lists.  Returns the ports stored (a list).  (The
    hot loop, 2.3-3 us a port: the rates and the address counters are
    written out index by index, which costs a third of what a
    comprehension and map() calls per port did.)"""
    stored = []
    zero = (0,) * len(COUNTERS)
    at_least = operator.ge
    r0, r1, r2, r3 = _RATE_INDEXES
    for port_id, network_id in bound.items():
        entries = rows[network_id]
        if moved and port_id in moved:
            previous = others.get((moved[port_id], network_id), {}).get(port_id)
        else:
            previous = entries.get(port_id)
        if previous is not None and previous[1] >= collected_at:
            continue   # late or repeated
        _, _, vif, raw, addresses = by_port[port_id]
        if previous is None:
            rates = _ZERO_RATES
            if port_id not in counted:
                first.append((port_id, host, *zero))
            elif moved and port_id in moved:
                grown.append((host, *zero, port_id))
        else:
            old = previous[2]
            interval = collected_at - previous[1]
            if (all(map(at_least, raw, old)) and previous[0] == vif
                    and not (moved and port_id in moved)):
                rates = [(raw[r0] - old[r0]) / interval, (raw[r1] - old[r1]) / interval,
                         (raw[r2] - old[r2]) / interval, (raw[r3] - old[r3]) / interval]
            else:   # the VIF counted from 0 again
                grown.append((host, *old, port_id))
                rates = [raw[r0] / interval, raw[r1] / interval, raw[r2] / interval,
                         raw[r3] / interval]
            old_addresses = previous[4]
            if old_addresses:
                for ip_address, before in old_addresses.items():
                    now = addresses.get(ip_address)
                    if now is None:
                        address_gone.append((port_id, ip_address))
                    elif (now[0] < before[0] or now[1] < before[1] or now[2] < before[2]
                          or now[3] < before[3]):     # the 4 ADDRESS_COUNTERS
                        address_grown.append((port_id, ip_address, before))
        entries[port_id] = (vif, collected_at, raw, rates, addresses)
        stored.append(port_id)
    return stored


_ZERO_RATES = (0.0,) * len(RATES)
#: Where each rate's counter is in RAW (_apply takes four).
_RATE_INDEXES = [COUNTERS.index(rate[:-len('_rate')]) for rate in RATES]
assert len(RATES) == 4 and len(ADDRESS_COUNTERS) == 4, '_apply is written for 4 of each'


# ---- reads -----------------------------------------------------------------------

def samples_rows(conn, pairs):
    """{(host, network_id): entries} of these samples rows."""
    out = {}
    pairs = sorted(set(pairs))
    columns = (samples_table.c.host, samples_table.c.network_id, samples_table.c.samples)
    for chunk in common.chunks(pairs):
        where = (sa.and_(samples_table.c.host == chunk[0][0],
                         samples_table.c.network_id == chunk[0][1]) if len(chunk) == 1 else
                 sa.tuple_(samples_table.c.host, samples_table.c.network_id).in_(chunk))
        for host, network_id, text in conn.execute(sa.select(*columns).where(where)):
            out[host, network_id] = loads(text)
    return out


def address_offsets(conn, port_ids):
    """{port_id: {ip_address: [offsets of ADDRESS_COUNTERS]}} (only the
    addresses that have offsets)."""
    out = {}
    table = address_offsets_table
    for chunk in common.chunks(port_ids):
        for row in conn.execute(sa.select(table.c.port_id, table.c.ip_address,
                                          *[table.c[name] for name in _ADDRESS_OFFSETS])
                                .where(table.c.port_id.in_(chunk))):
            out.setdefault(row[0], {})[row[1]] = list(row[2:])
    return out


def _address_list(entry, offsets):
    """The API's addresses of an entry (totals), sorted by address."""
    zero = [0] * len(ADDRESS_COUNTERS)
    out = []
    for ip_address in sorted(entry[ADDRESSES]):
        raw = entry[ADDRESSES][ip_address]
        offset = offsets.get(ip_address, zero)
        out.append(dict(zip(ADDRESS_COUNTERS, [a + b for a, b in zip(raw, offset)]),
                        ip_address=ip_address))
    return out


def _sampled(conn, rows):
    """{port_id: entry} of rows with (id, network_id, counted_host)."""
    pairs = [(row.counted_host, row.network_id) for row in rows if row.counted_host]
    if not pairs:
        return {}
    stored_rows = samples_rows(conn, pairs)
    out = {}
    for row in rows:
        if row.counted_host:
            entry = stored_rows.get((row.counted_host, row.network_id), {}).get(row.id)
            if entry is not None:
                out[row.id] = entry
    return out


def stored(conn, host, collected_at, port_ids):
    """The samples of ``port_ids`` that ``ingest`` stored from ``host`` at
    ``collected_at``, as Stored (totals in the order of COUNTERS, rates of
    RATES, addresses [(ip_address, totals of ADDRESS_COUNTERS)]), for the
    notifications."""
    collected_at = float(collected_at)
    columns = (ports.c.id, ports.c.network_id, ports.c.project_id, ports.c.device_id,
               offsets_table.c.host.label('counted_host'),
               *[offsets_table.c[name] for name in _OFFSETS])
    out = []
    for chunk in common.chunks(sorted(set(port_ids))):
        rows = conn.execute(
            sa.select(*columns)
            .select_from(ports.join(offsets_table, offsets_table.c.port_id == ports.c.id))
            .where(ports.c.id.in_(chunk), offsets_table.c.host == host)
            .order_by(ports.c.id)).all()
        entries = {port_id: entry for port_id, entry in _sampled(conn, rows).items()
                   if entry[COLLECTED_AT] == collected_at}
        offsets = address_offsets(conn, list(entries))
        for row in rows:
            entry = entries.get(row.id)
            if entry is None:
                continue
            addresses = _address_list(entry, offsets.get(row.id, {}))
            out.append(Stored(
                row.id, row.network_id, row.project_id, row.device_id,
                [a + b for a, b in zip(entry[RAW], row[5:])], list(entry[RATE]),
                [(address['ip_address'], [address[name] for name in ADDRESS_COUNTERS])
                 for address in addresses]))
    return out


COLUMNS = {
    'id': ports.c.id, 'port_id': ports.c.id, 'network_id': ports.c.network_id,
    'project_id': ports.c.project_id, 'device_id': ports.c.device_id,
    'device_owner': ports.c.device_owner,
}

_LIST_COLUMNS = (
    ports.c.id, ports.c.network_id, ports.c.project_id, ports.c.device_id,
    ports.c.device_owner, ports.c.binding_host_id,
    networks.c.project_id.label('network_project_id'),
    offsets_table.c.host.label('counted_host'),
    *[offsets_table.c[name] for name in _OFFSETS])


def _select():
    return (sa.select(*_LIST_COLUMNS)
            .select_from(ports.join(networks, networks.c.id == ports.c.network_id)
                         .outerjoin(offsets_table, offsets_table.c.port_id == ports.c.id)))


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


def to_dicts(conn, rows):
    entries = _sampled(conn, rows)
    offsets = address_offsets(conn, [port_id for port_id, entry in entries.items()
                                     if entry[ADDRESSES]]) if entries else {}
    out = []
    for row in rows:
        item = {'id': row.id, 'port_id': row.id, 'network_id': row.network_id,
                'project_id': row.project_id, 'device_id': row.device_id,
                'device_owner': row.device_owner, 'host': row.binding_host_id,
                'network:project_id': row.network_project_id}
        entry = entries.get(row.id)
        port_offsets = [getattr(row, name) or 0 for name in _OFFSETS]
        if entry is None:
            # Never reported (or, not expected, its entry lost: its offsets).
            item.update(collected_at=None, addresses=[])
            item.update(zip(COUNTERS, port_offsets))
            item.update(dict.fromkeys(RATES, 0.0))
        else:
            item.update(collected_at=iso_time(entry[COLLECTED_AT]),
                        addresses=_address_list(entry, offsets.get(row.id, {})))
            item.update(zip(COUNTERS, [a + b for a, b in zip(entry[RAW], port_offsets)]))
            item.update(zip(RATES, [float(rate) for rate in entry[RATE]]))
        out.append(item)
    return out


@functools.lru_cache(maxsize=64)
def _network_ports_sql(dialect, count):
    """Parameters: ``count`` network ids."""
    return ('SELECT ports.network_id, ports.id, port_statistics_offsets.host, %s FROM ports '
            'LEFT JOIN port_statistics_offsets ON port_statistics_offsets.port_id = ports.id '
            'WHERE ports.network_id IN (%s)' % (
                ', '.join('port_statistics_offsets.' + name for name in _OFFSETS),
                _marks(dialect, count)))


@functools.lru_cache(maxsize=64)
def _network_rows_sql(dialect, count):
    """Parameters: ``count`` network ids."""
    return ('SELECT host, network_id, samples FROM port_statistics_samples '
            'WHERE network_id IN (%s)' % _marks(dialect, count))


def _columns_sum(rows, start=0):
    """The sums of the columns of ``rows`` from ``start`` on."""
    return [sum(column) for column in itertools.islice(zip(*rows), start, None)] if rows else None


def network_sums(conn, network_ids):
    """{network_id: [port count, latest collected_at, totals of COUNTERS,
    sums of RATES]} of these networks (all their ports): two queries
    through the driver's cursor, the sums by column (a 1,000-port network:
    SQLAlchemy's rows and a loop per value had doubled its request)."""
    out = {}
    dialect = conn.dialect
    cursor = conn.connection.cursor()
    try:
        for chunk in common.chunks(sorted(network_ids)):
            cursor.execute(_network_ports_sql(dialect, len(chunk)), tuple(chunk))
            port_rows = cursor.fetchall()
            cursor.execute(_network_rows_sql(dialect, len(chunk)), tuple(chunk))
            texts = cursor.fetchall()
            out.update(memory.without_gc(_network_sums, chunk, port_rows, texts))
    finally:
        cursor.close()
    return out


def _network_sums(network_ids, port_rows, texts):
    """network_sums of ``network_ids`` from their ports (with offsets) and
    samples rows: the offsets summed by column, and each samples row's
    columns summed whole when every port of it is counted on its host (the
    usual case; the entries of ports gone or counted elsewhere are left
    out otherwise)."""
    by_network = {network_id: [] for network_id in network_ids}
    counted_on = {}
    for row in port_rows:
        by_network[row[0]].append(row)
        if row[2] is not None:
            counted_on[row[1]] = row[2]
    sampled = {network_id: [] for network_id in network_ids}
    for host, network_id, text in texts:
        row = samples.parse(text)
        if not row:
            continue
        times, raw, rate = row[samples.TIMES], row[samples.RAW], row[samples.RATE]
        keep = [i for i, port_id in enumerate(row[samples.IDS])
                if counted_on.get(port_id) == host]
        if len(keep) < len(times):
            times = [times[i] for i in keep]
            raw = [[column[i] for i in keep] for column in raw]
            rate = [[column[i] for i in keep] for column in rate]
        if times:
            sampled[network_id].append((times, raw, rate))
    out = {}
    for network_id, rows in by_network.items():
        stored_rows = sampled[network_id]
        totals = _columns_sum([row for row in rows if row[2] is not None], 3) or [0] * len(
            COUNTERS)
        rates = [0.0] * len(RATES)
        for _, raw, rate in stored_rows:
            totals = list(map(operator.add, totals, map(sum, raw)))
            rates = list(map(operator.add, rates, map(sum, rate)))
        out[network_id] = [len(rows), max([max(times) for times, _, _ in stored_rows],
                                          default=None), totals, rates]
    return out


# ---- export (naas.api.metrics) ---------------------------------------------------

_METRIC_PORTS = common.prebuilt(lambda: sa.select(
    ports.c.id, ports.c.network_id, ports.c.project_id, ports.c.device_owner,
    networks.c.project_id.label('network_project_id'), offsets_table.c.host,
    *[offsets_table.c[name] for name in _OFFSETS])
    .select_from(ports.join(networks, networks.c.id == ports.c.network_id)
                 .outerjoin(offsets_table, offsets_table.c.port_id == ports.c.id))
    .order_by(ports.c.network_id, ports.c.id))


@functools.lru_cache(maxsize=8)
def _metric_ports_sql(dialect):
    return str(_METRIC_PORTS().compile(dialect=dialect))


def metric_rows(conn):
    """Every port with its totals (None before its first sample), ordered by
    network: (id, network_id, project_id, device_owner, network_project_id,
    collected_at, *COUNTERS).  Two queries (the ports with their offsets,
    every samples row) through the driver's cursor: plain tuples
    (10,000 rows: SQLAlchemy's Row objects were a sixth of a scrape)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_metric_ports_sql(conn.dialect))
        port_rows = cursor.fetchall()
        cursor.execute('SELECT host, network_id, samples FROM port_statistics_samples')
        texts = cursor.fetchall()
    finally:
        cursor.close()
    return memory.without_gc(_metric_rows, port_rows, texts)


def _metric_rows(port_rows, texts):
    out = []
    empty = {}
    unknown = (None,) * (1 + len(COUNTERS))
    add = operator.add
    stored_rows = {(host, network_id): loads(text) for host, network_id, text in texts}
    for row in port_rows:
        host = row[5]
        entry = host and stored_rows.get((host, row[1]), empty).get(row[0])
        if entry:
            out.append((*row[:5], entry[COLLECTED_AT], *map(add, entry[RAW], row[6:])))
        else:
            out.append((*row[:5], *unknown))
    return out
