"""Networks in the core tables.

Who sees a network: its project, and the projects an RBAC entry
(naas.db.rbac: access_as_shared or access_as_external, to the project or
'*') lets in.  The ``shared`` column is true while the network has the '*'
access_as_shared entry, ``router_external`` while it has an
access_as_external entry (naas.db.rbac keeps both, see sync_rbac_flags).
As in Neutron, the API's ``shared`` is what the caller gets: true when the
network is shared with every project or with the caller's own.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import models
from naas.db import query
from naas.db import rbac

networks = models.networks
COLUMNS = query.column_map(networks, renames={'tenant_id': 'project_id',
                                              'router:external': 'router_external'})


def visible_to(context):
    """WHERE clause of the networks a context may see (uses CTX_PROJECT)."""
    return _visible(context.is_admin)


#: The actions that let a project see a network.
RBAC_ACTIONS = (rbac.ACCESS_SHARED, rbac.ACCESS_EXTERNAL)


def _visible(admin):
    if admin:
        return sa.true()
    return sa.or_(networks.c.project_id == common.CTX_PROJECT, networks.c.shared.is_(True),
                  rbac.granted(networks.c.id, RBAC_ACTIONS))


def shared_with_caller():
    """The API's ``shared`` as a column expression (uses CTX_PROJECT)."""
    return sa.or_(networks.c.shared.is_(True), rbac.granted(networks.c.id, [rbac.ACCESS_SHARED]))


_GET = common.prebuilt(lambda admin, lock: _for_update(
    sa.select(networks).where(networks.c.id == sa.bindparam('id'), _visible(admin)), lock))
_TARGET = common.prebuilt(lambda admin: sa.select(
    networks, shared_with_caller().label('caller_shared'),
    sa.and_(networks.c.router_external.is_(True), _visible(admin)).label('caller_external'))
    .where(networks.c.id == sa.bindparam('id')))


def _for_update(stmt, lock):
    return stmt.with_for_update() if lock else stmt


def insert(conn, body, mtu):
    row = common.new_standard(body)
    row.update(status='ACTIVE', admin_state_up=body['admin_state_up'],
               shared=body['shared'], router_external=body['router:external'],
               mtu=mtu, port_security_enabled=body['port_security_enabled'],
               availability_zone_hints=common.dumps(body['availability_zone_hints']))
    conn.execute(_INSERT(), row)
    return row['id']


_INSERT = common.prebuilt(lambda: networks.insert())


def get_row(context, id, lock=False):
    row = context.connection.execute(_GET(context.is_admin, lock),
                                     common.ctx_params(context, id=id)).first()
    if row is None:
        raise exceptions.NetworkNotFound(net_id=id)
    return row


def policy_target(context, id):
    """(What policy rules read of a network, whoever asks; its row);
    NetworkNotFound.  ``shared`` is whether it is shared with the caller's
    project and ``router:external`` whether it is external to it: together
    with the owner, exactly who may see it."""
    row = context.connection.execute(_TARGET(context.is_admin),
                                     common.ctx_params(context, id=id)).first()
    if row is None:
        raise exceptions.NetworkNotFound(net_id=id)
    return {'project_id': row.project_id, 'tenant_id': row.project_id,
            'shared': bool(row.caller_shared),
            'router:external': bool(row.caller_external)}, row


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False,
           only_ids=None):
    """The rows of a list request; ``only_ids``: a SELECT of the ids the
    list is limited to (the core plugin's own filters), or None."""
    filters = dict(filters or {})
    stmt = sa.select(networks).where(visible_to(context))
    shared = filters.pop('shared', None)
    if shared:
        wanted = {query.coerce(networks.c.shared, value) for value in shared}
        if len(wanted) == 1:
            stmt = stmt.where(shared_with_caller() == wanted.pop())
    if only_ids is not None:
        stmt = stmt.where(networks.c.id.in_(only_ids))
    subnet_ids = filters.pop('subnets', None)
    if subnet_ids:
        stmt = stmt.where(networks.c.id.in_(sa.select(models.subnets.c.network_id)
                                            .where(models.subnets.c.id.in_(subnet_ids))))
    return query.list_rows(context, stmt, networks, COLUMNS, filters, sorts, limit, marker,
                           page_reverse, get_row)


def to_dicts(context, rows):
    conn = context.connection
    ids = [r.id for r in rows]
    shared_with_project = rbac.granted_to_project(
        conn, [r.id for r in rows if not r.shared], rbac.ACCESS_SHARED, context.project_id)
    subnet_ids = {}
    for chunk in common.chunks(ids):
        for subnet in conn.execute(sa.select(models.subnets.c.network_id, models.subnets.c.id)
                                   .where(models.subnets.c.network_id.in_(chunk))
                                   .order_by(models.subnets.c.created_at, models.subnets.c.id)):
            subnet_ids.setdefault(subnet.network_id, []).append(subnet.id)
    out = []
    for r in rows:
        d = common.standard_dict(r)
        d.update({'status': r.status, 'admin_state_up': r.admin_state_up,
                  'shared': r.shared or r.id in shared_with_project,
                  'router:external': r.router_external,
                  'mtu': r.mtu, 'port_security_enabled': r.port_security_enabled,
                  'availability_zone_hints': common.loads(r.availability_zone_hints, []),
                  'availability_zones': [],
                  'subnets': subnet_ids.get(r.id, [])})
        out.append(d)
    return out


def set_mtu(conn, id, mtu):
    conn.execute(networks.update().where(networks.c.id == id).values(mtu=mtu))


def rows_by_id(conn, network_ids):
    """{id: row} of the networks ``network_ids`` (whoever may see them)."""
    out = {}
    for chunk in common.chunks(sorted(set(network_ids))):
        for row in conn.execute(sa.select(networks).where(networks.c.id.in_(chunk))):
            out[row.id] = row
    return out


def update(conn, id, values, expected_revision=None):
    cols = {}
    for attr in ('name', 'description', 'admin_state_up', 'shared', 'mtu',
                 'port_security_enabled'):
        if attr in values:
            cols[attr] = values[attr]
    if 'router:external' in values:
        cols['router_external'] = values['router:external']
    common.bump(conn, networks, id, cols, expected_revision)


def sync_rbac_flags(conn, id):
    """The ``shared`` and ``router_external`` columns from the network's
    RBAC entries (after they changed)."""
    conn.execute(networks.update().where(networks.c.id == id).values(
        shared=rbac.has_entry(conn, id, rbac.ACCESS_SHARED, rbac.WILDCARD),
        router_external=rbac.has_entry(conn, id, rbac.ACCESS_EXTERNAL)))


def delete(conn, id):
    common.delete_tags(conn, id)
    rbac.delete_all(conn, id)
    conn.execute(networks.delete().where(networks.c.id == id))
