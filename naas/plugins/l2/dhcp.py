"""DHCP, server side: which agents serve each network, their DHCP ports,
what a DHCP agent asks (get_dhcp_networks) and the casts it gets.

* Scheduling: a network with a DHCP-enabled subnet is bound
  (l2_dhcp_agent_bindings) to ``[DEFAULT] dhcp_agents_per_network`` alive,
  enabled L2 agents that report ``configurations {'dhcp': true}`` and can
  realise the network's segment, those serving the fewest networks first
  (ties: host name).  It happens when a DHCP-enabled subnet is created or
  updated, and when an agent syncs (networks left unscheduled because no
  DHCP agent was alive then go to it).  A network with no DHCP-enabled
  subnet left is unbound and its DHCP ports are deleted.
* Failover (``[DEFAULT] allow_automatic_dhcp_failover``, on by default): a
  periodic check in the server (every agent_down_time / 4 s, the first
  after agent_down_time) unbinds the networks of DHCP agents dead for
  agent_down_time, deletes those hosts' DHCP ports and schedules the
  networks again among the alive agents (Neutron's network
  auto-rescheduling).  Nothing moves while no DHCP agent at all is alive
  (the server's or the broker's trouble, not the agents').  An agent that
  comes back gets networks again when it syncs (those short of
  dhcp_agents_per_network) and drops its dnsmasq for the others.
  With dhcp_agents_per_network >= 2 every dnsmasq of a network has the same
  hosts (each port's MAC -> fixed IP), so a client gets the same lease from
  any of them: losing one agent costs nothing, not even the failover time.
* The DHCP port: one per (network, bound host), made by the server when the
  host's agent asks for its networks: device_owner ``network:dhcp``,
  device_id ``dhcp-<host>``, binding:host_id the host, one fixed IP per
  DHCP-enabled subnet.  It is an ordinary port (API, IPAM, L2 wiring).
* Casts: every change of a port, subnet or network of a bound network casts
  ``dhcp_network_changed(network_id)`` to its DHCP hosts after commit (one
  per host and network per transaction); the agent asks
  get_dhcp_networks(host, [network_id]) again and reloads dnsmasq.
"""
import logging
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import context as naas_context
from naas.common import exceptions
from naas.common import periodic
from naas.conf import CONF
from naas.db import agents as db_agents
from naas.db import api as db_api
from naas.db import common
from naas.db import models as core_models
from naas.lib import constants
from naas.plugins.l2 import agents
from naas.plugins.l2 import models
from naas.plugins.l2 import segments

LOG = logging.getLogger(__name__)

bindings = models.dhcp_agent_bindings
ports = core_models.ports
networks = core_models.networks
subnets = core_models.subnets


def device_id(host):
    return 'dhcp-%s' % host


def is_dhcp_agent(row, now=None):
    return (row.agent_type in agents.VIF_TYPES and row.admin_state_up
            and db_agents.is_alive(row, now)
            and bool(common.loads(row.configurations, {}).get('dhcp')))


def dhcp_subnet_ids(conn, network_id):
    return [r.id for r in conn.execute(
        sa.select(subnets.c.id)
        .where(subnets.c.network_id == network_id, subnets.c.enable_dhcp.is_(True))
        .order_by(subnets.c.id))]


def hosts_of(conn, network_ids):
    """{network_id: [host]} of the DHCP agents bound to each network."""
    out = {}
    for row in db_agents.bound(conn, bindings.c.network_id, bindings.c.agent_id,
                               network_ids):
        out.setdefault(row.key, []).append(row.host)
    return out


def _candidates(conn, network_id, bound_ids):
    """DHCP agents that may take ``network_id``, least loaded first."""
    rows = db_agents.enabled_with_load(conn, agents.VIF_TYPES, bindings.c.agent_id)
    segment = segments.of_network(conn, network_id)
    now = time.time()
    ok = [r for r in rows if r.id not in bound_ids and is_dhcp_agent(r, now)
          and agents.can_bind(r, segment)]
    return sorted(ok, key=lambda r: (r.load, r.host))


