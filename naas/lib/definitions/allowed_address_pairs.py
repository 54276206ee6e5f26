"""API extension ``allowed-address-pairs`` (descriptor only: it adds no resource)."""

ALIAS = 'allowed-address-pairs'
NAME = 'Allowed Address Pairs'
DESCRIPTION = 'Provides allowed address pairs'
