"""QoS policies, rules, network and port bindings

Revision ID: 0007_qos
Revises: 0006_security_groups
Create Date: 2026-11-30 18:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_qos'
down_revision = '0006_security_groups'
branch_labels = None
depends_on = None


def _policy_fk(table):
    return sa.ForeignKeyConstraint(['qos_policy_id'], ['qos_policies.id'],
                                   name=op.f('fk_%s_qos_policy_id_qos_policies' % table),
                                   ondelete='CASCADE')


def upgrade():
    op.create_table('qos_policies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('shared', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qos_policies'))
    )
    op.create_index(op.f('ix_qos_policies_project_id'), 'qos_policies', ['project_id'],
                    unique=False)
    op.create_table('qos_default_policies',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('qos_policy_id', sa.String(length=36), nullable=False),
    _policy_fk('qos_default_policies'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_qos_default_policies'))
    )
    op.create_index(op.f('ix_qos_default_policies_qos_policy_id'), 'qos_default_policies',
                    ['qos_policy_id'], unique=False)
    op.create_table('qos_bandwidth_limit_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('qos_policy_id', sa.String(length=36), nullable=False),
    sa.Column('max_kbps', sa.Integer(), nullable=False),
    sa.Column('max_burst_kbps', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    _policy_fk('qos_bandwidth_limit_rules'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qos_bandwidth_limit_rules')),
    sa.UniqueConstraint('qos_policy_id', 'direction',
                        name=op.f('uq_qos_bandwidth_limit_rules_qos_policy_id_direction'))
    )
    op.create_table('qos_dscp_marking_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('qos_policy_id', sa.String(length=36), nullable=False),
    sa.Column('dscp_mark', sa.Integer(), nullable=False),
    _policy_fk('qos_dscp_marking_rules'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qos_dscp_marking_rules')),
    sa.UniqueConstraint('qos_policy_id', name=op.f('uq_qos_dscp_marking_rules_qos_policy_id'))
    )
    op.create_table('qos_packet_rate_limit_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('qos_policy_id', sa.String(length=36), nullable=False),
    sa.Column('max_kpps', sa.BigInteger(), nullable=False),
    sa.Column('max_burst_kpps', sa.BigInteger(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    _policy_fk('qos_packet_rate_limit_rules'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qos_packet_rate_limit_rules')),
    sa.UniqueConstraint('qos_policy_id', 'direction',
                        name=op.f('uq_qos_packet_rate_limit_rules_qos_policy_id_direction'))
    )
    op.create_table('qos_network_policy_bindings',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('policy_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                            name=op.f('fk_qos_network_policy_bindings_network_id_networks'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['qos_policies.id'],
                            name=op.f('fk_qos_network_policy_bindings_policy_id_qos_policies')),
    sa.PrimaryKeyConstraint('network_id', name=op.f('pk_qos_network_policy_bindings'))
    )
    op.create_index(op.f('ix_qos_network_policy_bindings_policy_id'),
                    'qos_network_policy_bindings', ['policy_id'], unique=False)
    op.create_table('qos_port_policy_bindings',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('policy_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['qos_policies.id'],
                            name=op.f('fk_qos_port_policy_bindings_policy_id_qos_policies')),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'],
                            name=op.f('fk_qos_port_policy_bindings_port_id_ports'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('port_id', name=op.f('pk_qos_port_policy_bindings'))
    )
    op.create_index(op.f('ix_qos_port_policy_bindings_policy_id'), 'qos_port_policy_bindings',
                    ['policy_id'], unique=False)


def downgrade():
    for table in ('qos_port_policy_bindings', 'qos_network_policy_bindings',
                  'qos_packet_rate_limit_rules', 'qos_dscp_marking_rules',
                  'qos_bandwidth_limit_rules', 'qos_default_policies', 'qos_policies'):
        op.drop_table(table)
