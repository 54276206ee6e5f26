"""API extension ``network-config``: no resource of its own, two views of
ports, GET /v2.0/ports/{id}/network-config and
/v2.0/instances/{id}/network-config (naas.api.network_config), served by a
core plugin that implements get_network_config."""

ALIAS = 'network-config'
NAME = 'NaaS network configuration'
DESCRIPTION = ('The static network configuration of a port or an instance as cloud-init '
               'network-config v2 or config drive network_data.json (NaaS extension).')
