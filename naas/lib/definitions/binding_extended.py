"""API extension ``binding-extended`` (descriptor only: it adds no resource)."""

ALIAS = 'binding-extended'
NAME = 'Port Bindings Extended'
DESCRIPTION = 'Expose port bindings of a virtual port to external application'
