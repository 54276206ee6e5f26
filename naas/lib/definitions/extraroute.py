"""API extension ``extraroute`` (descriptor only: it adds no resource)."""

ALIAS = 'extraroute'
NAME = 'Neutron Extra Route'
DESCRIPTION = 'Extra routes configuration for L3 router'
