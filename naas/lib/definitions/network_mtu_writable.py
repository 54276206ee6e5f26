"""API extension ``network-mtu-writable`` (descriptor only: it adds no resource)."""

ALIAS = 'network-mtu-writable'
NAME = 'Network MTU (writable)'
DESCRIPTION = 'Provides a writable MTU attribute for a network resource.'
