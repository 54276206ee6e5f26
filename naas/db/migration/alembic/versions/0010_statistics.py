"""Statistics: tables of the statistics plugin (naas.plugins.statistics).  Slot
reserved by the lead; filled by the plugin's owner.

Revision ID: 0010_statistics
Revises: 0009_subnetpools
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0010_statistics'
down_revision = '0009_subnetpools'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
