"""Which L3 agent runs each router.

L3 agents report like the L2 ones (naas.db.agents) with agent_type
naas.lib.constants.AGENT_TYPE_L3.  A router is bound (l3_router_bindings) to
the alive, enabled L3 agent with the fewest routers, ties broken by host
name; with none alive it stays unbound until an L3 agent asks for its
routers (sync_routers), which binds every unbound router the same way.
A router's interface and gateway ports are bound (binding:host_id) to its
agent's host, so that the L2 side of that host wires them and the tunnel
endpoint lists include it.

Failover (``[DEFAULT] allow_automatic_l3agent_failover``, on by default): a
periodic check in the server (naas.plugins.l3.plugin starts it: every
agent_down_time / 4 s, the first after agent_down_time) moves each router
of an L3 agent dead for agent_down_time to the least loaded alive one
(dead_bindings, rebind): its ports are bound to the new host, which gets a
routers_updated cast and builds the namespace with its interfaces, gateway
(SNAT) and floating IPs.  The dead host gets router_deleted (delivered if
its agent comes back before the queue expires; its start-up sync removes
the namespace anyway).  With no alive L3 agent a router stays where it is.
"""
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import exceptions
from naas.db import agents
from naas.db import models as db_models
from naas.lib import constants
from naas.plugins.l3 import models
from naas.plugins.l3 import routers

bindings = models.router_bindings
L3_AGENT_TYPES = (constants.AGENT_TYPE_L3,)


def hosts_of(conn, router_ids):
    """{router_id: host} of the bound routers among ``router_ids``: where
    their ports are bound (an HA router's: its active instance's host, else
    its first host; naas.plugins.l3.ha)."""
    out = {row.key: row.host for row in agents.bound(
        conn, bindings.c.router_id, bindings.c.agent_id, router_ids)}
    for router_id, hosts in _ha_hosts(conn, router_ids).items():
        active = [host for host, state in hosts if state == 'active']
        out[router_id] = (active or [hosts[0][0]])[0]
    return out


def all_hosts_of(conn, router_ids):
    """{router_id: [host]}: every host that runs each router (the casts go
    to all of them)."""
    out = {row.key: [row.host] for row in agents.bound(
        conn, bindings.c.router_id, bindings.c.agent_id, router_ids)}
    for router_id, hosts in _ha_hosts(conn, router_ids).items():
        out[router_id] = [host for host, _ in hosts]
    return out


def _ha_hosts(conn, router_ids):
    """{router_id: [(host, ha_state)]} of the HA routers, by host."""
    out = {}
    if not router_ids:
        return out
    ha = models.ha_bindings
    agent_table = db_models.agents
    for row in conn.execute(
            sa.select(ha.c.router_id, ha.c.ha_state, agent_table.c.host)
            .join(agent_table, agent_table.c.id == ha.c.agent_id)
            .where(ha.c.router_id.in_(list(router_ids))).order_by(agent_table.c.host)):
        out.setdefault(row.router_id, []).append((row.host, row.ha_state))
    return out


def host_of(conn, router_id):
    return hosts_of(conn, [router_id]).get(router_id)


def agent_of_host(conn, host):
    return next(iter(agents.of_types(conn, L3_AGENT_TYPES, host)), None)


def candidates(conn):
    """Alive, enabled L3 agents, least loaded first."""
    rows = agents.enabled_with_load(conn, L3_AGENT_TYPES, bindings.c.agent_id)
    now = time.time()
    alive = [r for r in rows if agents.is_alive(r, now)]
    return sorted(alive, key=lambda r: (r.load, r.host))


def schedule(conn, router_id):
    """The host of ``router_id``, binding it first if it is not bound and
    an L3 agent is alive; None if it stays unbound."""
    host = host_of(conn, router_id)
    if host is not None:
        return host
    alive = candidates(conn)
    if not alive:
        return None
    agent = alive[0]
    try:
        conn.execute(bindings.insert().values(router_id=router_id, agent_id=agent.id))
    except sa_exc.IntegrityError as e:  # bound meanwhile: run it again
        raise exceptions.DBRetry() from e
    return agent.host


def unbound_routers(conn):
    """The non-HA routers bound to no agent (HA ones: ha.under_scheduled)."""
    return [row.id for row in conn.execute(
        sa.select(models.routers.c.id)
        .where(~models.routers.c.id.in_(sa.select(bindings.c.router_id)),
               models.routers.c.ha.is_(False))
        .order_by(models.routers.c.created_at, models.routers.c.id))]


def bind_ports(core, context, router_id, host):
    """Bind the router's ports to ``host`` (its L3 agent's)."""
    for port in routers.ports_of(context.connection, router_id):
        if port.binding_host_id != host:
            core.update_port(context.elevated(), port.id, {'binding:host_id': host})


def dead_bindings(conn, now=None):
    """[(router_id, host)] of the routers bound to L3 agents dead for
    agent_down_time, or [] while no L3 agent is alive to take them."""
    now = now or time.time()
    rows = agents.of_types(conn, L3_AGENT_TYPES)
    dead = {r.id: r.host for r in rows if not agents.is_alive(r, now)}
    if not dead or not candidates(conn):
        return []
    return [(r.router_id, dead[r.agent_id]) for r in conn.execute(
        sa.select(bindings.c.router_id, bindings.c.agent_id)
        .where(bindings.c.agent_id.in_(list(dead)))
        .order_by(bindings.c.router_id))]


def rebind(conn, router_id):
    """Unbind ``router_id`` and schedule it again; its new host or None."""
    conn.execute(bindings.delete().where(bindings.c.router_id == router_id))
    return schedule(conn, router_id)
