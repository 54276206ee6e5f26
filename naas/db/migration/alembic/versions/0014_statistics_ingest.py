"""Statistics ingest in bulk (naas.plugins.statistics): each address row
records the sample that last named it (``collected_at``), so that the
ingest updates rows in place (one upsert per table and batch) and removes
the addresses a port's newest sample no longer names.

On PostgreSQL both tables keep half of each page free (fillfactor 50): a
row's new version then fits beside the old one (a HOT update, no index
entry added), which made an interval's ingest use a quarter less of the
server's CPU (tools/bench_statistics_server.py).  Pages already full take
it at their next rewrite (VACUUM FULL); new pages at once.

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


TABLES = ('port_statistics', 'port_address_statistics')


def upgrade():
    op.add_column('port_address_statistics',
                  sa.Column('collected_at', sa.Double(), nullable=False, server_default='0'))
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute('ALTER TABLE %s SET (fillfactor = 50)' % table)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute('ALTER TABLE %s RESET (fillfactor)' % table)
    op.drop_column('port_address_statistics', 'collected_at')
