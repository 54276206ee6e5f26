"""Router interfaces: PUT /v2.0/routers/{id}/add_router_interface and
remove_router_interface, with {"subnet_id": ...} or {"port_id": ...}, as
Neutron answers them.

By subnet, the interface is a new port on the subnet's network holding the
subnet's gateway_ip (device_owner network:router_interface, device_id the
router, project the router's).  By port, an unused port of the caller
becomes the interface.  One port per subnet (Neutron puts several IPv6
subnets of one network on one port; NaaS gives each its own).
"""
import netaddr
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import subnets as subnets_db
from naas.lib import constants
from naas.lib import validators
from naas.plugins.l3 import models
from naas.plugins.l3 import routers
from naas.plugins.l3 import scheduler
from naas.plugins.l3 import subnet_routes

floatingips = models.floatingips


def _bad(msg):
    return exceptions.BadRequest(resource='router', msg=msg)


def _parse(body, removal=False):
    by_port, by_subnet = 'port_id' in body, 'subnet_id' in body
    if not (by_port or by_subnet):
        raise _bad('Either subnet_id or port_id must be specified')
    for key in ('port_id', 'subnet_id'):
        if key in body:
            msg = validators.validate_uuid(body[key])
            if msg:
                raise _bad(msg)
    if by_port and by_subnet and not removal:
        raise _bad('Cannot specify both subnet-id and port-id')
    return by_port


def info(router, port, subnet_ids):
    """What Neutron answers to add/remove_router_interface."""
    return {'id': router.id, 'tenant_id': port['project_id'],
            'project_id': port['project_id'], 'port_id': port['id'],
            'network_id': port['network_id'], 'subnet_id': subnet_ids[0],
            'subnet_ids': list(subnet_ids)}


def _check_address_mode(subnet):
    if subnet.ip_version == 6 and subnet.ipv6_ra_mode is None and \
            subnet.ipv6_address_mode is not None:
        raise _bad('IPv6 subnet %s configured to receive RAs from an external router '
                   'cannot be added to Neutron Router.' % subnet.id)


def _check_owner(context, subnet, shared):
    """A member adds its own project's subnets, or those of networks shared
    with every project; an administrator adds any."""
    if context.is_admin or subnet.project_id == context.project_id or shared:
        return
    raise _bad('Cannot add interface to router because subnet %s is not owned by '
               'project making the request' % subnet.id)


# ---- add --------------------------------------------------------------------

def add(l3, context, router_id, body):
    conn = context.connection
    router = routers.get_row(context, router_id, lock=True)
    if _parse(body):
        port, subnet_ids = _add_by_port(l3.core, context, router, body['port_id'])
    else:
        port, subnet_ids = _add_by_subnet(l3, context, router, body['subnet_id'])
    routers.update(conn, router.id, {})
    l3.notifier.routers_updated(context, [router.id] + subnet_routes.routers_on(
        conn, subnet_ids, hidden=True))
    return info(router, port, subnet_ids)


def _add_by_subnet(l3, context, router, subnet_id):
    conn = context.connection
    subnet_dict = l3.core.get_subnet(context, subnet_id)  # 404 if not visible
    subnet = subnets_db.rows_by_id(conn, [subnet_id])[subnet_id]
    if not subnet.gateway_ip:
        raise _bad('Subnet for router interface must have a gateway IP')
    _check_owner(context, subnet, subnet_dict.get('shared'))
    _check_address_mode(subnet)
    routers.check_no_overlap(conn, router.id, [subnet])
    subnet_routes.release_gateway(l3, context, subnet)
    port = l3.core.create_service_port(context, router.project_id, {
        'network_id': subnet.network_id, 'name': '',
        'fixed_ips': [{'subnet_id': subnet.id, 'ip_address': subnet.gateway_ip}],
        'device_id': router.id, 'device_owner': constants.DEVICE_OWNER_ROUTER_INTF,
        'binding:host_id': scheduler.host_of(conn, router.id) or ''})
    return port, [subnet.id]


