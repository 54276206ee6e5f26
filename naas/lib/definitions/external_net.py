"""API extension ``external-net`` (descriptor only: it adds no resource)."""

ALIAS = 'external-net'
NAME = 'Neutron external network'
DESCRIPTION = 'Adds external network attribute to network resource.'
