"""The server side of the agents: heartbeats, the agents API, and what an
agent asks about the ports of its host (naas.rpc.server_api).

RPC handlers run outside any API request, each in a transaction of its own.
"""
import logging
import time
import uuid

import sqlalchemy as sa

from naas.common import context as naas_context
from naas.common import exceptions
from naas.conf import CONF
from naas.db import api as db_api
from naas.db import common
from naas.db import models as core_models
from naas.db import query
from naas.plugins.l2 import models

LOG = logging.getLogger(__name__)

AG = models.agents
P = core_models.ports
N = core_models.networks
S = models.segments
COLUMNS = query.column_map(AG)

LINUXBRIDGE_AGENT = 'NaaS Linux bridge agent'
OVS_AGENT = 'NaaS Open vSwitch agent'
#: agent type -> (vif_type, vif_details) a port bound on its host gets.
VIF_TYPES = {
    LINUXBRIDGE_AGENT: ('bridge', {'port_filter': True, 'connectivity': 'l2'}),
    OVS_AGENT: ('ovs', {'port_filter': True, 'ovs_hybrid_plug': False,
                        'connectivity': 'l2', 'bridge_name': 'br-int'}),
}
OVERLAY_TYPES = ('vxlan', 'gre')


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
    row = conn.execute(sa.select(AG).where(AG.c.id == id)).first()
    if row is None:
        raise exceptions.AgentNotFound(id=id)
    return to_dict(row)


