"""Port binding: which VIF type a port gets on its host.

A port with ``binding:host_id`` binds to the L2 agent alive on that host if
the agent can realise the network's segment (a tunnel IP for VXLAN/GRE, a
bridge mapping for VLAN/flat): vif_type ``bridge`` (Linux bridge agent) or
``ovs`` (Open vSwitch agent).  Otherwise the port is ``binding_failed``; it
is bound again the next time its binding attributes are updated.
"""
from naas.plugins.l2 import agents
from naas.plugins.l2 import segments

UNBOUND = 'unbound'
BINDING_FAILED = 'binding_failed'


def bind(conn, network_id, body, current=None):
    """The binding attributes of a port from its request and current state."""
    current = current or {}
    host = body.get('binding:host_id', current.get('binding:host_id', '')) or ''
    binding = {
        'host_id': host,
        'vnic_type': body.get('binding:vnic_type', current.get('binding:vnic_type', 'normal')),
        'profile': body.get('binding:profile', current.get('binding:profile', {})) or {},
        'vif_type': UNBOUND, 'vif_details': {},
    }
    if not host:
        return binding
    agent = agents.host_agent(conn, host)
    segment = segments.of_network(conn, network_id)
    if agent is None or not agents.can_bind(agent, segment):
        binding['vif_type'] = BINDING_FAILED
        return binding
    vif_type, details = agents.VIF_TYPES[agent.agent_type]
    binding.update(vif_type=vif_type, vif_details=dict(details))
    return binding
