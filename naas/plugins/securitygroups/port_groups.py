"""Ports' security groups: the bindings table, what the plugin adds to the
core plugin's ports (a naas.plugins.core.ResourceExtender) and to the port
details the L2 agents get, and the groups' rules and members the agents
ask for (get_security_group_info).

On a port create without ``security_groups`` the port gets its project's
default group, unless port security is off or the port is a service's
(device_owner network:*, which Neutron does not filter).  Named groups must
be the caller's to see (else SecurityGroupNotFound, as for a group that
does not exist).  Groups need port security, and so do allowed address
pairs.  The ports table's JSON column is written with each change (the port
list's ``security_groups`` filter reads it); the bindings are the truth.
"""
import netaddr
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import ports as ports_db
from naas.lib import constants
from naas.lib.definitions import securitygroup_rule as rule_def
from naas.plugins import core
from naas.plugins.securitygroups import address_groups
from naas.plugins.securitygroups import groups
from naas.plugins.securitygroups import models
from naas.plugins.securitygroups import rules

bindings = models.port_bindings

#: The key the core plugin's port create sets when no groups were asked for.
DEFAULT_ASKED = 'security_groups:default'


def trusted(device_owner):
    """A service's port (DHCP, a router's, a floating IP's): not filtered."""
    return (device_owner or '').startswith(constants.DEVICE_OWNER_NETWORK_PREFIX)


def of_ports(conn, port_ids):
    """{port_id: [group id]} of ``port_ids``."""
    out = {}
    for chunk in common.chunks(port_ids):
        for row in conn.execute(sa.select(bindings).where(bindings.c.port_id.in_(chunk))
                                .order_by(bindings.c.port_id, bindings.c.security_group_id)):
            out.setdefault(row.port_id, []).append(row.security_group_id)
    return out


def in_use(conn, group_id):
    return conn.execute(sa.select(bindings.c.port_id).where(
        bindings.c.security_group_id == group_id).limit(1)).first() is not None


def rbac_in_use(context, group_id, action, projects, all_but):
    """Why projects losing access to the group (an RBAC entry removed,
    naas.db.rbac) cannot lose it: their ports are in it."""
    users = ports_db.projects_of(context.connection, sa.select(bindings.c.port_id).where(
        bindings.c.security_group_id == group_id))
    losing = users & projects if projects is not None else users - set(all_but)
    if losing:
        return 'Ports of the projects losing access are in security group %s.' % group_id
    return None


#: (host, group) of the bound ports in the groups: the bound members only,
#: one statement, whatever the number of unbound ones.
_HOSTS_OF_GROUPS = (
    sa.select(ports_db.ports.c.binding_host_id, bindings.c.security_group_id,
              bindings.c.port_id)
    .join(ports_db.ports, ports_db.ports.c.id == bindings.c.port_id)
    .where(bindings.c.security_group_id.in_(sa.bindparam('group_ids', expanding=True)),
           ports_db.ports.c.binding_host_id != ''))


#: The same over ``group_ids`` and the groups whose rules name one of
#: ``remote_ids`` as remote_group_id (a members change), one statement.
_HOSTS_OF_GROUPS_AND_NAMING = (
    sa.select(ports_db.ports.c.binding_host_id, bindings.c.security_group_id,
              bindings.c.port_id)
    .join(ports_db.ports, ports_db.ports.c.id == bindings.c.port_id)
    .where(sa.or_(bindings.c.security_group_id.in_(sa.bindparam('group_ids', expanding=True)),
                  bindings.c.security_group_id.in_(
                      sa.select(rules.rules.c.security_group_id).where(
                          rules.rules.c.remote_group_id.in_(
                              sa.bindparam('remote_ids', expanding=True))))),
           ports_db.ports.c.binding_host_id != ''))


def hosts_of_groups(conn, group_ids, but_port=None, with_naming=False):
    """{host: {group id}}: the hosts with ports in ``group_ids`` (the ports'
    groups among them), and ``with_naming`` in the groups whose rules name
    one of them as remote group, but the port ``but_port`` (one being
    deleted)."""
    if not group_ids:
        return {}
    ids = sorted(group_ids)
    if with_naming:
        rows = conn.execute(_HOSTS_OF_GROUPS_AND_NAMING, {'group_ids': ids, 'remote_ids': ids})
    else:
        rows = conn.execute(_HOSTS_OF_GROUPS, {'group_ids': ids})
    out = {}
    for host, group_id, port_id in rows:
        if port_id != but_port:
            out.setdefault(host, set()).add(group_id)
    return out


