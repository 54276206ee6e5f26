"""Statistics ingest in bulk (naas.plugins.statistics).

(A slot: its owner fills upgrade(); until then it changes nothing.)

Revision ID: 0014_statistics_ingest
Revises: 0013_physical_bridges
Create Date: 2026-12-01 01:00:00.000000
"""


revision = '0014_statistics_ingest'
down_revision = '0013_physical_bridges'
branch_labels = None
depends_on = None


def upgrade():
    pass
