"""initial schema: networks, subnets, ports, IPAM, quotas, L2 segments

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-26 07:23:15.033238
"""
from alembic import op
import sqlalchemy as sa


revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ipam_free_ranges',
    sa.Column('pool_id', sa.String(length=100), nullable=False),
    sa.Column('first', sa.String(length=32), nullable=False),
    sa.Column('last', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('pool_id', 'first', name=op.f('pk_ipam_free_ranges'))
    )
    op.create_table('l2_segment_pools',
    sa.Column('pool_id', sa.String(length=100), nullable=False),
    sa.Column('ranges', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pool_id', name=op.f('pk_l2_segment_pools'))
    )
    op.create_table('networks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('router_external', sa.Boolean(), nullable=False),
    sa.Column('mtu', sa.Integer(), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('availability_zone_hints', sa.String(length=255), server_default='[]', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_networks'))
    )
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_networks_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_networks_router_external'), ['router_external'], unique=False)
        batch_op.create_index(batch_op.f('ix_networks_shared'), ['shared'], unique=False)

    op.create_table('quotas',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('hard_limit', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'resource', name=op.f('pk_quotas'))
    )
    op.create_table('tags',
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('resource_id', 'tag', name=op.f('pk_tags'))
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index('ix_tags_tag', ['tag'], unique=False)

    op.create_table('l2_segments',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('network_type', sa.String(length=16), nullable=False),
    sa.Column('physical_network', sa.String(length=64), server_default='', nullable=False),
    sa.Column('segmentation_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_l2_segments_network_id_networks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id', name=op.f('pk_l2_segments')),
    sa.UniqueConstraint('network_type', 'physical_network', 'segmentation_id', name=op.f('uq_l2_segments_network_type_physical_network_segmentation_id'))
    )
    op.create_table('ports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('mac_address', sa.String(length=32), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('device_owner', sa.String(length=255), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('dns_name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('security_groups', sa.Text(), nullable=False),
    sa.Column('allowed_address_pairs', sa.Text(), nullable=False),
    sa.Column('binding_host_id', sa.String(length=255), nullable=False),
    sa.Column('binding_vnic_type', sa.String(length=64), nullable=False),
    sa.Column('binding_vif_type', sa.String(length=64), nullable=False),
    sa.Column('binding_vif_details', sa.Text(), nullable=False),
    sa.Column('binding_profile', sa.Text(), nullable=False),
    sa.Column('fixed_ips', sa.Text(), server_default='[]', nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_ports_network_id_networks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ports')),
    sa.UniqueConstraint('network_id', 'mac_address', name=op.f('uq_ports_network_id_mac_address'))
    )
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ports_binding_host_id'), ['binding_host_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ports_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ports_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ports_project_id'), ['project_id'], unique=False)

    op.create_table('subnets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('description', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('cidr', sa.String(length=64), nullable=False),
    sa.Column('gateway_ip', sa.String(length=64), nullable=True),
    sa.Column('enable_dhcp', sa.Boolean(), nullable=False),
    sa.Column('ipv6_ra_mode', sa.String(length=32), nullable=True),
    sa.Column('ipv6_address_mode', sa.String(length=32), nullable=True),
    sa.Column('allocation_pools', sa.Text(), nullable=False),
    sa.Column('dns_nameservers', sa.Text(), nullable=False),
    sa.Column('host_routes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_subnets_network_id_networks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subnets'))
    )
    with op.batch_alter_table('subnets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subnets_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subnets_project_id'), ['project_id'], unique=False)

    op.create_table('ip_allocations',
    sa.Column('subnet_id', sa.String(length=36), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_ip_allocations_port_id_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subnet_id'], ['subnets.id'], name=op.f('fk_ip_allocations_subnet_id_subnets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subnet_id', 'ip_address', name=op.f('pk_ip_allocations'))
    )
    with op.batch_alter_table('ip_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_ip_allocations_ip_address', ['ip_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_ip_allocations_port_id'), ['port_id'], unique=False)



def downgrade():
    with op.batch_alter_table('ip_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ip_allocations_port_id'))
        batch_op.drop_index('ix_ip_allocations_ip_address')

    op.drop_table('ip_allocations')
    with op.batch_alter_table('subnets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subnets_project_id'))
        batch_op.drop_index(batch_op.f('ix_subnets_network_id'))

    op.drop_table('subnets')
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ports_project_id'))
        batch_op.drop_index(batch_op.f('ix_ports_network_id'))
        batch_op.drop_index(batch_op.f('ix_ports_device_id'))
        batch_op.drop_index(batch_op.f('ix_ports_binding_host_id'))

    op.drop_table('ports')
    op.drop_table('l2_segments')
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index('ix_tags_tag')

    op.drop_table('tags')
    op.drop_table('quotas')
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_networks_shared'))
        batch_op.drop_index(batch_op.f('ix_networks_router_external'))
        batch_op.drop_index(batch_op.f('ix_networks_project_id'))

    op.drop_table('networks')
    op.drop_table('l2_segment_pools')
    op.drop_table('ipam_free_ranges')