def _set(conn, port_id, group_ids):
    conn.execute(bindings.delete().where(bindings.c.port_id == port_id))
    if group_ids:
        conn.execute(bindings.insert(), [{'port_id': port_id, 'security_group_id': g}
                                         for g in group_ids])
    ports_db.write_security_groups(conn, port_id, group_ids)


def _checked(context, group_ids):
    """``group_ids`` (sorted, unique) if the context sees them all, as
    Neutron: SecurityGroupNotFound naming the others; SecurityGroupConflict
    for stateful and stateless groups together."""
    wanted = sorted(set(group_ids))
    rows = groups.visible_ids(context, wanted)
    missing = sorted(set(wanted) - {r.id for r in rows})
    if missing:
        raise exceptions.SecurityGroupNotFound(id=', '.join(missing))
    if len({bool(r.stateful) for r in rows}) > 1:
        raise exceptions.SecurityGroupConflict(
            reason='Cannot apply both stateful and stateless security groups on the same '
                   'port at the same time')
    return wanted


_INSERT_BINDINGS = common.prebuilt(lambda: bindings.insert())


class PortGroups(core.ResourceExtender):
    """The security group plugin's part of ports (see the module docstring)."""

    def __init__(self, plugin):
        self.plugin = plugin

    def before_create(self, context, resource, body):
        """The port's groups (checked, or its project's default) into
        ``body['security_groups']``, which the port's row keeps a copy of."""
        if resource != 'port':
            return
        asked = None if body.pop(DEFAULT_ASKED, False) else body['security_groups']
        security = body['port_security_enabled']
        if not security:
            if asked:
                raise exceptions.PortSecurityAndIPRequiredForSecurityGroups()
            if body['allowed_address_pairs']:
                raise exceptions.AddressPairAndPortSecurityRequired()
        if trusted(body['device_owner']) or not security:
            wanted = []
        elif asked is None:
            default = groups.ensure_default(context, body['project_id'])
            wanted = [default] if default else []
        else:
            wanted = _checked(context, asked)
        body['security_groups'] = wanted

    def process_create(self, context, resource, body, result):
        """The bindings of the groups before_create chose."""
        if resource != 'port':
            return
        wanted = body['security_groups']
        if wanted:
            context.connection.execute(_INSERT_BINDINGS(), [
                {'port_id': result['id'], 'security_group_id': g} for g in wanted])
            if result['fixed_ips']:
                self.plugin.notifier.members_changed(context, wanted)

    def process_update(self, context, resource, body, current):
        if resource != 'port':
            return
        conn = context.connection
        security = body.get('port_security_enabled', current['port_security_enabled'])
        old = current['security_groups']
        if 'security_groups' in body:
            new = _checked(context, body['security_groups']) if body['security_groups'] \
                else []
            if new and not security:
                raise exceptions.PortSecurityAndIPRequiredForSecurityGroups()
        else:
            new = old
            if old and not security:
                raise exceptions.PortSecurityPortHasSecurityGroup()
        if body.get('allowed_address_pairs', current['allowed_address_pairs']) and \
                not security:
            raise exceptions.AddressPairAndPortSecurityRequired()
        if new != old:
            _set(conn, current['id'], new)
            body['security_groups'] = new
        changed = set(old) ^ set(new)
        if (old or new) and self._addresses_changed(conn, body, current):
            changed |= set(old) | set(new)
        if changed:
            self.plugin.notifier.members_changed(context, changed)

    @staticmethod
    def _addresses_changed(conn, body, current):
        """Whether the update changes what the port's groups' members are:
        its allowed address pairs, or its fixed IPs (the core plugin has
        written the new ones already)."""
        if 'allowed_address_pairs' in body:
            return True
        return ports_db.fixed_ips_of(conn, [current['id']]).get(current['id']) != \
            current['fixed_ips']

    def before_port_delete(self, context, port):
        """A delete hook: the port's groups lose a member."""
        if port['security_groups'] and port['fixed_ips']:
            self.plugin.notifier.members_changed(context, port['security_groups'],
                                                 but_port=port['id'])

    def extend_created(self, context, resource, body, result):
        """Nothing to read: the new port's row has its groups (before_create)."""
        if resource != 'port':
            self.extend_dicts(context, resource, [result])

    def extend_dicts(self, context, resource, dicts):
        if resource != 'port':
            return
        by_port = of_ports(context.connection, [d['id'] for d in dicts])
        for d in dicts:
            d['security_groups'] = by_port.get(d['id'], [])

    def extend_port_details(self, conn, details):
        """security_groups and allowed_address_pairs of each filtered port;
        a service's port is not filtered (port_security_enabled False)."""
        ids = [d['port_id'] for d in details]
        by_port = of_ports(conn, ids)
        pairs = {r.id: common.loads(r.allowed_address_pairs, [])
                 for chunk in common.chunks(ids) for r in ports_db.security_rows(conn, chunk)}
        for d in details:
            if trusted(d['device_owner']):
                d['port_security_enabled'] = False
            security = d['port_security_enabled']
            d['security_groups'] = by_port.get(d['port_id'], []) if security else []
            d['allowed_address_pairs'] = [
                {'ip_address': p['ip_address'],
                 'mac_address': p.get('mac_address') or d['mac_address']}
                for p in pairs.get(d['port_id'], [])] if security else []

    def security_group_info(self, conn, group_ids):
        return security_group_info(conn, group_ids)


