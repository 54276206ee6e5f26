"""Security group rows: the security_groups table, each project's default
group, and the groups' API view (with their rules, rules.py).

A group is seen by its project and administrators (``visible``: the one
WHERE clause of every read, so that sharing adds to it in one place); a
project it is shared with (RBAC access_as_shared, naas.db.rbac) reads it
and puts it on its ports (``readable``), but does not change it.  A
project's ``default`` group is made on first use (ensure_default); the
primary key of default_security_groups keeps it one per project when
requests race: the loser's insert fails, its request is retried and finds
the winner's group.

The API view (``to_dicts``) is made of the rows: a read selects the
``VIEW_COLUMNS`` with them, and a new group is shown from what was written
(``insert``), not read back.
"""
import types

import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import query
from naas.db import rbac
from naas.lib.definitions import securitygroup as group_def
from naas.plugins.securitygroups import models
from naas.plugins.securitygroups import rules

groups = models.security_groups
defaults = models.default_security_groups
COLUMNS = query.column_map(groups, renames={'tenant_id': 'project_id'})

#: Whether a group is its project's default group, and whether it is shared
#: with the caller (CTX_PROJECT) or every project, as Neutron shows
#: ``shared``: EXISTS columns of the group's own select (an index probe per
#: group), not more queries.
IS_DEFAULT = sa.exists().where(defaults.c.security_group_id == groups.c.id).label('is_default')
VIEW_COLUMNS = (IS_DEFAULT,
                rbac.granted(groups.c.id, [rbac.ACCESS_SHARED]).label('shared'))


def visible(admin):
    """WHERE clause of the groups a context (``admin`` or not) may see and
    change: its project's (CTX_PROJECT)."""
    return sa.true() if admin else groups.c.project_id == common.CTX_PROJECT


def readable(admin):
    """WHERE clause of the groups a context may read: also those shared with it."""
    if admin:
        return sa.true()
    return sa.or_(groups.c.project_id == common.CTX_PROJECT,
                  rbac.granted(groups.c.id, [rbac.ACCESS_SHARED]))


_GET = common.prebuilt(lambda admin, shared, lock, columns: _for_update(
    sa.select(groups, *columns).where(groups.c.id == sa.bindparam('id'),
                                      readable(admin) if shared else visible(admin)), lock))


def _for_update(stmt, lock):
    return stmt.with_for_update() if lock else stmt


def get_row(context, id, lock=False, shared=False, columns=(), **params):
    """A group the context may see (``shared``: or read), with the more
    ``columns`` (IS_DEFAULT, VIEW_COLUMNS, rules.WITH_KEY with its
    ``params``), or SecurityGroupNotFound."""
    row = context.connection.execute(_GET(context.is_admin, shared, lock, tuple(columns)),
                                     common.ctx_params(context, id=id, **params)).first()
    if row is None:
        raise exceptions.SecurityGroupNotFound(id=id)
    return row


def visible_ids(context, ids):
    """Rows of the groups ``ids`` the context may see."""
    stmt = sa.select(groups.c.id, groups.c.stateful).where(groups.c.id.in_(list(ids)),
                                                          readable(context.is_admin))
    return context.connection.execute(stmt, common.ctx_params(context)).all()


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    """Rows with the VIEW_COLUMNS."""
    stmt = sa.select(groups, *VIEW_COLUMNS).where(readable(context.is_admin))
    return query.list_rows(context, stmt, groups, COLUMNS, dict(filters or {}), sorts,
                           limit, marker, page_reverse,
                           lambda context, id: get_row(context, id, shared=True))


def to_dicts(conn, rows):
    """The API view of group rows read with the VIEW_COLUMNS, with their
    rules (one query)."""
    by_group = {}
    for rule in rules.to_dicts(rules.of_groups(conn, [r.id for r in rows], view=True)):
        by_group.setdefault(rule['security_group_id'], []).append(rule)
    return [_view(r, by_group.get(r.id, [])) for r in rows]


def _view(row, rule_views):
    view = common.standard_dict(row)
    view.update(stateful=bool(row.stateful), shared=bool(row.shared),
                security_group_rules=rule_views)
    return view


def insert(conn, body, default=False):
    """A group with the template's rules (rules.insert_from_template); its
    view, made of what was written (a new group has no RBAC entry: not
    shared)."""
    row = common.new_standard(body)
    row['stateful'] = body.get('stateful', True)
    conn.execute(_INSERT, row)
    if default:
        conn.execute(_INSERT_DEFAULT, {'project_id': row['project_id'],
                                       'security_group_id': row['id']})
    new_rules = rules.insert_from_template(conn, row['id'], row['project_id'], default)
    return _view(types.SimpleNamespace(tags='[]', is_default=default, shared=False, **row),
                 rules.to_dicts(new_rules))


_INSERT = groups.insert()
_INSERT_DEFAULT = defaults.insert()
_DEFAULT_OF = sa.select(defaults.c.security_group_id).where(
    defaults.c.project_id == sa.bindparam('project_id'))
_IS_DEFAULT = sa.select(defaults.c.project_id).where(
    defaults.c.security_group_id == sa.bindparam('id'))


def default_of(conn, project_id):
    """The id of the project's default group, or None."""
    return conn.execute(_DEFAULT_OF, {'project_id': project_id}).scalar()


def is_default(conn, id):
    return conn.execute(_IS_DEFAULT, {'id': id}).first() is not None


def ensure_default(context, project_id):
    """The id of the project's default group, made now if it has none.  A
    project's own member makes it, or an administrator; for anyone else
    None (Neutron's LP#1987410)."""
    if not project_id or (project_id != context.project_id and not context.is_admin):
        return None
    conn = context.connection
    id = default_of(conn, project_id)
    if id is None:
        id = insert(conn, {'project_id': project_id, 'name': group_def.DEFAULT_NAME,
                           'description': group_def.DEFAULT_DESCRIPTION}, default=True)['id']
    return id


def update(conn, id, cols, expected_revision=None):
    common.bump(conn, groups, id, cols, expected_revision)


def delete(conn, id):
    common.delete_tags(conn, id)
    rbac.delete_all(conn, id)
    conn.execute(groups.delete().where(groups.c.id == id))
