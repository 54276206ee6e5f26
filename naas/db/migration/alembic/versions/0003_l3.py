"""l3: routers, floating IPs, subnet routes

Revision ID: 0003_l3
Revises: 0002_agents
Create Date: 2026-11-26 07:47:35.729101
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_l3'
down_revision = '0002_agents'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('routers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('gw_port_id', sa.String(length=36), nullable=True),
    sa.Column('gw_network_id', sa.String(length=36), nullable=True),
    sa.Column('enable_snat', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('routes', sa.Text(), server_default='[]', nullable=False),
    sa.Column('hidden', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['gw_network_id'], ['networks.id'], name=op.f('fk_routers_gw_network_id_networks')),
    sa.ForeignKeyConstraint(['gw_port_id'], ['ports.id'], name=op.f('fk_routers_gw_port_id_ports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routers'))
    )
    with op.batch_alter_table('routers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routers_gw_network_id'), ['gw_network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routers_hidden'), ['hidden'], unique=False)
        batch_op.create_index(batch_op.f('ix_routers_project_id'), ['project_id'], unique=False)

    op.create_table('floatingips',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('floating_network_id', sa.String(length=36), nullable=False),
    sa.Column('floating_port_id', sa.String(length=36), nullable=False),
    sa.Column('floating_ip_address', sa.String(length=64), nullable=False),
    sa.Column('fixed_port_id', sa.String(length=36), nullable=True),
    sa.Column('fixed_ip_address', sa.String(length=64), nullable=True),
    sa.Column('router_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['fixed_port_id'], ['ports.id'], name=op.f('fk_floatingips_fixed_port_id_ports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['floating_network_id'], ['networks.id'], name=op.f('fk_floatingips_floating_network_id_networks')),
    sa.ForeignKeyConstraint(['floating_port_id'], ['ports.id'], name=op.f('fk_floatingips_floating_port_id_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['routers.id'], name=op.f('fk_floatingips_router_id_routers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_floatingips')),
    sa.UniqueConstraint('floating_network_id', 'fixed_port_id', 'fixed_ip_address', name='uq_floatingips_fixed_ip')
    )
    with op.batch_alter_table('floatingips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floatingips_fixed_port_id'), ['fixed_port_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floatingips_floating_network_id'), ['floating_network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floatingips_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floatingips_router_id'), ['router_id'], unique=False)

    op.create_table('l3_router_bindings',
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['l2_agents.id'], name=op.f('fk_l3_router_bindings_agent_id_l2_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['routers.id'], name=op.f('fk_l3_router_bindings_router_id_routers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('router_id', name=op.f('pk_l3_router_bindings'))
    )
    with op.batch_alter_table('l3_router_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_l3_router_bindings_agent_id'), ['agent_id'], unique=False)

    op.create_table('subnet_routes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('subnet_a', sa.String(length=36), nullable=False),
    sa.Column('subnet_b', sa.String(length=36), nullable=False),
    sa.Column('pair', sa.String(length=80), nullable=False),
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['router_id'], ['routers.id'], name=op.f('fk_subnet_routes_router_id_routers')),
    sa.ForeignKeyConstraint(['subnet_a'], ['subnets.id'], name=op.f('fk_subnet_routes_subnet_a_subnets')),
    sa.ForeignKeyConstraint(['subnet_b'], ['subnets.id'], name=op.f('fk_subnet_routes_subnet_b_subnets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subnet_routes')),
    sa.UniqueConstraint('pair', name=op.f('uq_subnet_routes_pair'))
    )
    with op.batch_alter_table('subnet_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subnet_routes_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subnet_routes_router_id'), ['router_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subnet_routes_subnet_a'), ['subnet_a'], unique=False)
        batch_op.create_index(batch_op.f('ix_subnet_routes_subnet_b'), ['subnet_b'], unique=False)



def downgrade():
    with op.batch_alter_table('subnet_routes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subnet_routes_subnet_b'))
        batch_op.drop_index(batch_op.f('ix_subnet_routes_subnet_a'))
        batch_op.drop_index(batch_op.f('ix_subnet_routes_router_id'))
        batch_op.drop_index(batch_op.f('ix_subnet_routes_project_id'))

    op.drop_table('subnet_routes')
    with op.batch_alter_table('l3_router_bindings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_l3_router_bindings_agent_id'))

    op.drop_table('l3_router_bindings')
    with op.batch_alter_table('floatingips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_floatingips_router_id'))
        batch_op.drop_index(batch_op.f('ix_floatingips_project_id'))
        batch_op.drop_index(batch_op.f('ix_floatingips_floating_network_id'))
        batch_op.drop_index(batch_op.f('ix_floatingips_fixed_port_id'))

    op.drop_table('floatingips')
    with op.batch_alter_table('routers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routers_project_id'))
        batch_op.drop_index(batch_op.f('ix_routers_hidden'))
        batch_op.drop_index(batch_op.f('ix_routers_gw_network_id'))

    op.drop_table('routers')
