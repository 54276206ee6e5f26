"""Server -> agent casts: port, network and tunnel endpoint changes.

Sent only after the DB transaction that made the change has committed
(naas.db.api.transaction runs context.after_commit callbacks).

Version history (client and endpoint):
    1.0 - port_update, port_delete, network_update, network_delete,
          endpoints_update
    1.1 - dhcp_network_changed (to the DHCP hosts of a network)
    1.2 - security_groups_updated (to the hosts with ports that use them)
    1.3 - remote_bridges_updated (to the host that terminates a network's
          remote-site bridges)
    1.4 - fdb_update (L2 population: to the hosts of a network whose agent
          reports l2_population); network_update and endpoints_update go
          to the hosts of the network (server=host) instead of every agent
          (their form is 1.0's: an older agent serves them as before)
"""
import logging

import oslo_messaging as messaging

from naas import rpc

LOG = logging.getLogger(__name__)


class AgentNotifyAPI(rpc.Client):
    """Client side, used by naas-server; capped by [upgrade_levels] agent.

    Under a cap of 1.0, dhcp_network_changed sends nothing: an agent older
    than 1.1 runs no DHCP (it cannot ask get_dhcp_networks), so no agent
    that would hear the cast exists.
    """

    TOPIC = rpc.AGENT_TOPIC
    VERSION = '1.4'
    UPGRADE_LEVEL = 'agent'

    def port_update(self, port, host=None):
        """A port changed (admin state, binding, addresses): its host rewires it."""
        self.cast('1.0', 'port_update', host=host, port=port)

    def port_delete(self, port_id, host=None):
        self.cast('1.0', 'port_delete', host=host, port_id=port_id)

    def network_update(self, network, host=None):
        """A network changed (admin state, MTU): the agent of ``host`` (no
        host: every agent) re-reads its ports of it."""
        self.cast('1.0', 'network_update', host=host, network=network)

    def network_delete(self, network_id):
        self.cast('1.0', 'network_delete', network_id=network_id)

    def endpoints_update(self, network_id, endpoints, host=None):
        """The hosts that have ports on a network: [{host, tunnel_ip}] (the
        unicast flooding list of overlay networks), to the agent of
        ``host`` (no host: every agent)."""
        self.cast('1.0', 'endpoints_update', host=host, network_id=network_id,
                  endpoints=endpoints)

    def fdb_update(self, network_id, add, remove, host, endpoints=None):
        """L2 population: the ports of a network on other hosts that came,
        moved or changed (``add``) and went (``remove``), as lists of
        [tunnel_ip, mac_address, [ip_addresses]], to the agent of ``host``
        (one that reports l2_population and has ports on the network);
        ``endpoints``, when the network's hosts changed too, is the new
        flooding list (as endpoints_update's), so that one message carries
        both.  Under a cap of 1.3 the entries are not sent (an older agent
        floods and learns) and the endpoints go as endpoints_update."""
        if not self.can_send_version('1.4'):
            if endpoints is not None:
                self.endpoints_update(network_id, endpoints, host=host)
            return
        kwargs = {} if endpoints is None else {'endpoints': endpoints}
        self.cast('1.4', 'fdb_update', host=host, network_id=network_id, add=add,
                  remove=remove, **kwargs)

    def dhcp_network_changed(self, network_id, host):
        """A port, subnet or the network itself changed: the DHCP agent of
        ``host`` asks get_dhcp_networks for it again and reloads dnsmasq."""
        if not self.can_send_version('1.1'):
            LOG.debug('dhcp_network_changed(%s) not sent: [upgrade_levels] agent = %s',
                      network_id, self.version_cap)
            return
        self.cast('1.1', 'dhcp_network_changed', host=host, network_id=network_id)

    def security_groups_updated(self, security_group_ids, host):
        """Rules, members or address groups of these groups changed: the
        agent of ``host`` (one with ports whose filters use them) asks
        get_security_group_info again.  Under a cap of 1.1 nothing is sent:
        an older agent filters nothing."""
        if not self.can_send_version('1.2'):
            return
        self.cast('1.2', 'security_groups_updated', host=host,
                  security_group_ids=security_group_ids)

    def remote_bridges_updated(self, network_id, host):
        """The remote-site bridges of a network that ``host`` terminates
        changed (created, deleted, entries): its agent reads its ports of
        the network again (their details carry the remotes).  Under a cap
        of 1.2, network_update is cast to ``host`` instead (its agent
        re-reads its ports of the network: the same result)."""
        if not self.can_send_version('1.3'):
            self.network_update({'id': network_id}, host=host)
            return
        self.cast('1.3', 'remote_bridges_updated', host=host, network_id=network_id)


class AgentEndpoint:
    """Agent side: hands each cast to the agent (naas.agent.agent.Agent).
    Serves every 1.x message up to its target version."""

    target = messaging.Target(version='1.4')

    def __init__(self, agent):
        self.agent = agent

    def port_update(self, context, port):
        # When the cast arrived, apart from when the agent's loop applies it.
        LOG.debug('port_update cast received for port %s', port['id'])
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

    def security_groups_updated(self, context, security_group_ids):
        self.agent.on_security_groups_updated(security_group_ids)

    def remote_bridges_updated(self, context, network_id):
        self.agent.on_remote_bridges_updated(network_id)

    def fdb_update(self, context, network_id, add, remove, endpoints=None):
        self.agent.on_fdb_update(network_id, add, remove, endpoints)
