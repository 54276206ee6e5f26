"""QoS policies, rules, network and port bindings

Revision ID: 0007_qos
Revises: 0006_security_groups
Create Date: 2026-11-30 18:50:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0007_qos'
down_revision = '0006_security_groups'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
