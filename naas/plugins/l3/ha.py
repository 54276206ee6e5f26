"""HA routers (Neutron's l3-ha): one router on several L3 agents, keepalived
VRRP choosing the instance that routes.

An HA router (routers.ha) is bound to up to ``[DEFAULT]
max_l3_agents_per_router`` alive L3 agents (l3_ha_router_agents, the least
loaded first; never in l3_router_bindings, so the dead-agent failover of
naas.plugins.l3.scheduler leaves it alone: VRRP is its failover).  Each
project with HA routers has an HA network (Neutron's "HA network tenant
<project>": project '', so only administrators see it; one subnet
``[DEFAULT] l3_ha_net_cidr``, no gateway, no DHCP) and on it one port per
router and agent (device_owner network:router_ha_interface, bound to the
agent's host): the VRRP advertisements of the router's instances go there.
Each HA router has a virtual router id (ha_vr_id) unique in its project.

Every instance has the router's interface and gateway ports plugged (same
MACs), the NAT rules and the floating IPs' conntrack zones; keepalived
(naas.agent.l3.keepalived) puts the addresses, floating IPs and routes on
the master only.  The L3 agents report each instance's state
(update_ha_states): the l3-agents view shows it as ha_state, and the
router's interface and gateway ports are bound (binding:host_id) to the
active instance's host, so that L2 population and port status follow the
master, as in Neutron.  The L2 agents of the other hosts wire those ports
too (HAHostsExtender), so that a backup has them ready when it takes over.

The HA network and its subnet go with the project's last HA router.
"""
import logging
import time

import sqlalchemy as sa

from naas.common import exceptions
from naas.conf import CONF
from naas.db import agents
from naas.db import models as core_models
from naas.lib import attributes
from naas.lib import constants
from naas.lib.definitions import base
from naas.lib.definitions import network as network_def
from naas.lib.definitions import subnet as subnet_def
from naas.plugins import core as core_plugin
from naas.plugins.l3 import models
from naas.plugins.l3 import routers
from naas.plugins.l3 import scheduler

LOG = logging.getLogger(__name__)

ha_bindings = models.ha_bindings
ha_networks = models.ha_networks
ACTIVE, STANDBY, UNKNOWN = 'active', 'standby', 'unknown'
MAX_VR_ID = 255
HA_OWNER = constants.DEVICE_OWNER_ROUTER_HA_INTF


def wanted(body):
    """Whether a router created with ``body`` is HA: its ``ha``, else
    [DEFAULT] l3_ha."""
    value = body.get('ha', base.ATTR_NOT_SPECIFIED)
    return CONF.l3_ha if value is base.ATTR_NOT_SPECIFIED else bool(value)


def check_change(row, body):
    """Neutron's rule: ``ha`` changes only while the router is down."""
    if 'ha' not in body or bool(body['ha']) == bool(row.ha):
        return False
    if body.get('admin_state_up', row.admin_state_up):
        raise exceptions.BadRequest(
            resource='router',
            msg='Cannot change HA attribute of active routers. Please set router '
                'admin_state_up to False prior to upgrade')
    return True


# ---- where HA routers run ---------------------------------------------------------

def bindings_of(conn, router_ids):
    """{router_id: [(host, ha_state, agent row)]} of the HA routers among
    ``router_ids``, by host; ha_state unknown for a dead agent."""
    out = {}
    if not router_ids:
        return out
    now = time.time()
    agent_table = core_models.agents
    for row in conn.execute(
            sa.select(ha_bindings.c.router_id, ha_bindings.c.ha_state, agent_table)
            .join(agent_table, agent_table.c.id == ha_bindings.c.agent_id)
            .where(ha_bindings.c.router_id.in_(list(router_ids)))
            .order_by(agent_table.c.host)):
        state = row.ha_state if agents.is_alive(row, now) else UNKNOWN
        out.setdefault(row.router_id, []).append((row.host, state, row))
    return out


def hosts_of(conn, router_ids):
    """{router_id: [host]} of the HA routers among ``router_ids``."""
    return {router_id: [b[0] for b in bound]
            for router_id, bound in bindings_of(conn, router_ids).items()}


def agents_view(conn, router_id):
    """The router's L3 agents as API dicts with ha_state (GET l3-agents)."""
    bound = bindings_of(conn, [router_id]).get(router_id)
    if bound is not None:
        return [dict(agents.to_dict(row), ha_state=state) for _, state, row in bound]
    host = scheduler.host_of(conn, router_id)
    agent = scheduler.agent_of_host(conn, host) if host else None
    return [dict(agents.to_dict(agent), ha_state=None)] if agent is not None else []


def schedule(l3, context, router):
    """Bind HA router ``router`` (a row) to alive L3 agents up to
    max_l3_agents_per_router, each with its port on the HA network;
    returns the hosts added."""
    conn = context.connection
    bound = {row.id for _, _, row in bindings_of(conn, [router.id]).get(router.id, [])}
    room = CONF.max_l3_agents_per_router - len(bound)
    new = [a for a in scheduler.candidates(conn) if a.id not in bound][:max(room, 0)]
    if not new:
        return []
    if router.ha_vr_id is None:
        conn.execute(models.routers.update().where(models.routers.c.id == router.id)
                     .values(ha_vr_id=_free_vr_id(conn, router.project_id)))
    network_id = _network(l3, context, router.project_id)
    for agent in new:
        conn.execute(ha_bindings.insert().values(router_id=router.id, agent_id=agent.id,
                                                 ha_state=STANDBY))
        l3.core.create_service_port(context, '', {
            'network_id': network_id, 'name': 'HA port tenant %s' % router.project_id,
            'device_id': router.id, 'device_owner': HA_OWNER,
            'binding:host_id': agent.host})
    return [a.host for a in new]


