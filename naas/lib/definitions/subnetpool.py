"""The subnetpools resource (Neutron's ``subnet_allocation`` extension): a
set of address prefixes that subnets are cut from.

POST /v2.0/subnets with ``subnetpool_id`` and no ``cidr`` gets the first
free block of ``prefixlen`` (default: the pool's default_prefixlen) from the
pool's prefixes; with a ``cidr`` the block must lie in the pool and be free.
Blocks of one pool never overlap; a pool with subnets cannot be deleted
(409) and its prefixes can only grow.  ``default_quota`` bounds the
addresses one project takes from the pool (IPv4: addresses, IPv6: /64s).
Served by the core plugin (naas.db.subnetpools).
"""
import netaddr

from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'subnet_allocation'
NAME = 'Subnet Allocation'
DESCRIPTION = 'Enables allocation of subnets from a subnet pool'

RESOURCE_NAME = 'subnetpool'
COLLECTION_NAME = 'subnetpools'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.SubnetPoolNotFound, 'subnetpool_id')

#: Prefix lengths per IP version: (bits, default min_prefixlen), as Neutron.
PREFIX_BOUNDS = {4: (32, 8), 6: (128, 64)}
MAX_PREFIXES = 100


def validate_prefixes(value, _arg=None):
    msg = validators.validate_list_of(validators.validate_subnet, MAX_PREFIXES)(value)
    if msg:
        return msg
    if not value:
        return 'a subnet pool needs at least one prefix'
    if len({netaddr.IPNetwork(prefix).version for prefix in value}) > 1:
        return 'prefixes of one subnet pool must all be IPv4 or all IPv6'
    return None


def _prefixlen():
    return {'allow_post': True, 'allow_put': True, 'default': base.ATTR_NOT_SPECIFIED,
            'convert_to': validators.convert_to_int,
            'validate': (validators.validate_range, (0, 128)),
            'is_visible': True, 'is_filter': True, 'is_sort_key': True}


RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'prefixes': {'allow_post': True, 'allow_put': True,
                 'validate': (validate_prefixes, None),
                 'is_visible': True},
    'default_prefixlen': _prefixlen(),
    'min_prefixlen': _prefixlen(),
    'max_prefixlen': _prefixlen(),
    'ip_version': {'allow_post': False, 'allow_put': False,
                   'convert_to': validators.convert_to_int,
                   'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'shared': base.shared_attr(allow_put=False),
    'is_default': {'allow_post': True, 'allow_put': True, 'default': False,
                   'convert_to': validators.convert_to_boolean,
                   'validate': (validators.validate_boolean, None),
                   'is_visible': True, 'is_filter': True, 'is_sort_key': True,
                   'enforce_policy': True},
    'default_quota': {'allow_post': True, 'allow_put': True, 'default': None,
                      'convert_to': validators.convert_to_int_or_none,
                      'validate': (validators.validate_range_or_none, (0, None)),
                      'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    **base.standard_attrs(),
}
