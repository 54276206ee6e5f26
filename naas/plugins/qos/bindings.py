"""Which QoS policy a network or port uses (``qos_policy_id``), kept in the
plugin's own tables and added to networks and ports through the core
plugin's ResourceExtender; what the agents get (``qos_policy`` in port
details); which ports a policy change reaches.

A port's own policy wins over its network's.  A network's policy does not
apply to the ports of network services (device_owner network:*: DHCP,
router interfaces and gateways), as in Neutron.  A network created without
a policy gets its project's default policy (extension qos-default).
The policy must be visible to the caller (its own, a shared one, or any
for an administrator), else QosPolicyNotFound.
"""
import sqlalchemy as sa

from naas.db import common
from naas.db import networks as networks_db
from naas.db import ports as ports_db
from naas.lib import constants
from naas.lib.definitions import qos as qos_def
from naas.plugins import core
from naas.plugins.qos import models
from naas.plugins.qos import policies
from naas.plugins.qos import rules

#: resource -> (its bindings table, the column naming the resource)
TABLES = {'network': (models.network_bindings, models.network_bindings.c.network_id),
          'port': (models.port_bindings, models.port_bindings.c.port_id)}

QOS_POLICY_ID = qos_def.QOS_POLICY_ID


def policy_of(conn, resource, ids):
    """{id: policy_id} of the networks or ports ``ids`` that have one."""
    table, column = TABLES[resource]
    out = {}
    for chunk in common.chunks(sorted(set(ids))):
        out.update(conn.execute(sa.select(column, table.c.policy_id)
                                .where(column.in_(chunk))).all())
    return out


def _bind(context, resource, id, policy_id):
    """Bind ``id`` to ``policy_id`` (None: to no policy)."""
    conn = context.connection
    if policy_id is not None:
        policies.get_row(context, policy_id)  # visible to the caller, else 404
    table, column = TABLES[resource]
    conn.execute(table.delete().where(column == id))
    if policy_id is not None:
        conn.execute(table.insert().values({column.name: id, 'policy_id': policy_id}))


def user_of(conn, policy_id):
    """(object type, id) of a network or port using the policy, or None."""
    for resource, (table, column) in sorted(TABLES.items()):
        id = conn.execute(sa.select(column).where(table.c.policy_id == policy_id)
                          .limit(1)).scalar()
        if id is not None:
            return resource, id
    return None


def rbac_in_use(context, policy_id, action, projects, all_but):
    """Why projects losing access to the policy (an RBAC entry removed,
    naas.db.rbac) cannot lose it: their networks or ports use it."""
    conn = context.connection
    users = ports_db.projects_of(conn, sa.select(models.port_bindings.c.port_id).where(
        models.port_bindings.c.policy_id == policy_id))
    network_ids = conn.execute(sa.select(models.network_bindings.c.network_id).where(
        models.network_bindings.c.policy_id == policy_id)).scalars().all()
    users.update(row.project_id for row in networks_db.rows_by_id(conn, network_ids).values())
    losing = users & projects if projects is not None else users - set(all_but)
    if losing:
        return 'Networks or ports of the projects losing access use QoS policy %s.' % policy_id
    return None


def bound_ports(context, policy_ids):
    """Rows (id, network_id, device_owner, binding_host_id) of the bound
    ports that ``policy_ids`` apply to: their own policy, or their
    network's when they have none (not for network:* ports)."""
    conn = context.connection
    admin = context.elevated()
    policy_ids = sorted(set(policy_ids))
    if not policy_ids:
        return []
    port_table, network_table = models.port_bindings, models.network_bindings
    own = conn.execute(sa.select(port_table.c.port_id)
                       .where(port_table.c.policy_id.in_(policy_ids))).scalars().all()
    networks = conn.execute(sa.select(network_table.c.network_id)
                            .where(network_table.c.policy_id.in_(policy_ids))).scalars().all()
    found = {}
    for chunk in common.chunks(own):
        for row in ports_db.select(admin, {'id': chunk}):
            found[row.id] = row
    for chunk in common.chunks(networks):
        rows = ports_db.select(admin, {'network_id': chunk})
        with_policy = policy_of(conn, 'port', [row.id for row in rows])
        for row in rows:
            if row.id not in with_policy and not row.device_owner.startswith(
                    constants.DEVICE_OWNER_NETWORK_PREFIX):
                found[row.id] = row
    return [row for _, row in sorted(found.items()) if row.binding_host_id]


class QoSExtender(core.ResourceExtender):
    """qos_policy_id on networks and ports; qos_policy in port details."""

    def process_create(self, context, resource, body, result):
        policy_id = body.get(QOS_POLICY_ID)
        if policy_id is None and resource == 'network':
            policy_id = policies.default_of(context.connection, result['project_id'])
        if policy_id is not None:
            _bind(context, resource, result['id'], policy_id)

    def process_update(self, context, resource, body, current):
        if QOS_POLICY_ID in body:
            _bind(context, resource, current['id'], body[QOS_POLICY_ID])

    def extend_dicts(self, context, resource, dicts):
        bound = policy_of(context.connection, resource, [d['id'] for d in dicts])
        for d in dicts:
            d[QOS_POLICY_ID] = bound.get(d['id'])

    def extend_port_details(self, conn, details):
        """``qos_policy``: {'id', 'rules'} of the port's policy, else of its
        network's (not for network:* ports), else None."""
        by_port = policy_of(conn, 'port', [d['port_id'] for d in details])
        by_network = policy_of(conn, 'network', [d['network_id'] for d in details])
        chosen = {}
        for d in details:
            policy_id = by_port.get(d['port_id'])
            if policy_id is None and not (d.get('device_owner') or '').startswith(
                    constants.DEVICE_OWNER_NETWORK_PREFIX):
                policy_id = by_network.get(d['network_id'])
            chosen[d['port_id']] = policy_id
        by_policy = rules.of_policies(conn, [p for p in chosen.values() if p])
        for d in details:
            policy_id = chosen[d['port_id']]
            d['qos_policy'] = None if policy_id is None else {
                'id': policy_id, 'rules': rules.for_agents(by_policy.get(policy_id, []))}
