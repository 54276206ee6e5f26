"""QoS rules: one table per rule type (naas.plugins.qos.models), served by
the same functions for every type, driven by the type's definition
(naas.lib.definitions.qos_*_rule: its attributes are its table's columns).

A policy holds at most one rule of a type per direction (one DSCP marking
rule): a second is QoSRulesConflict (409), as in Neutron.  The view of a
rule is its attributes; the policy's ``rules`` list adds ``type`` and
``qos_policy_id``; the agents get the rule without ids (qos_policy in port
details, naas.agent.l2.hooks.QoS).
"""
import uuid

import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import query
from naas.lib.definitions import qos_bandwidth_limit_rule
from naas.lib.definitions import qos_dscp_marking_rule
from naas.lib.definitions import qos_packet_rate_limit_rule
from naas.plugins.qos import models

#: rule type -> (its definition, its table)
TYPES = {
    qos_bandwidth_limit_rule.RULE_TYPE: (qos_bandwidth_limit_rule,
                                         models.bandwidth_limit_rules),
    qos_dscp_marking_rule.RULE_TYPE: (qos_dscp_marking_rule, models.dscp_marking_rules),
    qos_packet_rate_limit_rule.RULE_TYPE: (qos_packet_rate_limit_rule,
                                           models.packet_rate_limit_rules),
}


def _attributes(rule_type):
    """The rule's own attributes (the columns besides id and the policy)."""
    definition, _ = TYPES[rule_type]
    return [name for name in definition.RESOURCE_ATTRIBUTE_MAP if name != 'id']


def _view(rule_type, row):
    return dict({'id': row.id}, **{name: row._mapping[name] for name in _attributes(rule_type)})


def _check_conflict(conn, rule_type, policy_id, values, rule_id=None):
    """QoSRulesConflict if the policy has another rule of this type (in the
    same direction, for the types that have one)."""
    _, table = TYPES[rule_type]
    stmt = sa.select(table.c.id).where(table.c.qos_policy_id == policy_id)
    if 'direction' in table.c:
        stmt = stmt.where(table.c.direction == values['direction'])
    if rule_id is not None:
        stmt = stmt.where(table.c.id != rule_id)
    other = conn.execute(stmt).scalar()
    if other is not None:
        raise exceptions.QoSRulesConflict(new_rule_type=rule_type, rule_id=other,
                                          policy_id=policy_id)


def insert(conn, rule_type, policy_id, body):
    """A new rule; two concurrent ones in one direction: the second insert
    fails on the unique constraint, is retried and finds the first."""
    _check_conflict(conn, rule_type, policy_id, body)
    _, table = TYPES[rule_type]
    row = {name: body[name] for name in _attributes(rule_type)}
    row.update(id=str(uuid.uuid4()), qos_policy_id=policy_id)
    conn.execute(table.insert().values(**row))
    return row['id']


def get(conn, rule_type, policy_id, id):
    """A rule of the policy, or QosRuleNotFound."""
    _, table = TYPES[rule_type]
    row = conn.execute(sa.select(table).where(table.c.id == id,
                                              table.c.qos_policy_id == policy_id)).first()
    if row is None:
        raise exceptions.QosRuleNotFound(rule_id=id)
    return _view(rule_type, row)


def select(context, rule_type, policy_id, filters, sorts=(), limit=None, marker=None,
           page_reverse=False):
    _, table = TYPES[rule_type]
    conn = context.connection
    stmt = sa.select(table).where(table.c.qos_policy_id == policy_id)
    rows = query.list_rows(context, stmt, table, query.column_map(table), dict(filters or {}),
                           sorts, limit, marker, page_reverse,
                           lambda ctx, id: get(conn, rule_type, policy_id, id))
    return [_view(rule_type, row) for row in rows]


def update(conn, rule_type, policy_id, id, values):
    current = get(conn, rule_type, policy_id, id)
    _check_conflict(conn, rule_type, policy_id, dict(current, **values), rule_id=id)
    _, table = TYPES[rule_type]
    cols = {name: values[name] for name in _attributes(rule_type) if name in values}
    if cols:
        conn.execute(table.update().where(table.c.id == id).values(**cols))


def delete(conn, rule_type, policy_id, id):
    get(conn, rule_type, policy_id, id)
    _, table = TYPES[rule_type]
    conn.execute(table.delete().where(table.c.id == id))


def of_policies(conn, policy_ids):
    """{policy_id: [rule with type and qos_policy_id]} of ``policy_ids``,
    in the order of TYPES (one query per type)."""
    out = {}
    for rule_type, (_, table) in TYPES.items():
        for chunk in common.chunks(sorted(set(policy_ids))):
            for row in conn.execute(sa.select(table).where(table.c.qos_policy_id.in_(chunk))
                                    .order_by(table.c.id)):
                out.setdefault(row.qos_policy_id, []).append(
                    dict(_view(rule_type, row), type=rule_type,
                         qos_policy_id=row.qos_policy_id))
    return out


def for_agents(rules):
    """A policy's rules as the agents get them (hooks.QoS): without ids."""
    return [{k: v for k, v in rule.items() if k not in ('id', 'qos_policy_id')}
            for rule in rules]
