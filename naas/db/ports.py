"""Ports in the core tables: MAC addresses and fixed IPs."""
import random

import netaddr
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import exceptions
from naas.conf import CONF
from naas.db import common
from naas.db import ipam
from naas.db import models
from naas.db import query
from naas.lib import constants
from naas.lib.definitions import base

ports = models.ports
networks = models.networks
ip_allocations = models.ip_allocations
COLUMNS = query.column_map(ports, renames={
    'tenant_id': 'project_id', 'binding:host_id': 'binding_host_id',
    'binding:vnic_type': 'binding_vnic_type',
    'binding:vif_type': 'binding_vif_type'})

#: Service ports that keep their subnet and network in use (409 on delete),
#: as in Neutron; other network:* ports (DHCP) go with them.
L3_OWNERS = (constants.DEVICE_OWNER_ROUTER_INTF, constants.DEVICE_OWNER_ROUTER_GW,
             constants.DEVICE_OWNER_FLOATINGIP)


def deleted_with_network(device_owner):
    return (device_owner.startswith(constants.DEVICE_OWNER_NETWORK_PREFIX)
            and device_owner not in L3_OWNERS)


def visible_to(context):
    """Own ports, and every port on the project's own networks."""
    return _visible(context.is_admin)


def _visible(admin):
    if admin:
        return sa.true()
    own_nets = sa.select(networks.c.id).where(networks.c.project_id == common.CTX_PROJECT)
    return sa.or_(ports.c.project_id == common.CTX_PROJECT, ports.c.network_id.in_(own_nets))


def random_mac():
    base_mac = CONF.base_mac.split(':')
    octets = [int(b, 16) if b != '00' else random.randint(0, 255) for b in base_mac]
    octets[0] &= 0xfe  # unicast
    return ':'.join('%02x' % o for o in octets)


def mac_in_use(conn, network_id, mac):
    return conn.execute(sa.select(ports.c.id).where(
        ports.c.network_id == network_id, ports.c.mac_address == mac)).first() is not None


def _subnet_for_ip(subnets, ip_address):
    ip = netaddr.IPAddress(ip_address)
    for s in subnets:
        if ip in netaddr.IPNetwork(s['cidr']):
            return s
    raise exceptions.InvalidIpForNetwork(ip_address=ip_address)


def _subnet_dict(row):
    return {'id': row.id, 'network_id': row.network_id, 'cidr': row.cidr,
            'ip_version': row.ip_version, 'ipv6_address_mode': row.ipv6_address_mode,
            'allocation_pools': row.allocation_pools}


def allocate_ips(conn, network_id, subnets, fixed_ips, mac, device_owner='', kept=0):
    """Addresses for a port: [{subnet_id, ip_address}].

    ``fixed_ips`` ATTR_NOT_SPECIFIED gives one address from the first IPv4
    subnet with room, one from the first stateful IPv6 subnet, and the
    EUI-64 address on every SLAAC subnet.  A router interface may ask for
    a given address on a SLAAC subnet (its gateway), as in Neutron.  A
    list asked for (with ``kept`` addresses the port keeps, on update) is
    the one place max_fixed_ips_per_port is checked.
    """
    subnets = [_subnet_dict(s) for s in subnets]
    by_id = {s['id']: s for s in subnets}
    out = []
    if fixed_ips is base.ATTR_NOT_SPECIFIED:
        for version in (4, 6):
            candidates = [s for s in subnets if s['ip_version'] == version
                          and not ipam.is_auto_address(s)]
            for i, s in enumerate(candidates):
                try:
                    out.append((s, ipam.allocate(conn, s)))
                    break
                except exceptions.IpAddressGenerationFailure:
                    if i == len(candidates) - 1:
                        raise
        for s in subnets:
            if ipam.is_auto_address(s):
                out.append((s, ipam.eui64(s['cidr'], mac)))
    else:
        if len(fixed_ips) + kept > CONF.max_fixed_ips_per_port:
            raise exceptions.InvalidInput(
                error_message='Exceeded maximum amount of fixed ips per port.')
        for entry in fixed_ips:
            out.append(_allocate_one(conn, network_id, subnets, by_id, entry, mac,
                                     device_owner == constants.DEVICE_OWNER_ROUTER_INTF))
    seen = set()
    for s, ip in out:
        if (s['id'], ip) in seen:
            raise exceptions.InvalidInput(error_message='Duplicate IP address %s' % ip)
        seen.add((s['id'], ip))
    rows = [{'subnet_id': s['id'], 'ip_address': ip, 'network_id': network_id}
            for s, ip in out]
    return rows


