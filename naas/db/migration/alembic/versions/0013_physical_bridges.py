"""Physical-network bridges (naas.plugins.bridges).

(A slot: its owner fills upgrade(); until then it changes nothing.)

Revision ID: 0013_physical_bridges
Revises: 0012_l3_ha
Create Date: 2026-12-01 01:00:00.000000
"""


revision = '0013_physical_bridges'
down_revision = '0012_l3_ha'
branch_labels = None
depends_on = None


def upgrade():
    pass
