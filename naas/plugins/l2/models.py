"""The L2 plugin's own tables: how each network is realised and which agents
serve DHCP for it (the agents themselves: naas.db.models.agents)."""
import sqlalchemy as sa

from naas.db import models

# One segment per network.  physical_network is '' when the type has none;
# segmentation_id is NULL for local networks, 0 for flat ones, so that the
# unique key allows many local networks but one flat network per physnet.
segments = sa.Table(
    'l2_segments', models.metadata,
    sa.Column('network_id', sa.String(36),
              sa.ForeignKey('networks.id', ondelete='CASCADE'), primary_key=True),
    sa.Column('network_type', sa.String(16), nullable=False),
    sa.Column('physical_network', sa.String(64), nullable=False, server_default=''),
    sa.Column('segmentation_id', sa.Integer),
    sa.UniqueConstraint('network_type', 'physical_network', 'segmentation_id'),
)

# The ranges each free-list pool was last filled from, so that a change of
# ranges in naas.conf is applied once (see segments.sync_pools).
segment_pools = sa.Table(
    'l2_segment_pools', models.metadata,
    sa.Column('pool_id', sa.String(100), primary_key=True),
    sa.Column('ranges', sa.Text, nullable=False),
)

# Which agents serve DHCP for each network (naas.plugins.l2.dhcp): one row
# per (network, agent); the agent is the host's L2 agent, which runs
# dnsmasq when its [agent] enable_dhcp is set (configurations {'dhcp': true}).
dhcp_agent_bindings = sa.Table(
    'l2_dhcp_agent_bindings', models.metadata,
    sa.Column('network_id', sa.String(36),
              sa.ForeignKey('networks.id', ondelete='CASCADE'), primary_key=True),
    sa.Column('agent_id', sa.String(36),
              sa.ForeignKey('l2_agents.id', ondelete='CASCADE'), primary_key=True,
              index=True),
)
