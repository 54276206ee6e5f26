"""API extension ``pagination`` (descriptor only: it adds no resource)."""

ALIAS = 'pagination'
NAME = 'Pagination support'
DESCRIPTION = 'Extension that indicates that pagination is enabled.'
