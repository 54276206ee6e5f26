"""API extension ``l3_agent_scheduler`` (its read part): the L3 agents of a
router, GET /v2.0/routers/{router_id}/l3-agents, with each agent's
``ha_state`` for an HA router (active / standby as its keepalived reported;
unknown while the agent is dead), as Neutron shows them to administrators.
"""
from naas.common import exceptions
from naas.lib.definitions import agent
from naas.lib.definitions import router

ALIAS = 'l3_agent_scheduler'
NAME = 'L3 Agent Scheduler'
DESCRIPTION = 'Schedule routers among l3 agents'

RESOURCE_NAME = 'l3_agent'
COLLECTION_NAME = 'l3-agents'
COLLECTION_KEY = 'agents'   # Neutron's body: {"agents": [...]}
PARENT = router
NOT_FOUND = (exceptions.AgentNotFound, 'id')

RESOURCE_ATTRIBUTE_MAP = dict(
    agent.RESOURCE_ATTRIBUTE_MAP,
    ha_state={'allow_post': False, 'allow_put': False, 'is_visible': True,
              'is_filter': True})
