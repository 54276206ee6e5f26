"""API extension ``filter-validation`` (descriptor only: it adds no resource)."""

ALIAS = 'filter-validation'
NAME = 'Filter parameters validation'
DESCRIPTION = 'Provides validation on filter parameters.'
