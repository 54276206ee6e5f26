"""Statistics ingest without a search for gone addresses in every interval
(naas.plugins.statistics.port_statistics.ingest): each port row keeps the
addresses its last sample named (``addresses``) and whether they differed
from the sample's before (``addresses_changed``, returned by the upsert);
only such ports' address rows are looked through for gone ones.

Existing rows keep their counters and offsets (no total changes); their
``addresses`` is NULL (not known), which the next sample counts as
changed, so that an address gone since is removed as before.

Revision ID: 0015_statistics_storage
Revises: 0014_statistics_ingest
Create Date: 2026-12-01 04:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_statistics_storage'
down_revision = '0014_statistics_ingest'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('port_statistics', sa.Column('addresses', sa.Text(), nullable=True))
    op.add_column('port_statistics', sa.Column('addresses_changed', sa.Boolean(),
                                               nullable=False, server_default=sa.true()))


def downgrade():
    op.drop_column('port_statistics', 'addresses_changed')
    op.drop_column('port_statistics', 'addresses')
