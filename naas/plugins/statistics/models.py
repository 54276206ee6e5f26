"""The statistics plugin's tables (in the one MetaData of naas.db.models).

One row per port and one per (port, address): the latest sample only, no
history, so the storage is proportional to the number of ports and never
grows with time.  Rows go with their port (ON DELETE CASCADE).

A total the API shows is ``raw_<counter> + offset_<counter>``: ``raw_*`` is
what the VIF's counters said in the last sample, ``offset_*`` what earlier
VIF instances of the port had counted when they went away (see
port_statistics.ingest: a VIF that restarted from 0 adds its last raw
value to the offset, so totals never go back).  Rows are updated in place
by the ingest's upserts (migration 0014 added the address rows'
collected_at, which tells the addresses a sample no longer names; 0015 the
port rows' ``addresses``, which tells when to look for them).
"""
import sqlalchemy as sa

from naas.db import models
from naas.lib.definitions import port_statistics as definition

UUID = models.UUID
NAME = models.NAME


#: Rows stored in their primary key's order (SQLite's WITHOUT ROWID; the
#: other databases' tables are so already, or ignore it): a sample's
#: replacement touches one B-tree, not a table and its key's index.
CLUSTERED = {'sqlite_with_rowid': False}


def _counter_columns(counters):
    return ([sa.Column('raw_' + name, sa.BigInteger, nullable=False) for name in counters] +
            [sa.Column('offset_' + name, sa.BigInteger, nullable=False) for name in counters])


def _port_fk():
    return sa.Column('port_id', UUID, sa.ForeignKey('ports.id', ondelete='CASCADE'),
                     primary_key=True)


port_statistics = sa.Table(
    'port_statistics', models.metadata,
    _port_fk(),
    # The host that sent the last sample and the VIF instance it read: a
    # sample from another host or another VIF starts from 0.
    sa.Column('host', NAME, nullable=False),
    sa.Column('vif', NAME, nullable=False),
    # The agent's clock at the read, seconds since the epoch.
    sa.Column('collected_at', sa.Double, nullable=False),
    *_counter_columns(definition.COUNTERS),
    *[sa.Column(name, sa.Double, nullable=False) for name in definition.RATES],
    # The addresses the last sample named (port_statistics.address_key) and
    # whether they differ from the sample's before it: only then may the
    # port have address rows to remove (NULL: a row from before migration
    # 0015, whose addresses are not known).
    sa.Column('addresses', sa.Text, nullable=True),
    sa.Column('addresses_changed', sa.Boolean, nullable=False, server_default=sa.true()),
    **CLUSTERED,
)

port_address_statistics = sa.Table(
    'port_address_statistics', models.metadata,
    _port_fk(),
    sa.Column('ip_address', sa.String(64), primary_key=True),
    # The sample that last named the address (its port's collected_at): an
    # address older than its port's last sample is gone from the port.
    sa.Column('collected_at', sa.Double, nullable=False, server_default='0'),
    *_counter_columns(definition.ADDRESS_COUNTERS),
    **CLUSTERED,
)
