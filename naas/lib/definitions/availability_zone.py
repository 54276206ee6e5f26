"""API extension ``availability_zone`` (descriptor only: it adds no resource)."""

ALIAS = 'availability_zone'
NAME = 'Availability Zone'
DESCRIPTION = 'The availability zone extension.'
