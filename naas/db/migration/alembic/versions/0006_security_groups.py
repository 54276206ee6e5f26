"""security groups, rules, port bindings, default groups, address groups

Revision ID: 0006_security_groups
Revises: 0005_quota_locks
Create Date: 2026-11-30 18:50:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0006_security_groups'
down_revision = '0005_quota_locks'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
