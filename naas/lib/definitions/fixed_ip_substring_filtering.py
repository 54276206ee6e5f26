"""API extension ``fixed-ip-substring-filtering`` (descriptor only: it adds no resource)."""

ALIAS = 'fixed-ip-substring-filtering'
NAME = 'IP address substring filtering on fixed_ips'
DESCRIPTION = 'Provides IP address substring filtering when listing ports'
