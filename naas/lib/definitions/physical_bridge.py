"""The physical-bridges resource (NaaS extension ``physical-bridges``): a
tenant network joined, at layer 2, to a physical network (a VLAN of it, or
its untagged traffic: flat) through one chosen NaaS host, as an
administrator connects a network to a hardware gateway with
networking-l2gw's ``l2-gateway-connections`` (network_id, segmentation_id;
here the "gateway" is the host's physical network from its agent's
bridge_mappings, named by ``host`` and ``physical_network``).

POST /v2.0/physical-bridges {"physical_bridge": {"network_id", "host",
"physical_network", "segmentation_id"}} answers 201; ``segmentation_id``
is the VLAN id on the physical network (1 through 4094), or null for its
untagged traffic (flat); ``status`` is what the host's agent reports (DOWN
until it has joined them, ACTIVE, ERROR).  Administrators only (policy
``*_physical_bridge``).  Served by the bridges plugin (naas.plugins.bridges).
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'physical-bridges'
NAME = 'Physical-network bridges'
DESCRIPTION = ('Layer-2 bridges between a network and a VLAN (or the untagged '
               'traffic) of a physical network through a chosen host (NaaS extension).')

RESOURCE_NAME = 'physical_bridge'
COLLECTION_NAME = 'physical-bridges'
#: The key of its lists in bodies (the path has a dash).
COLLECTION_KEY = 'physical_bridges'


class PhysicalBridgeNotFound(exceptions.NotFound):
    message = 'Physical bridge %(id)s could not be found.'


#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (PhysicalBridgeNotFound, 'id')

MIN_VLAN = 1
MAX_VLAN = 4094
STATUSES = ('DOWN', 'ACTIVE', 'ERROR')

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'network_id': {'allow_post': True, 'allow_put': False,
                   'validate': (validators.validate_uuid, None),
                   'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'host': {'allow_post': True, 'allow_put': False,
             'validate': (validators.validate_string, validators.NAME_MAX_LEN),
             'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'physical_network': {'allow_post': True, 'allow_put': False,
                         'validate': (validators.validate_string, validators.NAME_MAX_LEN),
                         'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    # The VLAN id on the physical network; null: its untagged traffic (flat).
    'segmentation_id': {'allow_post': True, 'allow_put': False, 'default': None,
                        'convert_to': validators.convert_to_int_or_none,
                        'validate': (validators.validate_range_or_none,
                                     (MIN_VLAN, MAX_VLAN)),
                        'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'status': {'allow_post': False, 'allow_put': False, 'is_visible': True,
               'is_filter': True, 'is_sort_key': True},
    **base.standard_attrs(),
}
