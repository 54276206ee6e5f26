"""Which L3 agent runs each router.

L3 agents report like the L2 ones (naas.plugins.l2.agents, table l2_agents)
with agent_type 'NaaS L3 agent'.  A router is bound (l3_router_bindings) to
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
from naas.plugins.l2 import agents as l2_agents
from naas.plugins.l2 import models as l2_models
from naas.plugins.l3 import models
from naas.plugins.l3 import routers

L3_AGENT = 'NaaS L3 agent'

AG = l2_models.agents
B = models.router_bindings
R = models.routers


def hosts_of(conn, router_ids):
    """{router_id: host} of the bound routers among ``router_ids``."""
    if not router_ids:
        return {}
    rows = conn.execute(sa.select(B.c.router_id, AG.c.host)
                        .join(AG, AG.c.id == B.c.agent_id)
                        .where(B.c.router_id.in_(list(router_ids)))).all()
    return {r.router_id: r.host for r in rows}


def host_of(conn, router_id):
    return hosts_of(conn, [router_id]).get(router_id)


def agent_of_host(conn, host):
    return conn.execute(sa.select(AG).where(AG.c.host == host,
                                            AG.c.agent_type == L3_AGENT)).first()


def _candidates(conn):
    """Alive, enabled L3 agents, least loaded first."""
    load = (sa.select(B.c.agent_id, sa.func.count().label('n'))
            .group_by(B.c.agent_id).subquery())
    rows = conn.execute(
        sa.select(AG, sa.func.coalesce(load.c.n, 0).label('load'))
        .outerjoin(load, load.c.agent_id == AG.c.id)
        .where(AG.c.agent_type == L3_AGENT, AG.c.admin_state_up.is_(True))).all()
    now = time.time()
    alive = [r for r in rows if l2_agents.is_alive(r, now)]
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
        conn.execute(B.insert().values(router_id=router_id, agent_id=agent.id))
    except sa_exc.IntegrityError as e:  # bound meanwhile: run it again
        raise exceptions.DBRetry() from e
    return agent.host


def unbound_routers(conn):
    return [r.id for r in conn.execute(
        sa.select(R.c.id).where(~R.c.id.in_(sa.select(B.c.router_id)))
        .order_by(R.c.created_at, R.c.id))]


def bind_ports(core, context, router_id, host):
    """Bind the router's ports to ``host`` (its L3 agent's)."""
    for port in routers.ports_of(context.connection, router_id):
        if port.binding_host_id != host:
            core.update_port(context.elevated(), port.id, {'binding:host_id': host})