def _by_version(addresses):
    out = {'IPv4': [], 'IPv6': []}
    for address in sorted(set(addresses)):
        out['IPv%d' % netaddr.IPNetwork(address).version].append(address)
    return out


def security_group_info(conn, group_ids):
    """What naas.agent.l2.hooks.PortFilter takes as ``sg_info`` for the
    groups ``group_ids``: their rules (protocols as numbers), the members'
    addresses of every group a rule names, the addresses of every address
    group a rule names."""
    group_rows = conn.execute(sa.select(groups.groups.c.id, groups.groups.c.stateful)
                              .where(groups.groups.c.id.in_(sorted(set(group_ids))))).all()
    info = {'security_groups': {r.id: {'stateful': bool(r.stateful), 'rules': []}
                                for r in group_rows},
            'members': {}, 'address_groups': {}}
    remote_groups, remote_address_groups = set(), set()
    for rule in rules.of_groups(conn, list(info['security_groups'])):
        info['security_groups'][rule.security_group_id]['rules'].append({
            'id': rule.id, 'direction': rule.direction, 'ethertype': rule.ethertype,
            'protocol': rule_def.protocol_number(rule.protocol),
            'port_range_min': rule.port_range_min, 'port_range_max': rule.port_range_max,
            'remote_ip_prefix': rules.normalized_cidr(rule.remote_ip_prefix),
            'remote_group_id': rule.remote_group_id,
            'remote_address_group_id': rule.remote_address_group_id})
        if rule.remote_group_id:
            remote_groups.add(rule.remote_group_id)
        if rule.remote_address_group_id:
            remote_address_groups.add(rule.remote_address_group_id)
    members = {g: [] for g in remote_groups}
    if remote_groups:
        member_of = conn.execute(sa.select(bindings).where(
            bindings.c.security_group_id.in_(sorted(remote_groups)))).all()
        addresses = {}
        for row in ports_db.security_rows(conn, sa.select(bindings.c.port_id).where(
                bindings.c.security_group_id.in_(sorted(remote_groups)))):
            addresses[row.id] = [ip['ip_address'] for ip in common.loads(row.fixed_ips, [])] \
                + [p['ip_address'] for p in common.loads(row.allowed_address_pairs, [])]
        for row in member_of:
            members[row.security_group_id] += addresses.get(row.port_id, [])
    info['members'] = {g: _by_version(a) for g, a in members.items()}
    by_group = address_groups.addresses_of(conn, sorted(remote_address_groups))
    info['address_groups'] = {g: _by_version(by_group.get(g, []))
                              for g in remote_address_groups}
    return info
