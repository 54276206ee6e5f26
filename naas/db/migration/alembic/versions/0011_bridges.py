"""Remote-site bridges (naas.plugins.bridges): the remote_bridges table.

Revision ID: 0011_bridges
Revises: 0010_statistics
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_bridges'
down_revision = '0010_statistics'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('remote_bridges',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('remote_ip', sa.String(length=64), nullable=False),
    sa.Column('segmentation_id', sa.Integer(), nullable=False),
    sa.Column('encapsulation', sa.String(length=16), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('remote_entries', sa.Text(), server_default='[]', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                            name=op.f('fk_remote_bridges_network_id_networks'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_bridges')),
    sa.UniqueConstraint('segmentation_id', name=op.f('uq_remote_bridges_segmentation_id'))
    )
    op.create_index(op.f('ix_remote_bridges_project_id'), 'remote_bridges', ['project_id'],
                    unique=False)
    op.create_index(op.f('ix_remote_bridges_network_id'), 'remote_bridges', ['network_id'],
                    unique=False)
    op.create_index(op.f('ix_remote_bridges_host'), 'remote_bridges', ['host'], unique=False)


def downgrade():
    op.drop_table('remote_bridges')
