"""A router's external gateway (Neutron's router + ext-gw-mode).

external_gateway_info {network_id, enable_snat, external_fixed_ips}: the
network must be router:external; the gateway is a port on it (device_owner
network:router_gateway, no project, as in Neutron) with addresses from its
subnets (external_fixed_ips, or one per IP version); enable_snat defaults
to true.  Clearing or moving the gateway is refused while floating IPs go
through it.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import subnets as subnets_db
from naas.lib import constants
from naas.lib.definitions import base
from naas.plugins.l3 import models
from naas.plugins.l3 import routers
from naas.plugins.l3 import scheduler

floatingips = models.floatingips


def update(core, context, router, info):
    """Set, change or (``info`` None) clear the gateway of ``router`` (a row)."""
    current = router.gw_network_id if router.gw_port_id else None
    if info is None:
        if current:
            _clear(core, context, router)
        return
    if current == info['network_id']:
        _change(core, context, router, info)
        return
    if current:
        _clear(core, context, router)
    _create(core, context, router, info)


def _create(core, context, router, info):
    conn = context.connection
    net_id = info['network_id']
    # The caller's own view: a network it may not see is not found (404),
    # exactly as an unknown one, not "not external" (which would tell).
    network = core.get_network(context, net_id)
    if not network['router:external']:
        raise exceptions.BadRequest(resource='router',
                                    msg='Network %s is not an external network' % net_id)
    ext_subnets = subnets_db.rows_by_id(conn, network['subnets']).values()
    routers.check_no_overlap(conn, router.id, list(ext_subnets))
    port = core.create_service_port(context, '', {
        'network_id': net_id, 'name': '',
        'fixed_ips': info.get('external_fixed_ips') or base.ATTR_NOT_SPECIFIED,
        'device_id': router.id, 'device_owner': constants.DEVICE_OWNER_ROUTER_GW,
        'binding:host_id': scheduler.host_of(conn, router.id) or ''})
    routers.set_gateway_columns(conn, router.id, port['id'], net_id,
                                info.get('enable_snat', True))


def _change(core, context, router, info):
    """Same external network: SNAT and the gateway's addresses may change."""
    conn = context.connection
    wanted = info.get('external_fixed_ips')
    if wanted:
        port = core.get_port(context.elevated(), router.gw_port_id)
        have = {(ip['subnet_id'], ip['ip_address']) for ip in port['fixed_ips']}
        if {(ip.get('subnet_id'), ip.get('ip_address')) for ip in wanted} != have:
            core.update_port(context.elevated(), router.gw_port_id, {'fixed_ips': wanted})
    routers.set_gateway_columns(conn, router.id, router.gw_port_id, router.gw_network_id,
                                info.get('enable_snat', router.enable_snat))


def _clear(core, context, router):
    conn = context.connection
    in_use = conn.execute(sa.select(floatingips.c.id).where(
        floatingips.c.router_id == router.id,
        floatingips.c.floating_network_id == router.gw_network_id).limit(1)).first()
    if in_use is not None:
        raise exceptions.RouterExternalGatewayInUseByFloatingIp(
            router_id=router.id, net_id=router.gw_network_id)
    routers.set_gateway_columns(conn, router.id, None, None, True)
    core.delete_service_port(context, router.gw_port_id)
