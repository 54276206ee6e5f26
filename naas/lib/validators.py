"""Validators and converters of attribute values.

A validator takes (value, arg) and returns None when the value is good, or
a message saying what is wrong.  A converter turns what the client sent into
the stored form, raising InvalidInput when it cannot.

A message shows at most ECHO_MAX characters of a bad value (``excerpt``):
a 100 KB string is refused with a short message, not echoed back.  Every
integer a client sends goes through convert_to_int, which refuses what no
column holds (beyond 64-bit signed).  Lists whose length Neutron bounds by an
option (max_dns_nameservers, ...) name that option (``limit_option``).
"""
import json
import re
import uuid

import netaddr

from naas.common import exceptions
from naas.conf import CONF

NAME_MAX_LEN = 255
DESCRIPTION_MAX_LEN = 255
DEVICE_ID_MAX_LEN = 255
DEVICE_OWNER_MAX_LEN = 255
TAG_MAX_LEN = 255

#: Characters of a bad value a message shows.
ECHO_MAX = 64
#: The range of the widest integer column (BIGINT).
INT_MIN, INT_MAX = -2 ** 63, 2 ** 63 - 1
#: Bounds of a free-form dict attribute (binding:profile): nesting depth, and
#: length as JSON (Neutron's column holds 4095 characters).
DICT_BOUNDS = (8, 4095)

_MAC_RE = re.compile(r'^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$')


def excerpt(value):
    """``value`` as text for a message: at most ECHO_MAX characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > ECHO_MAX:
        text = text[:ECHO_MAX] + '...'
    return text


def nesting_depth(value, limit):
    """Levels of lists and dicts in ``value`` (a scalar: 0, ``[]``: 1),
    counted level by level without recursion, and only up to limit + 1."""
    depth = 0
    level = [value]
    while depth <= limit:
        containers = [node for node in level if isinstance(node, (list, dict))]
        if not containers:
            break
        depth += 1
        level = [item for node in containers
                 for item in (node.values() if isinstance(node, dict) else node)]
    return depth


# ---- validators -----------------------------------------------------------

def validate_string(value, max_len=None):
    if not isinstance(value, str):
        return "'%s' is not a valid string" % (excerpt(value),)
    if max_len is not None and len(value) > max_len:
        return "'%s' exceeds maximum length of %s" % (excerpt(value), max_len)
    return None


def validate_string_or_none(value, max_len=None):
    if value is None:
        return None
    return validate_string(value, max_len)


def validate_boolean(value, _arg=None):
    try:
        convert_to_boolean(value)
    except exceptions.InvalidInput as e:
        return e.kwargs['error_message']
    return None


def validate_uuid(value, _arg=None):
    if not isinstance(value, str):
        return "'%s' is not a valid UUID" % (excerpt(value),)
    try:
        if str(uuid.UUID(value)) != value.lower():
            raise ValueError
    except ValueError:
        return "'%s' is not a valid UUID" % (excerpt(value),)
    return None


def validate_uuid_or_none(value, _arg=None):
    return None if value is None else validate_uuid(value)


def validate_values(value, allowed):
    if value not in allowed:
        return "'%s' is not in %s" % (excerpt(value), sorted(v for v in allowed if v is not None))
    return None


def validate_range(value, bounds):
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        return "'%s' is not an integer" % (excerpt(value),)
    if value < low or (high is not None and value > high):
        return "'%s' is not in range %s through %s" % (excerpt(value), low, high)
    return None


def validate_range_or_none(value, bounds):
    return None if value is None else validate_range(value, bounds)


def validate_ip_address(value, _arg=None):
    if not isinstance(value, str):
        return "'%s' is not a valid IP address" % (excerpt(value),)
    try:
        ip = netaddr.IPAddress(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return "'%s' is not a valid IP address" % (excerpt(value),)
    if ip.version == 4 and str(ip) != value:
        return "'%s' is not an accepted IP address, '%s' is recommended" % (excerpt(value), ip)
    return None


def validate_ip_address_or_none(value, _arg=None):
    return None if value is None else validate_ip_address(value)


def validate_ip_or_subnet(value, _arg=None):
    if not isinstance(value, str):
        return "'%s' is neither a valid IP address nor a valid subnet" % (excerpt(value),)
    if '/' in value:
        return validate_subnet(value)
    return validate_ip_address(value)


def validate_subnet(value, _arg=None):
    if not isinstance(value, str) or '/' not in value:
        return "'%s' is not a valid IP subnet" % (excerpt(value),)
    try:
        net = netaddr.IPNetwork(value)
        if str(net.cidr) != str(netaddr.IPNetwork(value.lower())):
            return "'%s' is not a recognized CIDR, '%s' is recommended" % (excerpt(value), net.cidr)
    except (netaddr.AddrFormatError, ValueError, TypeError, IndexError):
        return "'%s' is not a valid IP subnet" % (excerpt(value),)
    return None


def validate_mac_address(value, _arg=None):
    try:
        if not isinstance(value, str) or not _MAC_RE.match(value):
            raise ValueError(value)
        mac = netaddr.EUI(value)   # refuses what the pattern lets by: mixed separators
    except (netaddr.AddrFormatError, ValueError):
        return "'%s' is not a valid MAC address" % (excerpt(value),)
    if int(mac) == 0 or (int(mac) >> 40) & 1:
        return "'%s' is not a valid unicast MAC address" % (excerpt(value),)
    return None


def validate_list_of(item_validator, max_len=None, unique=True, limit_option=None):
    """A list of items that ``item_validator`` accepts; at most ``max_len``
    items, or as many as the [DEFAULT] option ``limit_option`` says."""
    def validate(value, arg=None):
        if not isinstance(value, list):
            return "'%s' is not a list" % (excerpt(value),)
        limit = getattr(CONF, limit_option) if limit_option else max_len
        if limit is not None and len(value) > limit:
            return "%d items exceed the limit of %d (%s)" % (
                len(value), limit, limit_option or 'items')
        for item in value:
            msg = item_validator(item, arg)
            if msg:
                return msg
        if unique and len({repr(v) for v in value}) != len(value):
            return "Duplicate items in the list: '%s'" % (excerpt(value),)
        return None
    return validate


def validate_dict_of(spec):
    """A dict whose keys are in ``spec`` ({key: (required, validator)})."""
    def validate(value, _arg=None):
        if not isinstance(value, dict):
            return "'%s' is not a dictionary" % (excerpt(value),)
        for key in value:
            if key not in spec:
                return "Unexpected key '%s' in %s" % (excerpt(key), excerpt(value))
        for key, (required, validator) in spec.items():
            if key not in value:
                if required:
                    return "Key '%s' is missing in %s" % (key, excerpt(value))
                continue
            msg = validator(value[key])
            if msg:
                return msg
        return None
    return validate


def validate_dict_or_none(value, bounds=DICT_BOUNDS):
    """None or a dict of at most ``bounds`` = (nesting depth, length as JSON)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return "'%s' is not a dictionary" % (excerpt(value),)
    max_depth, max_len = bounds
    if nesting_depth(value, max_depth) > max_depth:
        return "'%s' nests deeper than %d levels" % (excerpt(value), max_depth)
    if len(json.dumps(value)) > max_len:
        return "'%s' is longer than %d characters as JSON" % (excerpt(value), max_len)
    return None


