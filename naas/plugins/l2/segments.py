"""Network segments: provider attributes and tenant segment allocation.

Tenant networks take a VNI (vxlan), key (gre) or VLAN ID (vlan) from the
ranges in [l2]; the free values live in the free list (naas.db.freelist),
pool ``vxlan``, ``gre`` or ``vlan:PHYSNET``.

Other users of the same ids (the bridges plugin: remote bridges' VNIs,
physical bridges' VLANs) take them out of the free list themselves and
register a :func:`add_reservations` source, so that no network is given
one: a refill leaves them out and a provider network asking for one is 409.
"""
import json

import sqlalchemy as sa

from naas.common import exceptions
from naas.conf import CONF
from naas.db import freelist
from naas.db import query
from naas.lib.definitions import base
from naas.plugins.l2 import models

segments = models.segments
MAX_ID = {'vlan': 4094, 'vxlan': 2 ** 24 - 1, 'gre': 2 ** 24 - 1}
# Bytes of encapsulation each type costs on an IPv4 underlay.
OVERHEAD = {'vxlan': 50, 'gre': 42}


#: Callables ``source(conn, pool_id) -> {value: who}`` of ids reserved by
#: others than networks (add_reservations).
_RESERVATIONS = []


def add_reservations(source):
    """Register ``source(conn, pool_id) -> {value: description}``: ids of
    ``pool_id`` in use outside the segments table."""
    if source not in _RESERVATIONS:
        _RESERVATIONS.append(source)


def reserved(conn, pool_id):
    out = {}
    for source in _RESERVATIONS:
        out.update(source(conn, pool_id))
    return out


def _ranges(specs, max_id):
    out = []
    for spec in specs:
        low, high = (int(x) for x in spec.split(':'))
        if not 1 <= low <= high <= max_id:
            raise ValueError('bad range %s' % spec)
        out.append((low, high))
    return out


def configured_pools():
    """{pool_id: [(low, high)]} from naas.conf."""
    pools = {'vxlan': _ranges(CONF.l2.vni_ranges, MAX_ID['vxlan']),
             'gre': _ranges(CONF.l2.tunnel_id_ranges, MAX_ID['gre'])}
    for spec in CONF.l2.network_vlan_ranges:
        physnet, _, rng = spec.partition(':')
        pools.setdefault('vlan:' + physnet, [])
        if rng:
            pools['vlan:' + physnet] += _ranges([rng], MAX_ID['vlan'])
    return pools


def vlan_physnets():
    return {p.split(':', 1)[1] for p in configured_pools() if p.startswith('vlan:')}


def sync_pools(conn):
    """Refill a pool whose configured ranges changed, less what is in use."""
    for pool_id, ranges in configured_pools().items():
        text = json.dumps(sorted(ranges))
        stored = conn.execute(sa.select(models.segment_pools.c.ranges).where(
            models.segment_pools.c.pool_id == pool_id)).scalar()
        if stored == text:
            continue
        network_type, _, physnet = pool_id.partition(':')
        used = {r.segmentation_id for r in conn.execute(
            sa.select(segments.c.segmentation_id).where(
                segments.c.network_type == network_type,
                segments.c.physical_network == physnet))}
        used |= set(reserved(conn, pool_id))
        freelist.refill_pool(conn, pool_id, ranges, used)
        conn.execute(models.segment_pools.delete().where(
            models.segment_pools.c.pool_id == pool_id))
        conn.execute(models.segment_pools.insert().values(pool_id=pool_id, ranges=text))


def _pool_id(network_type, physnet):
    """The free list of ``network_type`` ('flat:PHYSNET' has none: only
    reservations, of value 0)."""
    if network_type in ('vlan', 'flat'):
        return network_type + ':' + physnet
    return network_type


def _bad(msg):
    return exceptions.InvalidInput(error_message=msg)


def validate_provider(segment):
    """Check provider attributes given by an admin; returns the segment."""
    network_type = segment['network_type']
    physnet = segment['physical_network']
    seg_id = segment['segmentation_id']
    if network_type not in CONF.l2.type_drivers:
        raise _bad('network_type value %s not supported' % network_type)
    if network_type in ('vxlan', 'gre', 'local'):
        if physnet:
            raise _bad('provider:physical_network specified for %s network' % network_type)
        if network_type == 'local' and seg_id is not None:
            raise _bad('provider:segmentation_id specified for local network')
    elif network_type == 'flat':
        if not physnet:
            raise _bad('provider:physical_network required for flat provider network')
        if seg_id is not None:
            raise _bad('provider:segmentation_id specified for flat network')
        if '*' not in CONF.l2.flat_networks and physnet not in CONF.l2.flat_networks:
            raise _bad('physical_network %s unknown for flat provider network' % physnet)
        segment['segmentation_id'] = 0
    elif network_type == 'vlan':
        if not physnet:
            raise _bad('provider:physical_network required for VLAN provider network')
        if physnet not in vlan_physnets():
            raise _bad('physical_network %s unknown for VLAN provider network' % physnet)
    if seg_id is not None and network_type in MAX_ID and not 1 <= seg_id <= MAX_ID[network_type]:
        raise _bad('provider:segmentation_id %s out of range (1 through %s)'
                   % (seg_id, MAX_ID[network_type]))
    segment['physical_network'] = physnet or ''
    return segment