def _allocate_one(conn, network_id, subnets, by_id, entry, mac, router_port=False):
    subnet_id, ip = entry.get('subnet_id'), entry.get('ip_address')
    if subnet_id is None and ip is None:
        raise exceptions.InvalidInput(
            error_message='IP allocation requires subnet_id or ip_address')
    if subnet_id is not None:
        subnet = by_id.get(subnet_id)
        if subnet is None:
            raise exceptions.InvalidInput(
                error_message='Failed to create port on network %s, because '
                              'fixed_ips included invalid subnet %s' % (network_id, subnet_id))
    else:
        subnet = _subnet_for_ip(subnets, ip)
    if ipam.is_auto_address(subnet) and not (router_port and ip is not None):
        auto = ipam.eui64(subnet['cidr'], mac)
        if ip is not None and ip != auto:
            raise exceptions.InvalidInput(
                error_message='IPv6 address %s cannot be directly assigned to a '
                              'port on subnet %s with %s address mode'
                              % (ip, subnet['id'], subnet['ipv6_address_mode']))
        return subnet, auto
    if ip is not None and netaddr.IPAddress(ip) not in netaddr.IPNetwork(subnet['cidr']):
        raise exceptions.InvalidIpForSubnet(ip_address=ip)
    return subnet, ipam.allocate(conn, subnet, ip)


def update_fixed_ips(conn, port, requested, mac, subnets):
    """Give ``port`` (a dict) the fixed IPs ``requested``: addresses asked for
    again are kept, the others freed, the new ones taken."""
    have = {(ip['subnet_id'], ip['ip_address']) for ip in port['fixed_ips']}
    keep, new = set(), []
    for entry in requested:
        ip, subnet_id = entry.get('ip_address'), entry.get('subnet_id')
        # An address asked for again, or "an address on subnet X" when
        # the port has one there, is kept as it is.
        match = [h for h in sorted(have - keep)
                 if (ip is None or h[1] == ip) and (subnet_id is None or h[0] == subnet_id)]
        if match and (ip is not None or subnet_id is not None):
            keep.add(match[0])
        else:
            new.append(entry)
    release_ips(conn, [{'subnet_id': s, 'ip_address': ip} for s, ip in have - keep],
                subnets)
    ips = allocate_ips(conn, port['network_id'], subnets, new, mac, port['device_owner'],
                       kept=len(keep))
    if {(ip['subnet_id'], ip['ip_address']) for ip in ips} & keep:
        raise exceptions.InvalidInput(error_message='Duplicate IP address')
    insert_ips(conn, port['id'], ips)
    write_fixed_ips(conn, port['id'])


def insert(conn, body, mac, status, binding, ips):
    """Insert a port and its allocations ``ips`` [{subnet_id, ip_address}];
    the row inserted, as a dict."""
    row = common.new_standard(body)
    row.update(tags='[]', network_id=body['network_id'], mac_address=mac,
               admin_state_up=body['admin_state_up'], status=status,
               device_id=body['device_id'], device_owner=body['device_owner'],
               port_security_enabled=body['port_security_enabled'],
               dns_name=body['dns_name'],
               security_groups=common.dumps(body['security_groups']),
               allowed_address_pairs=common.dumps(body['allowed_address_pairs']),
               binding_host_id=binding['host_id'],
               binding_vnic_type=binding['vnic_type'],
               binding_vif_type=binding['vif_type'],
               binding_vif_details=common.dumps(binding['vif_details']),
               binding_profile=common.dumps(binding['profile']),
               fixed_ips=fixed_ips_json(ips))
    try:
        conn.execute(_INSERT(), row)
    except sa_exc.IntegrityError as e:
        if 'mac_address' in str(e.orig):
            # A generated MAC met one already on the network: run the
            # request again with another one (checked first when given).
            raise exceptions.DBRetry(exceptions.MacAddressGenerationFailure(
                net_id=row['network_id'])) from e
        raise
    insert_ips(conn, row['id'], ips)
    return row


_INSERT = common.prebuilt(lambda: ports.insert())