_validate_fixed_ip_list = validate_list_of(validate_dict_of({
    'subnet_id': (False, validate_uuid),
    'ip_address': (False, validate_ip_address),
}), unique=False)


def validate_fixed_ips(value, _arg=None):
    """Duplicate subnet_id entries are legitimate (one address each, as in
    Neutron); duplicate IP addresses are not."""
    msg = _validate_fixed_ip_list(value)
    if msg:
        return msg
    ips = [ip['ip_address'] for ip in value if 'ip_address' in ip]
    if len(set(ips)) != len(ips):
        return "Duplicate IP address in '%s'" % (excerpt(value),)
    return None


validate_host_routes = validate_list_of(validate_dict_of({
    'destination': (True, validate_subnet),
    'nexthop': (True, validate_ip_address),
}), limit_option='max_subnet_host_routes')

#: A router's routes: no subnet option bounds them (the L3 plugin does).
validate_routes = validate_list_of(validate_dict_of({
    'destination': (True, validate_subnet),
    'nexthop': (True, validate_ip_address),
}))

validate_allocation_pools = validate_list_of(validate_dict_of({
    'start': (True, validate_ip_address),
    'end': (True, validate_ip_address),
}))

validate_address_pairs = validate_list_of(validate_dict_of({
    'ip_address': (True, validate_ip_or_subnet),
    'mac_address': (False, validate_mac_address),
}), limit_option='max_allowed_address_pair')

validate_nameservers = validate_list_of(validate_ip_address,
                                       limit_option='max_dns_nameservers')

validate_uuid_list = validate_list_of(validate_uuid)


def validate_tag(value, _arg=None):
    msg = validate_string(value, TAG_MAX_LEN)
    if msg:
        return msg
    if not value or ',' in value:
        return "'%s' is not a valid tag: empty or containing ','" % (excerpt(value),)
    return None


validate_tags = validate_list_of(validate_tag, limit_option='max_tags')


# ---- converters -----------------------------------------------------------

def convert_to_boolean(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ('true', '1'):
            return True
        if lowered in ('false', '0'):
            return False
    raise exceptions.InvalidInput(
        error_message="'%s' cannot be converted to boolean" % (excerpt(value),))


def convert_to_int(value):
    """An integer that a BIGINT column holds; InvalidInput for anything else
    (an integer beyond 64 bits would raise OverflowError in the driver)."""
    if isinstance(value, bool):
        raise exceptions.InvalidInput(
            error_message="'%s' is not an integer" % (excerpt(value),))
    try:
        number = int(value)
    except (ValueError, TypeError, OverflowError):  # OverflowError: inf
        raise exceptions.InvalidInput(
            error_message="'%s' is not an integer" % (excerpt(value),))
    if not INT_MIN <= number <= INT_MAX:
        raise exceptions.InvalidInput(
            error_message="'%s' is out of range %d through %d" % (
                excerpt(value), INT_MIN, INT_MAX))
    return number


def convert_to_int_or_none(value):
    return None if value is None else convert_to_int(value)


def convert_none_to_empty_list(value):
    return [] if value is None else value


def convert_mac(value):
    """The canonical form: lowercase, colon-separated."""
    try:
        if not isinstance(value, str):
            raise TypeError(value)  # netaddr would take an int as a MAC
        return str(netaddr.EUI(value, dialect=netaddr.mac_unix_expanded))
    except (netaddr.AddrFormatError, TypeError, ValueError, IndexError):
        raise exceptions.InvalidInput(
            error_message="'%s' is not a valid MAC address" % (excerpt(value),))


def convert_cidr(value):
    """Canonical text of a CIDR (IPv6 compressed, lowercase); host bits kept
    so that the validator can refuse them; no prefix length is left for the
    validator to refuse too (netaddr would make it a /32)."""
    if not isinstance(value, str) or '/' not in value:
        return value
    try:
        return str(netaddr.IPNetwork(value))
    except Exception:
        return value
