"""Turning request bodies and query strings into validated values, by the
attribute maps of naas/lib/definitions."""
from naas.lib.definitions import base
from naas.common import exceptions

PAGING_PARAMS = ('fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse')
TAG_FILTERS = ('tags', 'tags-any', 'not-tags', 'not-tags-any')
MAX_LIMIT = 2 ** 31 - 1


def _bad(resource, msg):
    return exceptions.BadRequest(resource=resource, msg=msg)


def _convert(name, spec, value):
    if 'convert_to' in spec:
        try:
            value = spec['convert_to'](value)
        except exceptions.InvalidInput:
            raise
        except (ValueError, TypeError, AttributeError) as e:
            raise exceptions.InvalidInput(
                error_message="Invalid input for %s. Reason: %s." % (name, e))
    return value


def _check_value(resource, name, spec, value):
    value = _convert(name, spec, value)
    validate = spec.get('validate')
    if validate is not None:
        validator, arg = validate
        msg = validator(value, arg)
        if msg:
            raise exceptions.InvalidInput(
                error_message="Invalid input for %s. Reason: %s." % (name, msg))
    return value


def prepare_create(resource, attr_map, body):
    """Validate a create body; fill defaults; ATTR_NOT_SPECIFIED where none."""
    if not isinstance(body, dict):
        raise _bad(resource, 'Resource body required')
    out = {}
    for name, value in body.items():
        spec = attr_map.get(name)
        if spec is None:
            raise _bad(resource, "Unrecognized attribute(s) '%s'" % name)
        if not spec.get('allow_post'):
            raise _bad(resource, "Attribute '%s' not allowed in POST" % name)
        out[name] = _check_value(resource, name, spec, value)
    for name, spec in attr_map.items():
        if name in out or not spec.get('allow_post'):
            continue
        if 'default' not in spec:
            if name in ('project_id', 'tenant_id'):
                continue
            raise _bad(resource, "Failed to parse request. Required attribute "
                                 "'%s' not specified" % name)
        default = spec['default']
        out[name] = default if default is base.ATTR_NOT_SPECIFIED else _copy(default)
    return out


def prepare_update(resource, attr_map, body):
    if not isinstance(body, dict):
        raise _bad(resource, 'Resource body required')
    if not body:
        raise _bad(resource, 'Resource body required')
    out = {}
    for name, value in body.items():
        spec = attr_map.get(name)
        if spec is None:
            raise _bad(resource, "Unrecognized attribute(s) '%s'" % name)
        if not spec.get('allow_put'):
            raise _bad(resource, "Cannot update read-only attribute %s" % name)
        out[name] = _check_value(resource, name, spec, value)
    return out


def _copy(value):
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def parse_filters(resource, attr_map, params):
    """{attribute: [values]} from a query string; 400 for unknown filters."""
    filters = {}
    for name, value in params.items():
        if name in PAGING_PARAMS:
            continue
        if name in TAG_FILTERS and 'tags' in attr_map:
            filters.setdefault(name, []).append(value)
            continue
        spec = attr_map.get(name)
        if spec is None or not spec.get('is_filter'):
            raise _bad(resource, '[%s] is invalid attribute for filtering' % name)
        if name == 'tenant_id':
            name = 'project_id'
        # As Neutron does: the attribute's converter applies to filter
        # values too (MAC case, CIDR form, booleans).
        filters.setdefault(name, []).append(_convert(name, spec, value))
    return filters


def parse_sorts(resource, attr_map, params):
    keys = params.getall('sort_key')
    dirs = params.getall('sort_dir')
    if dirs and len(dirs) != len(keys):
        raise _bad(resource, 'The number of sort_keys and sort_dirs must be same')
    sorts = []
    for i, key in enumerate(keys):
        spec = attr_map.get(key)
        if spec is None or not spec.get('is_sort_key'):
            raise _bad(resource, '%s is an invalid attribute for sort_key' % key)
        direction = dirs[i] if dirs else 'asc'
        if direction not in ('asc', 'desc'):
            raise _bad(resource, "%s is an invalid value for sort_dir, valid value "
                                 "is 'asc' and 'desc'" % direction)
        sorts.append(('project_id' if key == 'tenant_id' else key, direction == 'asc'))
    return sorts


def parse_limit(resource, params, max_limit):
    raw = params.get('limit')
    limit = None
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise _bad(resource, "Limit must be an integer 0 or greater and not '%s'" % raw)
        if limit < 0:
            raise _bad(resource, "Limit must be an integer 0 or greater and not '%d'" % limit)
        if limit == 0:
            limit = None
        elif limit > MAX_LIMIT:
            limit = MAX_LIMIT  # more than any table holds; SQL LIMIT is 64-bit
    if max_limit and max_limit > 0:
        limit = min(limit or max_limit, max_limit)
    return limit


def parse_bool_param(resource, params, name):
    raw = params.get(name)
    if raw is None:
        return False
    lowered = raw.lower()
    if lowered in ('true', '1'):
        return True
    if lowered in ('false', '0'):
        return False
    raise _bad(resource, "'%s' is not a valid boolean for %s" % (raw, name))
