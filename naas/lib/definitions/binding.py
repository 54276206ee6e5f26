"""API extension ``binding`` (descriptor only: it adds no resource)."""

ALIAS = 'binding'
NAME = 'Port Binding'
DESCRIPTION = 'Expose port bindings of a virtual port to external application'