def insert_ips(conn, port_id, ips):
    """Record allocations; the caller rewrites the port's fixed_ips column."""
    if ips:
        conn.execute(_INSERT_IPS(), [dict(r, port_id=port_id) for r in ips])


_INSERT_IPS = common.prebuilt(lambda: ip_allocations.insert())


def fixed_ips_json(ips):
    return common.dumps(sorted(({'subnet_id': r['subnet_id'], 'ip_address': r['ip_address']}
                                for r in ips),
                               key=lambda r: (r['subnet_id'], r['ip_address'])))


def release_ips(conn, ips, subnets):
    """Delete allocations [{subnet_id, ip_address}] and free the addresses."""
    by_id = {s.id: s for s in subnets}
    for ip in ips:
        conn.execute(ip_allocations.delete().where(
            ip_allocations.c.subnet_id == ip['subnet_id'],
            ip_allocations.c.ip_address == ip['ip_address']))
        subnet = by_id.get(ip['subnet_id'])
        if subnet is not None:
            ipam.release(conn, {'id': subnet.id, 'allocation_pools': subnet.allocation_pools},
                         ip['ip_address'])


_GET = common.prebuilt(lambda admin, lock: _for_update(
    _select_with_network().where(ports.c.id == sa.bindparam('id'), _visible(admin)), lock))


def _for_update(stmt, lock):
    return stmt.with_for_update(of=ports) if lock else stmt


def get_row(context, id, lock=False):
    row = context.connection.execute(_GET(context.is_admin, lock),
                                     common.ctx_params(context, id=id)).first()
    if row is None:
        raise exceptions.PortNotFound(port_id=id)
    return row


def _select_with_network():
    return sa.select(*_LIST_COLUMNS).join(networks, networks.c.id == ports.c.network_id)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    filters = dict(filters or {})
    stmt = _select_with_network().where(visible_to(context))
    fixed_ips = filters.pop('fixed_ips', None)
    if fixed_ips:
        stmt = stmt.where(ports.c.id.in_(_fixed_ip_filter(fixed_ips)))
    for attr in ('security_groups',):
        values = filters.pop(attr, None)
        if values:
            stmt = stmt.where(sa.or_(*[ports.c.security_groups.contains('"%s"' % v)
                                       for v in values]))
    return query.list_rows(context, stmt, ports, COLUMNS, filters, sorts, limit, marker,
                           page_reverse, get_row)


def _fixed_ip_filter(values):
    """fixed_ips=ip_address=X / subnet_id=Y / ip_address_substr=Z.

    As in Neutron, several values of one key are OR, different keys AND
    (on the same allocation).
    """
    stmt = sa.select(ip_allocations.c.port_id)
    by_key = {}
    for value in values:
        key, eq, wanted = value.partition('=')
        if not eq:
            key = None  # "fixed_ips=ip_address": no value
        if key == 'ip_address':
            clause = ip_allocations.c.ip_address == wanted
        elif key == 'subnet_id':
            clause = ip_allocations.c.subnet_id == wanted
        elif key == 'ip_address_substr':
            clause = ip_allocations.c.ip_address.contains(wanted, autoescape=True)
        else:
            raise exceptions.InvalidInput(
                error_message="Invalid fixed_ips filter '%s': use ip_address=, "
                              "subnet_id= or ip_address_substr=" % value)
        by_key.setdefault(key, []).append(clause)
    return stmt.where(sa.and_(*[sa.or_(*c) for c in by_key.values()]))


def write_fixed_ips(conn, port_id):
    """Copy the port's ip_allocations rows into its fixed_ips column."""
    ips = conn.execute(sa.select(ip_allocations.c.subnet_id, ip_allocations.c.ip_address)
                       .where(ip_allocations.c.port_id == port_id)).mappings().all()
    conn.execute(ports.update().where(ports.c.id == port_id).values(fixed_ips=fixed_ips_json(ips)))


# The columns a port dict is built from, in the order to_dicts unpacks them.
_LIST_COLUMNS = (
    ports.c.id, ports.c.name, ports.c.description, ports.c.project_id, ports.c.created_at,
    ports.c.updated_at, ports.c.revision_number, ports.c.tags, ports.c.network_id,
    ports.c.mac_address, ports.c.admin_state_up, ports.c.status, ports.c.device_id,
    ports.c.device_owner, ports.c.port_security_enabled, ports.c.dns_name,
    ports.c.security_groups, ports.c.allowed_address_pairs, ports.c.binding_host_id,
    ports.c.binding_vnic_type, ports.c.binding_vif_type, ports.c.binding_vif_details,
    ports.c.binding_profile, ports.c.fixed_ips, networks.c.project_id.label('network_project_id'))


