"""Statistics stored per (reporting host, network) (naas.plugins.statistics
.models): the latest samples of a host's ports of one network in one row
(``port_statistics_samples``), the offsets that keep totals monotonic and
the host a port is counted on in rows of their own, written only on an
event (``port_statistics_offsets``, ``port_address_statistics_offsets``).
An interval's ingest then writes a few dozen rows per agent instead of two
per port.

The rows of 0010-0015 are carried over exactly: each port row becomes an
entry of the samples row of (its host, its port's network) with its raw
counters, rates, VIF, time and its addresses' raw counters, and an offsets
row with its offsets and host; addresses with offsets keep them.  No total
changes, and the next sample is compared with the last one as before.
The downgrade does the reverse.

On PostgreSQL the samples (a few kB a row) are compressed with lz4 where
the server has it (14 and later): pglz's compression had been a sixth of
the server's CPU of an interval's ingest (tools/bench_statistics_server.py:
580 ms -> 485 ms).

Revision ID: 0016_statistics_samples
Revises: 0015_statistics_storage
Create Date: 2026-12-01 11:30:00.000000
"""
import collections
import json

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0016_statistics_samples'
down_revision = '0015_statistics_storage'
branch_labels = None
depends_on = None

COUNTERS = ('rx_bytes', 'rx_packets', 'tx_bytes', 'tx_packets',
            'rx_dropped', 'tx_dropped', 'rx_errors', 'tx_errors')
ADDRESS_COUNTERS = COUNTERS[:4]
RATES = ('rx_bytes_rate', 'tx_bytes_rate', 'rx_packets_rate', 'tx_packets_rate')
SAMPLES_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb')
CHUNK = 500


def _offsets(names):
    return [sa.Column('offset_' + name, sa.BigInteger(), nullable=False) for name in names]


def _port_fk(table):
    return sa.ForeignKeyConstraint(['port_id'], ['ports.id'],
                                   name=op.f('fk_%s_port_id_ports' % table), ondelete='CASCADE')


def _old_tables():
    meta = sa.MetaData()
    port = sa.Table(
        'port_statistics', meta,
        sa.Column('port_id', sa.String(36)), sa.Column('host', sa.String(255)),
        sa.Column('vif', sa.String(255)), sa.Column('collected_at', sa.Double()),
        *[sa.Column(p + name, sa.BigInteger()) for p in ('raw_', 'offset_') for name in COUNTERS],
        *[sa.Column(name, sa.Double()) for name in RATES],
        sa.Column('addresses', sa.Text()), sa.Column('addresses_changed', sa.Boolean()))
    address = sa.Table(
        'port_address_statistics', meta,
        sa.Column('port_id', sa.String(36)), sa.Column('ip_address', sa.String(64)),
        sa.Column('collected_at', sa.Double()),
        *[sa.Column(p + name, sa.BigInteger())
          for p in ('raw_', 'offset_') for name in ADDRESS_COUNTERS])
    return port, address


def _new_tables():
    meta = sa.MetaData()
    samples = sa.Table('port_statistics_samples', meta, sa.Column('host', sa.String(255)),
                       sa.Column('network_id', sa.String(36)), sa.Column('samples', sa.Text()))
    offsets = sa.Table('port_statistics_offsets', meta, sa.Column('port_id', sa.String(36)),
                       sa.Column('host', sa.String(255)),
                       *[sa.Column('offset_' + name, sa.BigInteger()) for name in COUNTERS])
    address_offsets = sa.Table(
        'port_address_statistics_offsets', meta, sa.Column('port_id', sa.String(36)),
        sa.Column('ip_address', sa.String(64)),
        *[sa.Column('offset_' + name, sa.BigInteger()) for name in ADDRESS_COUNTERS])
    return samples, offsets, address_offsets


def _ports_table():
    return sa.Table('ports', sa.MetaData(), sa.Column('id', sa.String(36)),
                    sa.Column('network_id', sa.String(36)))


def _insert(conn, table, rows):
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start:start + CHUNK])


