"""API extension ``sorting`` (descriptor only: it adds no resource)."""

ALIAS = 'sorting'
NAME = 'Sorting support'
DESCRIPTION = 'Extension that indicates that sorting is enabled.'