def select(conn, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    alive = filters.pop('alive', None)
    stmt = query.apply_filters(sa.select(AG), COLUMNS, filters)
    stmt, flip = query.apply_sort_and_page(conn, stmt, AG, COLUMNS, sorts, limit,
                                           marker, page_reverse)
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
        conn.execute(AG.update().where(AG.c.id == id).values(**cols))
    return get(conn, id)


def delete(conn, id):
    get(conn, id)
    conn.execute(AG.delete().where(AG.c.id == id))


def host_agent(conn, host):
    """The alive, enabled L2 agent of ``host``, or None."""
    now = time.time()
    for row in conn.execute(sa.select(AG).where(AG.c.host == host,
                                                AG.c.agent_type.in_(VIF_TYPES))):
        if row.admin_state_up and is_alive(row, now):
            return row
    return None


def can_bind(agent_row, segment):
    """Whether the host's agent can realise the network's segment."""
    configurations = common.loads(agent_row.configurations, {})
    network_type = segment.network_type if segment is not None else 'local'
    if network_type in OVERLAY_TYPES:
        return bool(agent_row.tunnel_ip) and network_type in configurations.get(
            'tunnel_types', [])
    if network_type in ('vlan', 'flat'):
        return segment.physical_network in configurations.get('bridge_mappings', {})
    return network_type == 'local'


# ---- RPC handlers ----------------------------------------------------------

class RPCHandler:
    """What naas.rpc.server_api.ServerEndpoint calls."""

    def __init__(self, plugin):
        self.plugin = plugin
        self._compute = None

    @property
    def compute(self):
        if self._compute is None:
            from naas.rpc import compute_api
            self._compute = compute_api.ComputeNotifyAPI()
        return self._compute

    def _run(self, func, *args):
        return db_api.retry(lambda ctx: func(ctx.connection, *args),
                            naas_context.get_admin_context())

    def report_state(self, state):
        return self._run(self._report_state, state)

    def _report_state(self, conn, state):
        now = time.time()
        configurations = state.get('configurations', {})
        values = {'binary': state.get('binary', ''), 'topic': state.get('topic', ''),
                  'heartbeat': now, 'heartbeat_timestamp': _stamp(now),
                  'tunnel_ip': configurations.get('tunnel_ip') or '',
                  'configurations': common.dumps(configurations)}
        row = conn.execute(sa.select(AG.c.id).where(
            AG.c.agent_type == state['agent_type'], AG.c.host == state['host'])).first()
        if row is None:
            conn.execute(AG.insert().values(
                id=str(uuid.uuid4()), agent_type=state['agent_type'],
                host=state['host'], admin_state_up=True, created_at=_stamp(now),
                started_at=_stamp(now), **values))
            LOG.info('agent %s on %s registered', state['agent_type'], state['host'])
        else:
            if state.get('start_flag'):
                values['started_at'] = _stamp(now)
            conn.execute(AG.update().where(AG.c.id == row.id).values(**values))
        return 'alive'

    def get_devices_details(self, devices, host):
        return self._run(self._details, devices, host)

    def _details(self, conn, devices, host):
        by_id = {d['port_id']: d for d in port_details(conn, P.c.id.in_(devices))}
        out = []
        for device in devices:
            details = by_id.get(device)
            if details is None or details['host'] != host:
                out.append({'device': device, 'missing': True})
            else:
                out.append(details)
        return out

    def update_devices_status(self, devices, host, status):
        changed = self._run(self._set_status, devices, host, status)
        event = 'vif_plugged' if status == 'ACTIVE' else 'vif_unplugged'
        for port_id in changed:
            try:
                getattr(self.compute, event)(host, port_id)
            except Exception:
                LOG.exception('%s for %s not sent', event, port_id)
        return {'devices': changed}

    def _set_status(self, conn, devices, host, status):
        rows = conn.execute(sa.select(P.c.id, P.c.status).where(
            P.c.id.in_(devices), P.c.binding_host_id == host)).all()
        changed = [r.id for r in rows if r.status != status]
        if changed:
            conn.execute(P.update().where(P.c.id.in_(changed)).values(status=status))
        return changed

    def sync(self, host):
        return self._run(self._sync, host)

    def _sync(self, conn, host):
        return {'ports': port_details(conn, P.c.binding_host_id == host)}

    def instance_network_info(self, instance_id):
        from naas.plugins.l2 import netconfig
        return self._run(netconfig.network_info, P.c.device_id == instance_id)

    def get_dhcp_networks(self, host, network_ids=None):
        return self.plugin.dhcp.get_dhcp_networks(host, network_ids)


def port_details(conn, where):
    """Wiring details of the ports matching ``where``, with endpoints."""
    rows = conn.execute(
        sa.select(P.c.id, P.c.network_id, P.c.mac_address, P.c.admin_state_up,
                  P.c.device_owner, P.c.fixed_ips, P.c.binding_host_id,
                  P.c.port_security_enabled, N.c.mtu, N.c.admin_state_up.label('net_up'),
                  S.c.network_type, S.c.physical_network, S.c.segmentation_id)
        .join(N, N.c.id == P.c.network_id)
        .outerjoin(S, S.c.network_id == P.c.network_id)
        .where(where)).all()
    endpoints = network_endpoints(conn, {r.network_id for r in rows})
    return [{'device': r.id, 'port_id': r.id, 'network_id': r.network_id,
             'mac_address': r.mac_address,
             'admin_state_up': bool(r.admin_state_up and r.net_up),
             'device_owner': r.device_owner,
             'fixed_ips': common.loads(r.fixed_ips, []),
             'port_security_enabled': bool(r.port_security_enabled),
             'host': r.binding_host_id, 'mtu': r.mtu,
             'network_type': r.network_type or 'local',
             'physical_network': r.physical_network or None,
             'segmentation_id': r.segmentation_id,
             'endpoints': endpoints.get(r.network_id, [])} for r in rows]


def network_endpoints(conn, network_ids):
    """{network_id: [{host, tunnel_ip}]} of the hosts with ports on each."""
    out = {}
    if not network_ids:
        return out
    rows = conn.execute(
        sa.select(P.c.network_id, AG.c.host, AG.c.tunnel_ip).distinct()
        .join(AG, AG.c.host == P.c.binding_host_id)
        .where(P.c.network_id.in_(list(network_ids)), P.c.binding_host_id != '',
               AG.c.agent_type.in_(VIF_TYPES))).all()
    for r in sorted(rows):
        out.setdefault(r.network_id, []).append({'host': r.host, 'tunnel_ip': r.tunnel_ip})
    return out