def _create_new():
    op.create_table(
        'port_statistics_samples',
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('network_id', sa.String(length=36), nullable=False),
        sa.Column('samples', SAMPLES_TEXT, nullable=False),
        sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                                name=op.f('fk_port_statistics_samples_network_id_networks'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('host', 'network_id', name=op.f('pk_port_statistics_samples')),
        sqlite_with_rowid=False)
    op.create_table(
        'port_statistics_offsets',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        *_offsets(COUNTERS),
        _port_fk('port_statistics_offsets'),
        sa.PrimaryKeyConstraint('port_id', name=op.f('pk_port_statistics_offsets')),
        sqlite_with_rowid=False)
    op.create_table(
        'port_address_statistics_offsets',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('ip_address', sa.String(length=64), nullable=False),
        *_offsets(ADDRESS_COUNTERS),
        _port_fk('port_address_statistics_offsets'),
        sa.PrimaryKeyConstraint('port_id', 'ip_address',
                                name=op.f('pk_port_address_statistics_offsets')),
        sqlite_with_rowid=False)


def _lz4(conn):
    """Whether PostgreSQL (14 and later, built with lz4) can compress with
    lz4."""
    return conn.exec_driver_sql(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'").scalar()


def upgrade():
    _create_new()
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql' and _lz4(conn):
        op.execute('ALTER TABLE port_statistics_samples ALTER COLUMN samples '
                   'SET COMPRESSION lz4')
    port, address = _old_tables()
    samples, offsets, address_offsets = _new_tables()
    ports = _ports_table()
    addresses = collections.defaultdict(dict)
    address_offset_rows = []
    for row in conn.execute(sa.select(address)).mappings():
        addresses[row['port_id']][row['ip_address']] = [row['raw_' + name]
                                                        for name in ADDRESS_COUNTERS]
        if any(row['offset_' + name] for name in ADDRESS_COUNTERS):
            address_offset_rows.append(dict(
                port_id=row['port_id'], ip_address=row['ip_address'],
                **{'offset_' + name: row['offset_' + name] for name in ADDRESS_COUNTERS}))
    entries = collections.defaultdict(dict)
    offset_rows = []
    for row in conn.execute(sa.select(port, ports.c.network_id)
                            .join_from(port, ports, ports.c.id == port.c.port_id)).mappings():
        entries[row['host'], row['network_id']][row['port_id']] = [
            row['vif'], row['collected_at'], [row['raw_' + name] for name in COUNTERS],
            [row[name] for name in RATES], addresses.get(row['port_id'], {})]
        offset_rows.append(dict(port_id=row['port_id'], host=row['host'],
                                **{'offset_' + name: row['offset_' + name]
                                   for name in COUNTERS}))
    _insert(conn, samples, [
        {'host': host, 'network_id': network_id,
         'samples': json.dumps(port_entries, separators=(',', ':'))}
        for (host, network_id), port_entries in sorted(entries.items())])
    _insert(conn, offsets, offset_rows)
    counted = {row['port_id'] for row in offset_rows}
    _insert(conn, address_offsets, [row for row in address_offset_rows
                                    if row['port_id'] in counted])
    op.drop_table('port_address_statistics')
    op.drop_table('port_statistics')


def downgrade():
    op.create_table(
        'port_statistics',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('vif', sa.String(length=255), nullable=False),
        sa.Column('collected_at', sa.Double(), nullable=False),
        *[sa.Column(p + name, sa.BigInteger(), nullable=False)
          for p in ('raw_', 'offset_') for name in COUNTERS],
        *[sa.Column(name, sa.Double(), nullable=False) for name in RATES],
        sa.Column('addresses', sa.Text(), nullable=True),
        sa.Column('addresses_changed', sa.Boolean(), nullable=False,
                  server_default=sa.true()),
        _port_fk('port_statistics'),
        sa.PrimaryKeyConstraint('port_id', name=op.f('pk_port_statistics')),
        sqlite_with_rowid=False)
    op.create_table(
        'port_address_statistics',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('ip_address', sa.String(length=64), nullable=False),
        sa.Column('collected_at', sa.Double(), nullable=False, server_default='0'),
        *[sa.Column(p + name, sa.BigInteger(), nullable=False)
          for p in ('raw_', 'offset_') for name in ADDRESS_COUNTERS],
        _port_fk('port_address_statistics'),
        sa.PrimaryKeyConstraint('port_id', 'ip_address',
                                name=op.f('pk_port_address_statistics')),
        sqlite_with_rowid=False)
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('port_statistics', 'port_address_statistics'):
            op.execute('ALTER TABLE %s SET (fillfactor = 50)' % table)
    conn = op.get_bind()
    port, address = _old_tables()
    samples, offsets, address_offsets = _new_tables()
    counted = {row['port_id']: row for row in conn.execute(sa.select(offsets)).mappings()}
    address_offset = {(row['port_id'], row['ip_address']): row
                      for row in conn.execute(sa.select(address_offsets)).mappings()}
    port_rows, address_rows = [], []
    for row in conn.execute(sa.select(samples)):
        for port_id, (vif, collected_at, raw, rates, ips) in json.loads(row.samples).items():
            offset = counted.get(port_id)
            if offset is None or offset['host'] != row.host:
                continue
            port_rows.append(dict(
                port_id=port_id, host=row.host, vif=vif, collected_at=collected_at,
                addresses=' '.join(sorted(ips)), addresses_changed=False,
                **dict(zip(['raw_' + name for name in COUNTERS], raw)),
                **{'offset_' + name: offset['offset_' + name] for name in COUNTERS},
                **dict(zip(RATES, rates))))
            for ip_address, values in ips.items():
                extra = address_offset.get((port_id, ip_address))
                address_rows.append(dict(
                    port_id=port_id, ip_address=ip_address, collected_at=collected_at,
                    **dict(zip(['raw_' + name for name in ADDRESS_COUNTERS], values)),
                    **{'offset_' + name: extra['offset_' + name] if extra else 0
                       for name in ADDRESS_COUNTERS}))
    _insert(conn, port, port_rows)
    _insert(conn, address, address_rows)
    op.drop_table('port_address_statistics_offsets')
    op.drop_table('port_statistics_offsets')
    op.drop_table('port_statistics_samples')
