"""Security group rules and the template of new groups' rules: checks,
the normal form that tells two rules apart, and the rows.

``check`` does what Neutron does to a rule before storing it, in the same
order (an ICMP rule over IPv6 becomes ipv6-icmp; the full port range
1-65535 becomes no range; port ranges, ICMP type and code, the prefix's
IP version, IPv6-only protocols, at most one remote).  ``key`` is the rule
in one normal form (protocol by number, any-address prefixes as none):
unique per group in the table, so that a rule is never stored twice.

The API view (``to_dicts``) is made of the rows alone: a read selects the
``VIEW_COLUMNS`` with them (whether the rule's group is a default group),
and a new rule is shown from what was written (``insert``'s record).
"""
import functools
import types

import netaddr
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import query
from naas.lib.definitions import default_security_group_rule as template_def
from naas.lib.definitions import securitygroup_rule as rule_def
from naas.plugins.securitygroups import models

rules = models.security_group_rules
template = models.default_security_group_rules
defaults = models.default_security_groups
COLUMNS = query.column_map(rules, renames={'tenant_id': 'project_id'}, skip=('rule_key',))
TEMPLATE_COLUMNS = query.column_map(template, skip=('rule_key',))

#: What a rule's values are, in the order of its key.
KEY_FIELDS = ('direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max',
              'remote_group_id', 'remote_address_group_id', 'remote_ip_prefix')
_ANY_PREFIXES = ('0.0.0.0/0', '::/0')
_PORT_RANGE_ALL = (1, rule_def.PORT_MAX)

#: What a rule's view reads besides its row: an EXISTS on the unique
#: default_security_groups.security_group_id, one index probe per rule.
VIEW_COLUMNS = (sa.exists().where(defaults.c.security_group_id == rules.c.security_group_id)
                .label('belongs_to_default_sg'),)


# ---- checks ------------------------------------------------------------------

def check(rule):
    """Normalise and check ``rule`` (a validated request body) in place."""
    protocol = rule.get('protocol')
    if rule['ethertype'] == 'IPv6':
        if protocol in ('icmp', 'icmpv6'):
            rule['protocol'] = 'ipv6-icmp'
        elif protocol == '1':
            rule['protocol'] = '58'
    if (rule['port_range_min'], rule['port_range_max']) == _PORT_RANGE_ALL:
        rule['port_range_min'] = rule['port_range_max'] = None
    _check_ports(rule)
    prefix = rule.get('remote_ip_prefix')
    if prefix and rule['ethertype'] != 'IPv%d' % netaddr.IPNetwork(prefix).version:
        raise exceptions.SecurityGroupRuleParameterConflict(
            ethertype=rule['ethertype'], cidr=prefix)
    number = rule_def.protocol_number(rule['protocol'])
    if number in rule_def.IPV6_ONLY_PROTOCOLS and rule['ethertype'] == 'IPv4':
        raise exceptions.SecurityGroupEthertypeConflictWithProtocol(
            ethertype=rule['ethertype'], protocol=rule['protocol'])
    remotes = [k for k in ('remote_ip_prefix', 'remote_group_id', 'remote_address_group_id')
               if rule.get(k)]
    if len(remotes) > 1:
        raise exceptions.SecurityGroupMultipleRemoteEntites()


def _check_ports(rule):
    low, high = rule['port_range_min'], rule['port_range_max']
    if low is None and high is None:
        return
    if rule['protocol'] is None:
        raise exceptions.SecurityGroupProtocolRequiredWithPorts()
    number = rule_def.protocol_number(rule['protocol'])
    if number in rule_def.PORT_PROTOCOLS:
        if low == 0 or high == 0:
            raise exceptions.SecurityGroupInvalidPortValue(port=0)
        if low is None or high is None or low > high:
            raise exceptions.SecurityGroupInvalidPortRange()
    elif number in rule_def.ICMP_PROTOCOLS:
        for attr, field, value in (('port_range_min', 'type', low),
                                   ('port_range_max', 'code', high)):
            if value is not None and not 0 <= value <= 255:
                raise exceptions.SecurityGroupInvalidIcmpValue(field=field, attr=attr,
                                                               value=value)
        if low is None:
            raise exceptions.SecurityGroupMissingIcmpType(value=high)
    else:
        raise exceptions.SecurityGroupInvalidProtocolForPort(
            protocol=number, valid_port_protocols='DCCP, SCTP, TCP, UDP, UDPLITE')


