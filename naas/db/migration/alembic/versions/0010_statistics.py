"""Statistics: the latest counters of each port and of each address of a
port, with the offsets that keep their totals monotonic (naas.plugins
.statistics.models).

Revision ID: 0010_statistics
Revises: 0009_subnetpools
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_statistics'
down_revision = '0009_subnetpools'
branch_labels = None
depends_on = None

COUNTERS = ('rx_bytes', 'rx_packets', 'tx_bytes', 'tx_packets',
            'rx_dropped', 'tx_dropped', 'rx_errors', 'tx_errors')
ADDRESS_COUNTERS = COUNTERS[:4]
RATES = ('rx_bytes_rate', 'tx_bytes_rate', 'rx_packets_rate', 'tx_packets_rate')


def _counters(names):
    return ([sa.Column('raw_' + name, sa.BigInteger(), nullable=False) for name in names] +
            [sa.Column('offset_' + name, sa.BigInteger(), nullable=False) for name in names])


def _port_fk(table):
    return sa.ForeignKeyConstraint(['port_id'], ['ports.id'],
                                   name=op.f('fk_%s_port_id_ports' % table), ondelete='CASCADE')


def upgrade():
    op.create_table(
        'port_statistics',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('vif', sa.String(length=255), nullable=False),
        sa.Column('collected_at', sa.Double(), nullable=False),
        *_counters(COUNTERS),
        *[sa.Column(name, sa.Double(), nullable=False) for name in RATES],
        _port_fk('port_statistics'),
        sa.PrimaryKeyConstraint('port_id', name=op.f('pk_port_statistics')),
        sqlite_with_rowid=False)
    op.create_table(
        'port_address_statistics',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('ip_address', sa.String(length=64), nullable=False),
        *_counters(ADDRESS_COUNTERS),
        _port_fk('port_address_statistics'),
        sa.PrimaryKeyConstraint('port_id', 'ip_address',
                                name=op.f('pk_port_address_statistics')),
        sqlite_with_rowid=False)


def downgrade():
    op.drop_table('port_address_statistics')
    op.drop_table('port_statistics')
