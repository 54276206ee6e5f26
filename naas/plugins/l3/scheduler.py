"""Which L3 agent runs each router.

L3 agents report like the L2 ones (naas.db.agents) with agent_type
naas.lib.constants.AGENT_TYPE_L3.  A router is bound (l3_router_bindings) to
the alive, enabled L3 agent with the fewest routers, ties broken by host
name; with none alive it stays unbound until an L3 agent asks for its
routers (sync_routers), which binds every unbound router the same way.
A router's interface and gateway ports are bound (binding:host_id) to its
agent's host, so that the L2 side of that host wires them and the tunnel
endpoint lists include it.  A binding to an agent that died is kept (no
automatic failover yet): the agent's host gets the router back on restart.
"""
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import exceptions
from naas.db import agents
from naas.lib import constants
from naas.plugins.l3 import models
from naas.plugins.l3 import routers

bindings = models.router_bindings
L3_AGENT_TYPES = (constants.AGENT_TYPE_L3,)


def hosts_of(conn, router_ids):
    """{router_id: host} of the bound routers among ``router_ids``."""
    return {row.key: row.host for row in agents.bound(
        conn, bindings.c.router_id, bindings.c.agent_id, router_ids)}


def host_of(conn, router_id):
    return hosts_of(conn, [router_id]).get(router_id)


def agent_of_host(conn, host):
    return next(iter(agents.of_types(conn, L3_AGENT_TYPES, host)), None)


def _candidates(conn):
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
    candidates = _candidates(conn)
    if not candidates:
        return None
    agent = candidates[0]
    try:
        conn.execute(bindings.insert().values(router_id=router_id, agent_id=agent.id))
    except sa_exc.IntegrityError as e:  # bound meanwhile: run it again
        raise exceptions.DBRetry() from e
    return agent.host


def unbound_routers(conn):
    return [row.id for row in conn.execute(
        sa.select(models.routers.c.id)
        .where(~models.routers.c.id.in_(sa.select(bindings.c.router_id)))
        .order_by(models.routers.c.created_at, models.routers.c.id))]


def bind_ports(core, context, router_id, host):
    """Bind the router's ports to ``host`` (its L3 agent's)."""
    for port in routers.ports_of(context.connection, router_id):
        if port.binding_host_id != host:
            core.update_port(context.elevated(), port.id, {'binding:host_id': host})
