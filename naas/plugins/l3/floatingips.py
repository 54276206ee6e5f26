"""Floating IPs (Neutron's router extension).

A floating IP is an address of an external network held by a port
(device_owner network:floatingip, device_id the floating IP, no project,
as in Neutron).  Associated with a port's fixed IPv4 address, it goes
through the router that has an interface on that address's subnet and its
gateway on the floating IP's network (router_id, computed; preferring the
router that holds the subnet's gateway): else 404
ExternalGatewayForFloatingIPNotFound.  Its status is DOWN until the
router's L3 agent reports it realised (update_floatingip_statuses), and
DOWN again at each change of association.
"""
import uuid

import netaddr
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import exceptions
from naas.db import common
from naas.db import ports as ports_db
from naas.db import query
from naas.db import subnets as subnets_db
from naas.lib import constants
from naas.lib.definitions import base
from naas.plugins.l3 import models

floatingips = models.floatingips
routers = models.routers
COLUMNS = query.column_map(floatingips, renames={'tenant_id': 'project_id',
                                                 'port_id': 'fixed_port_id'})
DOWN = 'DOWN'
STATUSES = ('ACTIVE', 'DOWN', 'ERROR')


def _bad(msg):
    return exceptions.BadRequest(resource='floatingip', msg=msg)


def _visible(context):
    return common.owned_by(context, floatingips)


def get_row(context, id, lock=False):
    return common.visible_row(context, floatingips, id, _visible(context),
                              exceptions.FloatingIPNotFound(floatingip_id=id), lock)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    stmt = sa.select(floatingips).where(_visible(context))
    return query.list_rows(context, stmt, floatingips, COLUMNS, filters, sorts, limit, marker,
                           page_reverse, get_row)


def to_dicts(rows):
    return [{'id': r.id, 'project_id': r.project_id, 'tenant_id': r.project_id,
             'description': r.description, 'created_at': r.created_at,
             'updated_at': r.updated_at, 'revision_number': r.revision_number,
             'tags': common.loads(r.tags, []),
             'floating_network_id': r.floating_network_id,
             'floating_ip_address': r.floating_ip_address,
             'router_id': r.router_id, 'port_id': r.fixed_port_id,
             'fixed_ip_address': r.fixed_ip_address, 'status': r.status}
            for r in rows]


def create(l3, context, body):
    core, conn = l3.core, context.connection
    net_id = body['floating_network_id']
    # The caller's own view: a network it may not see is not found (404),
    # exactly as an unknown one, not "not external" (which would tell).
    network = core.get_network(context, net_id)
    if not network['router:external']:
        raise _bad('Network %s is not a valid external network' % net_id)
    subnets = subnets_db.rows_by_id(conn, network['subnets'])
    if not any(s.ip_version == 4 for s in subnets.values()):
        raise _bad('Network %s does not contain any IPv4 subnet' % net_id)
    fip_id = str(uuid.uuid4())
    fixed_ip = {}
    if body.get('subnet_id'):
        fixed_ip['subnet_id'] = body['subnet_id']
    if body.get('floating_ip_address'):
        fixed_ip['ip_address'] = body['floating_ip_address']
    port = core.create_service_port(context, '', {
        'network_id': net_id, 'name': '',
        'fixed_ips': [fixed_ip] if fixed_ip else base.ATTR_NOT_SPECIFIED,
        'device_id': fip_id, 'device_owner': constants.DEVICE_OWNER_FLOATINGIP})
    v4 = [ip for ip in port['fixed_ips']
          if netaddr.IPAddress(ip['ip_address']).version == 4]
    if not v4:
        raise _bad('Network %s does not contain any IPv4 subnet' % net_id)
    fip = {'id': fip_id, 'project_id': body['project_id'], 'floating_network_id': net_id,
           'floating_ip_address': v4[0]['ip_address'], 'fixed_port_id': None}
    port_id, fixed_ip_address, router_id = _association(
        core, context, fip, body.get('port_id'), body.get('fixed_ip_address'))
    row = common.new_standard(dict(body, id=fip_id))
    del row['name']
    row.update(floating_network_id=net_id, floating_port_id=port['id'],
               floating_ip_address=fip['floating_ip_address'], fixed_port_id=port_id,
               fixed_ip_address=fixed_ip_address, router_id=router_id, status=DOWN)
    _write(lambda: conn.execute(floatingips.insert().values(**row)))
    l3.notifier.routers_updated(context, [router_id])
    return fip_id


