"""Subnet-routes (NaaS extension ``subnet-routes``): a route between two
subnets of one project, in one network or in two.

How the plugin realises them (what the L3 agent gets from sync_routers):

- Each project with subnet-routes has one *hidden router* (routers.hidden,
  named 'subnet-routes', never listed by /v2.0/routers nor counted by the
  router quota), scheduled to an L3 agent like any router.  It has one
  interface port (device_owner network:router_interface, device_id the
  hidden router) on every subnet that one of the project's subnet-routes
  names, and no gateway.  Its sync_routers entry has ``hidden: True`` and
  ``subnet_routes: [{id, subnet_ids, cidrs}]``: the agent forwards between
  two of its interface subnets only when a subnet-route pairs them, and
  drops everything else; deleting the subnet-route cuts the traffic.
- The hidden router's port on a subnet holds the subnet's gateway_ip when
  no other port does, so that the VMs' default route reaches it.  When a
  user's router takes the subnet (add_router_interface by subnet), the
  hidden port gives the gateway up for another address of the subnet; it
  takes it back when the user's router leaves.  A user router that holds
  the gateway of a paired subnet gets, in its sync_routers ``routes``, a
  route to the peer subnet via the hidden router's address there (unless
  it is on the peer subnet itself).  A subnet without a gateway_ip gets
  an address of its pools: its VMs need a host route to use it.
- Checks: the two subnets are distinct, visible to the caller and (unless
  the caller is an administrator) of the caller's project, else 404; the
  same IP version and not overlapping (400); not overlapping any other
  subnet of the project's hidden router (400: one routing table); one
  route per pair of subnets, whichever order (409 SubnetRouteExists).
  A subnet named by a subnet-route cannot be deleted (its hidden router
  port makes it in use, 409) until the subnet-route is.
"""
import netaddr
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import exceptions
from naas.db import common
from naas.db import ports as ports_db
from naas.db import query
from naas.db import subnets as subnets_db
from naas.lib import constants
from naas.plugins.l3 import models
from naas.plugins.l3 import routers
from naas.plugins.l3 import scheduler

subnet_routes = models.subnet_routes
COLUMNS = query.column_map(subnet_routes, renames={'tenant_id': 'project_id'})

HIDDEN_ROUTER_NAME = 'subnet-routes'


def _bad(msg):
    return exceptions.BadRequest(resource='subnet_route', msg=msg)


def _visible(context):
    return common.owned_by(context, subnet_routes)


def get_row(context, id, lock=False):
    return common.visible_row(context, subnet_routes, id, _visible(context),
                              exceptions.SubnetRouteNotFound(id=id), lock)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    stmt = sa.select(subnet_routes).where(_visible(context))
    for subnet_id in filters.pop('subnet_ids', []):
        stmt = stmt.where(sa.or_(subnet_routes.c.subnet_a == subnet_id,
                                 subnet_routes.c.subnet_b == subnet_id))
    return query.list_rows(context, stmt, subnet_routes, COLUMNS, filters, sorts, limit, marker,
                           page_reverse, get_row)


def to_dicts(rows):
    out = []
    for r in rows:
        d = common.standard_dict(r)
        d.update(subnet_ids=[r.subnet_a, r.subnet_b], status=r.status)
        out.append(d)
    return out


def _overlap(a, b):
    na, nb = netaddr.IPNetwork(a.cidr), netaddr.IPNetwork(b.cidr)
    return na in nb or nb in na


def create(l3, context, body):
    conn = context.connection
    subnet_ids = body['subnet_ids']
    for subnet_id in subnet_ids:
        subnet = l3.core.get_subnet(context, subnet_id)  # 404 if not visible
        if not context.is_admin and subnet['project_id'] != context.project_id:
            raise exceptions.SubnetNotFound(subnet_id=subnet_id)
    by_id = subnets_db.rows_by_id(conn, subnet_ids)
    a, b = by_id[subnet_ids[0]], by_id[subnet_ids[1]]
    if a.ip_version != b.ip_version:
        raise _bad('Subnets %s and %s are not of the same IP version' % (a.id, b.id))
    if _overlap(a, b):
        raise _bad('Cidr %s of subnet %s overlaps with cidr %s of subnet %s'
                   % (a.cidr, a.id, b.cidr, b.id))
    pair = ':'.join(sorted(subnet_ids))
    existing = conn.execute(sa.select(subnet_routes.c.id)
                            .where(subnet_routes.c.pair == pair)).first()
    if existing is not None:
        raise exceptions.SubnetRouteExists(subnets=', '.join(sorted(subnet_ids)),
                                           id=existing.id)
    router_id = _hidden_router(l3, context, body['project_id'])
    on = subnets_db.rows_by_id(conn, _hidden_subnets(conn, router_id)).values()
    for new in (a, b):
        for old in on:
            if old.id not in subnet_ids and _overlap(new, old):
                raise _bad('Cidr %s of subnet %s overlaps with cidr %s of subnet %s, '
                           'already routed by a subnet-route of the project'
                           % (new.cidr, new.id, old.cidr, old.id))
    row = common.new_standard(body)
    row.update(status='ACTIVE', subnet_a=a.id, subnet_b=b.id, pair=pair,
               router_id=router_id)
    try:
        conn.execute(subnet_routes.insert().values(**row))
    except sa_exc.IntegrityError as e:  # the same pair, meanwhile: 409 on retry
        raise exceptions.DBRetry() from e
    reconcile(l3, context, body['project_id'])
    l3.notifier.subnet_routes_updated(context, router_id, [row['id']])
    l3.notifier.routers_updated(context, routers_on(conn, subnet_ids))
    return row['id']


