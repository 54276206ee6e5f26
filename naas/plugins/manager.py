"""Loads the core plugin and the service plugins named in naas.conf, and
collects what they declare into one Registry.

Both come from entry points (``naas.core_plugins``, ``naas.service_plugins``)
through stevedore; a name that does not load stops the server with a clear
message rather than serving half an API.  Loading changes no module-level
state: each plugin declares its resources, extensions and quota resources
as class attributes (naas.plugins.core.ServicePlugin), the manager's
Registry holds them, and the API asks the registry.
"""
import logging
import threading

from stevedore import driver
from stevedore import named

from naas.conf import CONF
from naas.lib import definitions

LOG = logging.getLogger(__name__)


class Registry:
    """What the loaded plugins serve: resources (collection -> definition
    and plugin), extensions (alias -> descriptor module), the tables that
    quotas count (resource -> table), in plugin order, and each served
    collection's attribute map: its definition's, plus the attributes that
    the loaded extensions add to it (an extension module's
    EXTENDED_ATTRIBUTES, e.g. qos_policy_id on networks and ports), so that
    an attribute exists in the API exactly when its extension is loaded."""

    def __init__(self, plugins):
        self._served = {}
        self.extensions = {}
        self.quota_tables = {}
        for plugin in plugins:
            for definition in plugin.resources:
                collection = definition.COLLECTION_NAME
                if collection in self._served:
                    raise RuntimeError('%s served by two plugins' % collection)
                self._served[collection] = (definition, plugin)
            for alias in plugin.extensions:
                if alias not in definitions.EXTENSIONS:
                    raise RuntimeError('%s: no definition of extension %s'
                                       % (type(plugin).__name__, alias))
                self.extensions[alias] = definitions.EXTENSIONS[alias]
            self.quota_tables.update(plugin.quota_resources)
        self._attribute_maps = {
            collection: dict(definition.RESOURCE_ATTRIBUTE_MAP)
            for collection, (definition, _) in self._served.items()}
        for alias, extension in self.extensions.items():
            for collection, attributes in getattr(extension, 'EXTENDED_ATTRIBUTES', {}).items():
                if collection in self._attribute_maps:
                    self._attribute_maps[collection].update(attributes)

    def served(self):
        """[(collection, definition, plugin)] of every served collection."""
        return [(c, d, p) for c, (d, p) in self._served.items()]

    def attribute_map(self, collection):
        """The attribute map of a served collection, with what the loaded
        extensions add to it."""
        return self._attribute_maps[collection]

    def unserved(self):
        """Collections defined (naas.lib.definitions) that no plugin serves."""
        return [c for c in definitions.RESOURCES if c not in self._served]


class PluginManager:
    def __init__(self, core_plugin=None, service_plugins=None):
        core_name = core_plugin or CONF.core_plugin
        self.core = driver.DriverManager(
            'naas.core_plugins', core_name, invoke_on_load=True).driver
        names = CONF.service_plugins if service_plugins is None else service_plugins
        self.services = {}
        if names:
            mgr = named.NamedExtensionManager(
                'naas.service_plugins', names, invoke_on_load=True,
                name_order=True, on_missing_entrypoints_callback=self._missing)
            self.services = {ext.name: ext.obj for ext in mgr}
        for plugin in self.services.values():
            plugin.attach(self.core)
        self.registry = Registry(self.plugins())
        LOG.info('core plugin %s, service plugins %s', core_name,
                 sorted(self.services))

    @staticmethod
    def _missing(names):
        raise RuntimeError('service plugins not found: %s' % ', '.join(sorted(names)))

    def plugins(self):
        return [self.core] + list(self.services.values())


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
