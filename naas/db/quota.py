"""Per-project quotas: limits in the ``quotas`` table over defaults from
[quotas] in naas.conf; -1 is unlimited.

What is counted comes from the loaded plugins: ``counted`` is {resource:
table} (naas.plugins.manager.Registry.quota_tables); a resource's use is the
number of rows of its table with the project's project_id.  A create
checks that count (an index lookup on project_id) against the limit inside
the request's transaction; unlimited resources are not counted at all.

Concurrent creates: before counting, ``check`` locks the project's row of
``quota_locks`` for that resource (SELECT ... FOR UPDATE; the first create
inserts it), and holds it until the request's transaction ends.  So the
creates of ONE project and resource count and insert one after another,
each counting the rows of those before it; other projects and resources do
not wait.  No reservations: the rows themselves are the use.  Deletes take
no lock (a delete racing a create can only make the count too high, never
let a create pass the limit).  SQLite needs no row lock (a writer holds the
database from BEGIN IMMEDIATE on); the statement is the same there.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.conf import CONF
from naas.db import common
from naas.db import models

quotas = models.quotas
quota_locks = models.quota_locks


def defaults(counted):
    return {resource: getattr(CONF.quotas, 'quota_' + resource)
            for resource in sorted(counted) if hasattr(CONF.quotas, 'quota_' + resource)}


def limits(conn, counted, project_id):
    out = defaults(counted)
    for row in conn.execute(_LIMITS(), {'project_id': project_id}):
        if row.resource in out:
            out[row.resource] = row.hard_limit
    return out


_LIMITS = common.prebuilt(lambda: sa.select(quotas.c.resource, quotas.c.hard_limit)
                          .where(quotas.c.project_id == sa.bindparam('project_id')))


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


def _count(table, project_id):
    return (sa.select(sa.func.count()).select_from(table)
            .where(table.c.project_id == project_id))


def used(conn, table, project_id):
    return conn.execute(_count(table, project_id)).scalar()


def _lock(conn, project_id, resource):
    """Lock the (project, resource) row until the transaction ends: one
    statement once the row exists.  Two first creates both insert; the
    second waits for the first and then fails on the primary key, an
    IntegrityError that naas.db.api.retry retries, finding the row."""
    where = sa.and_(quota_locks.c.project_id == project_id,
                    quota_locks.c.resource == resource)
    if conn.execute(sa.select(quota_locks.c.resource).where(where)
                    .with_for_update()).first() is None:
        conn.execute(quota_locks.insert().values(project_id=project_id, resource=resource))


def check(conn, counted, project_id, resource, delta=1):
    """OverQuota if creating ``delta`` more would pass the project's limit.

    Call it in the create's transaction, before the create: it locks the
    project's quota row for ``resource`` until that transaction ends."""
    if resource not in counted:
        return
    limit = limits(conn, counted, project_id).get(resource, -1)
    if limit < 0:
        return
    _lock(conn, project_id, resource)
    count = _count(counted[resource], project_id)
    if conn.dialect.name in ('mysql', 'mariadb'):
        # InnoDB's REPEATABLE READ: a plain read sees the snapshot of the
        # transaction's first read, maybe older than the lock just granted;
        # a locking read sees the rows committed by the lock's last holder.
        count = count.with_for_update(read=True)
    if conn.execute(count).scalar() + delta > limit:
        raise exceptions.OverQuota(overs=resource)


def details(conn, counted, project_id):
    return {resource: {'limit': limit, 'used': used(conn, counted[resource], project_id),
                       'reserved': 0}
            for resource, limit in limits(conn, counted, project_id).items()}
