"""The address-groups resource (Neutron's ``address-group`` extension): a
named set of address prefixes that security group rules name as
``remote_address_group_id``.

Addresses are given at create and then changed only by the member actions
PUT /v2.0/address-groups/{id}/add_addresses and .../remove_addresses with
{"addresses": [...]}, which answer {"address_group": {...}}.  An address
is kept as its network (10.0.0.1/24 is 10.0.0.0/24; an address alone is a
/32 or /128).  Served by the security group plugin; without it, 501.
"""
import netaddr

from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'address-group'
NAME = 'Address group'
DESCRIPTION = 'Support address group'

RESOURCE_NAME = 'address_group'
COLLECTION_NAME = 'address-groups'
#: The key of a list in request and response bodies (the path has dashes).
COLLECTION_KEY = 'address_groups'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.AddressGroupNotFound, 'address_group_id')

#: PUT /address-groups/{id}/<action> -> plugin method (policy rule: the action).
ACTIONS = {'add_addresses': 'add_addresses', 'remove_addresses': 'remove_addresses'}

#: Addresses one request may name (a bound, not a quota).
MAX_ADDRESSES = 1000


def normalize_address(value):
    """An address or prefix as the network it names (IPv6 compressed)."""
    net = netaddr.IPNetwork(value)
    return '%s/%d' % (net.network, net.prefixlen)


def _validate_address(value, _arg=None):
    if not isinstance(value, str):
        return "'%s' is not a valid IP address or prefix" % (validators.excerpt(value),)
    try:
        netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return "'%s' is not a valid IP address or prefix" % (validators.excerpt(value),)
    return None


validate_addresses = validators.validate_list_of(_validate_address, MAX_ADDRESSES,
                                                 unique=False)

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'addresses': {'allow_post': True, 'allow_put': False, 'default': [],
                  'convert_to': validators.convert_none_to_empty_list,
                  'validate': (validate_addresses, None),
                  'is_visible': True},
    **base.standard_attrs(),
}
