"""Router rows: the routers table and its API view.

A router's gateway is its port on an external network (routers.gw_port_id);
its interfaces are the ports with device_owner network:router_interface and
device_id the router's id (see interfaces.py).  Hidden routers (the ones that
realise subnet-routes, see subnet_routes.py) are never shown by the API.
"""
import netaddr
import sqlalchemy as sa

from naas.lib import attributes
from naas.lib.definitions import base
from naas.lib.definitions import port as port_def
from naas.common import exceptions
from naas.db import common
from naas.db import models as core_models
from naas.db import query
from naas.plugins.l3 import models

T = models.routers
P = core_models.ports
S = core_models.subnets
COLUMNS = query.column_map(T, renames={'tenant_id': 'project_id'})

INTERFACE_OWNER = 'network:router_interface'
GATEWAY_OWNER = 'network:router_gateway'
FLOATINGIP_OWNER = 'network:floatingip'
MAX_ROUTES = 30  # Neutron's max_routes default

#: quota.register counts these: a project's hidden router is not its own.
COUNTED = sa.select(T).where(T.c.hidden.is_(False)).subquery('counted_routers')


def _visible(context):
    return sa.and_(T.c.hidden.is_(False), common.owned_by(context, T))


def insert(conn, body, hidden=False):
    row = common.new_standard(body)
    row.update(status='ACTIVE', admin_state_up=body.get('admin_state_up', True),
               enable_snat=True, routes='[]', hidden=hidden)
    conn.execute(T.insert().values(**row))
    return row['id']


def get_row(context, id, lock=False):
    """A router the context may see (never a hidden one), or RouterNotFound."""
    return common.visible_row(context, T, id, _visible(context),
                              exceptions.RouterNotFound(router_id=id), lock)


def row_by_id(conn, id, lock=False):
    """Any router, hidden ones too; None if there is none."""
    stmt = sa.select(T).where(T.c.id == id)
    return conn.execute(stmt.with_for_update() if lock else stmt).first()


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    stmt = sa.select(T).where(_visible(context))
    return query.list_rows(context, stmt, T, COLUMNS, filters, sorts, limit, marker,
                           page_reverse)


def to_dicts(conn, rows):
    gw_ports = {}
    ids = [r.gw_port_id for r in rows if r.gw_port_id]
    for chunk in common.chunks(ids):
        for p in conn.execute(sa.select(P.c.id, P.c.fixed_ips).where(P.c.id.in_(chunk))):
            gw_ports[p.id] = common.loads(p.fixed_ips, [])
    out = []
    for r in rows:
        d = common.standard_dict(r)
        gateway = None
        if r.gw_port_id:
            gateway = {'network_id': r.gw_network_id, 'enable_snat': r.enable_snat,
                       'external_fixed_ips': gw_ports.get(r.gw_port_id, [])}
        d.update({'status': r.status, 'admin_state_up': r.admin_state_up,
                  'external_gateway_info': gateway,
                  'routes': common.loads(r.routes, [])})
        out.append(d)
    return out


def update(conn, id, cols, expected_revision=None):
    common.bump(conn, T, id, cols, expected_revision)


def set_gateway_columns(conn, id, port_id, network_id, enable_snat):
    conn.execute(T.update().where(T.c.id == id).values(
        gw_port_id=port_id, gw_network_id=network_id, enable_snat=enable_snat))


def delete(conn, id):
    common.delete_tags(conn, id)
    conn.execute(T.delete().where(T.c.id == id))


# ---- the router's ports ------------------------------------------------------

def ports_of(conn, router_id, owners=(INTERFACE_OWNER, GATEWAY_OWNER)):
    """Rows (id, network_id, device_owner, mac_address, fixed_ips) of the
    router's ports, interfaces first, oldest first."""
    rows = conn.execute(
        sa.select(P.c.id, P.c.network_id, P.c.device_owner, P.c.mac_address,
                  P.c.fixed_ips, P.c.project_id, P.c.binding_host_id)
        .where(P.c.device_id == router_id, P.c.device_owner.in_(owners))
        .order_by(P.c.created_at, P.c.id)).all()
    return sorted(rows, key=lambda r: r.device_owner != INTERFACE_OWNER)


def subnets_by_id(conn, subnet_ids):
    out = {}
    for chunk in common.chunks(sorted(set(subnet_ids))):
        for s in conn.execute(sa.select(S).where(S.c.id.in_(chunk))):
            out[s.id] = s
    return out


def check_routes(conn, router_id, routes):
    """Extra routes: each nexthop on a subnet of one of the router's ports
    (interfaces and gateway) and not one of the router's own addresses."""
    if len(routes) > MAX_ROUTES:
        raise exceptions.RoutesExhausted(router_id=router_id, quota=MAX_ROUTES)
    cidrs, own = [], set()
    ips = [ip for p in ports_of(conn, router_id) for ip in common.loads(p.fixed_ips, [])]
    subnets = subnets_by_id(conn, [ip['subnet_id'] for ip in ips])
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


# ---- ports the L3 plugin makes, through the core plugin ---------------------

def create_port(core, context, values):
    """A port made by L3 (interface, gateway, floating IP): the values are
    checked and completed by the ports attribute map, as an API request's
    would be, and the core plugin creates it (bypassing policy and quota,
    as Neutron's plugin-to-plugin calls do)."""
    project = values.pop('project_id', '')
    values = {k: v for k, v in values.items() if v is not base.ATTR_NOT_SPECIFIED}
    body = attributes.prepare_create('port', port_def.RESOURCE_ATTRIBUTE_MAP,
                                     dict(values, admin_state_up=True))
    body['project_id'] = body['tenant_id'] = project
    return core.create_port(context.elevated(), body)


def delete_port(core, context, port_id):
    core.delete_port(context.elevated(), port_id, l3_port_check=False)


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
            if p.device_owner != GATEWAY_OWNER:
                on.add(ip['subnet_id'])
        if p.device_owner == GATEWAY_OWNER:
            on.update(r.id for r in conn.execute(
                sa.select(S.c.id).where(S.c.network_id == p.network_id)))
    existing = subnets_by_id(conn, on).values()
    for new in new_subnets:
        for old in existing:
            a, b = netaddr.IPNetwork(new.cidr), netaddr.IPNetwork(old.cidr)
            if a in b or b in a:
                raise overlap_error(new, old)
