"""Subnets in the core tables, with their IPAM pools."""
import netaddr
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import ipam
from naas.db import models
from naas.db import networks as networks_db
from naas.db import query
from naas.lib.definitions import base

subnets = models.subnets
networks = models.networks
COLUMNS = query.column_map(subnets, renames={'tenant_id': 'project_id'})


def _bad(msg):
    return exceptions.InvalidInput(error_message=msg)


def visible_to(context):
    """WHERE clause of the subnets a context may see (uses CTX_PROJECT)."""
    if context.is_admin:
        return sa.true()
    visible_nets = sa.select(networks.c.id).where(networks_db.visible_to(context))
    return sa.or_(subnets.c.project_id == common.CTX_PROJECT,
                  subnets.c.network_id.in_(visible_nets))


_OF_NETWORK = common.prebuilt(lambda: sa.select(subnets).where(
    subnets.c.network_id == sa.bindparam('network_id'))
    .order_by(subnets.c.created_at, subnets.c.id))


def _select_with_network():
    return sa.select(subnets, networks.c.project_id.label('network_project_id'),
                     networks_db.shared_with_caller().label('network_shared'),
                     networks.c.router_external.label('network_external')).join(
        networks, networks.c.id == subnets.c.network_id)


def check_and_fill(conn, network_id, body):
    """Validate a new subnet against its network; fill gateway and pools."""
    net = netaddr.IPNetwork(body['cidr'])
    version = body['ip_version']
    if net.version != version:
        raise _bad('Cidr %s does not match ip_version %s' % (body['cidr'], version))
    if version == 4 and net.prefixlen > 32 or net.prefixlen == 0:
        raise _bad('Invalid prefix length %s for cidr %s' % (net.prefixlen, body['cidr']))
    ra, addr = body['ipv6_ra_mode'], body['ipv6_address_mode']
    if version == 4 and (ra or addr):
        raise _bad('ipv6_ra_mode or ipv6_address_mode cannot be set when '
                   'enable_dhcp is set to False or ip_version is 4')
    if ra and addr and ra != addr:
        raise _bad('ipv6_ra_mode set to %s with ipv6_address_mode set to %s '
                   'is not valid; when both are set they must be the same' % (ra, addr))
    if (addr in ipam.AUTO_ADDRESS_MODES or ra in ipam.AUTO_ADDRESS_MODES) \
            and net.prefixlen != 64:
        raise _bad('Invalid CIDR %s for IPv6 address mode. OpenStack uses the '
                   'EUI-64 address format, which requires the prefix to be /64'
                   % body['cidr'])
    for other in conn.execute(sa.select(subnets.c.id, subnets.c.cidr)
                              .where(subnets.c.network_id == network_id)):
        if netaddr.IPNetwork(other.cidr) in net or net in netaddr.IPNetwork(other.cidr):
            raise exceptions.SubnetOverlap(cidr=body['cidr'], net_id=network_id,
                                           other=other.id)
    gateway = body['gateway_ip']
    if gateway is base.ATTR_NOT_SPECIFIED:
        gateway = str(netaddr.IPAddress(net.first + 1, version)) if net.size > 2 else None
    elif gateway is not None:
        _check_gateway(net, gateway)
    pools = body['allocation_pools']
    if pools is base.ATTR_NOT_SPECIFIED:
        pools = ipam.default_pools(body['cidr'], gateway)
    else:
        pools = check_pools(net, pools, gateway)
    for route in body['host_routes']:
        if netaddr.IPNetwork(route['destination']).version != version or \
                netaddr.IPAddress(route['nexthop']).version != version:
            raise _bad('Host route %s does not match ip_version %s' % (route, version))
    return gateway, pools


def _check_gateway(net, gateway):
    ip = netaddr.IPAddress(gateway)
    if ip.version != net.version:
        raise _bad('Gateway IP version %s does not match subnet version %s'
                   % (ip.version, net.version))
    if ip not in net or (net.version == 4 and net.prefixlen <= 30 and
                         ip in (net.network, net.broadcast)):
        raise _bad('Gateway ip %s is not a valid address in subnet %s' % (gateway, net))


def check_pools(net, api_pools, gateway):
    pools = []
    for p in api_pools:
        start, end = netaddr.IPAddress(p['start']), netaddr.IPAddress(p['end'])
        if start.version != net.version or end.version != net.version:
            raise exceptions.InvalidAllocationPool(pool=p)
        if start > end or start not in net or end not in net:
            raise exceptions.InvalidAllocationPool(pool=p)
        if net.version == 4 and net.prefixlen <= 30 and \
                (start == net.network or end == net.broadcast):
            raise exceptions.InvalidAllocationPool(pool=p)
        pools.append((int(start), int(end)))
    pools.sort()
    for (f1, l1), (f2, l2) in zip(pools, pools[1:]):
        if f2 <= l1:
            raise _bad('Found overlapping allocation pools: %s' % api_pools)
    _check_gateway_outside(gateway, pools)
    return pools


