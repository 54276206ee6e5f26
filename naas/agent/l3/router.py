"""What a router wants, as pure functions of the sync_routers data.

A router view (naas.rpc.l3_api.sync_routers) has: id, admin_state_up,
interfaces and gateway (port views: port_id, mac_address, mtu,
admin_state_up, fixed_ips with prefixlen and, on the gateway, gateway_ip),
floating_ips, routes, enable_snat, hidden, subnet_routes.  Nothing here does
I/O: the manager compares these with what the namespace has and applies the
differences.
"""
import ipaddress

NS_INFIX = '-router-'
INTERNAL_PREFIX = 'qr-'
GATEWAY_PREFIX = 'qg-'
HA_PREFIX = 'ha-'     # an HA router's port on its HA network (naas.agent.l3.keepalived)
PREFIXES = (INTERNAL_PREFIX, GATEWAY_PREFIX, HA_PREFIX)


def namespace_name(base, router_id):
    return '%s%s%s' % (base, NS_INFIX, router_id[:11])


def internal_name(port_id):
    return (INTERNAL_PREFIX + port_id)[:14]


def gateway_name(port_id):
    return (GATEWAY_PREFIX + port_id)[:14]


def norm(address):
    return str(ipaddress.ip_address(address))


def realised(router):
    """The view the namespace realises.  A router with admin_state_up false
    keeps its namespace and its ports plugged, so that the L2 side wires them
    and they are ACTIVE (as OVN reports the ports of a router up whatever its
    state), but with every link down and no address, route, floating IP or
    NAT: it neither answers nor forwards.  Clients (tempest among them) wait
    for an interface port to be ACTIVE whatever its router's state."""
    if router.get('admin_state_up', True):
        return router

    def down(view):
        return dict(view, admin_state_up=False, fixed_ips=[])
    gateway = router.get('gateway')
    return dict(router, interfaces=[down(view) for view in router.get('interfaces') or ()],
                gateway=down(gateway) if gateway else None, floating_ips=[], routes=[],
                subnet_routes=[])


def wanted_links(router):
    """{ifname: port view} of the router's interfaces and gateway."""
    out = {internal_name(i['port_id']): i for i in router.get('interfaces') or ()}
    gw = router.get('gateway')
    if gw:
        out[gateway_name(gw['port_id'])] = gw
    return out


def floating_ips(router):
    """{floating IP: fixed IP} of the associated floating IPs (IPv4)."""
    if not router.get('gateway'):
        return {}
    return {norm(f['floating_ip_address']): norm(f['fixed_ip_address'])
            for f in router.get('floating_ips') or ()
            if f.get('fixed_ip_address') and f.get('floating_ip_address')}


def wanted_addresses(router):
    """{ifname: {(address, prefixlen)}}."""
    out = {}
    for name, view in wanted_links(router).items():
        out[name] = {(norm(ip['ip_address']), int(ip['prefixlen']))
                     for ip in view.get('fixed_ips') or ()}
    gw = router.get('gateway')
    if gw:
        out[gateway_name(gw['port_id'])] |= {(fip, 32) for fip in floating_ips(router)}
    return out


def wanted_routes(router):
    """{(destination cidr, nexthop)}: the default routes via the external
    subnets' gateways, and the extra routes."""
    out = set()
    gw = router.get('gateway')
    if gw:
        seen = set()
        for ip in gw.get('fixed_ips') or ():
            version = ip.get('ip_version') or ipaddress.ip_address(ip['ip_address']).version
            if ip.get('gateway_ip') and version not in seen:
                seen.add(version)
                out.add(('0.0.0.0/0' if version == 4 else '::/0', norm(ip['gateway_ip'])))
    for route in router.get('routes') or ():
        dst = str(ipaddress.ip_network(route['destination'], strict=False))
        out.add((dst, norm(route['nexthop'])))
    return out


def gateway_ipv4(router):
    gw = router.get('gateway')
    for ip in (gw or {}).get('fixed_ips') or ():
        if ipaddress.ip_address(ip['ip_address']).version == 4:
            return norm(ip['ip_address'])
    return None
