"""Subnet pools (subnet_allocation): the subnetpools table and the subnet's
subnetpool_id.

Revision ID: 0009_subnetpools
Revises: 0008_rbac
Create Date: 2026-11-30 19:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_subnetpools'
down_revision = '0008_rbac'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'subnetpools',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=True),
        sa.Column('name', sa.String(length=255), server_default='', nullable=False),
        sa.Column('description', sa.String(length=255), server_default='', nullable=False),
        sa.Column('created_at', sa.String(length=20), nullable=False),
        sa.Column('updated_at', sa.String(length=20), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
        sa.Column('ip_version', sa.Integer(), nullable=False),
        sa.Column('prefixes', sa.Text(), nullable=False),
        sa.Column('default_prefixlen', sa.Integer(), nullable=False),
        sa.Column('min_prefixlen', sa.Integer(), nullable=False),
        sa.Column('max_prefixlen', sa.Integer(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('default_quota', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subnetpools')))
    op.create_index(op.f('ix_subnetpools_project_id'), 'subnetpools', ['project_id'])
    op.add_column('subnets', sa.Column('subnetpool_id', sa.String(length=36), nullable=True))
    op.create_index(op.f('ix_subnets_subnetpool_id'), 'subnets', ['subnetpool_id'])


def downgrade():
    op.drop_index(op.f('ix_subnets_subnetpool_id'), table_name='subnets')
    with op.batch_alter_table('subnets') as batch:
        batch.drop_column('subnetpool_id')
    op.drop_index(op.f('ix_subnetpools_project_id'), table_name='subnetpools')
    op.drop_table('subnetpools')