def _add_by_port(core, context, router, port_id):
    conn = context.connection
    port = core.get_port(context, port_id)  # 404 if not visible
    if port['device_id']:
        raise exceptions.PortInUse(port_id=port['id'], net_id=port['network_id'],
                                   device_id=port['device_id'])
    if not port['fixed_ips']:
        raise _bad('Router port must have at least one fixed IP')
    by_id = subnets_db.rows_by_id(conn, [ip['subnet_id'] for ip in port['fixed_ips']])
    subnets = [by_id[s] for s in sorted(by_id)]
    shared = core.get_network_policy_target(context, port['network_id'])['shared']
    for subnet in subnets:
        _check_address_mode(subnet)
        _check_owner(context, subnet, shared)
    routers.check_no_overlap(conn, router.id, subnets)
    if len([s for s in subnets if s.ip_version == 4]) > 1:
        raise _bad('Cannot have multiple IPv4 subnets on router port')
    values = {'device_id': router.id, 'device_owner': constants.DEVICE_OWNER_ROUTER_INTF}
    host = scheduler.host_of(conn, router.id)
    if host:
        values['binding:host_id'] = host
    # The caller's context, as Neutron: the port's own project must own the
    # router (check_device_owner), else DeviceIDNotOwnedByTenant.
    port = core.update_port(context, port_id, values)
    return port, [s.id for s in subnets]


# ---- remove -----------------------------------------------------------------

def remove(l3, context, router_id, body):
    conn = context.connection
    router = routers.get_row(context, router_id, lock=True)
    by_port = _parse(body, removal=True)
    if by_port:
        port, subnet_ids = _remove_by_port(l3.core, context, router, body['port_id'],
                                           body.get('subnet_id'))
    else:
        port, subnet_ids = _remove_by_subnet(l3.core, context, router, body['subnet_id'])
    routers.update(conn, router.id, {})
    subnet_routes.reclaim_gateways(l3, context, subnet_ids)
    l3.notifier.routers_updated(context, [router.id] + subnet_routes.routers_on(
        conn, subnet_ids, hidden=True))
    return info(router, port, subnet_ids)


def _interfaces(conn, router_id):
    return routers.ports_of(conn, router_id, (constants.DEVICE_OWNER_ROUTER_INTF,))


def _remove_by_port(core, context, router, port_id, subnet_id):
    conn = context.connection
    found = [p for p in _interfaces(conn, router.id) if p.id == port_id]
    if not found:
        raise exceptions.RouterInterfaceNotFound(router_id=router.id, port_id=port_id)
    port = core.get_port(context.elevated(), port_id)
    subnet_ids = [ip['subnet_id'] for ip in port['fixed_ips']]
    if subnet_id and subnet_id not in subnet_ids:
        raise exceptions.SubnetMismatchForPort(port_id=port_id, subnet_id=subnet_id)
    subnets = subnets_db.rows_by_id(conn, subnet_ids)
    for sid in subnet_ids:
        confirm_not_in_use(conn, router, subnets[sid])
    core.delete_service_port(context, port_id)
    return port, subnet_ids or [None]


def _remove_by_subnet(core, context, router, subnet_id):
    conn = context.connection
    core.get_subnet(context, subnet_id)  # 404 if not visible
    subnet = subnets_db.rows_by_id(conn, [subnet_id])[subnet_id]
    for p in _interfaces(conn, router.id):
        ips = common.loads(p.fixed_ips, [])
        if subnet_id not in {ip['subnet_id'] for ip in ips}:
            continue
        confirm_not_in_use(conn, router, subnet)
        port = core.get_port(context.elevated(), p.id)
        rest = [ip for ip in ips if ip['subnet_id'] != subnet_id]
        if rest:  # a port on several subnets keeps the others
            core.update_port(context.elevated(), p.id, {'fixed_ips': rest})
        else:
            core.delete_service_port(context, p.id)
        return port, [subnet_id]
    raise exceptions.RouterInterfaceNotFoundForSubnet(router_id=router.id,
                                                      subnet_id=subnet_id)


def confirm_not_in_use(conn, router, subnet):
    """409 while an extra route's nexthop or a floating IP needs the subnet."""
    cidr = netaddr.IPNetwork(subnet.cidr)
    for route in common.loads(router.routes, []):
        if netaddr.IPAddress(route['nexthop']) in cidr:
            raise exceptions.RouterInterfaceInUseByRoute(router_id=router.id,
                                                         subnet_id=subnet.id)
    for fip in conn.execute(sa.select(floatingips.c.fixed_ip_address).where(
            floatingips.c.router_id == router.id, floatingips.c.fixed_ip_address.isnot(None))):
        if netaddr.IPAddress(fip.fixed_ip_address) in cidr:
            raise exceptions.RouterInterfaceInUseByFloatingIP(router_id=router.id,
                                                              subnet_id=subnet.id)
