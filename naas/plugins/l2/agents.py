"""The L2 side of the agents: which VIF type an L2 agent's host gives a
port, and what an agent asks about the ports of its host
(naas.rpc.server_api).  The agents table and the /v2.0/agents resource are
naas.db.agents.

RPC handlers run outside any API request, each in a transaction of its own.
"""
import collections
import logging

import sqlalchemy as sa

from naas.common import context as naas_context
from naas.db import agents
from naas.db import api as db_api
from naas.db import common
from naas.db import models as core_models
from naas.lib import constants
from naas.plugins.l2 import models

LOG = logging.getLogger(__name__)

ports = core_models.ports
networks = core_models.networks
segments = models.segments

#: agent type of an L2 agent -> (vif_type, vif_details) a port bound on its host gets.
VIF_TYPES = {
    constants.AGENT_TYPE_LINUXBRIDGE: ('bridge', {'port_filter': True,
                                                  'connectivity': 'l2'}),
    constants.AGENT_TYPE_OVS: ('ovs', {'port_filter': True, 'ovs_hybrid_plug': False,
                                       'connectivity': 'l2', 'bridge_name': 'br-int'}),
}
OVERLAY_TYPES = constants.OVERLAY_NETWORK_TYPES


def host_agent(conn, host):
    """The alive, enabled L2 agent of ``host``, or None."""
    for row in agents.of_types(conn, VIF_TYPES, host):
        if row.admin_state_up and agents.is_alive(row):
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
        if agents.report_state(conn, state):
            LOG.info('agent %s on %s registered', state['agent_type'], state['host'])
        return 'alive'

    def get_devices_details(self, devices, host):
        return self._run(self._details, devices, host)

    def _details(self, conn, devices, host):
        by_id = {d['port_id']: d for d in self._port_details(conn, ports.c.id.in_(devices))}
        out = []
        for device in devices:
            details = by_id.get(device)
            # (ha_hosts: an HA router's port, wired on each of its hosts)
            if details is None or host not in [details['host']] + details.get('ha_hosts', []):
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
        rows = conn.execute(sa.select(ports.c.id, ports.c.status).where(
            ports.c.id.in_(devices), ports.c.binding_host_id == host)).all()
        changed = [r.id for r in rows if r.status != status]
        if changed:
            conn.execute(ports.update().where(ports.c.id.in_(changed))
                         .values(status=status))
        return changed

    def sync(self, host):
        return self._run(self._sync, host)

    def _sync(self, conn, host):
        return {'ports': self._port_details(conn, ports.c.binding_host_id == host)}

    def _port_details(self, conn, where):
        details = port_details(conn, where)
        for extender in self.plugin.extenders:
            extender.extend_port_details(conn, details)
        return details

    def get_security_group_info(self, security_group_ids):
        """The rules and members of the groups (hooks.PortFilter's sg_info),
        from the extender that keeps ports' security groups (the security
        group plugin's); none without one."""
        for extender in self.plugin.extenders:
            info = getattr(extender, 'security_group_info', None)
            if info is not None:
                return self._run(info, security_group_ids)
        return {'security_groups': {}, 'members': {}, 'address_groups': {}}

    def instance_network_info(self, instance_id):
        from naas.plugins.l2 import netconfig
        return self._run(lambda conn: netconfig.network_info(conn, device_id=instance_id))

    def get_dhcp_networks(self, host, network_ids=None):
        return self.plugin.dhcp.get_dhcp_networks(host, network_ids)

    def get_fdb_entries(self, network_ids, host):
        return self._run(fdb_entries, list(network_ids), host)


