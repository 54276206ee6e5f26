"""Statistics ingest in bulk (naas.plugins.statistics): each address row
records the sample that last named it (``collected_at``), so that the
ingest updates rows in place (one upsert per table and batch) and removes
the addresses a port's newest sample no longer names.

Revision ID: 0014_statistics_ingest
Revises: 0013_physical_bridges
Create Date: 2026-12-01 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_statistics_ingest'
down_revision = '0013_physical_bridges'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('port_address_statistics',
                  sa.Column('collected_at', sa.Double(), nullable=False, server_default='0'))


def downgrade():
    op.drop_column('port_address_statistics', 'collected_at')
