"""The network configuration of ports and instances, for the two schemes
that do not use DHCP: an in-guest agent, and file injection.

``network_info`` is nova's network_info model (VIFs with their network and
subnets); ``cloud_init`` renders it as cloud-init network-config version 2
and ``network_data`` as the config drive's network_data.json.  Addresses are
static: what IPAM gave each port.
"""
import netaddr
import sqlalchemy as sa

from naas.db import common
from naas.db import models
from naas.db import subnets as subnets_db


def network_info(conn, port_ids=None, device_id=None):
    """[VIF] of the ports ``port_ids`` or of the ports of ``device_id`` (an
    instance), in nova's network_info shape."""
    ports_table, networks_table = models.ports, models.networks
    if port_ids is not None:
        where = ports_table.c.id.in_(list(port_ids))
    else:
        where = ports_table.c.device_id == device_id
    ports = conn.execute(
        sa.select(ports_table, networks_table.c.mtu)
        .join(networks_table, networks_table.c.id == ports_table.c.network_id)
        .where(where).order_by(ports_table.c.created_at, ports_table.c.id)).all()
    subnet_ids = {ip['subnet_id'] for p in ports for ip in common.loads(p.fixed_ips, [])}
    subnets = subnets_db.rows_by_id(conn, subnet_ids)
    vifs = []
    for p in ports:
        ips = common.loads(p.fixed_ips, [])
        vif_subnets = []
        for sid in sorted({ip['subnet_id'] for ip in ips},
                          key=lambda i: (subnets[i].ip_version, subnets[i].created_at, i)):
            s = subnets[sid]
            vif_subnets.append({
                'id': s.id, 'cidr': s.cidr, 'version': s.ip_version, 'gateway': s.gateway_ip,
                'dns': common.loads(s.dns_nameservers, []),
                'routes': common.loads(s.host_routes, []),
                'ips': [ip['ip_address'] for ip in ips if ip['subnet_id'] == sid],
                'enable_dhcp': s.enable_dhcp,
                'ipv6_address_mode': s.ipv6_address_mode})
        vifs.append({'id': p.id, 'address': p.mac_address, 'active': p.status == 'ACTIVE',
                     'type': p.binding_vif_type,
                     'details': common.loads(p.binding_vif_details, {}),
                     'devname': ('tap' + p.id)[:14], 'vnic_type': p.binding_vnic_type,
                     'network': {'id': p.network_id, 'mtu': p.mtu, 'subnets': vif_subnets}})
    return vifs


def _prefixed(ip, cidr):
    return '%s/%d' % (ip, netaddr.IPNetwork(cidr).prefixlen)


def cloud_init(vifs):
    """cloud-init network-config version 2 (netplan-like) of the VIFs."""
    ethernets = {}
    for index, vif in enumerate(vifs):
        addresses, routes, dns = [], [], []
        for s in vif['network']['subnets']:
            addresses += [_prefixed(ip, s['cidr']) for ip in s['ips']]
            if s['gateway']:
                routes.append({'to': '0.0.0.0/0' if s['version'] == 4 else '::/0',
                               'via': s['gateway']})
            routes += [{'to': r['destination'], 'via': r['nexthop']} for r in s['routes']]
            dns += [d for d in s['dns'] if d not in dns]
        config = {'match': {'macaddress': vif['address']}, 'set-name': 'eth%d' % index,
                  'mtu': vif['network']['mtu'], 'dhcp4': False, 'dhcp6': False,
                  'addresses': addresses}
        if routes:
            config['routes'] = routes
        if dns:
            config['nameservers'] = {'addresses': dns}
        ethernets['eth%d' % index] = config
    return {'network': {'version': 2, 'ethernets': ethernets}}


def network_data(vifs):
    """The config drive's network_data.json of the VIFs."""
    links, networks, services = [], [], []
    for vif in vifs:
        link_id = vif['devname']
        links.append({'id': link_id, 'vif_id': vif['id'], 'type': vif['type'] or 'phy',
                      'ethernet_mac_address': vif['address'],
                      'mtu': vif['network']['mtu']})
        for s in vif['network']['subnets']:
            net = netaddr.IPNetwork(s['cidr'])
            routes = []
            if s['gateway']:
                default = '0.0.0.0' if s['version'] == 4 else '::'
                routes.append({'network': default, 'netmask': default,
                               'gateway': s['gateway']})
            for r in s['routes']:
                dest = netaddr.IPNetwork(r['destination'])
                routes.append({'network': str(dest.network), 'netmask': str(dest.netmask),
                               'gateway': r['nexthop']})
            for ip in s['ips']:
                networks.append({
                    'id': 'network%d' % len(networks), 'link': link_id,
                    'network_id': vif['network']['id'],
                    'type': 'ipv%d' % s['version'], 'ip_address': ip,
                    'netmask': str(net.netmask), 'routes': routes,
                    'services': [{'type': 'dns', 'address': d} for d in s['dns']]})
            services += [{'type': 'dns', 'address': d} for d in s['dns']
                         if {'type': 'dns', 'address': d} not in services]
    return {'links': links, 'networks': networks, 'services': services}


RENDERERS = {'cloud-init': cloud_init, 'network_data': network_data}
