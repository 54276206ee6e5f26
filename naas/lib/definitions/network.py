"""The networks resource (OpenStack Networking API v2.0)."""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

RESOURCE_NAME = 'network'
COLLECTION_NAME = 'networks'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.NetworkNotFound, 'net_id')

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'admin_state_up': base.admin_state_attr(),
    'status': {'allow_post': False, 'allow_put': False, 'is_visible': True,
               'is_filter': True, 'is_sort_key': True},
    'shared': base.shared_attr(),
    'subnets': {'allow_post': False, 'allow_put': False, 'default': [],
                'is_visible': True, 'is_filter': True},
    'mtu': {'allow_post': True, 'allow_put': True,
            'default': base.ATTR_NOT_SPECIFIED,
            'convert_to': validators.convert_to_int,
            'validate': (validators.validate_range, (68, 65535)),
            'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'router:external': {'allow_post': True, 'allow_put': True,
                        'default': False,
                        'convert_to': validators.convert_to_boolean,
                        'validate': (validators.validate_boolean, None),
                        'is_visible': True, 'is_filter': True,
                        'is_sort_key': True, 'enforce_policy': True},
    'port_security_enabled': {'allow_post': True, 'allow_put': True,
                              'default': True,
                              'convert_to': validators.convert_to_boolean,
                              'validate': (validators.validate_boolean, None),
                              'is_visible': True, 'is_filter': True,
                              'is_sort_key': True},
    'availability_zone_hints': {'allow_post': True, 'allow_put': False,
                                'default': [],
                                'convert_to': validators.convert_none_to_empty_list,
                                'validate': (validators.validate_list_of(
                                    validators.validate_string), None),
                                'is_visible': True},
    'availability_zones': {'allow_post': False, 'allow_put': False,
                           'is_visible': True},
    'provider:network_type': {'allow_post': True, 'allow_put': False,
                              'default': base.ATTR_NOT_SPECIFIED,
                              'validate': (validators.validate_values,
                                           ('local', 'flat', 'vlan', 'vxlan', 'gre')),
                              'is_visible': True, 'is_filter': True,
                              'enforce_policy': True},
    'provider:physical_network': {'allow_post': True, 'allow_put': False,
                                  'default': base.ATTR_NOT_SPECIFIED,
                                  'validate': (validators.validate_string_or_none,
                                               64),
                                  'is_visible': True, 'is_filter': True,
                                  'enforce_policy': True},
    'provider:segmentation_id': {'allow_post': True, 'allow_put': False,
                                 'default': base.ATTR_NOT_SPECIFIED,
                                 'convert_to': validators.convert_to_int_or_none,
                                 'validate': (validators.validate_range_or_none,
                                              (0, 16777215)),
                                 'is_visible': True, 'is_filter': True,
                                 'enforce_policy': True},
    **base.standard_attrs(),
}
