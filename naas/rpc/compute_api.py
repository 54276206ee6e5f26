"""Server -> compute host casts: a VIF's port became ACTIVE.

nova-compute waits for "network-vif-plugged" before it starts an instance;
a compute host running naas.compute listens on topic ``naas-compute`` with
``server=<its host>`` and gets ``vif_plugged`` when the agent has wired the
port (status ACTIVE), ``vif_unplugged`` when it went DOWN.

Version history (client and endpoint):
    1.0 - vif_plugged, vif_unplugged
"""
import oslo_messaging as messaging

from naas import rpc

COMPUTE_TOPIC = 'naas-compute'


class ComputeNotifyAPI(rpc.Client):
    """Client side, used by naas-server; capped by [upgrade_levels] compute."""

    TOPIC = COMPUTE_TOPIC
    VERSION = '1.0'
    UPGRADE_LEVEL = 'compute'

    def vif_plugged(self, host, port_id):
        self.cast('1.0', 'vif_plugged', host=host, port_id=port_id)

    def vif_unplugged(self, host, port_id):
        self.cast('1.0', 'vif_unplugged', host=host, port_id=port_id)


class ComputeEndpoint:
    """Compute side: ``callback(event, port_id)`` with event 'network-vif-plugged'
    or 'network-vif-unplugged' (nova's event names)."""

    target = messaging.Target(version='1.0')

    def __init__(self, callback):
        self.callback = callback

    def vif_plugged(self, context, port_id):
        self.callback('network-vif-plugged', port_id)

    def vif_unplugged(self, context, port_id):
        self.callback('network-vif-unplugged', port_id)


def listen(host, callback):
    """Start a compute listener for ``host``; returns the RPC server."""
    target = messaging.Target(topic=COMPUTE_TOPIC, server=host)
    server = rpc.get_server(target, [ComputeEndpoint(callback)])
    server.start()
    return server
