"""Physical-network bridges (naas.plugins.bridges): the physical_bridges table.

Revision ID: 0013_physical_bridges
Revises: 0012_l3_ha
Create Date: 2026-12-01 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_physical_bridges'
down_revision = '0012_l3_ha'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('physical_bridges',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('physical_network', sa.String(length=255), nullable=False),
    sa.Column('segmentation_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                            name=op.f('fk_physical_bridges_network_id_networks'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_physical_bridges')),
    sa.UniqueConstraint('host', 'physical_network', 'segmentation_id',
                        name=op.f('uq_physical_bridges_host_physical_network_segmentation_id'))
    )
    op.create_index(op.f('ix_physical_bridges_project_id'), 'physical_bridges', ['project_id'],
                    unique=False)
    op.create_index(op.f('ix_physical_bridges_network_id'), 'physical_bridges', ['network_id'],
                    unique=False)
