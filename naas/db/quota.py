"""Per-project quotas: limits in the ``quotas`` table over defaults from
[quotas] in naas.conf; -1 is unlimited.

What is counted comes from the loaded plugins: ``counted`` is {resource:
table} (naas.plugins.manager.Registry.quota_tables); a resource's use is the
number of rows of its table with the project's project_id.  A create
checks that count (an index lookup on project_id) against the limit inside
the request's transaction; unlimited resources are not counted at all.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.conf import CONF
from naas.db import models

quotas = models.quotas


def defaults(counted):
    return {resource: getattr(CONF.quotas, 'quota_' + resource)
            for resource in sorted(counted) if hasattr(CONF.quotas, 'quota_' + resource)}


def limits(conn, counted, project_id):
    out = defaults(counted)
    for row in conn.execute(sa.select(quotas.c.resource, quotas.c.hard_limit)
                            .where(quotas.c.project_id == project_id)):
        if row.resource in out:
            out[row.resource] = row.hard_limit
    return out


def projects_with_quotas(conn):
    return sorted({row.project_id for row in conn.execute(sa.select(quotas.c.project_id))})


def set_limits(conn, project_id, values):
    for resource, limit in values.items():
        conn.execute(quotas.delete().where(quotas.c.project_id == project_id,
                                           quotas.c.resource == resource))
        conn.execute(quotas.insert().values(project_id=project_id, resource=resource,
                                            hard_limit=limit))


def reset(conn, project_id):
    conn.execute(quotas.delete().where(quotas.c.project_id == project_id))


def used(conn, table, project_id):
    return conn.execute(sa.select(sa.func.count()).select_from(table)
                        .where(table.c.project_id == project_id)).scalar()


def check(conn, counted, project_id, resource, delta=1):
    """OverQuota if creating ``delta`` more would pass the project's limit."""
    if resource not in counted:
        return
    limit = limits(conn, counted, project_id).get(resource, -1)
    if limit < 0:
        return
    if used(conn, counted[resource], project_id) + delta > limit:
        raise exceptions.OverQuota(overs=resource)


def details(conn, counted, project_id):
    return {resource: {'limit': limit, 'used': used(conn, counted[resource], project_id),
                       'reserved': 0}
            for resource, limit in limits(conn, counted, project_id).items()}
