"""The security group plugin's tables (in the one MetaData of naas.db.models).

Every lookup the API and the agents make is by an index: a group's rules
(security_group_rules.security_group_id), the rules naming a group or an
address group as their remote, a group's ports
(security_group_port_bindings.security_group_id) and a port's groups (its
primary key), a project's default group (default_security_groups).
"""
import sqlalchemy as sa

from naas.db import models

UUID = models.UUID
NAME = models.NAME


security_groups = sa.Table(
    'security_groups', models.metadata,
    *models.standard_columns(),
    sa.Column('stateful', sa.Boolean, nullable=False, server_default=sa.true()),
)

# Each project's ``default`` group.  The primary key makes it one per
# project, however many requests make it at the same moment.
default_security_groups = sa.Table(
    'default_security_groups', models.metadata,
    sa.Column('project_id', NAME, primary_key=True),
    sa.Column('security_group_id', UUID,
              sa.ForeignKey('security_groups.id', ondelete='CASCADE'),
              nullable=False, unique=True),
)

address_groups = sa.Table(
    'address_groups', models.metadata,
    *models.standard_columns(),
)

address_group_addresses = sa.Table(
    'address_group_addresses', models.metadata,
    sa.Column('address_group_id', UUID,
              sa.ForeignKey('address_groups.id', ondelete='CASCADE'), primary_key=True),
    sa.Column('address', sa.String(64), primary_key=True),
)

# Rules are created and deleted, never changed.  ``rule_key`` is the rule's
# values in one normal form (rules.key): unique per group, so that two
# requests cannot both add the same rule.
security_group_rules = sa.Table(
    'security_group_rules', models.metadata,
    *models.standard_columns(name=False, tags=False),
    sa.Column('security_group_id', UUID,
              sa.ForeignKey('security_groups.id', ondelete='CASCADE'),
              nullable=False, index=True),
    # A group's deletion takes the rules naming it as their remote along.
    sa.Column('remote_group_id', UUID,
              sa.ForeignKey('security_groups.id', ondelete='CASCADE'), index=True),
    # An address group named by a rule cannot be deleted (AddressGroupInUse).
    sa.Column('remote_address_group_id', UUID, sa.ForeignKey('address_groups.id'),
              index=True),
    sa.Column('direction', sa.String(16), nullable=False),
    sa.Column('ethertype', sa.String(8), nullable=False),
    sa.Column('protocol', sa.String(40)),
    sa.Column('port_range_min', sa.Integer),
    sa.Column('port_range_max', sa.Integer),
    sa.Column('remote_ip_prefix', sa.String(64)),
    sa.Column('rule_key', sa.String(255), nullable=False),
    sa.UniqueConstraint('security_group_id', 'rule_key'),
)

# The administrator's template of new groups' rules (remote_group_id: None
# or PARENT, the group the rule goes into).
default_security_group_rules = sa.Table(
    'default_security_group_rules', models.metadata,
    sa.Column('id', UUID, primary_key=True),
    sa.Column('description', NAME, nullable=False, server_default=''),
    sa.Column('direction', sa.String(16), nullable=False),
    sa.Column('ethertype', sa.String(8), nullable=False),
    sa.Column('protocol', sa.String(40)),
    sa.Column('port_range_min', sa.Integer),
    sa.Column('port_range_max', sa.Integer),
    sa.Column('remote_ip_prefix', sa.String(64)),
    sa.Column('remote_group_id', sa.String(36)),
    sa.Column('remote_address_group_id', UUID),
    sa.Column('used_in_default_sg', sa.Boolean, nullable=False),
    sa.Column('used_in_non_default_sg', sa.Boolean, nullable=False),
    sa.Column('rule_key', sa.String(255), nullable=False, unique=True),
)

# A port's groups: the truth for ports' ``security_groups`` (the ports
# table's JSON column is kept equal for the port list's filter).
port_bindings = sa.Table(
    'security_group_port_bindings', models.metadata,
    sa.Column('port_id', UUID, sa.ForeignKey('ports.id', ondelete='CASCADE'),
              primary_key=True),
    sa.Column('security_group_id', UUID, sa.ForeignKey('security_groups.id'),
              primary_key=True),
    sa.Index('ix_security_group_port_bindings_security_group_id', 'security_group_id'),
)
