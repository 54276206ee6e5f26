"""The bridges plugin's tables (in the one MetaData of naas.db.models).

remote_bridges: one row per remote-site bridge; its static remote entries as JSON (read
with the bridge, always whole).  A VNI is one bridge's on the whole
deployment (unique): it names the tunnel on the underlay, and on a host two
VXLAN devices cannot share a VNI and a UDP port.  Bridges go with their
network (ON DELETE CASCADE: deleting a network deletes its bridges).

physical_bridges: one row per physical-network bridge; segmentation_id is
the VLAN id, 0 for the untagged traffic (flat: 0, not NULL, so that the
unique key holds: one bridge per (host, physical network, VLAN)).
"""
import sqlalchemy as sa

from naas.db import models

remote_bridges = sa.Table(
    'remote_bridges', models.metadata,
    *models.standard_columns(),
    sa.Column('network_id', models.UUID, sa.ForeignKey('networks.id', ondelete='CASCADE'),
              nullable=False, index=True),
    sa.Column('remote_ip', sa.String(64), nullable=False),
    sa.Column('segmentation_id', sa.Integer, nullable=False, unique=True),
    sa.Column('encapsulation', sa.String(16), nullable=False),
    sa.Column('host', models.NAME, nullable=False, index=True),
    sa.Column('remote_entries', sa.Text, nullable=False, server_default='[]'),
    sa.Column('status', sa.String(16), nullable=False),
)

physical_bridges = sa.Table(
    'physical_bridges', models.metadata,
    *models.standard_columns(),
    sa.Column('network_id', models.UUID, sa.ForeignKey('networks.id', ondelete='CASCADE'),
              nullable=False, index=True),
    sa.Column('host', models.NAME, nullable=False),
    sa.Column('physical_network', models.NAME, nullable=False),
    sa.Column('segmentation_id', sa.Integer, nullable=False),
    sa.Column('status', sa.String(16), nullable=False),
    sa.UniqueConstraint('host', 'physical_network', 'segmentation_id'),
)
