"""API extension ``standard-attr-tag`` (descriptor only: it adds no resource)."""

ALIAS = 'standard-attr-tag'
NAME = 'Tag support for resources with standard attribute: subnet, port, network'
DESCRIPTION = 'Enables to set tag on resources with standard attribute.'
