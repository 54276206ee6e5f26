"""API extension ``provider`` (descriptor only: it adds no resource)."""

ALIAS = 'provider'
NAME = 'Provider Network'
DESCRIPTION = 'Expose mapping of virtual networks to physical networks'
