"""API extension ``network-mtu`` (descriptor only: it adds no resource)."""

ALIAS = 'network-mtu'
NAME = 'Network MTU'
DESCRIPTION = 'Provides MTU attribute for a network resource.'
