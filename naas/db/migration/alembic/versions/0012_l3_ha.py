"""HA routers (naas.plugins.l3): the ha attribute and the VRRP network per project.

(A slot: its owner fills upgrade(); until then it changes nothing.)

Revision ID: 0012_l3_ha
Revises: 0011_bridges
Create Date: 2026-12-01 01:00:00.000000
"""


revision = '0012_l3_ha'
down_revision = '0011_bridges'
branch_labels = None
depends_on = None


def upgrade():
    pass
