"""The agents that report to this server (table ``agents``): heartbeats,
the /v2.0/agents resource, and the lookups the plugins make by agent type
and host.  Every kind of agent reports here (agent types:
naas.lib.constants): the L2 plugin binds ports and schedules DHCP to L2
agents, the L3 plugin schedules routers to L3 agents.
"""
import time
import uuid

import sqlalchemy as sa

from naas.common import exceptions
from naas.conf import CONF
from naas.db import common
from naas.db import models
from naas.db import query

agents = models.agents
COLUMNS = query.column_map(agents)


def _stamp(seconds):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(seconds))


def is_alive(row, now=None):
    return (now or time.time()) - row.heartbeat <= CONF.agent_down_time


def to_dict(row, now=None):
    configurations = common.loads(row.configurations, {})
    return {'id': row.id, 'agent_type': row.agent_type, 'binary': row.binary,
            'topic': row.topic, 'host': row.host,
            'admin_state_up': row.admin_state_up, 'description': row.description,
            'created_at': row.created_at, 'started_at': row.started_at,
            'heartbeat_timestamp': row.heartbeat_timestamp,
            'alive': is_alive(row, now), 'configurations': configurations,
            'availability_zone': None, 'resources_synced': None}


# ---- the agents API --------------------------------------------------------

def get(conn, id):
    row = conn.execute(sa.select(agents).where(agents.c.id == id)).first()
    if row is None:
        raise exceptions.AgentNotFound(id=id)
    return to_dict(row)


def select(conn, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    alive = filters.pop('alive', None)
    stmt = query.apply_filters(sa.select(agents), COLUMNS, filters)
    stmt, flip = query.apply_sort_and_page(conn, stmt, agents, COLUMNS, sorts, limit,
                                           marker, page_reverse, lambda id: get(conn, id))
    now = time.time()
    rows = conn.execute(stmt).all()
    out = [to_dict(r, now) for r in (rows[::-1] if flip else rows)]
    if alive:
        wanted = {str(v).lower() in ('true', '1') for v in alive}
        out = [a for a in out if a['alive'] in wanted]
    return out


def update(conn, id, values):
    get(conn, id)
    cols = {k: values[k] for k in ('admin_state_up', 'description') if k in values}
    if cols:
        conn.execute(agents.update().where(agents.c.id == id).values(**cols))
    return get(conn, id)


def delete(conn, id):
    get(conn, id)
    conn.execute(agents.delete().where(agents.c.id == id))


# ---- heartbeats --------------------------------------------------------------

def report_state(conn, state):
    """Record an agent's heartbeat (registering it the first time)."""
    now = time.time()
    configurations = state.get('configurations', {})
    values = {'binary': state.get('binary', ''), 'topic': state.get('topic', ''),
              'heartbeat': now, 'heartbeat_timestamp': _stamp(now),
              'tunnel_ip': configurations.get('tunnel_ip') or '',
              'configurations': common.dumps(configurations)}
    row = conn.execute(sa.select(agents.c.id).where(
        agents.c.agent_type == state['agent_type'], agents.c.host == state['host'])).first()
    if row is None:
        conn.execute(agents.insert().values(
            id=str(uuid.uuid4()), agent_type=state['agent_type'],
            host=state['host'], admin_state_up=True, created_at=_stamp(now),
            started_at=_stamp(now), **values))
        return True
    if state.get('start_flag'):
        values['started_at'] = _stamp(now)
    conn.execute(agents.update().where(agents.c.id == row.id).values(**values))
    return False


# ---- lookups by type ---------------------------------------------------------

def of_types(conn, agent_types, host=None):
    """Rows of the agents of ``agent_types`` (on ``host``), by host."""
    stmt = sa.select(agents).where(agents.c.agent_type.in_(list(agent_types)))
    if host is not None:
        stmt = stmt.where(agents.c.host == host)
    return conn.execute(stmt.order_by(agents.c.host, agents.c.id)).all()


def enabled_with_load(conn, agent_types, agent_column):
    """Enabled agents of ``agent_types``, each with ``load``: how many rows
    of a bindings table name it in ``agent_column`` (routers, networks)."""
    load = (sa.select(agent_column.label('agent_id'), sa.func.count().label('n'))
            .group_by(agent_column).subquery())
    return conn.execute(
        sa.select(agents, sa.func.coalesce(load.c.n, 0).label('load'))
        .outerjoin(load, load.c.agent_id == agents.c.id)
        .where(agents.c.agent_type.in_(list(agent_types)),
               agents.c.admin_state_up.is_(True))).all()


def bound(conn, key_column, agent_column, keys):
    """Rows (key, agent_id, host) of a bindings table (routers or networks
    to agents: ``key_column`` and ``agent_column`` are its columns) for
    ``keys``, by host."""
    keys = list(keys)
    if not keys:
        return []
    if len(keys) == 1:   # a port's network: no IN list to expand at each execution
        return conn.execute(_BOUND_TO_ONE(key_column, agent_column), {'key': keys[0]}).all()
    return conn.execute(_bound(key_column, agent_column).where(key_column.in_(keys))).all()


def _bound(key_column, agent_column):
    return (sa.select(key_column.label('key'), agents.c.id.label('agent_id'), agents.c.host)
            .join(agents, agents.c.id == agent_column)
            .order_by(agents.c.host))


_BOUND_TO_ONE = common.prebuilt(lambda key_column, agent_column: _bound(
    key_column, agent_column).where(key_column == sa.bindparam('key')))
