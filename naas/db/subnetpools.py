"""Subnet pools (naas.lib.definitions.subnetpool): their rows, their checks,
and the allocation of a subnet's cidr from a pool.

A pool's subnets are the subnets whose subnetpool_id names it: there is no
allocation table, so a deleted subnet gives its block back.  An allocation
locks the pool row, so two concurrent creates cannot take the same block.
"""
import netaddr
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import models
from naas.db import query
from naas.lib.definitions import base
from naas.lib.definitions import subnetpool as subnetpool_def

subnetpools = models.subnetpools
subnets = models.subnets
COLUMNS = query.column_map(subnetpools, renames={'tenant_id': 'project_id'})
#: default_quota counts IPv4 addresses and IPv6 /64s, as Neutron.
QUOTA_UNIT = {4: 32, 6: 64}


def _bad(msg, resource='subnetpool'):
    return exceptions.BadRequest(resource=resource, msg=msg)


def visible(context):
    """Own pools and shared ones."""
    if context.is_admin:
        return sa.true()
    return sa.or_(subnetpools.c.project_id == common.CTX_PROJECT,
                  subnetpools.c.shared.is_(True))


def get_row(context, id, lock=False):
    return common.visible_row(context, subnetpools, id, visible(context),
                              exceptions.SubnetPoolNotFound(subnetpool_id=id), lock)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    stmt = sa.select(subnetpools).where(visible(context))
    return query.list_rows(context, stmt, subnetpools, COLUMNS, dict(filters or {}),
                           sorts, limit, marker, page_reverse, get_row)


def to_dicts(rows):
    out = []
    for row in rows:
        d = common.standard_dict(row)
        d.update({'prefixes': common.loads(row.prefixes, []), 'ip_version': row.ip_version,
                  'default_prefixlen': row.default_prefixlen,
                  'min_prefixlen': row.min_prefixlen, 'max_prefixlen': row.max_prefixlen,
                  'shared': row.shared, 'is_default': row.is_default,
                  'default_quota': row.default_quota, 'address_scope_id': None})
        out.append(d)
    return out


def _merged(prefixes):
    return [str(net) for net in netaddr.cidr_merge([netaddr.IPNetwork(p) for p in prefixes])]


def checked(body, current=None):
    """The pool's columns from a create body, or from an update body over
    ``current`` (its dict): merged prefixes of one IP version, which an
    update may only extend, and min <= default <= max within the version's
    bits.  BadRequest otherwise."""
    current = current or {}
    prefixes = body.get('prefixes', current.get('prefixes'))
    version = netaddr.IPNetwork(prefixes[0]).version
    if current and version != current['ip_version']:
        raise _bad('prefixes must stay IPv%d' % current['ip_version'])
    merged = _merged(prefixes)
    if current and not netaddr.IPSet(current['prefixes']).issubset(netaddr.IPSet(merged)):
        raise _bad('Illegal update to prefixes: the prefixes of a subnet pool can only '
                   'be extended')
    bits, default_min = subnetpool_def.PREFIX_BOUNDS[version]

    def bound(name, default):
        value = body.get(name, base.ATTR_NOT_SPECIFIED)
        if value is base.ATTR_NOT_SPECIFIED:
            return current.get(name, default)
        return value
    min_len = bound('min_prefixlen', default_min)
    max_len = bound('max_prefixlen', bits)
    default_len = bound('default_prefixlen', min_len)
    if not 0 <= min_len <= default_len <= max_len <= bits:
        raise _bad('Illegal prefix bounds: min_prefixlen %s, default_prefixlen %s, '
                   'max_prefixlen %s (IPv%d: 0 <= min <= default <= max <= %d)'
                   % (min_len, default_len, max_len, version, bits))
    smallest = min(netaddr.IPNetwork(p).prefixlen for p in merged)
    if smallest > max_len:
        raise _bad('Illegal prefix bounds: prefix length %d of the prefixes is over '
                   'max_prefixlen %d' % (smallest, max_len))
    return {'prefixes': common.dumps(merged), 'ip_version': version,
            'min_prefixlen': min_len, 'max_prefixlen': max_len,
            'default_prefixlen': default_len}


