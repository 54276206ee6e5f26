"""RBAC entries (networks, QoS policies, security groups)

Revision ID: 0008_rbac
Revises: 0007_qos
Create Date: 2026-11-30 18:50:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0008_rbac'
down_revision = '0007_qos'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
