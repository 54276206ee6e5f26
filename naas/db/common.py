"""Helpers shared by the resource tables: standard attributes and tags,
and rows that are quick to read (``records``)."""
import collections
import datetime
import json
import keyword
import uuid

import orjson
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import models
from naas.lib.definitions import base

CHUNK = 500


def prebuilt(build):
    """Build a statement once per variant; execute it with parameters.

    Building a SQLAlchemy statement costs more than running a simple one
    on a local database, so the statements of the hot paths are built once
    (with bindparams) and reused.
    """
    cache = {}

    def get(*variant):
        try:
            return cache[variant]
        except KeyError:
            stmt = cache[variant] = build(*variant)
            return stmt
    return get


CTX_PROJECT = sa.bindparam('ctx_project')


def ctx_params(context, **params):
    """Execution parameters of a statement that uses CTX_PROJECT."""
    params['ctx_project'] = context.project_id
    return params


def owned_by(context, table):
    """WHERE clause of the rows of ``table`` a context may see when only
    their owners (and admins) may: uses CTX_PROJECT."""
    return sa.true() if context.is_admin else table.c.project_id == CTX_PROJECT


_RECORD_TYPES = {}


def records(result):
    """The rows of ``result`` as named tuples (with Row's ``_mapping``).

    SQLAlchemy's Row reads an attribute in Python code (a few microseconds
    each); a named tuple reads it in C.  A list of 150 security group rules
    of 18 attributes spent more time in Row attribute reads than in the
    database.  The tuple types are made once per list of column names (the
    statements' shapes, a bounded set; no data is kept).
    """
    keys = tuple(result.keys())
    try:
        record = _RECORD_TYPES[keys]
    except KeyError:
        record = _RECORD_TYPES[keys] = _record_type(keys)
    if record is None:
        return result.all()
    return list(map(record._make, result))


def _record_type(keys):
    """A named tuple type of fields ``keys``; None for names it cannot
    take (a keyword, a leading underscore, the same name twice)."""
    if len(set(keys)) != len(keys) or not all(
            key.isidentifier() and not key.startswith('_') and not keyword.iskeyword(key)
            for key in keys):
        return None
    fields = collections.namedtuple('Record', keys)
    # ``_mapping`` as Row has it, for code that reads a column by its name.
    return type('Record', (fields,), {'__slots__': (), '_mapping': property(fields._asdict)})


def visible_row(context, table, id, visible, not_found, lock=False, columns=()):
    """The row ``id`` of ``table`` (with the more ``columns``, e.g. labelled
    EXISTS) if ``visible`` (a WHERE clause using CTX_PROJECT) lets the
    context see it, locked if asked; else raise ``not_found``."""
    stmt = sa.select(table, *columns).where(table.c.id == id, visible)
    if lock:
        stmt = stmt.with_for_update()
    row = context.connection.execute(stmt, ctx_params(context)).first()
    if row is None:
        raise not_found
    return row


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def new_standard(body):
    """id, name, description, project and timestamps of a new row."""
    stamp = now()
    return {'id': body.get('id') or str(uuid.uuid4()),
            'project_id': body.get('project_id'),
            'name': body.get('name', ''),
            'description': body.get('description', ''),
            'created_at': stamp, 'updated_at': stamp, 'revision_number': 0}


def standard_dict(row):
    return {'id': row.id, 'name': row.name, 'description': row.description,
            'project_id': row.project_id, 'tenant_id': row.project_id,
            'created_at': row.created_at, 'updated_at': row.updated_at,
            'revision_number': row.revision_number, 'tags': loads(row.tags, [])}


def bump(conn, table, id, values=None, expected_revision=None):
    """Update a row, moving its revision and updated_at on.

    With ``expected_revision`` the update happens only at that revision
    (If-Match), otherwise RevisionNumberConstraintFailed.
    """
    values = dict(values or {})
    values.pop('revision_number', None)
    values['updated_at'] = now()
    checked = expected_revision is not None
    if any(isinstance(value, sa.ClauseElement) for value in values.values()):
        stmt, params = _bump_statement(table, checked).values(**values), {}
    else:  # (the statement built once; the values are its SET parameters)
        stmt, params = _BUMP(table, checked), values
    params['bump_id'] = id
    if checked:
        params['bump_expected'] = expected_revision
    if conn.execute(stmt, params).rowcount != 1 and checked:
        current = conn.execute(sa.select(table.c.revision_number)
                               .where(table.c.id == id)).scalar()
        raise exceptions.RevisionNumberConstraintFailed(
            expected=expected_revision, current=current)


def _bump_statement(table, checked):
    stmt = table.update().where(table.c.id == sa.bindparam('bump_id')).values(
        revision_number=table.c.revision_number + 1)
    if checked:
        stmt = stmt.where(table.c.revision_number == sa.bindparam('bump_expected'))
    return stmt


_BUMP = prebuilt(_bump_statement)


def chunks(items, size=CHUNK):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def write_tags(conn, table, resource_id):
    """Copy a resource's rows of ``tags`` into its ``tags`` column."""
    tags = sorted(r.tag for r in conn.execute(
        sa.select(models.tags.c.tag).where(models.tags.c.resource_id == resource_id)))
    conn.execute(table.update().where(table.c.id == resource_id)
                 .values(tags=dumps(tags)))


def set_tags(conn, resource_id, tags):
    conn.execute(models.tags.delete().where(models.tags.c.resource_id == resource_id))
    if tags:
        conn.execute(models.tags.insert(), [{'resource_id': resource_id, 'tag': tag}
                                            for tag in sorted(set(tags))])


def add_tag(conn, resource_id, tag):
    exists = conn.execute(sa.select(models.tags.c.tag).where(
        models.tags.c.resource_id == resource_id, models.tags.c.tag == tag)).first()
    if exists is None:
        conn.execute(models.tags.insert().values(resource_id=resource_id, tag=tag))


def remove_tag(conn, resource_id, tag):
    return conn.execute(models.tags.delete().where(
        models.tags.c.resource_id == resource_id, models.tags.c.tag == tag)).rowcount == 1


def delete_tags(conn, resource_id):
    conn.execute(models.tags.delete().where(models.tags.c.resource_id == resource_id))


def tag_conditions(id_column, filters):
    """WHERE clauses for tags, tags-any, not-tags, not-tags-any filters.

    Each filter value is a comma-separated list of tags, as in the
    Networking API; repeated parameters are merged.
    """
    clauses = []
    for name in base.TAG_FILTERS:
        values = filters.pop(name, None)
        if not values:
            continue
        wanted = sorted({tag for v in values for tag in v.split(',') if tag})
        if not wanted:
            continue
        if name in ('tags', 'not-tags'):
            matched = (sa.select(sa.func.count()).select_from(models.tags)
                       .where(models.tags.c.resource_id == id_column, models.tags.c.tag.in_(wanted))
                       .scalar_subquery())
            cond = matched == len(wanted)
        else:
            cond = sa.exists().where(models.tags.c.resource_id == id_column,
                                     models.tags.c.tag.in_(wanted))
        clauses.append(sa.not_(cond) if name.startswith('not-') else cond)
    return clauses


_EMPTY = {'[]': list, '{}': dict, '': None}


def loads(text, default):
    """JSON column to value; the common empty values skip the parser."""
    empty = _EMPTY.get(text, False)
    if empty is None:
        return default
    if empty:
        return empty()
    return orjson.loads(text)


def dumps(value):
    return json.dumps(value, sort_keys=True)
