"""The subnets resource (OpenStack Networking API v2.0)."""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

RESOURCE_NAME = 'subnet'
COLLECTION_NAME = 'subnets'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.SubnetNotFound, 'subnet_id')

IPV6_MODES = ('slaac', 'dhcpv6-stateful', 'dhcpv6-stateless', None)

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'network_id': {'allow_post': True, 'allow_put': False,
                   'validate': (validators.validate_uuid, None),
                   'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'ip_version': {'allow_post': True, 'allow_put': False,
                   'convert_to': validators.convert_to_int,
                   'validate': (validators.validate_values, (4, 6)),
                   'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    # Required unless a subnetpool_id is given (naas.db.subnetpools).
    'cidr': {'allow_post': True, 'allow_put': False, 'default': base.ATTR_NOT_SPECIFIED,
             'validate': (validators.validate_subnet, None),
             'convert_to': validators.convert_cidr,
             'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'gateway_ip': {'allow_post': True, 'allow_put': True,
                   'default': base.ATTR_NOT_SPECIFIED,
                   'validate': (validators.validate_ip_address_or_none, None),
                   'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'allocation_pools': {'allow_post': True, 'allow_put': True,
                         'default': base.ATTR_NOT_SPECIFIED,
                         'validate': (validators.validate_allocation_pools, None),
                         'is_visible': True},
    'dns_nameservers': {'allow_post': True, 'allow_put': True,
                        'default': [],
                        'convert_to': validators.convert_none_to_empty_list,
                        'validate': (validators.validate_nameservers, None),
                        'is_visible': True},
    'host_routes': {'allow_post': True, 'allow_put': True, 'default': [],
                    'convert_to': validators.convert_none_to_empty_list,
                    'validate': (validators.validate_host_routes, None),
                    'is_visible': True},
    'enable_dhcp': {'allow_post': True, 'allow_put': True, 'default': True,
                    'convert_to': validators.convert_to_boolean,
                    'validate': (validators.validate_boolean, None),
                    'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'ipv6_ra_mode': {'allow_post': True, 'allow_put': False, 'default': None,
                     'validate': (validators.validate_values, IPV6_MODES),
                     'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'ipv6_address_mode': {'allow_post': True, 'allow_put': False,
                          'default': None,
                          'validate': (validators.validate_values, IPV6_MODES),
                          'is_visible': True, 'is_filter': True,
                          'is_sort_key': True},
    'subnetpool_id': {'allow_post': True, 'allow_put': False, 'default': None,
                      'validate': (validators.validate_uuid_or_none, None),
                      'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    # The size of the block to take from the subnet pool (no cidr given).
    'prefixlen': {'allow_post': True, 'allow_put': False,
                  'default': base.ATTR_NOT_SPECIFIED,
                  'convert_to': validators.convert_to_int,
                  'validate': (validators.validate_range, (0, 128)),
                  'is_visible': False},
    'segment_id': {'allow_post': False, 'allow_put': False,
                   'is_visible': True},
    'shared': {'allow_post': False, 'allow_put': False, 'is_visible': False},
    **base.standard_attrs(),
}
