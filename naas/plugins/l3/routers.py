"""Router rows: the routers table and its API view.

A router's gateway is its port on an external network (routers.gw_port_id);
its interfaces are the ports with device_owner network:router_interface and
device_id the router's id (see interfaces.py).  Hidden routers (the ones that
realise subnet-routes, see subnet_routes.py) are never shown by the API.
"""
import netaddr
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import ports as ports_db
from naas.db import query
from naas.db import subnets as subnets_db
from naas.lib import constants
from naas.plugins.l3 import models

routers = models.routers
COLUMNS = query.column_map(routers, renames={'tenant_id': 'project_id'})

MAX_ROUTES = 30  # Neutron's max_routes default

#: What the router quota counts: a project's hidden router is not its own.
COUNTED = sa.select(routers).where(routers.c.hidden.is_(False)).subquery('counted_routers')


def _visible(context):
    return sa.and_(routers.c.hidden.is_(False), common.owned_by(context, routers))


def insert(conn, body, hidden=False, ha=False):
    row = common.new_standard(body)
    row.update(status='ACTIVE', admin_state_up=body.get('admin_state_up', True),
               enable_snat=True, routes='[]', hidden=hidden, ha=ha)
    conn.execute(routers.insert().values(**row))
    return row['id']


def get_row(context, id, lock=False):
    """A router the context may see (never a hidden one), or RouterNotFound."""
    return common.visible_row(context, routers, id, _visible(context),
                              exceptions.RouterNotFound(router_id=id), lock)


def row_by_id(conn, id, lock=False):
    """Any router, hidden ones too; None if there is none."""
    stmt = sa.select(routers).where(routers.c.id == id)
    return conn.execute(stmt.with_for_update() if lock else stmt).first()


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    stmt = sa.select(routers).where(_visible(context))
    return query.list_rows(context, stmt, routers, COLUMNS, filters, sorts, limit, marker,
                           page_reverse, get_row)


def to_dicts(conn, rows):
    gw_ports = ports_db.fixed_ips_of(conn, [r.gw_port_id for r in rows if r.gw_port_id])
    out = []
    for r in rows:
        d = common.standard_dict(r)
        gateway = None
        if r.gw_port_id:
            gateway = {'network_id': r.gw_network_id, 'enable_snat': r.enable_snat,
                       'external_fixed_ips': gw_ports.get(r.gw_port_id, [])}
        d.update({'status': r.status, 'admin_state_up': r.admin_state_up,
                  'external_gateway_info': gateway,
                  'routes': common.loads(r.routes, []), 'ha': bool(r.ha)})
        out.append(d)
    return out


def update(conn, id, cols, expected_revision=None):
    common.bump(conn, routers, id, cols, expected_revision)


def set_gateway_columns(conn, id, port_id, network_id, enable_snat):
    conn.execute(routers.update().where(routers.c.id == id).values(
        gw_port_id=port_id, gw_network_id=network_id, enable_snat=enable_snat))


def delete(conn, id):
    common.delete_tags(conn, id)
    conn.execute(routers.delete().where(routers.c.id == id))


# ---- the router's ports ------------------------------------------------------

ROUTER_OWNERS = (constants.DEVICE_OWNER_ROUTER_INTF, constants.DEVICE_OWNER_ROUTER_GW)
#: Every port a router owns: its interfaces, gateway and (HA) VRRP ports.
ALL_OWNERS = ROUTER_OWNERS + (constants.DEVICE_OWNER_ROUTER_HA_INTF,)


def ports_of(conn, router_id, owners=ROUTER_OWNERS):
    """Rows (id, network_id, device_owner, mac_address, fixed_ips, ...) of
    the router's ports (naas.db.ports.of_devices), interfaces first, oldest
    first."""
    rows = ports_db.of_devices(conn, [router_id], owners)
    return sorted(rows, key=lambda r: r.device_owner != constants.DEVICE_OWNER_ROUTER_INTF)


def check_routes(conn, router_id, routes):
    """Extra routes: each nexthop on a subnet of one of the router's ports
    (interfaces and gateway) and not one of the router's own addresses."""
    if len(routes) > MAX_ROUTES:
        raise exceptions.RoutesExhausted(router_id=router_id, quota=MAX_ROUTES)
    cidrs, own = [], set()
    ips = [ip for p in ports_of(conn, router_id) for ip in common.loads(p.fixed_ips, [])]
    subnets = subnets_db.rows_by_id(conn, [ip['subnet_id'] for ip in ips])
    for ip in ips:
        own.add(ip['ip_address'])
        if ip['subnet_id'] in subnets:
            cidrs.append(subnets[ip['subnet_id']].cidr)
    for route in routes:
        nexthop = route['nexthop']
        if netaddr.IPNetwork(route['destination']).version != \
                netaddr.IPAddress(nexthop).version:
            raise exceptions.InvalidRoutes(
                routes=routes, reason='the nexthop is not of the destination\'s IP version')
        if not netaddr.all_matching_cidrs(nexthop, cidrs):
            raise exceptions.InvalidRoutes(
                routes=routes, reason='the nexthop is not connected with router')
        if nexthop in own:
            raise exceptions.InvalidRoutes(
                routes=routes, reason='the nexthop is used by router')


def overlap_error(new, old):
    return exceptions.BadRequest(
        resource='router',
        msg='Cidr %s of subnet %s overlaps with cidr %s of subnet %s'
            % (new.cidr, new.id, old.cidr, old.id))


def check_no_overlap(conn, router_id, new_subnets):
    """BadRequest if the router already has a port on one of ``new_subnets``
    or one of them overlaps a subnet the router is on (for the gateway: any
    subnet of the external network), as Neutron checks."""
    new_ids = {s.id for s in new_subnets}
    on = set()
    for p in ports_of(conn, router_id):
        for ip in common.loads(p.fixed_ips, []):
            if ip['subnet_id'] in new_ids:
                raise exceptions.BadRequest(
                    resource='router',
                    msg='Router already has a port on subnet %s' % ip['subnet_id'])
            if p.device_owner != constants.DEVICE_OWNER_ROUTER_GW:
                on.add(ip['subnet_id'])
        if p.device_owner == constants.DEVICE_OWNER_ROUTER_GW:
            on.update(subnet.id for subnet in subnets_db.rows_of_network(conn, p.network_id))
    existing = subnets_db.rows_by_id(conn, on).values()
    for new in new_subnets:
        for old in existing:
            a, b = netaddr.IPNetwork(new.cidr), netaddr.IPNetwork(old.cidr)
            if a in b or b in a:
                raise overlap_error(new, old)
