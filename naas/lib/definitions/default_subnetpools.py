"""API extension ``default-subnetpools`` (descriptor only: it adds no resource)."""

ALIAS = 'default-subnetpools'
NAME = 'Default Subnetpools'
DESCRIPTION = 'Provides ability to mark and use a subnetpool as the default.'
