"""API extension ``subnet_allocation`` (descriptor only: it adds no resource)."""

ALIAS = 'subnet_allocation'
NAME = 'Subnet Allocation'
DESCRIPTION = 'Enables allocation of subnets from a subnet pool'