def update(l3, context, id, values, expected_revision=None):
    conn = context.connection
    row = get_row(context, id, lock=True)
    if 'port_id' in values:
        port_id, fixed = values['port_id'], values.get('fixed_ip_address')
    else:  # as Neutron: the association is kept, checked again
        port_id = row.fixed_port_id
        fixed = values.get('fixed_ip_address', row.fixed_ip_address)
    fip = {'id': row.id, 'project_id': row.project_id,
           'floating_network_id': row.floating_network_id,
           'floating_ip_address': row.floating_ip_address,
           'fixed_port_id': row.fixed_port_id}
    port_id, fixed, router_id = _association(l3.core, context, fip, port_id, fixed)
    cols = {}
    if 'description' in values:
        cols['description'] = values['description']
    if (port_id, fixed, router_id) != (row.fixed_port_id, row.fixed_ip_address,
                                       row.router_id):
        cols.update(fixed_port_id=port_id, fixed_ip_address=fixed, router_id=router_id,
                    status=DOWN)
    _write(lambda: common.bump(conn, floatingips, id, cols, expected_revision))
    if 'router_id' in cols:
        l3.notifier.routers_updated(context, [row.router_id, router_id])


def _write(func):
    """Run it; a fixed IP taken by another floating IP meanwhile is retried
    (and then refused by the check)."""
    try:
        return func()
    except sa_exc.IntegrityError as e:
        raise exceptions.DBRetry() from e


def delete(l3, context, id):
    conn = context.connection
    row = get_row(context, id, lock=True)
    common.delete_tags(conn, id)
    conn.execute(floatingips.delete().where(floatingips.c.id == id))
    l3.core.delete_service_port(context, row.floating_port_id)
    l3.notifier.routers_updated(context, [row.router_id])


def _association(core, context, fip, port_id, fixed_ip_address):
    """(port_id, fixed_ip_address, router_id) of an association request,
    checked as Neutron checks it."""
    if fixed_ip_address and not port_id:
        raise _bad('fixed_ip_address cannot be specified without a port_id')
    if not port_id:
        return None, None, None
    port = core.get_port(context, port_id)  # 404 if not visible
    if port['project_id'] != fip['project_id'] and not context.is_admin:
        raise _bad('Cannot process floating IP association with Port %s, since that '
                   'port is owned by a different tenant' % port_id)
    if port['device_owner'].startswith(constants.DEVICE_OWNER_NETWORK_PREFIX):
        raise _bad('Port %s is unable to be assigned a floating IP' % port_id)
    if fixed_ip_address:
        if netaddr.IPAddress(fixed_ip_address).version != 4:
            raise _bad('Cannot process floating IP association with %s, since that is '
                       'not an IPv4 address' % fixed_ip_address)
        matches = [ip for ip in port['fixed_ips'] if ip['ip_address'] == fixed_ip_address]
        if not matches:
            raise _bad('Port %s does not have fixed ip %s' % (port_id, fixed_ip_address))
        internal = matches[0]
    else:
        v4 = [ip for ip in port['fixed_ips']
              if netaddr.IPAddress(ip['ip_address']).version == 4]
        if not v4:
            raise _bad('Cannot add floating IP to port %s that has no fixed IPv4 '
                       'addresses' % port_id)
        if len(v4) > 1:
            raise _bad('Port %s has multiple fixed IPv4 addresses.  Must provide a '
                       'specific IPv4 address when assigning a floating IP' % port_id)
        internal = v4[0]
    conn = context.connection
    router_id = router_for(conn, port, internal['subnet_id'], fip['floating_network_id'])
    taken = conn.execute(sa.select(floatingips.c.id).where(
        floatingips.c.floating_network_id == fip['floating_network_id'],
        floatingips.c.fixed_port_id == port_id,
        floatingips.c.fixed_ip_address == internal['ip_address'],
        floatingips.c.id != fip['id'])).first()
    if taken is not None:
        raise exceptions.FloatingIPPortAlreadyAssociated(
            port_id=port_id, fip_id=fip['id'],
            floating_ip_address=fip['floating_ip_address'],
            fixed_ip=internal['ip_address'], net_id=fip['floating_network_id'])
    return port_id, internal['ip_address'], router_id


