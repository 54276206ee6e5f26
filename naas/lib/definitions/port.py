"""The ports resource (OpenStack Networking API v2.0) with port binding."""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

RESOURCE_NAME = 'port'
COLLECTION_NAME = 'ports'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.PortNotFound, 'port_id')

VNIC_TYPES = ('normal', 'direct', 'macvtap', 'baremetal', 'direct-physical',
              'virtio-forwarder', 'smart-nic', 'vdpa', 'remote-managed')


def _binding(default, validate, put=True, is_filter=True):
    return {'allow_post': True, 'allow_put': put, 'default': default,
            'validate': validate, 'is_visible': True, 'is_filter': is_filter,
            'enforce_policy': True}


RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'network_id': {'allow_post': True, 'allow_put': False,
                   'validate': (validators.validate_uuid, None),
                   'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'admin_state_up': base.admin_state_attr(),
    'mac_address': {'allow_post': True, 'allow_put': True,
                    'default': base.ATTR_NOT_SPECIFIED,
                    'validate': (validators.validate_mac_address, None),
                    'convert_to': validators.convert_mac,
                    'enforce_policy': True, 'is_visible': True,
                    'is_filter': True, 'is_sort_key': True},
    'fixed_ips': {'allow_post': True, 'allow_put': True,
                  'default': base.ATTR_NOT_SPECIFIED,
                  'convert_to': validators.convert_none_to_empty_list,
                  'validate': (validators.validate_fixed_ips, None),
                  'enforce_policy': True, 'is_visible': True,
                  'is_filter': True},
    'device_id': {'allow_post': True, 'allow_put': True, 'default': '',
                  'validate': (validators.validate_string,
                               validators.DEVICE_ID_MAX_LEN),
                  'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'device_owner': {'allow_post': True, 'allow_put': True, 'default': '',
                     'validate': (validators.validate_string,
                                  validators.DEVICE_OWNER_MAX_LEN),
                     'enforce_policy': True, 'is_visible': True,
                     'is_filter': True, 'is_sort_key': True},
    'status': {'allow_post': False, 'allow_put': False, 'is_visible': True,
               'is_filter': True, 'is_sort_key': True},
    'security_groups': {'allow_post': True, 'allow_put': True,
                        'default': base.ATTR_NOT_SPECIFIED,
                        'convert_to': validators.convert_none_to_empty_list,
                        'validate': (validators.validate_uuid_list, None),
                        'is_visible': True, 'is_filter': True},
    'port_security_enabled': {'allow_post': True, 'allow_put': True,
                              'default': base.ATTR_NOT_SPECIFIED,
                              'convert_to': validators.convert_to_boolean,
                              'validate': (validators.validate_boolean, None),
                              'is_visible': True, 'is_filter': True,
                              'is_sort_key': True},
    'allowed_address_pairs': {'allow_post': True, 'allow_put': True,
                              'default': [],
                              'convert_to': validators.convert_none_to_empty_list,
                              'validate': (validators.validate_address_pairs,
                                           None),
                              'is_visible': True},
    'binding:host_id': _binding('', (validators.validate_string, 255)),
    'binding:profile': _binding({}, (validators.validate_dict_or_none,
                                     validators.DICT_BOUNDS),
                                is_filter=False),  # not a filter in Neutron
    'binding:vnic_type': {'allow_post': True, 'allow_put': True,
                          'default': 'normal',
                          'validate': (validators.validate_values, VNIC_TYPES),
                          'is_visible': True, 'is_filter': True},
    'binding:vif_type': {'allow_post': False, 'allow_put': False,
                         'is_visible': True, 'is_filter': True,
                         'enforce_policy': True},
    'binding:vif_details': {'allow_post': False, 'allow_put': False,
                            'is_visible': True, 'enforce_policy': True},
    'dns_name': {'allow_post': True, 'allow_put': True, 'default': '',
                 'validate': (validators.validate_string, 255),
                 'is_visible': True, 'is_filter': True},
    **base.standard_attrs(),
}
