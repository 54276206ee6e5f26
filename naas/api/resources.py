"""The collections of the API: which definition describes each one."""
from naas.lib.definitions import agent
from naas.lib.definitions import network
from naas.lib.definitions import port
from naas.lib.definitions import subnet

#: collection -> definition module, for every collection a plugin may serve.
DEFINITIONS = {d.COLLECTION_NAME: d for d in (network, subnet, port, agent)}

#: L3 collections: served by an L3 service plugin, else 501.
L3_COLLECTIONS = ('routers', 'floatingips', 'subnet-routes')


_CORE = dict(DEFINITIONS)


def register(definition):
    """Service plugins add their definitions (naas.plugins.*)."""
    DEFINITIONS[definition.COLLECTION_NAME] = definition


def reset():
    """Back to the core collections (a new plugin manager is loading)."""
    DEFINITIONS.clear()
    DEFINITIONS.update(_CORE)
