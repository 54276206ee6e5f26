"""The L3 plugin's tables (in the one MetaData of naas.db.models).

A router's interfaces, gateway and floating IP ports are ordinary ports
(device_owner network:router_interface / router_gateway / floatingip,
device_id the router or floating IP id): the ports table stays the truth
for addresses; these tables hold what only L3 knows.
"""
import sqlalchemy as sa

from naas.db import models

UUID = models.UUID
NAME = models.NAME


routers = sa.Table(
    'routers', models.metadata,
    *models.standard_columns(),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('admin_state_up', sa.Boolean, nullable=False),
    # The gateway: its port on the external network (NULL: no gateway).
    sa.Column('gw_port_id', UUID, sa.ForeignKey('ports.id', ondelete='SET NULL')),
    sa.Column('gw_network_id', UUID, sa.ForeignKey('networks.id'), index=True),
    sa.Column('enable_snat', sa.Boolean, nullable=False, server_default=sa.true()),
    # Extra routes [{destination, nexthop}] as JSON, always read with the router.
    sa.Column('routes', sa.Text, nullable=False, server_default='[]'),
    # The router that realises a project's subnet-routes: not in the API.
    sa.Column('hidden', sa.Boolean, nullable=False, server_default=sa.false(),
              index=True),
    # HA router (naas.plugins.l3.ha): keepalived VRRP on several L3 agents,
    # virtual router id ha_vr_id on its project's HA network.
    sa.Column('ha', sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column('ha_vr_id', sa.Integer),
)

# Where each router runs: one L3 agent (a row of naas.db.models.agents).
router_bindings = sa.Table(
    'l3_router_bindings', models.metadata,
    sa.Column('router_id', UUID, sa.ForeignKey('routers.id', ondelete='CASCADE'),
              primary_key=True),
    sa.Column('agent_id', UUID, sa.ForeignKey('l2_agents.id', ondelete='CASCADE'),
              nullable=False, index=True),
)

# Where each HA router runs: several L3 agents, each with the VRRP state its
# instance last reported (active / standby); HA routers have no row in
# l3_router_bindings.
ha_bindings = sa.Table(
    'l3_ha_router_agents', models.metadata,
    sa.Column('router_id', UUID, sa.ForeignKey('routers.id', ondelete='CASCADE'),
              primary_key=True),
    sa.Column('agent_id', UUID, sa.ForeignKey('l2_agents.id', ondelete='CASCADE'),
              primary_key=True, index=True),
    sa.Column('ha_state', sa.String(16), nullable=False, server_default='standby'),
)

# The HA network of each project with HA routers (Neutron's "HA network
# tenant <project>"): its VRRP traffic, one port per router and agent.
ha_networks = sa.Table(
    'l3_ha_networks', models.metadata,
    sa.Column('project_id', NAME, primary_key=True),
    sa.Column('network_id', UUID, sa.ForeignKey('networks.id', ondelete='CASCADE'),
              nullable=False, unique=True),
)

floatingips = sa.Table(
    'floatingips', models.metadata,
    *models.standard_columns(name=False),
    sa.Column('floating_network_id', UUID, sa.ForeignKey('networks.id'),
              nullable=False, index=True),
    sa.Column('floating_port_id', UUID, sa.ForeignKey('ports.id', ondelete='CASCADE'),
              nullable=False),
    sa.Column('floating_ip_address', sa.String(64), nullable=False),
    sa.Column('fixed_port_id', UUID, sa.ForeignKey('ports.id', ondelete='SET NULL'),
              index=True),
    sa.Column('fixed_ip_address', sa.String(64)),
    sa.Column('router_id', UUID, sa.ForeignKey('routers.id'), index=True),
    sa.Column('status', sa.String(16), nullable=False),
    # One floating IP per fixed IP and external network (as in Neutron).
    sa.UniqueConstraint('floating_network_id', 'fixed_port_id', 'fixed_ip_address',
                        name='uq_floatingips_fixed_ip'),
)

subnet_routes = sa.Table(
    'subnet_routes', models.metadata,
    *models.standard_columns(),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('subnet_a', UUID, sa.ForeignKey('subnets.id'), nullable=False, index=True),
    sa.Column('subnet_b', UUID, sa.ForeignKey('subnets.id'), nullable=False, index=True),
    # "A:B" with A < B: one route per pair, whichever order it was asked in.
    sa.Column('pair', sa.String(80), nullable=False, unique=True),
    # The project's hidden router that realises it.
    sa.Column('router_id', UUID, sa.ForeignKey('routers.id'), nullable=False,
              index=True),
)
