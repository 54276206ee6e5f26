"""API extension ``revision-if-match`` (descriptor only: it adds no resource)."""

ALIAS = 'revision-if-match'
NAME = 'If-Match constraints based on revision_number'
DESCRIPTION = 'Extension indicating that If-Match based on revision_number is supported.'