def as_listed(row, network_project_id):
    """An inserted row (a dict, see ``insert``) as a row of _LIST_COLUMNS."""
    return tuple(row.get(column.name) for column in _LIST_COLUMNS[:-1]) + (network_project_id,)


def to_dicts(conn, rows):
    """Port dicts from rows of _LIST_COLUMNS (the hot path of a port list)."""
    loads = common.loads
    out = []
    append = out.append
    for (id, name, description, project_id, created_at, updated_at, revision,
         tags, network_id, mac, admin_state_up, status, device_id, device_owner,
         port_security, dns_name, security_groups, pairs, host_id, vnic_type,
         vif_type, vif_details, profile, fixed_ips, network_project_id) in rows:
        append({
            'id': id, 'name': name, 'description': description,
            'project_id': project_id, 'tenant_id': project_id,
            'created_at': created_at, 'updated_at': updated_at,
            'revision_number': revision, 'tags': loads(tags, []),
            'network_id': network_id, 'mac_address': mac,
            'admin_state_up': bool(admin_state_up), 'status': status,
            'device_id': device_id, 'device_owner': device_owner,
            'port_security_enabled': bool(port_security), 'dns_name': dns_name,
            'security_groups': loads(security_groups, []),
            'allowed_address_pairs': loads(pairs, []),
            'binding:host_id': host_id, 'binding:vnic_type': vnic_type,
            'binding:vif_type': vif_type,
            'binding:vif_details': loads(vif_details, {}),
            'binding:profile': loads(profile, {}),
            'fixed_ips': loads(fixed_ips, []),
            'network:project_id': network_project_id,
            'network:tenant_id': network_project_id,
        })
    return out


def update(conn, id, values, expected_revision=None):
    cols = {}
    for attr in ('name', 'description', 'admin_state_up', 'device_id', 'device_owner',
                 'port_security_enabled', 'dns_name', 'mac_address', 'status'):
        if attr in values:
            cols[attr] = values[attr]
    for attr in ('security_groups', 'allowed_address_pairs'):
        if attr in values:
            cols[attr] = common.dumps(values[attr])
    for attr in ('host_id', 'vnic_type', 'vif_type'):
        if 'binding:' + attr in values:
            cols['binding_' + attr] = values['binding:' + attr]
    for attr in ('vif_details', 'profile'):
        if 'binding:' + attr in values:
            cols['binding_' + attr] = common.dumps(values['binding:' + attr])
    common.bump(conn, ports, id, cols, expected_revision)


def delete(conn, port, subnets):
    release_ips(conn, port['fixed_ips'], subnets)
    common.delete_tags(conn, port['id'])
    conn.execute(ports.delete().where(ports.c.id == port['id']))


# ---- what the plugins ask of the ports ---------------------------------------

def _not_service(network_id):
    return sa.and_(ports.c.network_id == network_id,
                   ~ports.c.device_owner.startswith(constants.DEVICE_OWNER_NETWORK_PREFIX))


def network_in_use(conn, network_id):
    """Whether the network has a port that keeps it from being deleted: a
    port of a user or of L3 (not DHCP's)."""
    return conn.execute(sa.select(ports.c.id).where(
        _not_service(network_id) | sa.and_(ports.c.network_id == network_id,
                                           ports.c.device_owner.in_(L3_OWNERS)))
        .limit(1)).first() is not None


def used_by_projects(conn, network_id, projects=None, all_but=()):
    """Whether one of ``projects`` (or, when None, a project not in
    ``all_but``) has a port on the network; the ports of no project (DHCP,
    router gateways, floating IPs) do not count (RBAC: who still needs
    access to the network, as Neutron's ensure_no_project_ports_on_network)."""
    stmt = sa.select(ports.c.id).where(ports.c.network_id == network_id,
                                       ports.c.project_id != '')
    if projects is not None:
        stmt = stmt.where(ports.c.project_id.in_(sorted(projects)))
    else:
        stmt = stmt.where(ports.c.project_id.notin_(sorted(all_but)))
    return conn.execute(stmt.limit(1)).first() is not None


