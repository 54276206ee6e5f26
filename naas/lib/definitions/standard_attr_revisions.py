"""API extension ``standard-attr-revisions`` (descriptor only: it adds no resource)."""

ALIAS = 'standard-attr-revisions'
NAME = 'Resource revision numbers'
DESCRIPTION = 'This extension will display the revision number of neutron resources.'
