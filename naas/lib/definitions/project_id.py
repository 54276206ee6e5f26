"""API extension ``project-id`` (descriptor only: it adds no resource)."""

ALIAS = 'project-id'
NAME = 'project_id field enabled'
DESCRIPTION = 'Extension that indicates that project_id field is enabled.'
