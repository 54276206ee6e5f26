"""RBAC entries (networks, QoS policies, security groups): the rbac_entries
table (naas.db.rbac); each shared network gets its '*' access_as_shared
entry and each external network its '*' access_as_external entry, which
the networks' ``shared`` and ``router_external`` columns follow from now on.

Revision ID: 0008_rbac
Revises: 0007_qos
Create Date: 2026-11-30 18:50:00.000000
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0008_rbac'
down_revision = '0007_qos'
branch_labels = None
depends_on = None


def upgrade():
    entries = op.create_table(
        'rbac_entries',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('object_type', sa.String(length=64), nullable=False),
        sa.Column('object_id', sa.String(length=36), nullable=False),
        sa.Column('target_tenant', sa.String(length=255), nullable=False),
        sa.Column('action', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rbac_entries')),
        sa.UniqueConstraint('object_id', 'target_tenant', 'action',
                            name=op.f('uq_rbac_entries_object_id_target_tenant_action')),
    )
    with op.batch_alter_table('rbac_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rbac_entries_project_id'), ['project_id'],
                              unique=False)
    networks = sa.table('networks', sa.column('id'), sa.column('project_id'),
                        sa.column('shared'), sa.column('router_external'))
    conn = op.get_bind()
    rows = []
    for column, action in ((networks.c.shared, 'access_as_shared'),
                           (networks.c.router_external, 'access_as_external')):
        for net in conn.execute(sa.select(networks.c.id, networks.c.project_id)
                                .where(column.is_(True))):
            rows.append({'id': str(uuid.uuid4()), 'project_id': net.project_id or '',
                         'object_type': 'network', 'object_id': net.id,
                         'target_tenant': '*', 'action': action})
    if rows:
        op.bulk_insert(entries, rows)


def downgrade():
    with op.batch_alter_table('rbac_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rbac_entries_project_id'))
    op.drop_table('rbac_entries')