def unschedule(l3, context, router):
    """Unbind HA router ``router`` (a row) from all its agents, delete its
    HA ports (and the HA network with the project's last HA router);
    returns the hosts it left."""
    conn = context.connection
    hosts = hosts_of(conn, [router.id]).get(router.id, [])
    for port in routers.ports_of(conn, router.id, (HA_OWNER,)):
        l3.core.delete_service_port(context, port.id)
    conn.execute(ha_bindings.delete().where(ha_bindings.c.router_id == router.id))
    conn.execute(models.routers.update().where(models.routers.c.id == router.id)
                 .values(ha_vr_id=None))
    others = conn.execute(sa.select(models.routers.c.id).where(
        models.routers.c.project_id == router.project_id, models.routers.c.ha.is_(True),
        models.routers.c.id != router.id).limit(1)).first()
    if others is None:
        _delete_network(l3, context, router.project_id)
    return hosts


def under_scheduled(conn):
    """Rows of the HA routers with fewer agents than max_l3_agents_per_router."""
    count = (sa.select(ha_bindings.c.router_id, sa.func.count().label('n'))
             .group_by(ha_bindings.c.router_id).subquery())
    return conn.execute(
        sa.select(models.routers).outerjoin(count, count.c.router_id == models.routers.c.id)
        .where(models.routers.c.ha.is_(True),
               sa.func.coalesce(count.c.n, 0) < CONF.max_l3_agents_per_router)
        .order_by(models.routers.c.created_at, models.routers.c.id)).all()


def routers_of_agent(conn, agent_id):
    return [r.router_id for r in conn.execute(
        sa.select(ha_bindings.c.router_id).where(ha_bindings.c.agent_id == agent_id))]


def set_states(l3, context, host, states):
    """An L3 agent's report {router_id: active|standby}: stored; the
    interface and gateway ports of a router that became active here are
    bound to this host."""
    conn = context.connection
    agent = scheduler.agent_of_host(conn, host)
    if agent is None:
        return
    for router_id, state in sorted(states.items()):
        if state not in (ACTIVE, STANDBY):
            continue
        done = conn.execute(ha_bindings.update().where(
            ha_bindings.c.router_id == router_id, ha_bindings.c.agent_id == agent.id)
            .values(ha_state=state))
        if done.rowcount and state == ACTIVE:
            LOG.info('HA router %s: active on %s', router_id, host)
            scheduler.bind_ports(l3.core, context, router_id, host)


def _free_vr_id(conn, project_id):
    used = {r.ha_vr_id for r in conn.execute(
        sa.select(models.routers.c.ha_vr_id).where(
            models.routers.c.project_id == project_id,
            models.routers.c.ha_vr_id.is_not(None)))}
    for vr_id in range(1, MAX_VR_ID + 1):
        if vr_id not in used:
            return vr_id
    raise exceptions.BadRequest(
        resource='router', msg='No more virtual router ids for HA routers of project %s'
        % project_id)


def _network(l3, context, project_id):
    """The id of the project's HA network, created with its subnet first."""
    conn = context.connection
    row = conn.execute(sa.select(ha_networks.c.network_id)
                       .where(ha_networks.c.project_id == project_id)).first()
    if row is not None:
        return row.network_id
    admin = context.elevated()
    body = attributes.prepare_create('network', network_def.RESOURCE_ATTRIBUTE_MAP, {
        'name': 'HA network tenant %s' % project_id, 'admin_state_up': True,
        'shared': False})
    body['project_id'] = body['tenant_id'] = ''
    network = l3.core.create_network(admin, body)
    body = attributes.prepare_create('subnet', subnet_def.RESOURCE_ATTRIBUTE_MAP, {
        'name': 'HA subnet tenant %s' % project_id, 'network_id': network['id'],
        'ip_version': 4, 'cidr': CONF.l3_ha_net_cidr, 'gateway_ip': None,
        'enable_dhcp': False})
    body['project_id'] = body['tenant_id'] = ''
    l3.core.create_subnet(admin, body)
    try:
        conn.execute(ha_networks.insert().values(project_id=project_id,
                                                 network_id=network['id']))
    except sa.exc.IntegrityError as e:  # made meanwhile by another request
        raise exceptions.DBRetry() from e
    return network['id']


def _delete_network(l3, context, project_id):
    row = context.connection.execute(
        sa.select(ha_networks.c.network_id).where(ha_networks.c.project_id == project_id)
    ).first()
    if row is None:
        return
    context.connection.execute(ha_networks.delete().where(
        ha_networks.c.project_id == project_id))
    l3.core.delete_network(context.elevated(), row.network_id)


class HAHostsExtender(core_plugin.ResourceExtender):
    """Adds ``ha_hosts`` to the port details of HA routers' interface and
    gateway ports: every host of the router, whose L2 agent then wires the
    port although it is bound to the master's host (naas.plugins.l2.agents)."""

    def extend_port_details(self, conn, details):
        wanted_ports = [d['port_id'] for d in details
                        if d.get('device_owner') in routers.ROUTER_OWNERS]
        if not wanted_ports:
            return
        ports = core_models.ports
        devices = {r.id: r.device_id for r in conn.execute(
            sa.select(ports.c.id, ports.c.device_id).where(ports.c.id.in_(wanted_ports)))}
        hosts = hosts_of(conn, set(devices.values()))
        for d in details:
            router_hosts = hosts.get(devices.get(d['port_id']))
            if router_hosts:
                d['ha_hosts'] = router_hosts
