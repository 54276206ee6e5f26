"""The QoS plugin's tables (in the one MetaData of naas.db.models).

Policies; one table per rule type, as in Neutron (each with the columns of
its attributes, a policy holds at most one rule per type and direction:
unique constraints); the default policy of each project (its primary key
makes the default unique); which policy a network or port uses (rows go
with their network or port; a policy in use cannot be deleted: no cascade
from the policy).
"""
import sqlalchemy as sa

from naas.db import models

UUID = models.UUID
NAME = models.NAME


def _policy_column(**kwargs):
    return sa.Column('qos_policy_id', UUID,
                     sa.ForeignKey('qos_policies.id', ondelete='CASCADE'),
                     nullable=False, **kwargs)


policies = sa.Table(
    'qos_policies', models.metadata,
    *models.standard_columns(),
    sa.Column('shared', sa.Boolean, nullable=False, server_default=sa.false()),
)

# A project's default policy (extension qos-default): one row per project.
default_policies = sa.Table(
    'qos_default_policies', models.metadata,
    sa.Column('project_id', NAME, primary_key=True),
    _policy_column(index=True),
)

bandwidth_limit_rules = sa.Table(
    'qos_bandwidth_limit_rules', models.metadata,
    sa.Column('id', UUID, primary_key=True),
    _policy_column(),
    sa.Column('max_kbps', sa.Integer, nullable=False),
    sa.Column('max_burst_kbps', sa.Integer, nullable=False),
    sa.Column('direction', sa.String(8), nullable=False),
    sa.UniqueConstraint('qos_policy_id', 'direction'),
)

dscp_marking_rules = sa.Table(
    'qos_dscp_marking_rules', models.metadata,
    sa.Column('id', UUID, primary_key=True),
    _policy_column(unique=True),
    sa.Column('dscp_mark', sa.Integer, nullable=False),
)

packet_rate_limit_rules = sa.Table(
    'qos_packet_rate_limit_rules', models.metadata,
    sa.Column('id', UUID, primary_key=True),
    _policy_column(),
    sa.Column('max_kpps', sa.BigInteger, nullable=False),
    sa.Column('max_burst_kpps', sa.BigInteger, nullable=False),
    sa.Column('direction', sa.String(8), nullable=False),
    sa.UniqueConstraint('qos_policy_id', 'direction'),
)

network_bindings = sa.Table(
    'qos_network_policy_bindings', models.metadata,
    sa.Column('network_id', UUID, sa.ForeignKey('networks.id', ondelete='CASCADE'),
              primary_key=True),
    sa.Column('policy_id', UUID, sa.ForeignKey('qos_policies.id'), nullable=False,
              index=True),
)

port_bindings = sa.Table(
    'qos_port_policy_bindings', models.metadata,
    sa.Column('port_id', UUID, sa.ForeignKey('ports.id', ondelete='CASCADE'),
              primary_key=True),
    sa.Column('policy_id', UUID, sa.ForeignKey('qos_policies.id'), nullable=False,
              index=True),
)
