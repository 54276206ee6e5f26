"""A free list of integers kept as ranges in ``ipam_free_ranges``.

IPAM keeps one pool per subnet (addresses of its allocation pools not yet
given out); the L2 plugin keeps one per segment type (VNIs, VLAN IDs).
Values are stored as 32 hex digits so that string order is numeric order up
to 128 bits.  Taking the next value or a given value, and giving one back,
touch at most two rows found by primary key: the cost does not grow with
the number of values already taken.

Rows are locked with SELECT ... FOR UPDATE, so concurrent transactions on
PostgreSQL or MySQL serialise on the range they change (and read it again
when the wait changed it, see _locked_settled); SQLite serialises writers
as a whole.  A range stays locked until its transaction commits, so that
one range row taken from by every port create of a subnet would queue
them all, each for the rest of the other's transaction and its commit
flush.  So a pool may be stored in stripes (``create_pool(...,
stripe=N)``: adjacent ranges of about N values, 16 at most), and ``take_next`` takes from
the lowest range no other transaction holds (SKIP LOCKED; MariaDB 10.6+,
PostgreSQL 9.5+), waiting only when every range is held.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import models

free_ranges = models.ipam_free_ranges


def key(value):
    return '%032x' % value


def unkey(text):
    return int(text, 16)


#: A range is cut into at most this many stripes (an IPv6 /64 too).
MOST_STRIPES = 16


def create_pool(conn, pool_id, ranges, stripe=None):
    """Fill ``pool_id`` with the inclusive integer ``ranges`` [(first, last)],
    each cut into equal stripes of about ``stripe`` values if given (at most
    MOST_STRIPES of them: larger stripes for a larger range)."""
    rows = [{'pool_id': pool_id, 'first': key(first), 'last': key(last)}
            for first, last in _striped(_merge(ranges), stripe)]
    if rows:
        conn.execute(free_ranges.insert(), rows)


def _striped(ranges, stripe):
    if not stripe:
        return ranges
    out = []
    for first, last in ranges:
        count = last - first + 1
        parts = min(MOST_STRIPES, -(-count // stripe))
        size = -(-count // parts)
        out += [(start, min(start + size - 1, last)) for start in range(first, last + 1, size)]
    return out


def refill_pool(conn, pool_id, ranges, used, stripe=None):
    """Make ``pool_id`` hold ``ranges`` less the values in ``used`` (when the
    ranges themselves change: new allocation pools, new VNI ranges)."""
    free = []
    for first, last in ranges:
        start = first
        for value in sorted(u for u in used if first <= u <= last):
            if value > start:
                free.append((start, value - 1))
            start = value + 1
        if start <= last:
            free.append((start, last))
    delete_pool(conn, pool_id)
    create_pool(conn, pool_id, free, stripe)


def delete_pool(conn, pool_id):
    conn.execute(free_ranges.delete().where(free_ranges.c.pool_id == pool_id))


def _merge(ranges):
    out = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def _locked(conn, query, params=None):
    return conn.execute(query.with_for_update(), params).first()


def _locked_settled(conn, query, fits, params=None):
    """The row ``query`` finds, locked; read again until the answer holds.

    A SELECT ... FOR UPDATE that waited for another transaction gets the
    row as that transaction left it, but on PostgreSQL (READ COMMITTED) it
    does not see the rows that transaction inserted: they are newer than
    the statement's snapshot.  So when a range was split meanwhile, only
    its lower part comes back, and a range that was deleted is skipped.
    An answer that does not ``fits`` (or no row) is therefore asked again
    by a new statement until two answers agree; if they never do the
    transaction starts over (DBRetry).
    """
    row = _locked(conn, query, params)
    for _ in range(8):
        if row is not None and fits(row):
            return row
        again = _locked(conn, query, params)
        if again == row:
            return row
        row = again
    raise exceptions.DBRetry()


# The statements of taking a value (the hot path of a port create), built once.
_LOWEST = common.prebuilt(lambda: sa.select(free_ranges.c.first, free_ranges.c.last)
                          .where(free_ranges.c.pool_id == sa.bindparam('pool_id'))
                          .order_by(free_ranges.c.first).limit(1))
_LOWEST_FREE = common.prebuilt(lambda: _LOWEST().with_for_update(skip_locked=True))
_RANGE = sa.and_(free_ranges.c.pool_id == sa.bindparam('range_pool'),
                 free_ranges.c.first == sa.bindparam('old_first'),
                 free_ranges.c.last == sa.bindparam('old_last'))
_DELETE_RANGE = common.prebuilt(lambda: free_ranges.delete().where(_RANGE))
_SET_FIRST = common.prebuilt(lambda: free_ranges.update().where(_RANGE)
                             .values(first=sa.bindparam('new_value')))
_SET_LAST = common.prebuilt(lambda: free_ranges.update().where(_RANGE)
                            .values(last=sa.bindparam('new_value')))


def take_next(conn, pool_id):
    """Take the lowest free value of a range no other transaction holds (of
    the lowest range, waiting for it, when all are held), or None when the
    pool is empty."""
    params = {'pool_id': pool_id}
    for _ in range(8):
        row = conn.execute(_LOWEST_FREE(), params).first()
        if row is None:
            row = _locked_settled(conn, _LOWEST(), lambda row: True, params)
        if row is None:
            return None
        if _take_from(conn, pool_id, row, unkey(row.first)):
            return unkey(row.first)
    return None


def take(conn, pool_id, value):
    """Take ``value``; False when it is not free."""
    k = key(value)
    row = _locked_settled(conn, sa.select(free_ranges.c.first, free_ranges.c.last)
                          .where(free_ranges.c.pool_id == pool_id, free_ranges.c.first <= k)
                          .order_by(free_ranges.c.first.desc()).limit(1),
                          lambda row: row.last >= k)
    if row is None or row.last < k:
        return False
    return _take_from(conn, pool_id, row, value)


def _take_from(conn, pool_id, row, value):
    """Remove ``value`` from the locked range ``row``; False if it changed."""
    first, last = unkey(row.first), unkey(row.last)
    where = {'range_pool': pool_id, 'old_first': row.first, 'old_last': row.last}
    if first == last:
        result = conn.execute(_DELETE_RANGE(), where)
    elif value == first:
        result = conn.execute(_SET_FIRST(), dict(where, new_value=key(value + 1)))
    else:
        result = conn.execute(_SET_LAST(), dict(where, new_value=key(value - 1)))
        if value != last and result.rowcount == 1:
            conn.execute(free_ranges.insert().values(pool_id=pool_id, first=key(value + 1),
                                                     last=row.last))
    return result.rowcount == 1


def give_back(conn, pool_id, value):
    """Return ``value`` to the pool, merging it with its neighbours."""
    k = key(value)
    # first <= k: a range starting at the value is "already free" too.
    before = _locked(conn, sa.select(free_ranges.c.first, free_ranges.c.last)
                     .where(free_ranges.c.pool_id == pool_id, free_ranges.c.first <= k)
                     .order_by(free_ranges.c.first.desc()).limit(1))
    if before is not None and before.last >= k:
        return  # already free
    after = _locked(conn, sa.select(free_ranges.c.first, free_ranges.c.last)
                    .where(free_ranges.c.pool_id == pool_id,
                           free_ranges.c.first == key(value + 1)))
    joins_before = before is not None and unkey(before.last) == value - 1
    if joins_before and after is not None:
        conn.execute(free_ranges.delete().where(free_ranges.c.pool_id == pool_id,
                                                free_ranges.c.first == after.first))
        conn.execute(free_ranges.update().where(free_ranges.c.pool_id == pool_id,
                                                free_ranges.c.first == before.first)
                     .values(last=after.last))
    elif joins_before:
        conn.execute(free_ranges.update().where(free_ranges.c.pool_id == pool_id,
                                                free_ranges.c.first == before.first)
                     .values(last=k))
    elif after is not None:
        conn.execute(free_ranges.update().where(free_ranges.c.pool_id == pool_id,
                                                free_ranges.c.first == after.first)
                     .values(first=k))
    else:
        conn.execute(free_ranges.insert().values(pool_id=pool_id, first=k, last=k))


def free_count(conn, pool_id):
    """How many values are free (sums the ranges; for tests and tools)."""
    rows = conn.execute(sa.select(free_ranges.c.first, free_ranges.c.last)
                        .where(free_ranges.c.pool_id == pool_id))
    return sum(unkey(r.last) - unkey(r.first) + 1 for r in rows)
