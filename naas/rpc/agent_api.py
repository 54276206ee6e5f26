"""Server -> agent casts: port, network and tunnel endpoint changes.

Sent only after the DB transaction that made the change has committed
(naas.db.api.transaction runs context.after_commit callbacks).

Version history (client and endpoint):
    1.0 - port_update, port_delete, network_update, network_delete,
          endpoints_update
    1.1 - dhcp_network_changed (to the DHCP hosts of a network)
"""
import oslo_messaging as messaging

from naas import rpc


class AgentNotifyAPI:
    """Client side, used by naas-server."""

    VERSION = '1.1'

    def __init__(self):
        target = messaging.Target(topic=rpc.AGENT_TOPIC, version=self.VERSION)
        self.client = rpc.get_client(target)

    def _cast(self, method, host=None, version='1.0', **kwargs):
        if host:
            cctxt = self.client.prepare(version=version, server=host)
        else:
            cctxt = self.client.prepare(version=version, fanout=True)
        cctxt.cast({}, method, **kwargs)

    def port_update(self, port, host=None):
        """A port changed (admin state, binding, addresses): its host rewires it."""
        self._cast('port_update', host=host, port=port)

    def port_delete(self, port_id, host=None):
        self._cast('port_delete', host=host, port_id=port_id)

    def network_update(self, network):
        self._cast('network_update', network=network)

    def network_delete(self, network_id):
        self._cast('network_delete', network_id=network_id)

    def endpoints_update(self, network_id, endpoints):
        """The hosts that have ports on a network: [{host, tunnel_ip}] (the
        unicast flooding list of overlay networks)."""
        self._cast('endpoints_update', network_id=network_id, endpoints=endpoints)

    def dhcp_network_changed(self, network_id, host):
        """A port, subnet or the network itself changed: the DHCP agent of
        ``host`` asks get_dhcp_networks for it again and reloads dnsmasq."""
        self._cast('dhcp_network_changed', host=host, version='1.1',
                   network_id=network_id)


class AgentEndpoint:
    """Agent side: hands each cast to the agent (naas.agent.agent.Agent)."""

    target = messaging.Target(version='1.1')

    def __init__(self, agent):
        self.agent = agent

    def port_update(self, context, port):
        self.agent.on_port_update(port)

    def port_delete(self, context, port_id):
        self.agent.on_port_delete(port_id)

    def network_update(self, context, network):
        self.agent.on_network_update(network)

    def network_delete(self, context, network_id):
        self.agent.on_network_delete(network_id)

    def endpoints_update(self, context, network_id, endpoints):
        self.agent.on_endpoints_update(network_id, endpoints)

    def dhcp_network_changed(self, context, network_id):
        self.agent.on_dhcp_network_changed(network_id)
