"""Per-project quotas: limits in the ``quotas`` table over defaults from
[quotas] in naas.conf; -1 is unlimited.

A create checks the project's count (an index lookup on project_id) against
its limit inside the request's transaction.  Unlimited resources are not
counted at all.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.conf import CONF
from naas.db import models

T = models.quotas

#: resource name -> table counted for it; service plugins add theirs.
COUNTED = {'network': models.networks, 'subnet': models.subnets,
           'port': models.ports}


_CORE_COUNTED = dict(COUNTED)


def register(resource, table):
    COUNTED[resource] = table


def reset_registered():
    """Back to the core resources (a new plugin manager is loading)."""
    COUNTED.clear()
    COUNTED.update(_CORE_COUNTED)


def defaults():
    return {r: getattr(CONF.quotas, 'quota_' + r) for r in sorted(COUNTED)
            if hasattr(CONF.quotas, 'quota_' + r)}


def limits(conn, project_id):
    out = defaults()
    for row in conn.execute(sa.select(T.c.resource, T.c.hard_limit)
                            .where(T.c.project_id == project_id)):
        if row.resource in out:
            out[row.resource] = row.hard_limit
    return out


def projects_with_quotas(conn):
    return sorted({r.project_id for r in conn.execute(sa.select(T.c.project_id))})


def set_limits(conn, project_id, values):
    for resource, limit in values.items():
        conn.execute(T.delete().where(T.c.project_id == project_id,
                                      T.c.resource == resource))
        conn.execute(T.insert().values(project_id=project_id, resource=resource,
                                       hard_limit=limit))


def reset(conn, project_id):
    conn.execute(T.delete().where(T.c.project_id == project_id))


def used(conn, project_id, resource):
    table = COUNTED[resource]
    return conn.execute(sa.select(sa.func.count()).select_from(table)
                        .where(table.c.project_id == project_id)).scalar()


def check(conn, project_id, resource, delta=1):
    """OverQuota if creating ``delta`` more would pass the project's limit."""
    if resource not in COUNTED:
        return
    limit = limits(conn, project_id).get(resource, -1)
    if limit < 0:
        return
    if used(conn, project_id, resource) + delta > limit:
        raise exceptions.OverQuota(overs=resource)


def details(conn, project_id):
    return {r: {'limit': limit, 'used': used(conn, project_id, r), 'reserved': 0}
            for r, limit in limits(conn, project_id).items()}
