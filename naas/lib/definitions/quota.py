"""The quotas resource: per-project limits, -1 unlimited."""
from naas.lib import validators

ALIAS = 'quotas'
NAME = 'Quota management support'
DESCRIPTION = 'Expose functions for quotas management per project'

RESOURCE_NAME = 'quota'
COLLECTION_NAME = 'quotas'

RESOURCES = ('network', 'subnet', 'port', 'router', 'floatingip', 'security_group',
             'security_group_rule')


def _limit():
    return {'allow_post': False, 'allow_put': True,
            'convert_to': validators.convert_to_int,
            'validate': (validators.validate_range, (-1, 2 ** 31 - 1)),
            'is_visible': True}


RESOURCE_ATTRIBUTE_MAP = {
    'project_id': {'allow_post': False, 'allow_put': False,
                   'is_visible': False, 'is_filter': True},
    **{resource: _limit() for resource in RESOURCES},
}
