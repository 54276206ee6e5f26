"""Query strings turned into filters, sorts and pages, by the attribute
maps of naas/lib/definitions (bodies: naas.lib.attributes)."""
from naas.common import exceptions
from naas.lib import attributes
from naas.lib import validators
from naas.lib.definitions import base

PAGING_PARAMS = ('fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse')
MAX_LIMIT = 2 ** 31 - 1


def _bad(resource, msg):
    return exceptions.BadRequest(resource=resource, msg=msg)


def parse_filters(resource, attr_map, params):
    """{attribute: [values]} from a query string; 400 for unknown filters."""
    filters = {}
    for name, value in params.items():
        if name in PAGING_PARAMS:
            continue
        if name in base.TAG_FILTERS and 'tags' in attr_map:
            filters.setdefault(name, []).append(value)
            continue
        spec = attr_map.get(name)
        if spec is None or not spec.get('is_filter'):
            raise _bad(resource, '[%s] is invalid attribute for filtering'
                       % validators.excerpt(name))
        if name == 'tenant_id':
            name = 'project_id'
        # As Neutron does: the attribute's converter applies to filter
        # values too (MAC case, CIDR form, booleans).
        filters.setdefault(name, []).append(attributes.convert(name, spec, value))
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
            raise _bad(resource, '%s is an invalid attribute for sort_key'
                       % validators.excerpt(key))
        direction = dirs[i] if dirs else 'asc'
        if direction not in ('asc', 'desc'):
            raise _bad(resource, "%s is an invalid value for sort_dir, valid value "
                                 "is 'asc' and 'desc'" % validators.excerpt(direction))
        sorts.append(('project_id' if key == 'tenant_id' else key, direction == 'asc'))
    return sorts


def parse_limit(resource, params, max_limit):
    raw = params.get('limit')
    limit = None
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise _bad(resource, "Limit must be an integer 0 or greater and not '%s'"
                       % validators.excerpt(raw))
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
    raise _bad(resource, "'%s' is not a valid boolean for %s"
               % (validators.excerpt(raw), name))