def allocations_on_subnet(conn, subnet_id):
    """Rows (port_id, ip_address, device_owner) of the subnet's addresses."""
    return conn.execute(
        sa.select(ip_allocations.c.port_id, ip_allocations.c.ip_address,
                  ports.c.device_owner)
        .join(ports, ports.c.id == ip_allocations.c.port_id)
        .where(ip_allocations.c.subnet_id == subnet_id)).all()


def forget_subnet(conn, subnet_id, port_ids):
    """Drop the subnet's addresses from the ports ``port_ids`` (the subnet
    is being deleted: its pool goes with it)."""
    conn.execute(ip_allocations.delete().where(ip_allocations.c.subnet_id == subnet_id))
    for port_id in sorted(port_ids):
        write_fixed_ips(conn, port_id)


def of_devices(conn, device_ids, owners):
    """Rows of the ports of ``device_ids`` with a device_owner of ``owners``
    (what a service plugin reads of the ports it made), oldest first."""
    return conn.execute(
        sa.select(ports.c.id, ports.c.device_id, ports.c.network_id, ports.c.device_owner,
                  ports.c.mac_address, ports.c.fixed_ips, ports.c.project_id,
                  ports.c.binding_host_id, ports.c.admin_state_up)
        .where(ports.c.device_id.in_(list(device_ids)),
               ports.c.device_owner.in_(list(owners)))
        .order_by(ports.c.created_at, ports.c.id)).all()


def fixed_ips_of(conn, port_ids):
    """{port_id: fixed_ips} of ``port_ids``."""
    out = {}
    for chunk in common.chunks(port_ids):
        for row in conn.execute(sa.select(ports.c.id, ports.c.fixed_ips)
                                .where(ports.c.id.in_(chunk))):
            out[row.id] = common.loads(row.fixed_ips, [])
    return out


def on_subnets(conn, subnet_ids, device_owner=None, ip_address=None):
    """Rows (port_id, device_id, device_owner, network_id, subnet_id,
    ip_address) of the addresses on ``subnet_ids`` (of ports with
    ``device_owner``, of ``ip_address``), oldest port first."""
    stmt = (sa.select(ports.c.id.label('port_id'), ports.c.device_id, ports.c.device_owner,
                      ports.c.network_id, ip_allocations.c.subnet_id,
                      ip_allocations.c.ip_address)
            .join(ip_allocations, ip_allocations.c.port_id == ports.c.id)
            .where(ip_allocations.c.subnet_id.in_(list(subnet_ids))))
    if device_owner is not None:
        stmt = stmt.where(ports.c.device_owner == device_owner)
    if ip_address is not None:
        stmt = stmt.where(ip_allocations.c.ip_address == ip_address)
    return conn.execute(stmt.order_by(ports.c.created_at, ports.c.id)).all()


def security_rows(conn, port_ids):
    """Rows (id, mac_address, fixed_ips, allowed_address_pairs) of the
    ports ``port_ids`` (a list, or a SELECT of ids): what security groups
    read of their members' addresses."""
    return conn.execute(sa.select(ports.c.id, ports.c.mac_address, ports.c.fixed_ips,
                                  ports.c.allowed_address_pairs)
                        .where(ports.c.id.in_(port_ids))).all()


def hosts_of(conn, port_ids):
    """{port_id: host} of the bound ports among ``port_ids`` (a list, or a
    SELECT of ids)."""
    return dict(conn.execute(sa.select(ports.c.id, ports.c.binding_host_id).where(
        ports.c.id.in_(port_ids), ports.c.binding_host_id != '')).all())


def projects_of(conn, port_ids):
    """The projects of the ports ``port_ids`` (a SELECT of ids), but no
    project ('': DHCP, routers, floating IPs)."""
    return set(conn.execute(sa.select(ports.c.project_id).distinct().where(
        ports.c.id.in_(port_ids), ports.c.project_id != '')).scalars())


def write_security_groups(conn, port_id, group_ids):
    """The port's security_groups column, which the list filter reads: the
    security group plugin's bindings are the truth, this is their copy."""
    conn.execute(ports.update().where(ports.c.id == port_id)
                 .values(security_groups=common.dumps(list(group_ids))))
