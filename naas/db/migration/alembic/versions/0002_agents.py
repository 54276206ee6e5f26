"""agents

Revision ID: 0002_agents
Revises: 0001_initial
Create Date: 2026-11-26 07:31:02.890643
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_agents'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('l2_agents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agent_type', sa.String(length=64), nullable=False),
    sa.Column('binary', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.String(length=20), nullable=False),
    sa.Column('heartbeat', sa.Float(), nullable=False),
    sa.Column('heartbeat_timestamp', sa.String(length=20), nullable=False),
    sa.Column('tunnel_ip', sa.String(length=64), server_default='', nullable=False),
    sa.Column('configurations', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_l2_agents')),
    sa.UniqueConstraint('agent_type', 'host', name=op.f('uq_l2_agents_agent_type_host'))
    )


def downgrade():
    op.drop_table('l2_agents')
