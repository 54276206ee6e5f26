"""Validators and converters of attribute values.

A validator takes (value, arg) and returns None when the value is good, or
a message saying what is wrong.  A converter turns what the client sent into
the stored form, raising InvalidInput when it cannot.
"""
import re
import uuid

import netaddr

from naas.common import exceptions

NAME_MAX_LEN = 255
DESCRIPTION_MAX_LEN = 255
DEVICE_ID_MAX_LEN = 255
DEVICE_OWNER_MAX_LEN = 255
TAG_MAX_LEN = 255

_MAC_RE = re.compile(r'^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$')


# ---- validators -----------------------------------------------------------

def validate_string(value, max_len=None):
    if not isinstance(value, str):
        return "'%s' is not a valid string" % (value,)
    if max_len is not None and len(value) > max_len:
        return "'%s' exceeds maximum length of %s" % (value, max_len)
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
        return "'%s' is not a valid UUID" % (value,)
    try:
        if str(uuid.UUID(value)) != value.lower():
            raise ValueError
    except ValueError:
        return "'%s' is not a valid UUID" % (value,)
    return None


def validate_uuid_or_none(value, _arg=None):
    return None if value is None else validate_uuid(value)


def validate_values(value, allowed):
    if value not in allowed:
        return "'%s' is not in %s" % (value, sorted(v for v in allowed if v is not None))
    return None


def validate_range(value, bounds):
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        return "'%s' is not an integer" % (value,)
    if value < low or (high is not None and value > high):
        return "'%s' is not in range %s through %s" % (value, low, high)
    return None


def validate_range_or_none(value, bounds):
    return None if value is None else validate_range(value, bounds)


def validate_ip_address(value, _arg=None):
    if not isinstance(value, str):
        return "'%s' is not a valid IP address" % (value,)
    try:
        ip = netaddr.IPAddress(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return "'%s' is not a valid IP address" % (value,)
    if ip.version == 4 and str(ip) != value:
        return "'%s' is not an accepted IP address, '%s' is recommended" % (value, ip)
    return None


def validate_ip_address_or_none(value, _arg=None):
    return None if value is None else validate_ip_address(value)


def validate_ip_or_subnet(value, _arg=None):
    if not isinstance(value, str):
        return "'%s' is neither a valid IP address nor a valid subnet" % (value,)
    if '/' in value:
        return validate_subnet(value)
    return validate_ip_address(value)


def validate_subnet(value, _arg=None):
    if not isinstance(value, str) or '/' not in value:
        return "'%s' is not a valid IP subnet" % (value,)
    try:
        net = netaddr.IPNetwork(value)
        if str(net.cidr) != str(netaddr.IPNetwork(value.lower())):
            return "'%s' is not a recognized CIDR, '%s' is recommended" % (value, net.cidr)
    except (netaddr.AddrFormatError, ValueError, TypeError, IndexError):
        return "'%s' is not a valid IP subnet" % (value,)
    return None


def validate_mac_address(value, _arg=None):
    if not isinstance(value, str) or not _MAC_RE.match(value):
        return "'%s' is not a valid MAC address" % (value,)
    mac = netaddr.EUI(value)
    if int(mac) == 0 or (int(mac) >> 40) & 1:
        return "'%s' is not a valid unicast MAC address" % (value,)
    return None


def validate_list_of(item_validator, max_len=None, unique=True):
    def validate(value, arg=None):
        if not isinstance(value, list):
            return "'%s' is not a list" % (value,)
        if max_len is not None and len(value) > max_len:
            return "'%s' has more than %s items" % (value, max_len)
        for item in value:
            msg = item_validator(item, arg)
            if msg:
                return msg
        if unique and len({repr(v) for v in value}) != len(value):
            return "Duplicate items in the list: '%s'" % (value,)
        return None
    return validate


def validate_dict_of(spec):
    """A dict whose keys are in ``spec`` ({key: (required, validator)})."""
    def validate(value, _arg=None):
        if not isinstance(value, dict):
            return "'%s' is not a dictionary" % (value,)
        for key in value:
            if key not in spec:
                return "Unexpected key '%s' in %s" % (key, value)
        for key, (required, validator) in spec.items():
            if key not in value:
                if required:
                    return "Key '%s' is missing in %s" % (key, value)
                continue
            msg = validator(value[key])
            if msg:
                return msg
        return None
    return validate


def validate_dict_or_none(value, _arg=None):
    if value is None or isinstance(value, dict):
        return None
    return "'%s' is not a dictionary" % (value,)


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
        return "Duplicate IP address in '%s'" % (value,)
    return None


validate_host_routes = validate_list_of(validate_dict_of({
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
}))

validate_nameservers = validate_list_of(validate_ip_address)

validate_uuid_list = validate_list_of(validate_uuid)


def validate_tag(value, _arg=None):
    msg = validate_string(value, TAG_MAX_LEN)
    if msg:
        return msg
    if not value or ',' in value:
        return "'%s' is not a valid tag: empty or containing ','" % (value,)
    return None


validate_tags = validate_list_of(validate_tag)


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
        error_message="'%s' cannot be converted to boolean" % (value,))


def convert_to_int(value):
    if isinstance(value, bool):
        raise exceptions.InvalidInput(
            error_message="'%s' is not an integer" % (value,))
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):  # OverflowError: inf
        raise exceptions.InvalidInput(
            error_message="'%s' is not an integer" % (value,))


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
            error_message="'%s' is not a valid MAC address" % (value,))


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
