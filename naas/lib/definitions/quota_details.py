"""API extension ``quota_details`` (descriptor only: it adds no resource)."""

ALIAS = 'quota_details'
NAME = 'Quota details management support'
DESCRIPTION = 'Expose functions for quotas usage statistics per project'
