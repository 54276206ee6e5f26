"""The agents resource: one per host and agent type, alive by heartbeat."""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'agent'
NAME = 'agent'
DESCRIPTION = 'The agent management extension.'

RESOURCE_NAME = 'agent'
COLLECTION_NAME = 'agents'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.AgentNotFound, 'id')


def _ro(filter_=True, sort=True):
    return {'allow_post': False, 'allow_put': False, 'is_visible': True,
            'is_filter': filter_, 'is_sort_key': sort}


RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'agent_type': _ro(),
    'binary': _ro(),
    'topic': _ro(),
    'host': _ro(),
    'admin_state_up': {'allow_post': False, 'allow_put': True,
                       'convert_to': validators.convert_to_boolean,
                       'validate': (validators.validate_boolean, None),
                       'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'description': {'allow_post': False, 'allow_put': True,
                    'validate': (validators.validate_string, validators.DESCRIPTION_MAX_LEN),
                    'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'created_at': _ro(),
    'started_at': _ro(),
    'heartbeat_timestamp': _ro(),
    'alive': {'allow_post': False, 'allow_put': False, 'is_visible': True,
              'convert_to': validators.convert_to_boolean, 'is_filter': True},
    'configurations': _ro(filter_=False, sort=False),
    'availability_zone': _ro(filter_=False, sort=False),
    'resources_synced': _ro(filter_=False, sort=False),
}
