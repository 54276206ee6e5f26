"""/v2.0/extensions: the API extensions the loaded plugins implement,
described by naas.lib.definitions."""
from naas.api import wsgi_utils
from naas.common import exceptions
from naas.lib.definitions import base


class ExtensionsController:
    def __init__(self, extensions):
        """``extensions``: {alias: descriptor module} (Registry.extensions)."""
        self.extensions = extensions

    @staticmethod
    def _view(extension):
        return {'alias': extension.ALIAS, 'name': extension.NAME,
                'description': extension.DESCRIPTION,
                'updated': base.UPDATED_TIMESTAMP, 'links': []}

    def index(self, request):
        return wsgi_utils.json_response(
            {'extensions': [self._view(self.extensions[alias])
                            for alias in sorted(self.extensions)]})

    def show(self, request, id):
        if id not in self.extensions:
            raise exceptions.ExtensionNotFound(alias=id)
        return wsgi_utils.json_response({'extension': self._view(self.extensions[id])})
