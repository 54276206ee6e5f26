"""HA routers (naas.plugins.l3): the ha attribute and the VRRP network per project.

routers.ha and routers.ha_vr_id; l3_ha_router_agents (the L3 agents of each
HA router with their VRRP state); l3_ha_networks (each project's HA network).

Revision ID: 0012_l3_ha
Revises: 0011_bridges
Create Date: 2026-12-01 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_l3_ha'
down_revision = '0011_bridges'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('routers') as batch:
        batch.add_column(sa.Column('ha', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
        batch.add_column(sa.Column('ha_vr_id', sa.Integer(), nullable=True))
    op.create_table('l3_ha_router_agents',
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=False),
    sa.Column('ha_state', sa.String(length=16), server_default='standby', nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['l2_agents.id'],
                            name=op.f('fk_l3_ha_router_agents_agent_id_l2_agents'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['routers.id'],
                            name=op.f('fk_l3_ha_router_agents_router_id_routers'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('router_id', 'agent_id', name=op.f('pk_l3_ha_router_agents'))
    )
    op.create_index(op.f('ix_l3_ha_router_agents_agent_id'), 'l3_ha_router_agents',
                    ['agent_id'], unique=False)
    op.create_table('l3_ha_networks',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                            name=op.f('fk_l3_ha_networks_network_id_networks'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_l3_ha_networks')),
    sa.UniqueConstraint('network_id', name=op.f('uq_l3_ha_networks_network_id'))
    )


def downgrade():
    op.drop_table('l3_ha_networks')
    op.drop_table('l3_ha_router_agents')
    with op.batch_alter_table('routers') as batch:
        batch.drop_column('ha_vr_id')
        batch.drop_column('ha')
