"""The bridges service plugin (entry point ``bridges``): remote-site
bridges, /v2.0/remote-bridges (naas.lib.definitions.remote_bridge).

A bridge joins a project's network to a remote site's network at layer 2:
its host's L2 driver (naas.agent.l2.hooks.RemoteTunnels) puts a tunnel to
the remote VTEP (``remote_ip``, VNI ``segmentation_id``) into the network.
The plugin keeps the bridges (remote_bridges.py: rows, checks, the choice
of host), adds each network's remotes to the port details of the bridging
host (a ResourceExtender of the core plugin), casts to that host's agent
when they change (notify.py), and stores the status the agent reports
(naas.rpc.bridges_api, topic naas-bridges).
"""
import logging

from naas.common import context as naas_context
from naas.common import exceptions
from naas.conf import CONF
from naas.db import api as db_api
from naas.lib.definitions import remote_bridge as remote_bridge_def
from naas.plugins import core as core_plugin
from naas.plugins.bridges import notify
from naas.plugins.bridges import remote_bridges

LOG = logging.getLogger(__name__)


class RemotesExtender(core_plugin.ResourceExtender):
    """``remotes`` in port details (hooks.RemoteTunnels)."""

    def extend_port_details(self, conn, details):
        remote_bridges.remotes_for_details(conn, details)


class BridgePlugin(core_plugin.ServicePlugin):
    resources = (remote_bridge_def,)
    extensions = (remote_bridge_def.ALIAS,)

    def __init__(self):
        self.core = None
        self.notifier = notify.Notifier()

    def attach(self, core_plugin):
        super().attach(core_plugin)
        core_plugin.add_extender(RemotesExtender())

    def start_rpc_listeners(self):
        """The agents' status casts (topic naas-bridges, load-balanced)."""
        import oslo_messaging as messaging

        from naas import rpc
        from naas.rpc import bridges_api
        target = messaging.Target(topic=bridges_api.BRIDGES_TOPIC, server=CONF.host)
        server = rpc.get_server(target, [bridges_api.BridgesEndpoint(self)])
        server.start()
        return [server]

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
        remote_bridges.delete(context.connection, id)
        self.notifier.bridges_changed(context, row.network_id, row.host)

    # ---- naas.rpc.bridges_api.BridgesEndpoint ------------------------------------

    def update_bridge_status(self, host, statuses):
        db_api.retry(lambda ctx: remote_bridges.set_status(ctx.connection, host, statuses),
                     naas_context.get_admin_context())
