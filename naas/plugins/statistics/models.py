"""The statistics plugin's tables (in the one MetaData of naas.db.models).

The latest sample of every port, no history: the storage is proportional
to the number of ports and never grows with time (port_statistics.py tells
how they are written and read).

- ``port_statistics_samples``: one row per (reporting host, network) with
  the latest samples of that host's ports of that network, in one text
  value (the entries of port_statistics.py: raw counters, rates, VIF, time and the
  addresses' raw counters of each port).  An agent's interval rewrites a
  few dozen of these rows, not one row per port and address.  A port's
  entry is only in the row of the host it is counted on (it moves with the
  port), a gone port's entry is dropped by its row's next merge, and the
  rows go with their network (ON DELETE CASCADE).
- ``port_statistics_offsets``: per port, the host whose samples count
  (``host``) and what earlier VIF instances of the port counted before
  they went away (``offset_*``).  Written when a port is first reported and
  then only on an event: a VIF re-plug, a counter reset, a host move.
- ``port_address_statistics_offsets``: the same per address of a port,
  only for addresses whose counters once went back (a missing row: 0).

A total the API shows is the raw value of the port's entry in the samples
row of (``host``, its network) plus its ``offset_*``; both go with their
port (ON DELETE CASCADE).  Migration 0016 replaced the row per port and
per address of 0010-0015.
"""
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from naas.db import models
from naas.lib.definitions import port_statistics as definition

UUID = models.UUID
NAME = models.NAME


#: Rows stored in their primary key's order (SQLite's WITHOUT ROWID; the
#: other databases' tables are so already, or ignore it).
CLUSTERED = {'sqlite_with_rowid': False}

#: A samples row's text: up to a few hundred kB (MySQL's TEXT stops at 64 kB).
SAMPLES_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb')


def _offset_columns(counters):
    return [sa.Column('offset_' + name, sa.BigInteger, nullable=False) for name in counters]


def _port_fk(primary_key=True):
    return sa.Column('port_id', UUID, sa.ForeignKey('ports.id', ondelete='CASCADE'),
                     primary_key=primary_key)


port_statistics_samples = sa.Table(
    'port_statistics_samples', models.metadata,
    sa.Column('host', NAME, primary_key=True),
    sa.Column('network_id', UUID, sa.ForeignKey('networks.id', ondelete='CASCADE'),
              primary_key=True),
    sa.Column('samples', SAMPLES_TEXT, nullable=False),
    **CLUSTERED,
)

port_statistics_offsets = sa.Table(
    'port_statistics_offsets', models.metadata,
    _port_fk(),
    # The host whose samples of the port count (the last that reported it).
    sa.Column('host', NAME, nullable=False),
    *_offset_columns(definition.COUNTERS),
    **CLUSTERED,
)

port_address_statistics_offsets = sa.Table(
    'port_address_statistics_offsets', models.metadata,
    _port_fk(),
    sa.Column('ip_address', sa.String(64), primary_key=True),
    *_offset_columns(definition.ADDRESS_COUNTERS),
    **CLUSTERED,
)
