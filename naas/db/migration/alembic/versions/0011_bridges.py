"""Bridges: tables of the bridges plugin (naas.plugins.bridges).  Slot
reserved by the lead; filled by the plugin's owner.

Revision ID: 0011_bridges
Revises: 0010_statistics
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0011_bridges'
down_revision = '0010_statistics'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
