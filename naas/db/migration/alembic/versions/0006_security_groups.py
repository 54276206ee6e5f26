"""security groups, rules, port bindings, default groups, address groups

Revision ID: 0006_security_groups
Revises: 0005_quota_locks
Create Date: 2026-11-30 18:50:00.000000

The template of new groups' rules starts as Neutron's: egress of anything
over IPv4 and IPv6 in every group, ingress from the same group over IPv4
and IPv6 in each project's default group.
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0006_security_groups'
down_revision = '0005_quota_locks'
branch_labels = None
depends_on = None


def _standard(name=True, tags=True):
    cols = [
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=True),
        sa.Column('description', sa.String(length=255), server_default='', nullable=False),
        sa.Column('created_at', sa.String(length=20), nullable=False),
        sa.Column('updated_at', sa.String(length=20), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    ]
    if name:
        cols.insert(2, sa.Column('name', sa.String(length=255), server_default='',
                                 nullable=False))
    if tags:
        cols.append(sa.Column('tags', sa.Text(), server_default='[]', nullable=False))
    return cols


def _rule_columns():
    return [
        sa.Column('direction', sa.String(length=16), nullable=False),
        sa.Column('ethertype', sa.String(length=8), nullable=False),
        sa.Column('protocol', sa.String(length=40), nullable=True),
        sa.Column('port_range_min', sa.Integer(), nullable=True),
        sa.Column('port_range_max', sa.Integer(), nullable=True),
        sa.Column('remote_ip_prefix', sa.String(length=64), nullable=True),
    ]


def upgrade():
    op.create_table(
        'security_groups',
        *_standard(),
        sa.Column('stateful', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_security_groups')))
    op.create_index(op.f('ix_security_groups_project_id'), 'security_groups',
                    ['project_id'], unique=False)

    op.create_table(
        'default_security_groups',
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('security_group_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['security_group_id'], ['security_groups.id'],
                                name=op.f('fk_default_security_groups_security_group_id_'
                                          'security_groups'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_default_security_groups')),
        sa.UniqueConstraint('security_group_id',
                            name=op.f('uq_default_security_groups_security_group_id')))

    op.create_table(
        'address_groups',
        *_standard(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_address_groups')))
    op.create_index(op.f('ix_address_groups_project_id'), 'address_groups',
                    ['project_id'], unique=False)

    op.create_table(
        'address_group_addresses',
        sa.Column('address_group_id', sa.String(length=36), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['address_group_id'], ['address_groups.id'],
                                name=op.f('fk_address_group_addresses_address_group_id_'
                                          'address_groups'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('address_group_id', 'address',
                                name=op.f('pk_address_group_addresses')))

    op.create_table(
        'security_group_rules',
        *_standard(name=False, tags=False),
        sa.Column('security_group_id', sa.String(length=36), nullable=False),
        sa.Column('remote_group_id', sa.String(length=36), nullable=True),
        sa.Column('remote_address_group_id', sa.String(length=36), nullable=True),
        *_rule_columns(),
        sa.Column('rule_key', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['security_group_id'], ['security_groups.id'],
                                name=op.f('fk_security_group_rules_security_group_id_'
                                          'security_groups'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['remote_group_id'], ['security_groups.id'],
                                name=op.f('fk_security_group_rules_remote_group_id_'
                                          'security_groups'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['remote_address_group_id'], ['address_groups.id'],
                                name=op.f('fk_security_group_rules_remote_address_group_id_'
                                          'address_groups')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_security_group_rules')),
        sa.UniqueConstraint('security_group_id', 'rule_key',
                            name=op.f('uq_security_group_rules_security_group_id_rule_key')))
    for column in ('project_id', 'security_group_id', 'remote_group_id',
                   'remote_address_group_id'):
        op.create_index(op.f('ix_security_group_rules_%s' % column),
                        'security_group_rules', [column], unique=False)

    template = op.create_table(
        'default_security_group_rules',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('description', sa.String(length=255), server_default='', nullable=False),
        *_rule_columns(),
        sa.Column('remote_group_id', sa.String(length=36), nullable=True),
        sa.Column('remote_address_group_id', sa.String(length=36), nullable=True),
        sa.Column('used_in_default_sg', sa.Boolean(), nullable=False),
        sa.Column('used_in_non_default_sg', sa.Boolean(), nullable=False),
        sa.Column('rule_key', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_default_security_group_rules')),
        sa.UniqueConstraint('rule_key', name=op.f('uq_default_security_group_rules_rule_key')))
    # The rule_key of naas.plugins.securitygroups.rules.key, written out: a
    # migration does not import the code that may change after it.
    op.bulk_insert(template, [
        {'id': str(uuid.uuid4()), 'description': '', 'direction': direction,
         'ethertype': ethertype, 'protocol': None, 'port_range_min': None,
         'port_range_max': None, 'remote_ip_prefix': None, 'remote_group_id': remote,
         'remote_address_group_id': None, 'used_in_default_sg': True,
         'used_in_non_default_sg': remote is None,
         'rule_key': '%s|%s|+|+|+|%s|+|+' % (direction, ethertype, remote or '+')}
        for direction, ethertype, remote in (('egress', 'IPv4', None),
                                             ('egress', 'IPv6', None),
                                             ('ingress', 'IPv4', 'PARENT'),
                                             ('ingress', 'IPv6', 'PARENT'))])

    op.create_table(
        'security_group_port_bindings',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('security_group_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['port_id'], ['ports.id'],
                                name=op.f('fk_security_group_port_bindings_port_id_ports'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['security_group_id'], ['security_groups.id'],
                                name=op.f('fk_security_group_port_bindings_security_group_id_'
                                          'security_groups')),
        sa.PrimaryKeyConstraint('port_id', 'security_group_id',
                                name=op.f('pk_security_group_port_bindings')))
    op.create_index('ix_security_group_port_bindings_security_group_id',
                    'security_group_port_bindings', ['security_group_id'], unique=False)


def downgrade():
    op.drop_table('security_group_port_bindings')
    op.drop_table('default_security_group_rules')
    op.drop_table('security_group_rules')
    op.drop_table('address_group_addresses')
    op.drop_table('address_groups')
    op.drop_table('default_security_groups')
    op.drop_table('security_groups')
