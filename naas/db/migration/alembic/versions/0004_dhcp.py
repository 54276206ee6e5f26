"""dhcp: network -> DHCP agent bindings

Revision ID: 0004_dhcp
Revises: 0003_l3
Create Date: 2026-11-26 09:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_dhcp'
down_revision = '0003_l3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('l2_dhcp_agent_bindings',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['l2_agents.id'], name=op.f('fk_l2_dhcp_agent_bindings_agent_id_l2_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_l2_dhcp_agent_bindings_network_id_networks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id', 'agent_id', name=op.f('pk_l2_dhcp_agent_bindings'))
    )
    with op.batch_alter_table('l2_dhcp_agent_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_l2_dhcp_agent_bindings_agent_id'), ['agent_id'], unique=False)


def downgrade():
    with op.batch_alter_table('l2_dhcp_agent_bindings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_l2_dhcp_agent_bindings_agent_id'))
    op.drop_table('l2_dhcp_agent_bindings')
