"""Casts to the agents after a change commits (naas.rpc.agent_api).

Each method queues its cast on ``context.after_commit``: a request that
fails sends nothing, and agents never hear of rows they cannot read yet.
"""
import logging

from naas.plugins.l2 import agents as l2_agents
from naas.rpc import agent_api
from naas.rpc import notifier

LOG = logging.getLogger(__name__)


class Notifier(notifier.AfterCommitNotifier):
    client_class = agent_api.AgentNotifyAPI

    def port_changed(self, context, port, old_host=''):
        """Casts for a created or updated port: nothing for an unbound one."""
        host = port.get('binding:host_id') or ''
        old_host = old_host or ''
        if old_host and old_host != host:
            self._later(context, 'port_delete', port['id'], host=old_host)
        if host:
            self._later(context, 'port_update', _wire_view(port), host=host)
        if old_host != host:
            self.endpoints_changed(context, port['network_id'])

    def port_deleted(self, context, port):
        host = port.get('binding:host_id')
        if host:
            self._later(context, 'port_delete', port['id'], host=host)
            self.endpoints_changed(context, port['network_id'])

    def endpoints_changed(self, context, network_id):
        endpoints = l2_agents.network_endpoints(context.connection, {network_id})
        self._later(context, 'endpoints_update', network_id,
                    endpoints.get(network_id, []))

    def network_changed(self, context, network):
        self._later(context, 'network_update', {
            k: network[k] for k in ('id', 'admin_state_up', 'mtu')})

    def network_deleted(self, context, network_id):
        self._later(context, 'network_delete', network_id)


def _wire_view(port):
    return {'id': port['id'], 'network_id': port['network_id'],
            'admin_state_up': port['admin_state_up'],
            'mac_address': port['mac_address'], 'fixed_ips': port['fixed_ips'],
            'binding:host_id': port['binding:host_id']}
