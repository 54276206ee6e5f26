"""The bridges service plugin (entry point ``bridges``): remote-site
bridges, /v2.0/remote-bridges (naas.lib.definitions.remote_bridge), and
physical-network bridges, /v2.0/physical-bridges
(naas.lib.definitions.physical_bridge).

A remote bridge joins a project's network to a remote site's network at
layer 2: its host's L2 driver (naas.agent.l2.hooks.RemoteTunnels) puts a
tunnel to the remote VTEP (``remote_ip``, VNI ``segmentation_id``) into the
network.  A physical bridge joins a network to a VLAN (or the untagged
traffic) of a physical network of one host (hooks.PhysicalBridges).
The plugin keeps the bridges (remote_bridges.py, physical_bridges.py: rows,
checks, the choice of host), adds each network's bridges to the port
details of the bridging host (a ResourceExtender of the core plugin),
casts to that host's agent when they change (notify.py), stores the status
the agent reports (naas.rpc.bridges_api, topic naas-bridges), keeps the
bridges' ids out of the tenant segment pools (segments.add_reservations),
and moves the remote bridges of dead hosts (failover, remote_bridges.py).
"""
import logging

from naas.common import context as naas_context
from naas.common import exceptions
from naas.common import periodic
from naas.conf import CONF
from naas.db import api as db_api
from naas.lib.definitions import physical_bridge as physical_bridge_def
from naas.lib.definitions import remote_bridge as remote_bridge_def
from naas.plugins import core as core_plugin
from naas.plugins.bridges import notify
from naas.plugins.bridges import physical_bridges
from naas.plugins.bridges import remote_bridges
from naas.plugins.l2 import segments

LOG = logging.getLogger(__name__)


class BridgesExtender(core_plugin.ResourceExtender):
    """``remotes`` (hooks.RemoteTunnels) and ``physical_bridges``
    (hooks.PhysicalBridges) in port details."""

    def extend_port_details(self, conn, details):
        remote_bridges.remotes_for_details(conn, details)
        physical_bridges.for_details(conn, details)


