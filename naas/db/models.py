"""The core tables.  Plugins keep their own details in tables of their own
(see naas/plugins/*/models.py); everything shares this MetaData so that one
alembic history covers it.

Tables are SQLAlchemy Core: the API reads thousands of rows per list and
builds dicts straight from rows, without ORM objects in between.
"""
import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    'ix': 'ix_%(table_name)s_%(column_0_N_name)s',
    'uq': 'uq_%(table_name)s_%(column_0_N_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s',
    'pk': 'pk_%(table_name)s',
})

UUID = sa.String(36)
NAME = sa.String(255)


def standard_columns(name=True, tags=True):
    """Columns every resource with standard attributes has: id, project,
    name (unless ``name`` is False), description, timestamps, revision and
    tags (unless ``tags`` is False).  Core tables and plugins' tables alike."""
    columns = [
        sa.Column('id', UUID, primary_key=True),
        sa.Column('project_id', NAME, index=True),
        sa.Column('description', NAME, nullable=False, server_default=''),
        sa.Column('created_at', sa.String(20), nullable=False),
        sa.Column('updated_at', sa.String(20), nullable=False),
        sa.Column('revision_number', sa.BigInteger, nullable=False,
                  server_default='0'),
    ]
    if name:
        columns.insert(2, sa.Column('name', NAME, nullable=False, server_default=''))
    if tags:
        # The resource's tags as a JSON list, written with every change of
        # the ``tags`` table (which serves the tag filters), so that a list
        # reads one table.
        columns.append(sa.Column('tags', sa.Text, nullable=False, server_default='[]'))
    return columns


networks = sa.Table(
    'networks', metadata,
    *standard_columns(),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('admin_state_up', sa.Boolean, nullable=False),
    sa.Column('shared', sa.Boolean, nullable=False, index=True),
    sa.Column('router_external', sa.Boolean, nullable=False, index=True),
    sa.Column('mtu', sa.Integer, nullable=False),
    sa.Column('port_security_enabled', sa.Boolean, nullable=False),
    sa.Column('availability_zone_hints', sa.String(255), nullable=False,
              server_default='[]'),
)

subnets = sa.Table(
    'subnets', metadata,
    *standard_columns(),
    sa.Column('network_id', UUID,
              sa.ForeignKey('networks.id', ondelete='CASCADE'),
              nullable=False, index=True),
    sa.Column('ip_version', sa.Integer, nullable=False),
    sa.Column('cidr', sa.String(64), nullable=False),
    sa.Column('gateway_ip', sa.String(64)),
    sa.Column('enable_dhcp', sa.Boolean, nullable=False),
    sa.Column('ipv6_ra_mode', sa.String(32)),
    sa.Column('ipv6_address_mode', sa.String(32)),
    # JSON lists; small, always read with the subnet, never filtered on.
    sa.Column('allocation_pools', sa.Text, nullable=False),
    sa.Column('dns_nameservers', sa.Text, nullable=False),
    sa.Column('host_routes', sa.Text, nullable=False),
    # The subnet pool the cidr was cut from (naas.db.subnetpools), if any.
    sa.Column('subnetpool_id', UUID, index=True),
)

subnetpools = sa.Table(
    'subnetpools', metadata,
    *standard_columns(),
    sa.Column('ip_version', sa.Integer, nullable=False),
    # JSON list of CIDRs, merged (netaddr.cidr_merge): only ever grows.
    sa.Column('prefixes', sa.Text, nullable=False),
    sa.Column('default_prefixlen', sa.Integer, nullable=False),
    sa.Column('min_prefixlen', sa.Integer, nullable=False),
    sa.Column('max_prefixlen', sa.Integer, nullable=False),
    sa.Column('shared', sa.Boolean, nullable=False),
    sa.Column('is_default', sa.Boolean, nullable=False),
    sa.Column('default_quota', sa.Integer),
)

