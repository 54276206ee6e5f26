"""The server side of what an L3 agent asks (naas.rpc.l3_api.L3ServerAPI):
its routers in full, the statuses of floating IPs it realised, and the VRRP
states of its HA routers' instances (naas.plugins.l3.ha).

RPC handlers run outside any API request, each in a transaction of its own.
"""
import logging

import netaddr
import sqlalchemy as sa

from naas.common import context as naas_context
from naas.db import api as db_api
from naas.db import common
from naas.db import networks as networks_db
from naas.db import ports as ports_db
from naas.db import subnets as subnets_db
from naas.lib import constants
from naas.plugins.l3 import floatingips
from naas.plugins.l3 import ha
from naas.plugins.l3 import models
from naas.plugins.l3 import routers
from naas.plugins.l3 import scheduler

LOG = logging.getLogger(__name__)

bindings = models.router_bindings
subnet_routes = models.subnet_routes


class RPCHandler:
    """What naas.rpc.l3_api.L3ServerEndpoint calls."""

    def __init__(self, plugin):
        self.plugin = plugin

    def _run(self, func, *args):
        return db_api.retry(lambda ctx: func(ctx, *args), naas_context.get_admin_context())

    def sync_routers(self, host, router_ids=None):
        return self._run(self._sync, host, router_ids)

    def _sync(self, context, host, router_ids):
        conn = context.connection
        agent = scheduler.agent_of_host(conn, host)
        if agent is None:
            LOG.warning('sync_routers from %s, which has no L3 agent', host)
            return []
        for router_id in scheduler.unbound_routers(conn):
            bound_to = scheduler.schedule(conn, router_id)
            if bound_to and bound_to != host:
                scheduler.bind_ports(self.plugin.core, context, router_id, bound_to)
                self.plugin.notifier.routers_updated(context, [router_id])
        for router in ha.under_scheduled(conn):
            added = ha.schedule(self.plugin, context, router)
            if set(added) - {host}:
                self.plugin.notifier.routers_updated(context, [router.id])
        stmt = sa.select(bindings.c.router_id).where(bindings.c.agent_id == agent.id)
        if router_ids is not None:
            stmt = stmt.where(bindings.c.router_id.in_(list(router_ids)))
        ids = sorted(r.router_id for r in conn.execute(stmt))
        for router_id in ids:
            scheduler.bind_ports(self.plugin.core, context, router_id, host)
        ha_ids = ha.routers_of_agent(conn, agent.id)
        if router_ids is not None:
            ha_ids = set(ha_ids) & set(router_ids)
        return router_data(context, self.plugin.core, sorted(set(ids) | set(ha_ids)))

    def update_ha_states(self, host, states):
        return self._run(lambda ctx: ha.set_states(self.plugin, ctx, host, states))

    def update_floatingip_statuses(self, host, router_id, statuses):
        return self._run(lambda ctx: floatingips.set_statuses(ctx.connection, router_id,
                                                              statuses))


def _ip_view(ip, subnet):
    net = netaddr.IPNetwork(subnet.cidr)
    return {'subnet_id': ip['subnet_id'], 'ip_address': ip['ip_address'],
            'prefixlen': net.prefixlen, 'cidr': subnet.cidr,
            'ip_version': subnet.ip_version, 'gateway_ip': subnet.gateway_ip}


LOCAL_SEGMENT = {'network_type': 'local', 'physical_network': None,
                 'segmentation_id': None}


