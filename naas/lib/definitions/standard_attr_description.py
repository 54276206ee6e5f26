"""API extension ``standard-attr-description`` (descriptor only: it adds no resource)."""

ALIAS = 'standard-attr-description'
NAME = 'standard-attr-description'
DESCRIPTION = 'Extension to add descriptions to standard attributes'