@functools.lru_cache(maxsize=4096)
def normalized_cidr(prefix):
    """The network of ``prefix`` (host bits cleared).  Remembered: a pure
    function of the string, parsed with netaddr for every rule of every
    list otherwise."""
    return None if prefix is None else str(netaddr.IPNetwork(prefix).cidr)


def key(rule):
    """The rule's values in one normal form (see the module docstring)."""
    values = []
    for field in KEY_FIELDS:
        value = rule.get(field)
        if field == 'protocol':
            value = rule_def.protocol_number(value)
        elif field == 'remote_ip_prefix' and value is not None:
            value = normalized_cidr(value)
            value = None if value in _ANY_PREFIXES else value
        values.append('+' if value is None else str(value))
    return '|'.join(values)


# ---- rules -------------------------------------------------------------------

def visible(context):
    """A rule is its group's project's (insert stores that project)."""
    return common.owned_by(context, rules)


def get_row(context, id, lock=False, view=False):
    """The rule (``view``: with the VIEW_COLUMNS) or SecurityGroupRuleNotFound."""
    return common.visible_row(context, rules, id, visible(context),
                              exceptions.SecurityGroupRuleNotFound(id=id), lock,
                              VIEW_COLUMNS if view else ())


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    """Rows with the VIEW_COLUMNS."""
    stmt = sa.select(rules, *VIEW_COLUMNS).where(visible(context))
    return query.list_rows(context, stmt, rules, COLUMNS, dict(filters or {}), sorts,
                           limit, marker, page_reverse, get_row)


def of_groups(conn, group_ids, view=False):
    """Rows of the rules of ``group_ids`` (by the security_group_id index;
    ``view``: with the VIEW_COLUMNS), in the order insert returns them."""
    out = []
    for chunk in common.chunks(group_ids):
        out += common.records(conn.execute(_OF_GROUPS(view), {'group_ids': chunk}))
    return out


_OF_GROUPS = common.prebuilt(lambda view: sa.select(rules, *(VIEW_COLUMNS if view else ()))
                             .where(rules.c.security_group_id.in_(
                                 sa.bindparam('group_ids', expanding=True)))
                             .order_by(rules.c.created_at, rules.c.id))

#: The id of the group's rule whose key is the parameter ``rule_key``, or
#: None: a column of the group's own select (groups.get_row), so that a
#: rule create reads its group and the duplicate check in one statement.
WITH_KEY = (sa.select(rules.c.id)
            .where(rules.c.security_group_id == models.security_groups.c.id,
                   rules.c.rule_key == sa.bindparam('rule_key'))
            .scalar_subquery().label('rule_with_key'))


def naming_groups(conn, group_ids):
    """Ids of the groups with a rule whose remote_group_id is in ``group_ids``."""
    return {r.security_group_id for r in conn.execute(
        sa.select(rules.c.security_group_id).distinct()
        .where(rules.c.remote_group_id.in_(list(group_ids))))}


def naming_address_group(conn, address_group_id):
    """Ids of the groups with a rule naming the address group."""
    return {r.security_group_id for r in conn.execute(
        sa.select(rules.c.security_group_id).distinct()
        .where(rules.c.remote_address_group_id == address_group_id))}


def insert(conn, new_rules, group_id, project_id, in_default):
    """Store ``new_rules`` (checked bodies) in the group, in one statement;
    their records, as a read with the VIEW_COLUMNS returns them
    (``in_default``: the group is a default group)."""
    rows = []
    for rule in new_rules:
        row = common.new_standard(rule)
        del row['name']
        row.update(security_group_id=group_id, project_id=project_id, rule_key=key(rule),
                   description=rule.get('description') or '',
                   **{f: rule.get(f) for f in KEY_FIELDS})
        rows.append(row)
    if rows:
        conn.execute(_INSERT, rows)
    return [types.SimpleNamespace(belongs_to_default_sg=in_default, **row)
            for row in sorted(rows, key=lambda row: (row['created_at'], row['id']))]


