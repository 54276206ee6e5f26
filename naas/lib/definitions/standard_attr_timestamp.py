"""API extension ``standard-attr-timestamp`` (descriptor only: it adds no resource)."""

ALIAS = 'standard-attr-timestamp'
NAME = 'Resource timestamps'
DESCRIPTION = ('Adds created_at and updated_at fields to all Neutron resources that have Neutron '
               'standard attributes.')