def router_data(context, core, router_ids):
    """The routers of ``router_ids`` as an L3 agent gets them (the layout is
    in naas.rpc.l3_api.L3ServerAPI.sync_routers)."""
    if not router_ids:
        return []
    conn = context.connection
    rows = conn.execute(sa.select(models.routers).where(models.routers.c.id.in_(router_ids))
                        .order_by(models.routers.c.created_at, models.routers.c.id)).all()
    ports = ports_db.of_devices(conn, router_ids, routers.ALL_OWNERS)
    network_ids = {p.network_id for p in ports}
    mtus = {network_id: row.mtu
            for network_id, row in networks_db.rows_by_id(conn, network_ids).items()}
    segments = core.get_network_segments(context, network_ids)
    subnets = subnets_db.rows_by_id(conn, [ip['subnet_id'] for p in ports
                                           for ip in common.loads(p.fixed_ips, [])])
    by_router = {}
    for p in ports:
        by_router.setdefault(p.device_id, []).append(p)
    fips = {}
    for f in conn.execute(sa.select(models.floatingips)
                          .where(models.floatingips.c.router_id.in_(router_ids))
                          .order_by(models.floatingips.c.created_at, models.floatingips.c.id)):
        fips.setdefault(f.router_id, []).append(
            {'id': f.id, 'floating_ip_address': f.floating_ip_address,
             'fixed_ip_address': f.fixed_ip_address, 'port_id': f.fixed_port_id,
             'status': f.status})
    pairs = {}
    for sr in conn.execute(sa.select(subnet_routes)
                           .where(subnet_routes.c.router_id.in_(router_ids))
                           .order_by(subnet_routes.c.created_at, subnet_routes.c.id)):
        pairs.setdefault(sr.router_id, []).append(sr)
    more = subnets_db.rows_by_id(conn, [s for srs in pairs.values() for sr in srs
                                        for s in (sr.subnet_a, sr.subnet_b)])
    subnets.update(more)
    out = []
    for r in rows:
        interfaces, gateway, ha_ports = [], None, []
        for p in by_router.get(r.id, []):
            view = {'port_id': p.id, 'mac_address': p.mac_address,
                    'network_id': p.network_id, 'mtu': mtus[p.network_id],
                    'admin_state_up': bool(p.admin_state_up),
                    'segment': dict(segments.get(p.network_id, LOCAL_SEGMENT)),
                    'fixed_ips': [_ip_view(ip, subnets[ip['subnet_id']])
                                  for ip in common.loads(p.fixed_ips, [])
                                  if ip['subnet_id'] in subnets]}
            if p.device_owner == constants.DEVICE_OWNER_ROUTER_GW:
                gateway = view
            elif p.device_owner == constants.DEVICE_OWNER_ROUTER_HA_INTF:
                ha_ports.append(dict(view, host=p.binding_host_id))
            else:
                interfaces.append(view)
        out.append({
            'id': r.id, 'name': r.name, 'project_id': r.project_id,
            'admin_state_up': bool(r.admin_state_up), 'status': r.status,
            'hidden': bool(r.hidden), 'enable_snat': bool(r.enable_snat),
            'gateway': gateway, 'interfaces': interfaces,
            'routes': common.loads(r.routes, []) + _subnet_route_hops(conn, interfaces),
            'floating_ips': fips.get(r.id, []),
            'ha': bool(r.ha), 'ha_vr_id': r.ha_vr_id, 'ha_ports': ha_ports,
            'subnet_routes': [{'id': sr.id, 'subnet_ids': [sr.subnet_a, sr.subnet_b],
                               'cidrs': [subnets[sr.subnet_a].cidr,
                                         subnets[sr.subnet_b].cidr]}
                              for sr in pairs.get(r.id, [])],
        })
    return out


def _subnet_route_hops(conn, interfaces):
    """Routes a router holding a paired subnet's gateway needs: the peer
    subnet via the hidden router's address on the subnet."""
    held = {ip['subnet_id'] for i in interfaces for ip in i['fixed_ips']
            if ip['ip_address'] == ip['gateway_ip']}
    on = {ip['subnet_id'] for i in interfaces for ip in i['fixed_ips']}
    if not held:
        return []
    hops = []
    for sr in conn.execute(sa.select(subnet_routes)
                           .where(sa.or_(subnet_routes.c.subnet_a.in_(held),
                                         subnet_routes.c.subnet_b.in_(held)))
                           .order_by(subnet_routes.c.created_at, subnet_routes.c.id)):
        for mine, peer in ((sr.subnet_a, sr.subnet_b), (sr.subnet_b, sr.subnet_a)):
            if mine not in held or peer in on:
                continue
            nexthop = _address_on(conn, sr.router_id, mine)
            cidr = subnets_db.rows_by_id(conn, [peer]).get(peer)
            if nexthop and cidr is not None:
                hops.append({'destination': cidr.cidr, 'nexthop': nexthop})
    return hops


def _address_on(conn, router_id, subnet_id):
    for p in routers.ports_of(conn, router_id, (constants.DEVICE_OWNER_ROUTER_INTF,)):
        for ip in common.loads(p.fixed_ips, []):
            if ip['subnet_id'] == subnet_id:
                return ip['ip_address']
    return None