def insert(conn, body):
    row = common.new_standard(body)
    row.update(checked(body), shared=body['shared'], is_default=body['is_default'],
               default_quota=body['default_quota'])
    conn.execute(subnetpools.insert().values(**row))
    return row['id']


def update(conn, current, body, expected_revision=None):
    cols = {k: body[k] for k in ('name', 'description', 'is_default', 'default_quota')
            if k in body}
    if set(body) & {'prefixes', 'min_prefixlen', 'max_prefixlen', 'default_prefixlen'}:
        cols.update(checked(body, current))
    common.bump(conn, subnetpools, current['id'], cols, expected_revision)


def delete(conn, id):
    if conn.execute(sa.select(subnets.c.id).where(subnets.c.subnetpool_id == id)
                    .limit(1)).first() is not None:
        raise exceptions.SubnetPoolInUse(subnet_pool_id=id,
                                         reason='Subnets are allocated from it')
    common.delete_tags(conn, id)
    conn.execute(subnetpools.delete().where(subnetpools.c.id == id))


def allocate(context, body):
    """The cidr of a new subnet from its pool (``body['subnetpool_id']``):
    the given cidr if it lies in the pool and is free, else the first free
    block of ``prefixlen`` (default: the pool's default_prefixlen)."""
    conn = context.connection
    pool = to_dicts([get_row(context, body['subnetpool_id'], lock=True)])[0]
    if body['ip_version'] != pool['ip_version']:
        raise _bad('ip_version %s does not match the subnet pool\'s (IPv%d)'
                   % (body['ip_version'], pool['ip_version']), 'subnet')
    taken = conn.execute(sa.select(subnets.c.cidr, subnets.c.project_id).where(
        subnets.c.subnetpool_id == pool['id'])).all()
    free = netaddr.IPSet(pool['prefixes']) - netaddr.IPSet(row.cidr for row in taken)
    cidr = body.get('cidr', base.ATTR_NOT_SPECIFIED)
    prefixlen = body.get('prefixlen', base.ATTR_NOT_SPECIFIED)
    if cidr is not base.ATTR_NOT_SPECIFIED:
        if prefixlen is not base.ATTR_NOT_SPECIFIED:
            raise _bad('cidr and prefixlen must not be supplied together', 'subnet')
        wanted = netaddr.IPNetwork(cidr)
        prefixlen = wanted.prefixlen
    elif prefixlen is base.ATTR_NOT_SPECIFIED:
        prefixlen = pool['default_prefixlen']
    if not pool['min_prefixlen'] <= prefixlen <= pool['max_prefixlen']:
        raise _bad('prefixlen %s is outside the subnet pool\'s bounds %s through %s'
                   % (prefixlen, pool['min_prefixlen'], pool['max_prefixlen']), 'subnet')
    _check_quota(pool, taken, body['project_id'], prefixlen)
    if cidr is not base.ATTR_NOT_SPECIFIED:
        if not netaddr.IPSet([wanted]).issubset(free):
            raise exceptions.Conflict(msg='Cidr %s is not free in subnet pool %s'
                                      % (cidr, pool['id']))
        return str(wanted.cidr)
    for block in free.iter_cidrs():
        if block.prefixlen <= prefixlen:
            return str(next(block.subnet(prefixlen)))
    raise exceptions.Conflict(msg='Insufficient prefix space in subnet pool %s to '
                              'allocate a /%s' % (pool['id'], prefixlen))


def _check_quota(pool, taken, project_id, prefixlen):
    quota = pool['default_quota']
    if quota is None:
        return
    unit = QUOTA_UNIT[pool['ip_version']]
    used = sum(2 ** (unit - netaddr.IPNetwork(row.cidr).prefixlen)
               for row in taken if row.project_id == project_id)
    if used + 2 ** max(unit - prefixlen, 0) > quota:
        raise exceptions.OverQuota(overs='subnetpool %s (default_quota %d)'
                                   % (pool['id'], quota))
