"""The routers resource (Neutron's router, ext-gw-mode and extraroute).

Served by an L3 service plugin (naas.plugins.l3); without one, 501.
``ACTIONS`` are member actions: PUT /v2.0/routers/{id}/<action> with a
bare JSON body, answered by the plugin method of the same name.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'router'
NAME = 'Neutron L3 Router'
DESCRIPTION = ('Router abstraction for basic L3 forwarding between L2 Neutron '
               'networks and access to external networks via a NAT gateway.')

RESOURCE_NAME = 'router'
COLLECTION_NAME = 'routers'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.RouterNotFound, 'router_id')

#: PUT /routers/{id}/<action> -> plugin method (policy rule: the action).
ACTIONS = {'add_router_interface': 'add_router_interface',
           'remove_router_interface': 'remove_router_interface'}

_validate_gateway_dict = validators.validate_dict_of({
    'network_id': (True, validators.validate_uuid),
    'enable_snat': (False, validators.validate_boolean),
    'external_fixed_ips': (False, validators.validate_fixed_ips),
})


def validate_gateway(value, _arg=None):
    """external_gateway_info: a dict with network_id, or None to clear."""
    if value is None:
        return None
    return _validate_gateway_dict(value)


def convert_gateway(value):
    """{} means no gateway, as in Neutron (type:dict_or_nodata); enable_snat
    to a boolean; external_fixed_ips None to []. No default is added: a key
    the client did not send stays absent (policy checks its presence)."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        return value
    value = dict(value)
    if 'enable_snat' in value:
        value['enable_snat'] = validators.convert_to_boolean(value['enable_snat'])
    if 'external_fixed_ips' in value and value['external_fixed_ips'] is None:
        value['external_fixed_ips'] = []
    return value


RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'admin_state_up': base.admin_state_attr(),
    'status': {'allow_post': False, 'allow_put': False, 'is_visible': True,
               'is_filter': True, 'is_sort_key': True},
    'external_gateway_info': {'allow_post': True, 'allow_put': True,
                              'default': None,
                              'convert_to': convert_gateway,
                              'validate': (validate_gateway, None),
                              'is_visible': True, 'enforce_policy': True},
    'routes': {'allow_post': False, 'allow_put': True,
               'convert_to': validators.convert_none_to_empty_list,
               'validate': (validators.validate_routes, None),
               'is_visible': True},
    **base.standard_attrs(),
}