def schedule(conn, network_id, prefer_agent_id=None):
    """Bind ``network_id`` to DHCP agents as its subnets say: up to
    dhcp_agents_per_network when it has a DHCP-enabled subnet, none when
    not.  Returns (hosts bound now, hosts unbound)."""
    bound = {row.agent_id: row.host for row in db_agents.bound(
        conn, bindings.c.network_id, bindings.c.agent_id, [network_id])}
    if not dhcp_subnet_ids(conn, network_id):
        if bound:
            conn.execute(bindings.delete().where(bindings.c.network_id == network_id))
        return [], sorted(bound.values())
    missing = CONF.dhcp_agents_per_network - len(bound)
    if missing > 0:
        candidates = _candidates(conn, network_id, set(bound))
        if prefer_agent_id:
            candidates.sort(key=lambda r: r.id != prefer_agent_id)
        for row in candidates[:missing]:
            try:
                conn.execute(bindings.insert().values(network_id=network_id,
                                                      agent_id=row.id))
            except sa_exc.IntegrityError as e:   # bound meanwhile: run it again
                raise exceptions.DBRetry() from e
            bound[row.id] = row.host
            LOG.info('network %s scheduled to the DHCP agent of %s', network_id, row.host)
    return sorted(bound.values()), []


def _unscheduled(conn):
    """Networks with a DHCP-enabled subnet and fewer bindings than wanted."""
    counts = (sa.select(bindings.c.network_id, sa.func.count().label('n'))
              .group_by(bindings.c.network_id).subquery())
    rows = conn.execute(
        sa.select(subnets.c.network_id).distinct()
        .outerjoin(counts, counts.c.network_id == subnets.c.network_id)
        .where(subnets.c.enable_dhcp.is_(True),
               sa.func.coalesce(counts.c.n, 0) < CONF.dhcp_agents_per_network))
    return sorted(r.network_id for r in rows)


def dead_bindings(conn, now=None):
    """[(network_id, agent_id, host)] of the bindings to DHCP agents dead
    for agent_down_time, or [] while no DHCP agent is alive at all."""
    now = now or time.time()
    rows = db_agents.of_types(conn, agents.VIF_TYPES)
    if not any(is_dhcp_agent(r, now) for r in rows):
        return []
    dead = {r.id: r.host for r in rows if not db_agents.is_alive(r, now)}
    if not dead:
        return []
    return [(r.network_id, r.agent_id, dead[r.agent_id]) for r in conn.execute(
        sa.select(bindings.c.network_id, bindings.c.agent_id)
        .where(bindings.c.agent_id.in_(list(dead)))
        .order_by(bindings.c.network_id, bindings.c.agent_id))]


# ---- casts -----------------------------------------------------------------

class _Casts:
    """The dhcp_network_changed casts of one transaction, sent once each
    after commit (an after_commit callback that collects them)."""

    def __init__(self, api):
        self.api = api
        self.pending = []
        self.quiet = set()

    def add(self, host, network_id):
        key = (host, network_id)
        if key not in self.pending and key not in self.quiet:
            self.pending.append(key)

    def __call__(self):
        for host, network_id in self.pending:
            try:
                self.api.dhcp_network_changed(network_id, host=host)
            except Exception:
                LOG.exception('dhcp_network_changed(%s) to %s not sent', network_id, host)