def delete(l3, context, id):
    conn = context.connection
    row = get_row(context, id, lock=True)
    common.delete_tags(conn, id)
    conn.execute(subnet_routes.delete().where(subnet_routes.c.id == id))
    l3.notifier.subnet_routes_updated(context, row.router_id, [id])
    l3.notifier.routers_updated(context, routers_on(conn, [row.subnet_a, row.subnet_b]))
    reconcile(l3, context, row.project_id)


# ---- the hidden router --------------------------------------------------------

def _hidden_router_row(conn, project_id):
    return conn.execute(sa.select(models.routers).where(
        models.routers.c.hidden.is_(True), models.routers.c.project_id == project_id)).first()


def _hidden_router(l3, context, project_id):
    """The project's hidden router, made (and scheduled) if it has none."""
    conn = context.connection
    row = _hidden_router_row(conn, project_id)
    if row is not None:
        return row.id
    router_id = routers.insert(conn, {'name': HIDDEN_ROUTER_NAME, 'project_id': project_id},
                               hidden=True)
    scheduler.schedule(conn, router_id)
    return router_id


def _hidden_subnets(conn, router_id):
    return {ip['subnet_id'] for p in routers.ports_of(conn, router_id)
            for ip in common.loads(p.fixed_ips, [])}


def routers_on(conn, subnet_ids, hidden=None):
    """Routers with an interface on one of ``subnet_ids`` (hidden ones only,
    visible ones only, or both)."""
    device_ids = {row.device_id for row in ports_db.on_subnets(
        conn, subnet_ids, device_owner=constants.DEVICE_OWNER_ROUTER_INTF)}
    if not device_ids:
        return []
    stmt = sa.select(models.routers.c.id).where(models.routers.c.id.in_(sorted(device_ids)))
    if hidden is not None:
        stmt = stmt.where(models.routers.c.hidden.is_(hidden))
    return sorted(row.id for row in conn.execute(stmt))


def _gateway_holder(conn, subnet):
    """The port holding the subnet's gateway_ip, or None."""
    if not subnet.gateway_ip:
        return None
    holders = ports_db.on_subnets(conn, [subnet.id], ip_address=subnet.gateway_ip)
    return holders[0] if holders else None


def reconcile(l3, context, project_id):
    """Make the project's hidden router match its subnet-routes: a port on
    each subnet they name (holding the gateway when free), none elsewhere;
    no hidden router when the project has no subnet-route."""
    conn = context.connection
    router = _hidden_router_row(conn, project_id)
    needed = set()
    for r in conn.execute(sa.select(subnet_routes.c.subnet_a, subnet_routes.c.subnet_b)
                          .where(subnet_routes.c.project_id == project_id)):
        needed.update((r.subnet_a, r.subnet_b))
    if router is None:
        return
    have = {}
    for p in routers.ports_of(conn, router.id):
        for ip in common.loads(p.fixed_ips, []):
            have[ip['subnet_id']] = p.id
    for subnet_id in sorted(set(have) - needed):
        l3.core.delete_service_port(context, have[subnet_id])
    if not needed:
        host = scheduler.host_of(conn, router.id)
        routers.delete(conn, router.id)
        l3.notifier.router_deleted(context, router.id, host)
        return
    host = scheduler.host_of(conn, router.id) or ''
    subnets = subnets_db.rows_by_id(conn, needed)
    for subnet_id in sorted(needed - set(have)):
        subnet = subnets[subnet_id]
        fixed_ip = {'subnet_id': subnet_id}
        if subnet.gateway_ip and _gateway_holder(conn, subnet) is None:
            fixed_ip['ip_address'] = subnet.gateway_ip
        l3.core.create_service_port(context, project_id, {
            'network_id': subnet.network_id, 'name': '',
            'fixed_ips': [fixed_ip], 'device_id': router.id,
            'device_owner': constants.DEVICE_OWNER_ROUTER_INTF, 'binding:host_id': host})
    reclaim_gateways(l3, context, needed & set(have))
    l3.notifier.routers_updated(context, [router.id])


def release_gateway(l3, context, subnet):
    """Before a user's router takes ``subnet``'s gateway: a hidden router
    port holding it moves to another address of the subnet."""
    holder = _gateway_holder(context.connection, subnet)
    if holder is None or holder.device_owner != constants.DEVICE_OWNER_ROUTER_INTF:
        return
    hidden = routers.row_by_id(context.connection, holder.device_id)
    if hidden is None or not hidden.hidden:
        return
    elevated = context.elevated()
    l3.core.update_port(elevated, holder.port_id, {'fixed_ips': []})
    l3.core.update_port(elevated, holder.port_id, {'fixed_ips': [{'subnet_id': subnet.id}]})


def reclaim_gateways(l3, context, subnet_ids):
    """Hidden router ports on ``subnet_ids`` take their subnet's gateway
    back when no port holds it any more."""
    conn = context.connection
    subnets = subnets_db.rows_by_id(conn, subnet_ids)
    for subnet_id in sorted(subnets):
        subnet = subnets[subnet_id]
        if not subnet.gateway_ip or _gateway_holder(conn, subnet) is not None:
            continue
        for router_id in routers_on(conn, [subnet_id], hidden=True):
            port = next(p for p in routers.ports_of(conn, router_id)
                        if subnet_id in {ip['subnet_id']
                                         for ip in common.loads(p.fixed_ips, [])})
            l3.core.update_port(context.elevated(), port.id, {'fixed_ips': [
                {'subnet_id': subnet_id, 'ip_address': subnet.gateway_ip}]})
            break
