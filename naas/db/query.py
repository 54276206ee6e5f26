"""List queries: filters, sorting and keyset pagination over one table.

``columns`` maps API attribute names to the table's columns.  Filters are
{attribute: [values]} (several values of one attribute mean OR); sorts are
[(attribute, ascending)]; ``id`` is always the last sort key so that every
page boundary is exact.

A ``marker`` is resolved as the caller sees it, by the resource's own get
(``get_marker(context, id)``, which raises the resource's NotFound), as
Neutron's get_marker_obj does: a marker the caller may not see answers
exactly as an unknown one (404), and no list is paged by the sort values
of a row the caller could not read.
"""
import sqlalchemy as sa

from naas.lib import validators
from naas.db import common


def column_map(table, renames=None, skip=()):
    """attribute -> column for a table: ``a_b`` columns serve ``a:b`` too."""
    cols = {}
    for col in table.c:
        if col.name in skip:
            continue
        cols[col.name] = col
    for attr, colname in (renames or {}).items():
        cols[attr] = table.c[colname]
    return cols


def coerce(column, value):
    """A query-string value to the column's type; InvalidInput if it can't."""
    if isinstance(column.type, sa.Boolean):
        return validators.convert_to_boolean(value)
    if isinstance(column.type, (sa.Integer, sa.BigInteger)):
        return validators.convert_to_int(value)
    return value


def apply_filters(query, columns, filters):
    for attr, values in filters.items():
        column = columns[attr]
        values = [coerce(column, v) for v in values]
        if len(values) == 1:
            query = query.where(column == values[0])
        else:
            query = query.where(column.in_(values))
    return query


def apply_sort_and_page(conn, query, table, columns, sorts, limit=None,
                        marker=None, page_reverse=False, find_marker=None):
    """Add ORDER BY, the keyset condition after ``marker`` and LIMIT.

    ``find_marker(marker)`` checks that the caller may see the marker row
    (raising NotFound if not); it is required with a marker.  Returns
    (query, reversed): when ``reversed`` the caller flips the rows (a
    reverse page is read backwards and shown forwards).
    """
    sorts = [(a, asc) for a, asc in sorts if a != 'id'] + [
        ('id', next((asc for a, asc in sorts if a == 'id'), True))]
    if page_reverse:
        sorts = [(a, not asc) for a, asc in sorts]
    if marker is not None:
        find_marker(marker)
        marker_row = conn.execute(
            sa.select(*[columns[a] for a, _ in sorts])
            .where(table.c.id == marker)).one()
        query = query.where(_after(columns, sorts, list(marker_row)))
    query = query.order_by(*[_order(conn, columns[a], asc) for a, asc in sorts])
    if limit is not None:
        query = query.limit(limit)
    return query, page_reverse


def _order(conn, column, asc):
    """NULLs first ascending (last descending) on every database, as on
    SQLite and MySQL, which _after assumes."""
    order = column.asc() if asc else column.desc()
    if conn.dialect.name == 'postgresql':
        order = order.nulls_first() if asc else order.nulls_last()
    return order


def _after(columns, sorts, values):
    """Rows strictly after ``values`` in the order ``sorts`` (keyset)."""
    clauses = []
    for i, (attr, asc) in enumerate(sorts):
        col = columns[attr]
        equal = [columns[a] == v for (a, _), v in zip(sorts[:i], values[:i])]
        value = values[i]
        if value is None:
            beyond = col.isnot(None) if asc else sa.false()
        else:
            # A bound value: SQLAlchemy refuses ``col > True`` (boolean keys).
            value = sa.literal(value, col.type)
            beyond = (col > value) if asc else sa.or_(col < value, col.is_(None))
        clauses.append(sa.and_(*equal, beyond))
    return sa.or_(*clauses)


def list_rows(context, stmt, table, columns, filters, sorts=(), limit=None,
              marker=None, page_reverse=False, get_marker=None):
    """The rows of a list request.

    ``stmt`` selects what the context may see (with common.CTX_PROJECT);
    ``filters`` are what is left after the resource's own special filters:
    the tag filters and plain attribute filters; ``get_marker(context, id)``
    is the resource's get (see the module docstring).
    """
    conn = context.connection
    for clause in common.tag_conditions(table.c.id, filters):
        stmt = stmt.where(clause)
    stmt = apply_filters(stmt, columns, filters)
    stmt, flip = apply_sort_and_page(conn, stmt, table, columns, sorts, limit,
                                     marker, page_reverse,
                                     lambda id: get_marker(context, id))
    rows = common.records(conn.execute(stmt, common.ctx_params(context)))
    return rows[::-1] if flip else rows