class BridgePlugin(core_plugin.ServicePlugin):
    resources = (remote_bridge_def, physical_bridge_def)
    extensions = (remote_bridge_def.ALIAS, physical_bridge_def.ALIAS)

    def __init__(self):
        self.core = None
        self.notifier = notify.Notifier()

    def attach(self, core_plugin):
        super().attach(core_plugin)
        core_plugin.add_extender(BridgesExtender())
        core_plugin.add_delete_hook('network', self._before_network_delete)
        segments.add_reservations(remote_bridges.reservations)
        segments.add_reservations(physical_bridges.reservations)

    def start_rpc_listeners(self):
        """The agents' status casts (topic naas-bridges, load-balanced), and
        the failover check (every agent_down_time / 4 s, the first after
        agent_down_time, as the L3 one)."""
        import oslo_messaging as messaging

        from naas import rpc
        from naas.rpc import bridges_api
        target = messaging.Target(topic=bridges_api.BRIDGES_TOPIC, server=CONF.host)
        server = rpc.get_server(target, [bridges_api.BridgesEndpoint(self)])
        server.start()
        if not CONF.bridges.allow_automatic_failover:
            return [server]
        failover = periodic.Periodic('bridges-failover', self.reschedule_dead_hosts,
                                     interval=max(1.0, CONF.agent_down_time / 4.0),
                                     initial_delay=CONF.agent_down_time).start()
        return [server, failover]

    def _before_network_delete(self, context, network):
        """A network's bridges go with it (their ids back to the pools)."""
        conn = context.connection
        for row in remote_bridges.of_network(conn, network.id):
            remote_bridges.delete(conn, row)
        for row in physical_bridges.of_network(conn, network.id):
            physical_bridges.delete(conn, row)

    # ---- remote bridges ----------------------------------------------------------

    def create_remote_bridge(self, context, remote_bridge):
        body = remote_bridge
        conn = context.connection
        network = self.core.get_network(context, body['network_id'])  # 404 if not visible
        if not context.is_admin and network['project_id'] != body['project_id']:
            raise exceptions.NetworkNotFound(net_id=body['network_id'])
        body['remote_ip'] = remote_bridges.check_remote_ip(conn, body['remote_ip'])
        remote_bridges.check_vni(self.core, context, body['segmentation_id'])
        host = remote_bridges.choose_host(conn, body['network_id'], body['remote_ip'],
                                          body['encapsulation'], body.get('host'))
        bridge_id = remote_bridges.insert(conn, body, host)
        self.notifier.bridges_changed(context, body['network_id'], host)
        return self.get_remote_bridge(context, bridge_id)

    def get_remote_bridge(self, context, id):
        return remote_bridges.to_dicts([remote_bridges.get_row(context, id)])[0]

    def get_remote_bridges(self, context, filters=None, sorts=(), limit=None,
                           marker=None, page_reverse=False):
        return remote_bridges.to_dicts(remote_bridges.select(context, filters, sorts, limit,
                                                             marker, page_reverse))

    def update_remote_bridge(self, context, id, remote_bridge, expected_revision=None):
        row = remote_bridges.get_row(context, id, lock=True)
        remote_bridges.update(context.connection, id, remote_bridge, expected_revision)
        if 'remote_entries' in remote_bridge:
            self.notifier.bridges_changed(context, row.network_id, row.host)
        return self.get_remote_bridge(context, id)

    def delete_remote_bridge(self, context, id):
        row = remote_bridges.get_row(context, id, lock=True)
        remote_bridges.delete(context.connection, row)
        self.notifier.bridges_changed(context, row.network_id, row.host)

    # ---- physical bridges --------------------------------------------------------

    def create_physical_bridge(self, context, physical_bridge):
        body = physical_bridge
        conn = context.connection
        self.core.get_network(context, body['network_id'])  # 404 if not visible
        physical_bridges.check(conn, body['network_id'], body['host'],
                               body['physical_network'],
                               body['segmentation_id'] or physical_bridges.FLAT)
        bridge_id = physical_bridges.insert(conn, body)
        self.notifier.bridges_changed(context, body['network_id'], body['host'])
        return self.get_physical_bridge(context, bridge_id)

    def get_physical_bridge(self, context, id):
        return physical_bridges.to_dicts([physical_bridges.get_row(context, id)])[0]

    def get_physical_bridges(self, context, filters=None, sorts=(), limit=None,
                             marker=None, page_reverse=False):
        return physical_bridges.to_dicts(physical_bridges.select(
            context, filters, sorts, limit, marker, page_reverse))

    def update_physical_bridge(self, context, id, physical_bridge, expected_revision=None):
        physical_bridges.get_row(context, id, lock=True)
        physical_bridges.update(context.connection, id, physical_bridge, expected_revision)
        return self.get_physical_bridge(context, id)

    def delete_physical_bridge(self, context, id):
        row = physical_bridges.get_row(context, id, lock=True)
        physical_bridges.delete(context.connection, row)
        self.notifier.bridges_changed(context, row.network_id, row.host)

    # ---- failover ------------------------------------------------------------------

    def reschedule_dead_hosts(self):
        """Move the remote bridges of hosts without an alive L2 agent, and
        mark the bridges left on such hosts (physical ones, remote ones no
        other host can take) DOWN; returns {bridge_id:
        new host} of the moved ones."""
        return db_api.retry(self._reschedule_dead_hosts, naas_context.get_admin_context())

    def _reschedule_dead_hosts(self, context):
        conn = context.connection
        moved = {}
        for host in remote_bridges.dead_hosts(conn):
            for row, new_host in remote_bridges.move_from(conn, host):
                LOG.warning('L2 agent of %s is dead: remote bridge %s moved to %s',
                            host, row.id, new_host)
                self.notifier.bridges_changed(context, row.network_id, host)
                self.notifier.bridges_changed(context, row.network_id, new_host)
                moved[row.id] = new_host
        for table in (remote_bridges.remote_bridges, physical_bridges.physical_bridges):
            remote_bridges.mark_down(conn, table, remote_bridges.dead_hosts(conn, table))
        return moved

    # ---- naas.rpc.bridges_api.BridgesEndpoint ------------------------------------

    def update_bridge_status(self, host, statuses):
        def set_status(ctx):
            remote_bridges.set_status(ctx.connection, host, statuses)
            physical_bridges.set_status(ctx.connection, host, statuses)
        db_api.retry(set_status, naas_context.get_admin_context())
