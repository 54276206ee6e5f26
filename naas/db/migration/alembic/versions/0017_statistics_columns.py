"""Statistics samples rows in columns (naas.plugins.statistics.samples).

Each ``port_statistics_samples.samples`` text of 0016, ``{port_id: [vif,
collected_at, [raw counters], [rates], {ip_address: [raw counters]}]}``,
becomes the columns ``[[port_id], [vif], [collected_at], [[counter] x 8],
[[rate] x 4], [[ip_address] per port], [[address counter] x 4]]`` (ports
and each port's addresses sorted): the same values, so no total or rate
changes.  The downgrade does the reverse.

Revision ID: 0017_statistics_columns
Revises: 0016_statistics_samples
Create Date: 2026-12-02 09:30:00.000000
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0017_statistics_columns'
down_revision = '0016_statistics_samples'
branch_labels = None
depends_on = None

COUNTERS, ADDRESS_COUNTERS, RATES = 8, 4, 4


def _samples():
    return sa.Table('port_statistics_samples', sa.MetaData(),
                    sa.Column('host', sa.String(255)), sa.Column('network_id', sa.String(36)),
                    sa.Column('samples', sa.Text()))


def _columns(values, width):
    return [list(column) for column in zip(*values)] if values else [[] for _ in range(width)]


def _to_columns(entries):
    if not entries:
        return None
    ids = sorted(entries)
    values = [entries[port_id] for port_id in ids]
    ips = [sorted(entry[4]) for entry in values]
    return [ids, [entry[0] for entry in values], [entry[1] for entry in values],
            _columns([entry[2] for entry in values], COUNTERS),
            _columns([entry[3] for entry in values], RATES), ips,
            _columns([entry[4][ip] for entry, port_ips in zip(values, ips) for ip in port_ips],
                     ADDRESS_COUNTERS)]


def _to_entries(row):
    if not row:
        return {}
    ids, vifs, times, raw, rates, ips, address_raw = row
    values = iter(zip(*address_raw))
    return {port_id: [vif, at, list(port_raw), list(port_rates),
                      {ip: list(next(values)) for ip in port_ips}]
            for port_id, vif, at, port_raw, port_rates, port_ips in zip(
                ids, vifs, times, zip(*raw), zip(*rates), ips)}


def _convert(convert):
    conn = op.get_bind()
    table = _samples()
    for row in conn.execute(sa.select(table)).all():
        conn.execute(table.update().where(table.c.host == row.host,
                                          table.c.network_id == row.network_id)
                     .values(samples=json.dumps(convert(json.loads(row.samples or 'null')),
                                                separators=(',', ':'))))


def upgrade():
    _convert(_to_columns)


def downgrade():
    _convert(_to_entries)
