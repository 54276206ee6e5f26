"""API extension ``ext-gw-mode`` (descriptor only: it adds no resource)."""

ALIAS = 'ext-gw-mode'
NAME = 'Neutron L3 Configurable external gateway mode'
DESCRIPTION = ('Extension of the router abstraction for specifying whether SNAT should occur on '
               'the external gateway')