class DHCP:
    """What the core plugin (naas.plugins.l2.plugin) calls."""

    def __init__(self, plugin):
        self.plugin = plugin

    @property
    def api(self):
        """The agents' RPC client, shared with the plugin's notifier."""
        return self.plugin.notifier.api

    def _casts(self, context):
        for cb in context.after_commit:
            if isinstance(cb, _Casts):
                return cb
        cb = _Casts(self.api)
        context.after_commit.append(cb)
        return cb

    def notify(self, context, network_id, hosts=None):
        """Cast dhcp_network_changed to the DHCP hosts of ``network_id``."""
        if hosts is None:
            hosts = hosts_of(context.connection, [network_id]).get(network_id, [])
        if hosts:
            casts = self._casts(context)
            for host in hosts:
                casts.add(host, network_id)

    # ---- hooks of the core plugin (in the request's transaction) -----------

    def subnets_changed(self, context, network_id):
        """A subnet of ``network_id`` was created, updated or deleted."""
        bound, unbound = schedule(context.connection, network_id)
        if unbound:
            for port in self._dhcp_ports(context.connection, network_id):
                self.plugin.delete_service_port(context, port.id)
        self.notify(context, network_id, sorted(set(bound) | set(unbound)))

    def port_changed(self, context, port):
        self.notify(context, port['network_id'])

    def network_changed(self, context, network_id):
        self.notify(context, network_id)

    # ---- failover ------------------------------------------------------------

    def start_failover(self):
        """The periodic failover check (see the module docstring); None
        when allow_automatic_dhcp_failover is off."""
        if not CONF.allow_automatic_dhcp_failover:
            return None
        return periodic.Periodic('dhcp-failover', self.reschedule_dead_agents,
                                 interval=max(1.0, CONF.agent_down_time / 4.0),
                                 initial_delay=CONF.agent_down_time).start()

    def reschedule_dead_agents(self):
        """Move the networks of dead DHCP agents; returns {network_id:
        [hosts bound after]} of the networks it moved."""
        return db_api.retry(self._reschedule_dead_agents,
                            naas_context.get_admin_context())

    def _reschedule_dead_agents(self, context):
        conn = context.connection
        moved = {}
        for network_id, agent_id, host in dead_bindings(conn):
            conn.execute(bindings.delete().where(bindings.c.network_id == network_id,
                                                 bindings.c.agent_id == agent_id))
            for port in self._dhcp_ports(conn, network_id, host):
                self.plugin.delete_service_port(context, port.id)
            bound, _ = schedule(conn, network_id)
            LOG.warning('DHCP agent of %s is dead: network %s now served by %s',
                        host, network_id, ', '.join(bound) or 'no agent')
            self.notify(context, network_id, bound)
            moved[network_id] = bound
        return moved

    @staticmethod
    def _dhcp_ports(conn, network_id, host=None):
        stmt = (sa.select(ports.c.id, ports.c.device_id, ports.c.fixed_ips,
                          ports.c.binding_host_id)
                .where(ports.c.network_id == network_id,
                       ports.c.device_owner == constants.DEVICE_OWNER_DHCP)
                .order_by(ports.c.created_at, ports.c.id))
        if host is not None:
            stmt = stmt.where(ports.c.device_id == device_id(host))
        return conn.execute(stmt).all()

    # ---- what an agent asks ------------------------------------------------

    def get_dhcp_networks(self, host, network_ids=None):
        """The networks ``host`` serves DHCP for (all, or those of
        ``network_ids`` that it serves), each with its subnets, its DHCP port
        on this host and every port's MAC and fixed IPs."""
        admin = naas_context.get_admin_context
        ids = db_api.retry(lambda ctx: self._networks_of(ctx, host, network_ids), admin())
        out = []
        for network_id in ids:
            try:
                net = db_api.retry(lambda ctx: self._network(ctx, host, network_id), admin())
            except Exception:
                LOG.exception('DHCP network %s for %s', network_id, host)
                continue
            if net is not None:
                out.append(net)
        return out

    def _networks_of(self, context, host, network_ids):
        conn = context.connection
        agent = next(iter(db_agents.of_types(conn, agents.VIF_TYPES, host)), None)
        if agent is None:
            return []
        if network_ids is None and is_dhcp_agent(agent):
            # Networks no DHCP agent took yet (none was alive): this one may.
            for network_id in _unscheduled(conn):
                bound, _ = schedule(conn, network_id, prefer_agent_id=agent.id)
                for other in bound:
                    if other != host:
                        self.notify(context, network_id, [other])
        stmt = sa.select(bindings.c.network_id).where(bindings.c.agent_id == agent.id)
        if network_ids is not None:
            stmt = stmt.where(bindings.c.network_id.in_(list(network_ids)))
        return sorted(r.network_id for r in conn.execute(stmt))

    def _network(self, context, host, network_id):
        conn = context.connection
        # The agent is asking: no cast back to it for what happens here.
        self._casts(context).quiet.add((host, network_id))
        net = conn.execute(sa.select(networks.c.id, networks.c.mtu, networks.c.admin_state_up)
                           .where(networks.c.id == network_id)).first()
        if net is None:
            return None
        port = self._ensure_port(context, host, network_id)
        subnet_views = [
            {'id': s.id, 'cidr': s.cidr, 'ip_version': s.ip_version,
             'gateway_ip': s.gateway_ip, 'enable_dhcp': bool(s.enable_dhcp),
             'ipv6_address_mode': s.ipv6_address_mode, 'ipv6_ra_mode': s.ipv6_ra_mode,
             'dns_nameservers': common.loads(s.dns_nameservers, []),
             'host_routes': common.loads(s.host_routes, [])}
            for s in conn.execute(sa.select(subnets)
                                  .where(subnets.c.network_id == network_id)
                                  .order_by(subnets.c.id))]
        port_views = [
            {'id': r.id, 'mac_address': r.mac_address,
             'fixed_ips': common.loads(r.fixed_ips, [])}
            for r in conn.execute(sa.select(ports.c.id, ports.c.mac_address, ports.c.fixed_ips)
                                  .where(ports.c.network_id == network_id))]
        return {'id': net.id, 'mtu': net.mtu, 'admin_state_up': bool(net.admin_state_up),
                'subnets': subnet_views, 'port': port, 'ports': port_views}

    def _ensure_port(self, context, host, network_id):
        """The DHCP port of ``host`` on the network, made or given the
        addresses it needs (one per DHCP-enabled subnet)."""
        conn = context.connection
        want = dhcp_subnet_ids(conn, network_id)
        if not want:
            return None
        mine = self._dhcp_ports(conn, network_id, host)
        for extra in mine[1:]:
            self.plugin.delete_service_port(context, extra.id)
        if not mine:
            port = self._create_port(context, host, network_id, want)
        else:
            port = self.plugin.get_port(context.elevated(), mine[0].id)
            have = {ip['subnet_id'] for ip in port['fixed_ips']}
            if have != set(want) or port['binding:host_id'] != host:
                fixed = [ip for ip in port['fixed_ips'] if ip['subnet_id'] in want]
                fixed += [{'subnet_id': s} for s in want if s not in have]
                port = self.plugin.update_port(context.elevated(), port['id'], {
                    'fixed_ips': fixed, 'binding:host_id': host})
        return {k: port[k] for k in ('id', 'mac_address', 'fixed_ips', 'admin_state_up',
                                     'binding:host_id', 'binding:vif_type',
                                     'binding:vif_details', 'device_owner')}

    def _create_port(self, context, host, network_id, subnet_ids):
        project = context.connection.execute(
            sa.select(networks.c.project_id).where(networks.c.id == network_id)).scalar()
        port = self.plugin.create_service_port(context, project, {
            'network_id': network_id, 'name': '',
            'device_owner': constants.DEVICE_OWNER_DHCP, 'device_id': device_id(host),
            'fixed_ips': [{'subnet_id': s} for s in subnet_ids],
            'binding:host_id': host})
        LOG.info('DHCP port %s of %s on network %s', port['id'], host, network_id)
        return port
