"""The security-group-rules resource (part of Neutron's ``security-group``
extension, naas.lib.definitions.securitygroup.ALIAS): one rule of a group.

A rule allows traffic in one ``direction`` (as the VM sees it) of one
``ethertype``, of one protocol or of any (``protocol`` null or "any"), from
or to a port range (TCP, UDP, UDP-Lite, SCTP, DCCP) or an ICMP type and
code, and from or to at most one remote: an address prefix, the members
of a group, or the addresses of an address group.  The protocol is kept as
it was given (a name, lowercase, or a number); IP_PROTOCOLS gives the
number the agents get.  Rules are created and deleted, never updated.
"""
import netaddr

from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

RESOURCE_NAME = 'security_group_rule'
COLLECTION_NAME = 'security-group-rules'
#: The key of a list in request and response bodies (the path has dashes).
COLLECTION_KEY = 'security_group_rules'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.SecurityGroupRuleNotFound, 'id')

DIRECTIONS = ('ingress', 'egress')
ETHERTYPES = ('IPv4', 'IPv6')
#: What "any protocol" may be sent as.
PROTOCOL_ANY = 'any'

#: Protocol names a rule accepts -> IP protocol number (neutron-lib's
#: IP_PROTOCOL_MAP; icmpv6 is the legacy name of ipv6-icmp).
IP_PROTOCOLS = {
    'ah': 51, 'dccp': 33, 'egp': 8, 'esp': 50, 'gre': 47, 'hopopt': 0, 'icmp': 1,
    'igmp': 2, 'ipip': 4, 'ipv6-encap': 41, 'ipv6-frag': 44, 'ipv6-icmp': 58,
    'icmpv6': 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, 'ospf': 89,
    'pgm': 113, 'rsvp': 46, 'sctp': 132, 'tcp': 6, 'udp': 17, 'udplite': 136,
    'vrrp': 112,
}
#: Protocols with ports (port_range_min/max are a port range).
PORT_PROTOCOLS = (6, 17, 136, 132, 33)
#: Protocols whose port_range_min/max are an ICMP type and code.
ICMP_PROTOCOLS = (1, 58)
#: Protocols only IPv6 has (refused with ethertype IPv4).
IPV6_ONLY_PROTOCOLS = (41, 44, 58, 59, 60, 43)
PORT_MAX = 65535


def protocol_number(protocol):
    """The IP protocol number of a stored protocol (a name or a number as
    text); None for any."""
    if protocol is None:
        return None
    if protocol in IP_PROTOCOLS:
        return IP_PROTOCOLS[protocol]
    return int(protocol)


def convert_protocol(value):
    """None and "any" to None, a name to lowercase, a number to its text."""
    if value is None or (isinstance(value, str) and value.lower() == PROTOCOL_ANY):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        return str(int(value)) if _is_number(value) else value.lower()
    return value


def _is_number(text):
    """ASCII digits only ('²'.isdigit() is true, and int() refuses it)."""
    return text.isascii() and text.isdigit()


def validate_protocol(value, _arg=None):
    if value is None or isinstance(value, str) and value in IP_PROTOCOLS:
        return None
    if isinstance(value, str) and _is_number(value) and 0 <= int(value) <= 255:
        return None
    return ("Security group rule protocol %s not supported. Only protocol values "
            "%s and integer representations [0 to 255] are supported."
            % (validators.excerpt(value), sorted(IP_PROTOCOLS) + [PROTOCOL_ANY]))


def convert_port(value):
    """An integer from a number or its text; what is not one is left for
    validate_port to refuse in Neutron's words."""
    if value is None or isinstance(value, (bool, int)):
        return value
    try:
        return validators.convert_to_int(value)
    except exceptions.InvalidInput:
        return value


def convert_ethertype(value):
    """IPv4 and IPv6 in any case, as Neutron takes them."""
    if isinstance(value, str):
        for ethertype in ETHERTYPES:
            if ethertype.lower() == value.lower():
                return ethertype
    return value


def convert_ip_prefix(value):
    """An address or a prefix to prefix text (an address gets /32 or /128);
    the host bits are kept, as Neutron keeps them (``normalized_cidr``
    shows the network)."""
    if not isinstance(value, str) or not value:
        return None if value in ('', None) else value
    try:
        return str(netaddr.IPNetwork(value))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return value


def validate_ip_prefix(value, _arg=None):
    if value is None:
        return None
    if not isinstance(value, str) or '/' not in value:
        return "'%s' is not a valid IP prefix" % (validators.excerpt(value),)
    try:
        netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return "'%s' is not a valid IP prefix" % (validators.excerpt(value),)
    return None


def validate_port(value, _arg=None):
    """A port (or an ICMP type or code), 0 to 65535, in Neutron's words."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= PORT_MAX:
        return 'Invalid value for port %s' % (validators.excerpt(value),)
    return None


def validate_id(value, _arg=None):
    """An id of a group or an address group: any text (what names none is
    404, as in Neutron), or None."""
    return validators.validate_string_or_none(value, validators.NAME_MAX_LEN)


def rule_attrs(post=True):
    """What a rule and a template rule (default_security_group_rule) share."""
    def attr(validate, default=base.ATTR_NOT_SPECIFIED, convert=None, sort=True):
        spec = {'allow_post': post, 'allow_put': False, 'is_visible': True,
                'is_filter': True, 'is_sort_key': sort, 'validate': validate}
        if default is not base.ATTR_NOT_SPECIFIED:
            spec['default'] = default
        if convert is not None:
            spec['convert_to'] = convert
        return spec
    return {
        'direction': attr((validators.validate_values, DIRECTIONS)),
        'ethertype': attr((validators.validate_values, ETHERTYPES), 'IPv4',
                          convert_ethertype),
        'protocol': attr((validate_protocol, None), None, convert_protocol),
        'port_range_min': attr((validate_port, None), None, convert_port),
        'port_range_max': attr((validate_port, None), None, convert_port),
        'remote_ip_prefix': attr((validate_ip_prefix, None), None, convert_ip_prefix),
        'remote_address_group_id': attr((validate_id, None), None),
    }


_READ_ONLY = {'allow_post': False, 'allow_put': False, 'is_visible': True}

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'description': dict(base.description_attr(), allow_put=False),
    **base.project_attrs(),
    'security_group_id': {'allow_post': True, 'allow_put': False,
                          'validate': (validators.validate_string, validators.NAME_MAX_LEN),
                          'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'remote_group_id': {'allow_post': True, 'allow_put': False, 'default': None,
                        'validate': (validate_id, None),
                        'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    **rule_attrs(),
    'normalized_cidr': dict(_READ_ONLY),
    'belongs_to_default_sg': dict(_READ_ONLY),
    'created_at': dict(_READ_ONLY, is_filter=True, is_sort_key=True),
    'updated_at': dict(_READ_ONLY, is_filter=True, is_sort_key=True),
    'revision_number': dict(_READ_ONLY, is_filter=True, is_sort_key=True,
                            convert_to=validators.convert_to_int),
}
