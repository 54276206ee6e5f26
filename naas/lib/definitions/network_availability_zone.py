"""API extension ``network_availability_zone`` (descriptor only: it adds no resource)."""

ALIAS = 'network_availability_zone'
NAME = 'Network Availability Zone'
DESCRIPTION = 'Availability zone support for network.'
