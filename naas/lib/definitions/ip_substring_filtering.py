"""API extension ``ip-substring-filtering`` (descriptor only: it adds no resource)."""

ALIAS = 'ip-substring-filtering'
NAME = 'IP address substring filtering'
DESCRIPTION = 'Provides IP address substring filtering when listing ports'
