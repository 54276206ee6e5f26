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
"""
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


def visible(context):
    return common.owned_by(context, groups)


def readable(context):
    if context.is_admin:
        return sa.true()
    return sa.or_(groups.c.project_id == common.CTX_PROJECT,
                  rbac.granted(groups.c.id, [rbac.ACCESS_SHARED]))


def get_row(context, id, lock=False, shared=False):
    """A group the context may see (``shared``: or read), or SecurityGroupNotFound."""
    return common.visible_row(context, groups, id,
                              readable(context) if shared else visible(context),
                              exceptions.SecurityGroupNotFound(id=id), lock)


def visible_ids(context, ids):
    """Rows of the groups ``ids`` the context may see."""
    stmt = sa.select(groups.c.id, groups.c.stateful).where(groups.c.id.in_(list(ids)),
                                                          readable(context))
    return context.connection.execute(stmt, common.ctx_params(context)).all()


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    stmt = sa.select(groups).where(readable(context))
    return query.list_rows(context, stmt, groups, COLUMNS, dict(filters or {}), sorts,
                           limit, marker, page_reverse,
                           lambda context, id: get_row(context, id, shared=True))


def to_dicts(conn, rows, project_id=None):
    """``shared``: shared with ``project_id`` (the caller's), as Neutron shows it."""
    ids = [r.id for r in rows]
    shared = rbac.granted_to_project(conn, ids, rbac.ACCESS_SHARED, project_id)
    by_group = {}
    for rule in rules.to_dicts(conn, rules.of_groups(conn, ids)):
        by_group.setdefault(rule['security_group_id'], []).append(rule)
    out = []
    for r in rows:
        d = common.standard_dict(r)
        d.update(stateful=bool(r.stateful), shared=r.id in shared,
                 security_group_rules=by_group.get(r.id, []))
        out.append(d)
    return out


def insert(conn, body, default=False):
    """A group with the template's rules (rules.insert_from_template)."""
    row = common.new_standard(body)
    row['stateful'] = body.get('stateful', True)
    conn.execute(groups.insert().values(**row))
    if default:
        conn.execute(defaults.insert().values(project_id=row['project_id'],
                                              security_group_id=row['id']))
    rules.insert_from_template(conn, row['id'], row['project_id'], default)
    return row['id']


def default_of(conn, project_id):
    """The id of the project's default group, or None."""
    return conn.execute(sa.select(defaults.c.security_group_id)
                        .where(defaults.c.project_id == project_id)).scalar()


def is_default(conn, id):
    return conn.execute(sa.select(defaults.c.project_id)
                        .where(defaults.c.security_group_id == id)).first() is not None


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
                           'description': group_def.DEFAULT_DESCRIPTION}, default=True)
    return id


def update(conn, id, cols, expected_revision=None):
    common.bump(conn, groups, id, cols, expected_revision)


def delete(conn, id):
    common.delete_tags(conn, id)
    rbac.delete_all(conn, id)
    conn.execute(groups.delete().where(groups.c.id == id))