_INSERT = rules.insert()


def delete(conn, id):
    conn.execute(rules.delete().where(rules.c.id == id))


def to_dicts(rows):
    """The API view of rule rows read with the VIEW_COLUMNS."""
    return [{'id': r.id, 'project_id': r.project_id, 'tenant_id': r.project_id,
             'security_group_id': r.security_group_id, 'description': r.description,
             'direction': r.direction, 'ethertype': r.ethertype, 'protocol': r.protocol,
             'port_range_min': r.port_range_min, 'port_range_max': r.port_range_max,
             'remote_ip_prefix': r.remote_ip_prefix,
             'normalized_cidr': normalized_cidr(r.remote_ip_prefix),
             'remote_group_id': r.remote_group_id,
             'remote_address_group_id': r.remote_address_group_id,
             'belongs_to_default_sg': bool(r.belongs_to_default_sg),
             'created_at': r.created_at, 'updated_at': r.updated_at,
             'revision_number': r.revision_number} for r in rows]


# ---- the template (default-security-group-rules) -------------------------------

def template_get_row(context, id):
    row = context.connection.execute(sa.select(template).where(template.c.id == id)).first()
    if row is None:
        raise exceptions.DefaultSecurityGroupRuleNotFound(id=id)
    return row


def template_select(context, filters, sorts=(), limit=None, marker=None,
                    page_reverse=False):
    return query.list_rows(context, sa.select(template), template, TEMPLATE_COLUMNS,
                           dict(filters or {}), sorts, limit, marker, page_reverse,
                           template_get_row)


def template_insert(conn, rule):
    rule_key = key(rule)
    existing = conn.execute(sa.select(template.c.id)
                            .where(template.c.rule_key == rule_key)).scalar()
    if existing is not None:
        raise exceptions.DefaultSecurityGroupRuleExists(rule_id=existing)
    row = {f: rule.get(f) for f in KEY_FIELDS}
    row.update(id=common.new_standard(rule)['id'], rule_key=rule_key,
               description=rule.get('description') or '',
               used_in_default_sg=rule['used_in_default_sg'],
               used_in_non_default_sg=rule['used_in_non_default_sg'])
    conn.execute(template.insert().values(**row))
    return row['id']


_TEMPLATE_FOR = common.prebuilt(lambda default: sa.select(template).where(
    (template.c.used_in_default_sg if default else template.c.used_in_non_default_sg)
    .is_(True)).order_by(template.c.direction, template.c.ethertype))


def template_delete(conn, id):
    conn.execute(template.delete().where(template.c.id == id))


def template_to_dicts(rows):
    return [{'id': r.id, 'description': r.description, 'direction': r.direction,
             'ethertype': r.ethertype, 'protocol': r.protocol,
             'port_range_min': r.port_range_min, 'port_range_max': r.port_range_max,
             'remote_ip_prefix': r.remote_ip_prefix, 'remote_group_id': r.remote_group_id,
             'remote_address_group_id': r.remote_address_group_id,
             'used_in_default_sg': bool(r.used_in_default_sg),
             'used_in_non_default_sg': bool(r.used_in_non_default_sg)} for r in rows]


def insert_from_template(conn, group_id, project_id, default):
    """A new group's rules: the template's for default groups or for the
    others; PARENT is the group itself.  Their records (see insert)."""
    new_rules = []
    for row in common.records(conn.execute(_TEMPLATE_FOR(default))):
        rule = {f: getattr(row, f) for f in KEY_FIELDS}
        if rule['remote_group_id'] == template_def.PARENT_GROUP:
            rule['remote_group_id'] = group_id
        new_rules.append(rule)
    return insert(conn, new_rules, group_id, project_id, default)
