"""quota_locks: the row a create locks before it counts a project's use

Revision ID: 0005_quota_locks
Revises: 0004_dhcp
Create Date: 2026-11-30 15:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_quota_locks'
down_revision = '0004_dhcp'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('quota_locks',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'resource', name=op.f('pk_quota_locks'))
    )


def downgrade():
    op.drop_table('quota_locks')