def _check_gateway_outside(gateway, pools):
    if gateway:
        gw = int(netaddr.IPAddress(gateway))
        for f, l in pools:
            if f <= gw <= l:
                raise exceptions.GatewayConflictWithAllocationPools(
                    ip_address=gateway, pool='%s-%s' % (netaddr.IPAddress(f),
                                                        netaddr.IPAddress(l)))


def insert(conn, body, gateway, pools):
    row = common.new_standard(body)
    row.update(network_id=body['network_id'], ip_version=body['ip_version'],
               cidr=body['cidr'], gateway_ip=gateway, enable_dhcp=body['enable_dhcp'],
               ipv6_ra_mode=body['ipv6_ra_mode'],
               ipv6_address_mode=body['ipv6_address_mode'],
               allocation_pools=common.dumps(ipam.pools_to_api(pools, body['ip_version'])),
               dns_nameservers=common.dumps(body['dns_nameservers']),
               host_routes=common.dumps(body['host_routes']),
               subnetpool_id=body['subnetpool_id'])
    conn.execute(subnets.insert().values(**row))
    ipam.create_subnet_pool(conn, row['id'], pools)
    return row['id']


def get_row(context, id):
    row = context.connection.execute(
        _select_with_network().where(subnets.c.id == id, visible_to(context)),
        common.ctx_params(context)).first()
    if row is None:
        raise exceptions.SubnetNotFound(subnet_id=id)
    return row


def rows_of_network(conn, network_id):
    return conn.execute(_OF_NETWORK(), {'network_id': network_id}).all()


def rows_by_id(conn, subnet_ids):
    """{id: row} of the subnets ``subnet_ids`` (whoever may see them)."""
    out = {}
    for chunk in common.chunks(sorted(set(subnet_ids))):
        for row in conn.execute(sa.select(subnets).where(subnets.c.id.in_(chunk))):
            out[row.id] = row
    return out


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    stmt = _select_with_network().where(visible_to(context))
    return query.list_rows(context, stmt, subnets, COLUMNS, filters, sorts, limit, marker,
                           page_reverse, get_row)


def to_dicts(conn, rows):
    out = []
    for r in rows:
        d = common.standard_dict(r)
        d.update({'network_id': r.network_id, 'ip_version': r.ip_version,
                  'cidr': r.cidr, 'gateway_ip': r.gateway_ip,
                  'enable_dhcp': r.enable_dhcp, 'ipv6_ra_mode': r.ipv6_ra_mode,
                  'ipv6_address_mode': r.ipv6_address_mode,
                  'allocation_pools': common.loads(r.allocation_pools, []),
                  'dns_nameservers': common.loads(r.dns_nameservers, []),
                  'host_routes': common.loads(r.host_routes, []),
                  'subnetpool_id': r.subnetpool_id, 'segment_id': None})
        if hasattr(r, 'network_project_id'):
            d['network:project_id'] = d['network:tenant_id'] = r.network_project_id
            d['shared'] = r.network_shared
            d['router:external'] = r.network_external
        out.append(d)
    return out


def update(conn, subnet, values, expected_revision=None):
    """Apply an update; ``subnet`` is the current dict."""
    net = netaddr.IPNetwork(subnet['cidr'])
    cols = {k: values[k] for k in ('name', 'description', 'enable_dhcp') if k in values}
    gateway = values.get('gateway_ip', subnet['gateway_ip'])
    if 'gateway_ip' in values and gateway is not None:
        _check_gateway(net, gateway)
    old_pools = ipam.subnet_pools(subnet)
    pools = old_pools
    if 'allocation_pools' in values:
        pools = check_pools(net, values['allocation_pools'], gateway)
    elif 'gateway_ip' in values:
        _check_gateway_outside(gateway, pools)
    if 'gateway_ip' in values:
        cols['gateway_ip'] = gateway
    if pools != old_pools:
        cols['allocation_pools'] = common.dumps(ipam.pools_to_api(pools, net.version))
        ipam.update_subnet_pools(conn, subnet['id'], old_pools, pools)
    for attr in ('dns_nameservers', 'host_routes'):
        if attr in values:
            cols[attr] = common.dumps(values[attr])
    common.bump(conn, subnets, subnet['id'], cols, expected_revision)


def delete(conn, id):
    ipam.delete_subnet_pool(conn, id)
    common.delete_tags(conn, id)
    conn.execute(subnets.delete().where(subnets.c.id == id))
