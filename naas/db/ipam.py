"""IP address management on the free list (naas.db.freelist).

Each subnet has a pool named by its id holding the free addresses of its
allocation pools.  Addresses of slaac and dhcpv6-stateless subnets are not
allocated: they are the EUI-64 of the port's MAC.
"""
import json

import netaddr
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import freelist
from naas.db import models

AUTO_ADDRESS_MODES = ('slaac', 'dhcpv6-stateless')


def is_auto_address(subnet):
    return subnet['ip_version'] == 6 and subnet['ipv6_address_mode'] in AUTO_ADDRESS_MODES


def default_pools(cidr, gateway_ip):
    """The whole CIDR less network, broadcast (v4) and gateway addresses."""
    net = netaddr.IPNetwork(cidr)
    first, last = net.first, net.last
    if net.version == 4 and net.prefixlen <= 30:
        first, last = first + 1, last - 1
    elif net.version == 6 and net.prefixlen < 128:
        first += 1  # the subnet-router anycast address
    pools = [(first, last)] if first <= last else []
    if gateway_ip:
        pools = _exclude(pools, int(netaddr.IPAddress(gateway_ip)))
    return pools


def _exclude(pools, value):
    out = []
    for first, last in pools:
        if first <= value <= last:
            if first < value:
                out.append((first, value - 1))
            if value < last:
                out.append((value + 1, last))
        else:
            out.append((first, last))
    return out


def pools_to_api(pools, version):
    return [{'start': str(netaddr.IPAddress(f, version)),
             'end': str(netaddr.IPAddress(l, version))} for f, l in pools]


def pools_from_api(api_pools):
    return [(int(netaddr.IPAddress(p['start'])), int(netaddr.IPAddress(p['end'])))
            for p in api_pools]


def subnet_pools(subnet):
    """The (first, last) integer ranges of a subnet row/dict."""
    pools = subnet['allocation_pools']
    if isinstance(pools, str):
        pools = json.loads(pools)
    return pools_from_api(pools)


#: A subnet's free addresses are stored in stripes of about this many (16
#: at most, naas.db.freelist), so that concurrent port creates on a large
#: subnet take from different rows; a /24 is one range.
STRIPE = 256


def create_subnet_pool(conn, subnet_id, pools):
    freelist.create_pool(conn, subnet_id, pools, STRIPE)


def delete_subnet_pool(conn, subnet_id):
    freelist.delete_pool(conn, subnet_id)


def update_subnet_pools(conn, subnet_id, old_pools, new_pools):
    """Move the free list from old to new pools, keeping what is allocated."""
    allocated = {int(netaddr.IPAddress(r.ip_address)) for r in conn.execute(
        sa.select(models.ip_allocations.c.ip_address)
        .where(models.ip_allocations.c.subnet_id == subnet_id))}
    freelist.refill_pool(conn, subnet_id, new_pools, allocated, STRIPE)


def eui64(cidr, mac):
    net = netaddr.IPNetwork(cidr)
    return str(netaddr.EUI(mac).ipv6(net.network))


def allocate(conn, subnet, ip_address=None):
    """Give an address of ``subnet`` (the requested one, or the next free).

    Raises IpAddressAlreadyAllocated, IpAddressGenerationFailure or
    InvalidIpForSubnet.
    """
    if ip_address is None:
        value = freelist.take_next(conn, subnet['id'])
        if value is None:
            raise exceptions.IpAddressGenerationFailure(net_id=subnet['network_id'])
        return str(netaddr.IPAddress(value, subnet['ip_version']))
    ip = netaddr.IPAddress(ip_address)
    if ip not in netaddr.IPNetwork(subnet['cidr']) or not _usable(subnet, ip):
        raise exceptions.InvalidIpForSubnet(ip_address=ip_address)
    if freelist.take(conn, subnet['id'], int(ip)):
        return str(ip)
    # Not in the free list: already given, or outside the allocation pools
    # (allowed, e.g. for the gateway's router port) unless someone has it.
    taken = conn.execute(sa.select(models.ip_allocations.c.port_id).where(
        models.ip_allocations.c.subnet_id == subnet['id'],
        models.ip_allocations.c.ip_address == str(ip))).first()
    if taken is not None or _in_pools(subnet, int(ip)):
        raise exceptions.IpAddressAlreadyAllocated(ip=str(ip), subnet_id=subnet['id'])
    return str(ip)


def _usable(subnet, ip):
    net = netaddr.IPNetwork(subnet['cidr'])
    if ip.version == 4 and net.prefixlen <= 30:
        return ip != net.network and ip != net.broadcast
    if ip.version == 6 and net.prefixlen < 128:
        return ip != net.network
    return True


def _in_pools(subnet, value):
    return any(f <= value <= l for f, l in subnet_pools(subnet))


def release(conn, subnet, ip_address):
    """Give an address back to the free list (if it came from the pools)."""
    value = int(netaddr.IPAddress(ip_address))
    if _in_pools(subnet, value):
        freelist.give_back(conn, subnet['id'], value)
