"""Agent -> server RPC of the remote-bridges extension: the status of the
tunnels an agent made.

The agent of a bridging host casts, after each ``set_remotes`` of its L2
driver (naas.agent.l2.hooks.RemoteTunnels), the status of every bridge it
handled: ACTIVE (the tunnel is on the host) or ERROR (the driver failed).
Whichever naas-server consumes the cast stores it (naas.plugins.bridges),
so casts are load-balanced over the servers, never fanned out.  A server
without the bridges plugin has no listener on the topic: the casts are
dropped, which the agent does not mind.

Version history (BridgesAPI / BridgesEndpoint):
    1.0 - update_bridge_status
"""
import oslo_messaging as messaging

from naas import rpc

BRIDGES_TOPIC = 'naas-bridges'


class BridgesAPI(rpc.Client):
    """Client side, used by naas-agent; capped by [upgrade_levels] bridges."""

    TOPIC = BRIDGES_TOPIC
    VERSION = '1.0'
    UPGRADE_LEVEL = 'bridges'

    def __init__(self, host):
        super().__init__()
        self.host = host

    def update_bridge_status(self, context, statuses):
        """``statuses``: {bridge_id: 'ACTIVE' | 'ERROR'} of bridges this
        host terminates."""
        cctxt = self.client.prepare(version='1.0')
        cctxt.cast(context, 'update_bridge_status', host=self.host, statuses=statuses)


class BridgesEndpoint:
    """Server side, in naas-server (started by the bridges plugin's
    start_rpc_listeners); ``handler.update_bridge_status(host, statuses)``
    stores them in one transaction."""

    target = messaging.Target(version='1.0')

    def __init__(self, handler):
        self.handler = handler

    def update_bridge_status(self, context, host, statuses):
        return self.handler.update_bridge_status(host, statuses)
