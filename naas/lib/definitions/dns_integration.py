"""API extension ``dns-integration`` (descriptor only: it adds no resource)."""

ALIAS = 'dns-integration'
NAME = 'DNS Integration'
DESCRIPTION = 'Provides integration with DNS.'