def router_for(conn, port, subnet_id, external_network_id):
    """The router between ``subnet_id`` and the external network: one with
    an interface on the subnet and its gateway on the network, the one
    holding the subnet's gateway_ip first."""
    interfaces = {row.device_id: row.ip_address for row in ports_db.on_subnets(
        conn, [subnet_id], device_owner=constants.DEVICE_OWNER_ROUTER_INTF)}
    candidates = conn.execute(
        sa.select(routers.c.id)
        .where(routers.c.id.in_(list(interfaces)),
               routers.c.gw_network_id == external_network_id,
               routers.c.gw_port_id.isnot(None))
        .order_by(routers.c.created_at, routers.c.id)).all() if interfaces else []
    gateway_ip = subnets_db.rows_by_id(conn, [subnet_id])[subnet_id].gateway_ip
    for router in candidates:
        if interfaces[router.id] == gateway_ip:
            return router.id
    if candidates:
        return candidates[0].id
    raise exceptions.ExternalGatewayForFloatingIPNotFound(
        subnet_id=subnet_id, external_network_id=external_network_id,
        port_id=port['id'])


# ---- what other operations do to floating IPs --------------------------------

def exists(conn, id):
    return conn.execute(sa.select(floatingips.c.id)
                        .where(floatingips.c.id == id)).first() is not None


def disassociate_port(l3, context, port_id):
    """The port is going: its floating IPs stay, unassociated (as Neutron)."""
    conn = context.connection
    rows = conn.execute(sa.select(floatingips.c.id, floatingips.c.router_id)
                        .where(floatingips.c.fixed_port_id == port_id)).all()
    for r in rows:
        common.bump(conn, floatingips, r.id, {'fixed_port_id': None,
                                              'fixed_ip_address': None,
                                              'router_id': None, 'status': DOWN})
    if rows:
        l3.notifier.routers_updated(context, [r.router_id for r in rows])


def delete_unassociated(l3, context, network_id):
    """The network is being deleted: its floating IPs that no port uses go
    with it, as Neutron's delete_disassociated_floatingips (an associated one
    goes through a router whose gateway keeps the network in use)."""
    conn = context.connection
    for row in conn.execute(sa.select(floatingips.c.id, floatingips.c.floating_port_id).where(
            floatingips.c.floating_network_id == network_id,
            floatingips.c.fixed_port_id.is_(None))).all():
        common.delete_tags(conn, row.id)
        conn.execute(floatingips.delete().where(floatingips.c.id == row.id))
        l3.core.delete_service_port(context, row.floating_port_id)


def set_statuses(conn, router_id, statuses):
    """Statuses an L3 agent reports for the floating IPs of its router."""
    changed = []
    for fip_id, status in sorted(statuses.items()):
        if status not in STATUSES:
            continue
        result = conn.execute(floatingips.update().where(
            floatingips.c.id == fip_id, floatingips.c.router_id == router_id,
            floatingips.c.status != status).values(status=status))
        if result.rowcount:
            changed.append(fip_id)
    return changed