ports = sa.Table(
    'ports', metadata,
    *standard_columns(),
    sa.Column('network_id', UUID,
              sa.ForeignKey('networks.id', ondelete='CASCADE'),
              nullable=False, index=True),
    sa.Column('mac_address', sa.String(32), nullable=False),
    sa.Column('admin_state_up', sa.Boolean, nullable=False),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('device_id', NAME, nullable=False, index=True),
    sa.Column('device_owner', NAME, nullable=False),
    sa.Column('port_security_enabled', sa.Boolean, nullable=False),
    sa.Column('dns_name', NAME, nullable=False, server_default=''),
    # JSON lists, always read with the port, never filtered on by value.
    sa.Column('security_groups', sa.Text, nullable=False),
    sa.Column('allowed_address_pairs', sa.Text, nullable=False),
    sa.Column('binding_host_id', NAME, nullable=False, index=True),
    sa.Column('binding_vnic_type', sa.String(64), nullable=False),
    sa.Column('binding_vif_type', sa.String(64), nullable=False),
    sa.Column('binding_vif_details', sa.Text, nullable=False),
    sa.Column('binding_profile', sa.Text, nullable=False),
    # The port's fixed IPs as JSON, rewritten from ip_allocations whenever
    # they change (ports.write_fixed_ips); ip_allocations stays the truth
    # for uniqueness and filtering.
    sa.Column('fixed_ips', sa.Text, nullable=False, server_default='[]'),
    sa.UniqueConstraint('network_id', 'mac_address'),
)

# One row per fixed IP.  The primary key (subnet_id, ip_address) is what
# makes a double allocation impossible, whatever the IPAM code does.
ip_allocations = sa.Table(
    'ip_allocations', metadata,
    sa.Column('subnet_id', UUID,
              sa.ForeignKey('subnets.id', ondelete='CASCADE'),
              primary_key=True),
    sa.Column('ip_address', sa.String(64), primary_key=True),
    sa.Column('port_id', UUID, sa.ForeignKey('ports.id', ondelete='CASCADE'),
              nullable=False, index=True),
    sa.Column('network_id', UUID, nullable=False),
    sa.Index('ix_ip_allocations_ip_address', 'ip_address'),
)

# The IPAM free list: the addresses of a subnet's allocation pools not yet
# given out, as ranges [first, last] of fixed-width hex (so that string order
# is numeric order for IPv4 and IPv6 alike).  Allocation takes the first
# address of the first range; nothing scans the allocated addresses.
ipam_free_ranges = sa.Table(
    'ipam_free_ranges', metadata,
    sa.Column('pool_id', sa.String(100), primary_key=True),
    sa.Column('first', sa.String(32), primary_key=True),
    sa.Column('last', sa.String(32), nullable=False),
)

tags = sa.Table(
    'tags', metadata,
    sa.Column('resource_id', UUID, primary_key=True),
    sa.Column('tag', NAME, primary_key=True),
    sa.Index('ix_tags_tag', 'tag'),
)

quotas = sa.Table(
    'quotas', metadata,
    sa.Column('project_id', NAME, primary_key=True),
    sa.Column('resource', sa.String(64), primary_key=True),
    sa.Column('hard_limit', sa.Integer, nullable=False),
)

# One row per (project, resource) whose quota is counted: a create locks it
# before counting, so that two creates of one project and resource never
# both count the same use (naas.db.quota).  It holds nothing else.
quota_locks = sa.Table(
    'quota_locks', metadata,
    sa.Column('project_id', NAME, primary_key=True),
    sa.Column('resource', sa.String(64), primary_key=True),
)

# The agents that report to this server, one per (agent_type, host): L2
# agents (with DHCP) and L3 agents alike (naas.db.agents).  The table's
# name is older than its L3 agents.
agents = sa.Table(
    'l2_agents', metadata,
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('agent_type', sa.String(64), nullable=False),
    sa.Column('binary', sa.String(64), nullable=False),
    sa.Column('topic', sa.String(64), nullable=False),
    sa.Column('host', sa.String(255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean, nullable=False),
    sa.Column('description', sa.String(255), nullable=False, server_default=''),
    sa.Column('created_at', sa.String(20), nullable=False),
    sa.Column('started_at', sa.String(20), nullable=False),
    # Seconds since the epoch of the last heartbeat, for the alive check.
    sa.Column('heartbeat', sa.Float, nullable=False),
    sa.Column('heartbeat_timestamp', sa.String(20), nullable=False),
    sa.Column('tunnel_ip', sa.String(64), nullable=False, server_default=''),
    sa.Column('configurations', sa.Text, nullable=False),
    sa.UniqueConstraint('agent_type', 'host'),
)
