"""Loads the core plugin and the service plugins named in naas.conf.

Both come from entry points (``naas.core_plugins``, ``naas.service_plugins``)
through stevedore; a name that does not load stops the server with a clear
message rather than serving half an API.
"""
import logging
import threading

from stevedore import driver
from stevedore import named

from naas.api import resources
from naas.conf import CONF
from naas.db import quota

LOG = logging.getLogger(__name__)


class PluginManager:
    def __init__(self, core_plugin=None, service_plugins=None):
        core_name = core_plugin or CONF.core_plugin
        self.core = driver.DriverManager(
            'naas.core_plugins', core_name, invoke_on_load=True).driver
        names = CONF.service_plugins if service_plugins is None else service_plugins
        self.services = {}
        # The service plugins loaded now add their collections and quotas.
        resources.reset()
        quota.reset_registered()
        if names:
            mgr = named.NamedExtensionManager(
                'naas.service_plugins', names, invoke_on_load=True,
                name_order=True, on_missing_entrypoints_callback=self._missing)
            self.services = {ext.name: ext.obj for ext in mgr}
        for plugin in self.services.values():
            plugin.attach(self.core)
        LOG.info('core plugin %s, service plugins %s', core_name,
                 sorted(self.services))

    @staticmethod
    def _missing(names):
        raise RuntimeError('service plugins not found: %s' % ', '.join(sorted(names)))

    def plugins(self):
        return [self.core] + list(self.services.values())

    def plugin_for(self, collection):
        """The plugin that serves ``collection``, or None."""
        for plugin in self.plugins():
            if collection in plugin.collections:
                return plugin
        return None

    def extension_aliases(self):
        aliases = set()
        for plugin in self.plugins():
            aliases.update(plugin.supported_extension_aliases)
        return aliases


_MANAGER = None
_LOCK = threading.Lock()


def get_manager():
    global _MANAGER
    with _LOCK:
        if _MANAGER is None:
            _MANAGER = PluginManager()
    return _MANAGER


def reset():
    global _MANAGER
    with _LOCK:
        _MANAGER = None
