"""NaaS extension ``network-config``: the static network configuration of a
port or of an instance (all ports with that device_id), for an in-guest agent
or for file injection.

GET /v2.0/ports/{id}/network-config[?format=cloud-init|network_data]
GET /v2.0/instances/{id}/network-config[?format=...]

``cloud-init`` (the default) is cloud-init network-config version 2;
``network_data`` is the config drive's network_data.json.
"""
from naas.api import wsgi_utils
from naas.common import exceptions
from naas.common import policy
from naas.db import api as db_api
from naas.lib import validators


class NetworkConfigController:
    def __init__(self, plugin):
        self.plugin = plugin

    def _format(self, request):
        fmt = request.GET.get('format', 'cloud-init')
        if fmt not in self.plugin.network_config_formats:
            raise exceptions.BadRequest(
                resource='network-config',
                msg='format must be one of %s' % ', '.join(
                    sorted(self.plugin.network_config_formats)))
        return fmt

    def _render(self, request, ports_of):
        fmt = self._format(request)

        def _get(ctx):
            checker = policy.Checker(ctx)
            ports = [p for p in ports_of(ctx) if checker.check('get_port', p)]
            return ports, self.plugin.get_network_config(ctx, [p['id'] for p in ports], fmt)
        ports, config = db_api.retry(_get, request.environ['naas.context'], writer=False)
        return ports, config

    def port(self, request, id):
        def ports_of(ctx):
            try:
                return [self.plugin.get_port(ctx, id)]
            except exceptions.NotFound:
                return []
        ports, config = self._render(request, ports_of)
        if not ports:
            raise exceptions.PortNotFound(port_id=validators.excerpt(id))
        return wsgi_utils.json_response(config)

    def instance(self, request, id):
        def ports_of(ctx):
            return self.plugin.get_ports(ctx, filters={'device_id': [id]},
                                         sorts=[('created_at', True)])
        ports, config = self._render(request, ports_of)
        if not ports:
            raise exceptions.ResourceNotFound(
                message='Instance %s has no ports that you can see.'
                % validators.excerpt(id))
        return wsgi_utils.json_response(config)
