"""QoS policy rows: the qos_policies table, each project's default policy
(qos_default_policies) and the API view (with the policy's rules).

A policy is visible to its project, to every project when shared, to the
projects an RBAC entry shares it with (access_as_shared, naas.db.rbac), and
to administrators; anyone else gets QosPolicyNotFound, as for an unknown id.
``shared`` is the '*' entry (the column follows it: sync_shared) and shows,
as in Neutron, whether the policy is shared with the caller's project.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import query
from naas.db import rbac
from naas.plugins.qos import models
from naas.plugins.qos import rules

policies = models.policies
default_policies = models.default_policies
COLUMNS = query.column_map(policies, renames={'tenant_id': 'project_id'})


def _visible(context):
    if context.is_admin:
        return sa.true()
    return sa.or_(policies.c.project_id == common.CTX_PROJECT, policies.c.shared.is_(True),
                  rbac.granted(policies.c.id, [rbac.ACCESS_SHARED]))


def insert(conn, body):
    row = common.new_standard(body)
    row['shared'] = body['shared']
    conn.execute(policies.insert().values(**row))
    if body['is_default']:
        set_default(conn, row['id'], row['project_id'], True)
    return row['id']


def get_row(context, id, lock=False):
    """A policy the context may see, or QosPolicyNotFound."""
    return common.visible_row(context, policies, id, _visible(context),
                              exceptions.QosPolicyNotFound(policy_id=id), lock)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    stmt = sa.select(policies).where(_visible(context))
    is_default = filters.pop('is_default', None)
    if is_default is not None:
        defaults = sa.select(default_policies.c.qos_policy_id)
        stmt = stmt.where(sa.or_(*[
            policies.c.id.in_(defaults) if value else policies.c.id.not_in(defaults)
            for value in set(is_default)]))
    return query.list_rows(context, stmt, policies, COLUMNS, filters, sorts, limit, marker,
                           page_reverse, get_row)


def to_dicts(conn, rows, project_id=None):
    ids = [r.id for r in rows]
    shared = rbac.granted_to_project(conn, ids, rbac.ACCESS_SHARED, project_id)
    by_policy = rules.of_policies(conn, ids)
    defaults = set()
    for chunk in common.chunks(ids):
        defaults.update(conn.execute(sa.select(default_policies.c.qos_policy_id).where(
            default_policies.c.qos_policy_id.in_(chunk))).scalars())
    out = []
    for r in rows:
        d = common.standard_dict(r)
        d.update(shared=r.shared or r.id in shared, is_default=r.id in defaults,
                 rules=by_policy.get(r.id, []))
        out.append(d)
    return out


def update(conn, id, cols, expected_revision=None):
    common.bump(conn, policies, id, cols, expected_revision)


def set_default(conn, id, project_id, is_default):
    """Make the policy its project's default (QoSPolicyDefaultAlreadyExists
    if another one is), or not."""
    current = conn.execute(sa.select(default_policies.c.qos_policy_id).where(
        default_policies.c.project_id == project_id)).scalar()
    if not is_default:
        if current == id:
            conn.execute(default_policies.delete().where(
                default_policies.c.project_id == project_id))
        return
    if current == id:
        return
    if current is not None:
        raise exceptions.QoSPolicyDefaultAlreadyExists(project_id=project_id)
    # Two concurrent requests: the second insert fails on the primary key,
    # is retried (naas.db.api.retry) and finds the first one's default.
    conn.execute(default_policies.insert().values(project_id=project_id, qos_policy_id=id))


def default_of(conn, project_id):
    """The id of the project's default policy, or None."""
    return conn.execute(sa.select(default_policies.c.qos_policy_id).where(
        default_policies.c.project_id == project_id)).scalar()


def delete(conn, id):
    """The rules and the default row go with the policy (ON DELETE CASCADE)."""
    common.delete_tags(conn, id)
    rbac.delete_all(conn, id)
    conn.execute(policies.delete().where(policies.c.id == id))


def sync_shared(conn, id):
    """The ``shared`` column from the policy's '*' entry (after its entries changed)."""
    conn.execute(policies.update().where(policies.c.id == id).values(
        shared=rbac.has_entry(conn, id, rbac.ACCESS_SHARED, rbac.WILDCARD)))
