"""Casts after a QoS change commits (naas.rpc.agent_api): a policy's rules
changed, so the hosts of the ports it applies to re-read those ports'
details (port_update: the agent refreshes a port's details and calls its
driver's set_port_qos).  Only those hosts hear it, one cast per port; no
fanout.

A network's or port's qos_policy_id change needs nothing here: the core
plugin already casts port_update to the port's host, and network_update
(every agent refreshes its ports of that network).
"""
from naas.plugins.qos import bindings
from naas.rpc import agent_api
from naas.rpc import notifier


class Notifier(notifier.AfterCommitNotifier):
    client_class = agent_api.AgentNotifyAPI

    def policies_changed(self, context, policy_ids):
        for row in bindings.bound_ports(context, policy_ids):
            self._later(context, 'port_update',
                        {'id': row.id, 'network_id': row.network_id},
                        host=row.binding_host_id)
