"""API extension ``port-security`` (descriptor only: it adds no resource)."""

ALIAS = 'port-security'
NAME = 'Port Security'
DESCRIPTION = 'Provides port security'
