"""API extension ``subnet-external-network`` (descriptor only): the subnets
of an external network are visible to every project that sees the network
(naas.db.subnets.visible_to), as in Neutron with this extension; clients
(tempest) expect them hidden from other projects without it."""

ALIAS = 'subnet-external-network'
NAME = 'Subnet External Network'
DESCRIPTION = 'Subnets of external networks are visible to every project'