def allocate(conn, network_id, provider):
    """Record the network's segment: the provider one, or a tenant one."""
    sync_pools(conn)
    if provider is None:
        segment = _allocate_tenant(conn)
    else:
        segment = validate_provider(provider)
        segment = _allocate_provider(conn, segment)
    conn.execute(segments.insert().values(network_id=network_id, **segment))
    return segment


def _allocate_tenant(conn):
    for network_type in CONF.l2.tenant_network_types:
        if network_type == 'local':
            return {'network_type': 'local', 'physical_network': '',
                    'segmentation_id': None}
        pools = [p for p in configured_pools()
                 if p == network_type or p.startswith(network_type + ':')]
        for pool_id in pools:
            value = freelist.take_next(conn, pool_id)
            if value is not None:
                return {'network_type': network_type,
                        'physical_network': pool_id.partition(':')[2],
                        'segmentation_id': value}
    raise exceptions.NoNetworkAvailable()


def _allocate_provider(conn, segment):
    network_type, seg_id = segment['network_type'], segment['segmentation_id']
    if network_type in MAX_ID and seg_id is None:
        value = freelist.take_next(conn, _pool_id(network_type, segment['physical_network']))
        if value is None:
            raise exceptions.NoNetworkAvailable()
        segment['segmentation_id'] = value
        return segment
    if network_type in MAX_ID:
        # Inside a tenant range: take it from the free list; outside: the
        # unique key below is the only guard needed.
        freelist.take(conn, _pool_id(network_type, segment['physical_network']), seg_id)
    taken = conn.execute(sa.select(segments.c.network_id).where(
        segments.c.network_type == network_type,
        segments.c.physical_network == segment['physical_network'],
        segments.c.segmentation_id == segment['segmentation_id'])).first()
    if network_type != 'local' and segment['segmentation_id'] in reserved(
            conn, _pool_id(network_type, segment['physical_network'])):
        taken = 'reserved'
    if taken is not None and network_type != 'local':
        raise exceptions.SegmentationIdInUse(
            network_type=network_type, segmentation_id=segment['segmentation_id'],
            physical_network=segment['physical_network'] or None)
    return segment


def release(conn, network_id):
    row = conn.execute(sa.select(segments).where(segments.c.network_id == network_id)).first()
    if row is None:
        return
    conn.execute(segments.delete().where(segments.c.network_id == network_id))
    if row.network_type in MAX_ID:
        pool_id = _pool_id(row.network_type, row.physical_network)
        low_high = configured_pools().get(pool_id, [])
        if any(lo <= row.segmentation_id <= hi for lo, hi in low_high):
            freelist.give_back(conn, pool_id, row.segmentation_id)


PROVIDER_ATTRS = ('provider:network_type', 'provider:physical_network',
                  'provider:segmentation_id')
PROVIDER_COLUMNS = {'provider:network_type': segments.c.network_type,
                    'provider:physical_network': segments.c.physical_network,
                    'provider:segmentation_id': segments.c.segmentation_id}


def provider_request(network):
    """The segment a create body asks for with provider:* attributes, or
    None (a tenant segment)."""
    if all(network.get(a, base.ATTR_NOT_SPECIFIED) is base.ATTR_NOT_SPECIFIED
           for a in PROVIDER_ATTRS):
        return None
    segment = {attr.partition(':')[2]: network.get(attr, base.ATTR_NOT_SPECIFIED)
               for attr in PROVIDER_ATTRS}
    segment = {k: None if v is base.ATTR_NOT_SPECIFIED else v for k, v in segment.items()}
    if segment['network_type'] is None:
        raise _bad('provider:network_type required')
    return segment


def networks_matching(filters):
    """SELECT of the network ids whose segment matches the provider:*
    filters popped from ``filters``, or None when there are none."""
    provider = {a: filters.pop(a) for a in PROVIDER_ATTRS if a in filters}
    if not provider:
        return None
    ids = sa.select(segments.c.network_id)
    for attr, values in provider.items():
        column = PROVIDER_COLUMNS[attr]
        ids = ids.where(column.in_([query.coerce(column, v) for v in values]))
    return ids


def of_network(conn, network_id):
    """The network's segment row, or None."""
    return conn.execute(sa.select(segments).where(
        segments.c.network_id == network_id)).first()


def for_networks(conn, ids):
    out = {}
    for i in range(0, len(ids), 500):
        for r in conn.execute(sa.select(segments).where(segments.c.network_id.in_(ids[i:i + 500]))):
            out[r.network_id] = r
    return out


def provider_dict(row):
    if row is None:
        return {'provider:network_type': None, 'provider:physical_network': None,
                'provider:segmentation_id': None}
    return {'provider:network_type': row.network_type,
            'provider:physical_network': row.physical_network or None,
            'provider:segmentation_id': (row.segmentation_id
                                         if row.network_type not in ('flat', 'local')
                                         else None)}


def network_mtu(network_type):
    """The largest MTU a network of ``network_type`` can have."""
    physical = CONF.l2.path_mtu or CONF.global_physnet_mtu
    return physical - OVERHEAD.get(network_type, 0)


def check_mtu(network_type, mtu):
    max_mtu = network_mtu(network_type)
    if mtu > max_mtu:
        raise _bad('Requested MTU is too big, maximum is %d' % max_mtu)