def port_details(conn, where):
    """Wiring details of the ports matching ``where``, with endpoints."""
    rows = conn.execute(
        sa.select(ports.c.id, ports.c.network_id, ports.c.mac_address,
                  ports.c.admin_state_up, ports.c.device_owner, ports.c.fixed_ips,
                  ports.c.binding_host_id, ports.c.port_security_enabled, networks.c.mtu,
                  networks.c.admin_state_up.label('net_up'), segments.c.network_type,
                  segments.c.physical_network, segments.c.segmentation_id)
        .join(networks, networks.c.id == ports.c.network_id)
        .outerjoin(segments, segments.c.network_id == ports.c.network_id)
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
    agents_table = core_models.agents
    rows = conn.execute(
        sa.select(ports.c.network_id, agents_table.c.host, agents_table.c.tunnel_ip)
        .distinct()
        .join(agents_table, agents_table.c.host == ports.c.binding_host_id)
        .where(ports.c.network_id.in_(list(network_ids)), ports.c.binding_host_id != '',
               agents_table.c.agent_type.in_(VIF_TYPES))).all()
    for r in sorted(rows):
        out.setdefault(r.network_id, []).append({'host': r.host, 'tunnel_ip': r.tunnel_ip})
    return out


# ---- L2 population (naas.rpc.agent_api fdb_update, server_api get_fdb_entries) ----

#: A host with ports on a network: its L2 agent's tunnel address, whether
#: the agent reports l2_population, and how many ports of the network it has.
NetworkHost = collections.namedtuple('NetworkHost', 'tunnel_ip l2_population ports')


def network_hosts(conn, network_id):
    """(network_type, {host: NetworkHost}) of the hosts with ports on the
    network: one statement, read inside the request's transaction (so the
    port it creates, moves or deletes is counted as it will be)."""
    agents_table = core_models.agents
    rows = conn.execute(
        sa.select(ports.c.binding_host_id, agents_table.c.tunnel_ip,
                  agents_table.c.configurations, segments.c.network_type,
                  sa.func.count(ports.c.id).label('ports'))
        .join(agents_table, agents_table.c.host == ports.c.binding_host_id)
        .outerjoin(segments, segments.c.network_id == ports.c.network_id)
        .where(ports.c.network_id == network_id, ports.c.binding_host_id != '',
               agents_table.c.agent_type.in_(VIF_TYPES))
        .group_by(ports.c.binding_host_id, agents_table.c.tunnel_ip,
                  agents_table.c.configurations, segments.c.network_type)).all()
    hosts = {}
    network_type = None
    for r in rows:
        network_type = r.network_type
        l2pop = bool(common.loads(r.configurations, {}).get('l2_population'))
        hosts[r.binding_host_id] = NetworkHost(r.tunnel_ip, l2pop, r.ports)
    return network_type, hosts


def fdb_entry(tunnel_ip, port):
    """The RPC form of a port's entry: [tunnel_ip, mac_address, [fixed IPs]]."""
    return [tunnel_ip, port['mac_address'],
            [ip['ip_address'] for ip in port.get('fixed_ips') or ()]]


def fdb_entries(conn, network_ids, host):
    """{network_id: [entry]} of the overlay networks ``network_ids``: the
    ports bound to hosts other than ``host`` whose agent has a tunnel_ip
    (the answer to get_fdb_entries)."""
    out = {network_id: [] for network_id in network_ids}
    if not network_ids:
        return out
    agents_table = core_models.agents
    rows = conn.execute(
        sa.select(ports.c.network_id, ports.c.mac_address, ports.c.fixed_ips,
                  agents_table.c.tunnel_ip)
        .join(agents_table, agents_table.c.host == ports.c.binding_host_id)
        .join(segments, segments.c.network_id == ports.c.network_id)
        .where(ports.c.network_id.in_(list(network_ids)), ports.c.binding_host_id != '',
               ports.c.binding_host_id != host, agents_table.c.tunnel_ip != '',
               agents_table.c.agent_type.in_(VIF_TYPES),
               segments.c.network_type.in_(OVERLAY_TYPES))
        .order_by(ports.c.network_id, ports.c.mac_address)).all()
    for r in rows:
        out[r.network_id].append(fdb_entry(r.tunnel_ip, {
            'mac_address': r.mac_address, 'fixed_ips': common.loads(r.fixed_ips, [])}))
    return out
