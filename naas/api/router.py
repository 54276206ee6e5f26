"""The /v2.0 application: the routes of ROUTES to the controllers that
serve them, for what the loaded plugins serve (naas.plugins.manager.Registry).

ROUTES is the whole API as data: a path template, the action of each HTTP
method, and what serves it.  ``{collection}`` paths are made for every
collection a loaded plugin serves, with only the methods its plugin
implements (the others are 405), tags where its attribute map has tags and
member actions where its definition declares ACTIONS; a collection defined
in naas.lib.definitions that no loaded plugin serves answers 501.  A
sub-resource (a definition with PARENT, e.g. a QoS policy's rules) has its
``{collection}`` under its parent's item: /{parent collection}/{parent_id}/
{collection}; its controller passes the parent's id on.  Errors
are raised as naas.common.exceptions; the faults middleware
(naas.api.middleware.Faults) turns every one into its response.
"""
import routes
import webob.dec

from naas.api import base
from naas.api import extensions
from naas.api import network_config
from naas.api import openapi
from naas.api import quotas
from naas.api import tags
from naas.api import wsgi_utils
from naas.common import exceptions
from naas.lib import definitions
from naas.plugins import manager as plugin_manager

MEMBER = {'GET': 'show', 'PUT': 'update', 'DELETE': 'delete'}

# What serves a route (the controllers APIRouter makes).
COLLECTION = 'collection'           # naas.api.base.Controller of the collection
MEMBER_ACTION = 'member action'     # the same, PUT /{collection}/{id}/{action}
TAGS = 'tags'                       # naas.api.tags.TagsController of the collection
NOT_SERVED = 'not served'           # 501: defined, no loaded plugin serves it
NETWORK_CONFIG = 'network-config'   # naas.api.network_config (extension network-config)
QUOTAS = 'quotas'                   # naas.api.quotas
EXTENSIONS = 'extensions'           # naas.api.extensions
ROOT = 'root'                       # this router: the list of collections
OPENAPI = 'openapi'                 # naas.api.openapi: this table as an OpenAPI document

#: (path template, {method: action}, what serves it), matched in this order.
ROUTES = (
    ('/{collection}', {'GET': 'index', 'POST': 'create'}, COLLECTION),
    ('/{collection}/{id}', MEMBER, COLLECTION),
    ('/{collection}/{id}/{action}', {'PUT': 'member_action'}, MEMBER_ACTION),
    ('/{collection}/{parent_id}/tags',
     {'GET': 'index', 'PUT': 'update_all', 'DELETE': 'delete_all'}, TAGS),
    ('/{collection}/{parent_id}/tags/{id}', MEMBER, TAGS),
    ('/{collection}', {}, NOT_SERVED),
    ('/{collection}/{rest:.*}', {}, NOT_SERVED),
    ('/ports/{id}/network-config', {'GET': 'port'}, NETWORK_CONFIG),
    ('/instances/{id}/network-config', {'GET': 'instance'}, NETWORK_CONFIG),
    ('/quotas', {'GET': 'index'}, QUOTAS),
    ('/quotas/{id}/default', {'GET': 'defaults'}, QUOTAS),
    ('/quotas/{id}/details', {'GET': 'details'}, QUOTAS),
    ('/quotas/{id}', MEMBER, QUOTAS),
    ('/extensions', {'GET': 'index'}, EXTENSIONS),
    ('/extensions/{id}', {'GET': 'show'}, EXTENSIONS),
    ('/openapi', {'GET': 'document'}, OPENAPI),   # /openapi.json: '.json' is dropped
    ('/', {'GET': 'resources'}, ROOT),
    ('', {'GET': 'resources'}, ROOT),
)


def collection_path(definition):
    """Where a collection is: its name, under its parent's item for a
    sub-resource (qos/policies/{parent_id}/bandwidth_limit_rules)."""
    parent = getattr(definition, 'PARENT', None)
    if parent is None:
        return definition.COLLECTION_NAME
    return '%s/{parent_id}/%s' % (parent.COLLECTION_NAME, definition.COLLECTION_NAME)


class NotServedController:
    """Answers 501 for a collection no loaded plugin serves."""

    def __init__(self, collection):
        self.collection = collection

    def not_served(self, request, **kwargs):
        raise exceptions.NotImplementedError_(what=self.collection)


class APIRouter:
    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls()

    def __init__(self, manager=None):
        self.manager = manager or plugin_manager.get_manager()
        registry = self.manager.registry
        self.mapper = routes.Mapper()
        #: name of a controller in the mapper -> the controller
        self.controllers = {ROOT: self}
        self.collections = []
        for collection, definition, plugin in registry.served():
            self.controllers[collection] = base.Controller(
                plugin, collection, definition, self.manager.core, registry.quota_tables,
                registry.attribute_map(collection))
            if 'tags' in definition.RESOURCE_ATTRIBUTE_MAP:
                self.controllers[collection + '/tags'] = tags.TagsController(
                    self.controllers[collection])
            if getattr(definition, 'PARENT', None) is None:
                self.collections.append((definition.RESOURCE_NAME, collection))
        for collection in registry.unserved():
            self.controllers[collection] = NotServedController(collection)
        if 'network-config' in registry.extensions:
            self.controllers[NETWORK_CONFIG] = network_config.NetworkConfigController(
                self.manager.core)
        self.controllers[QUOTAS] = quotas.QuotasController(registry.quota_tables)
        self.controllers[EXTENSIONS] = extensions.ExtensionsController(registry.extensions)
        self.controllers[OPENAPI] = openapi.DocumentController(self)
        for path, methods, serves in ROUTES:
            if '{collection}' in path:
                self._connect_collections(path, methods, serves, registry)
            elif serves in self.controllers:
                self._connect(path, serves, methods)

    def _connect_collections(self, template, methods, serves, registry):
        if serves == NOT_SERVED:
            for collection in registry.unserved():
                if getattr(definitions.RESOURCES[collection], 'PARENT', None) is None:
                    # (a sub-resource's paths answer as its parent's)
                    self.mapper.connect(template.replace('{collection}', collection),
                                        controller=collection, action='not_served')
            return
        for collection, definition, plugin in registry.served():
            path = template.replace('{collection}', collection_path(definition))
            if serves == COLLECTION:
                # Only what the plugin implements; GET (index, show) always.
                controller = self.controllers[collection]
                self._connect(path, collection, {
                    method: action for method, action in methods.items()
                    if method == 'GET' or controller.implements(action)})
            elif serves == MEMBER_ACTION:
                for action, method in getattr(definition, 'ACTIONS', {}).items():
                    if hasattr(plugin, method):
                        self._connect(path.replace('{action}', action), collection,
                                      methods, member_action=action)
            elif serves == TAGS and collection + '/tags' in self.controllers:
                self._connect(path, collection + '/tags', methods)

    def _connect(self, path, controller, methods, **extra):
        """``methods`` of ``path`` to the controller; any other method 405."""
        for method, action in methods.items():
            self.mapper.connect(path, controller=controller, action=action,
                                conditions={'method': [method]}, **extra)
        self.mapper.connect(path, controller=ROOT, action='not_allowed')

    def resources(self, request):
        return wsgi_utils.json_response({'resources': [
            {'name': name, 'collection': collection,
             'links': [{'rel': 'self', 'href': '%s/%s' % (
                 request.application_url.rstrip('/'), collection)}]}
            for name, collection in self.collections]})

    def not_allowed(self, request, **kwargs):
        raise exceptions.HTTPMethodNotAllowed(method=request.method)

    @webob.dec.wsgify
    def __call__(self, request):
        path = request.path_info
        if path.endswith('.json'):
            path = path[:-5]
        match = self.mapper.match(path, request.environ)
        if match is None:
            raise exceptions.HTTPNotFound()
        match = dict(match)
        controller = self.controllers[match.pop('controller')]
        action = match.pop('action')
        match.pop('rest', None)
        if 'member_action' in match:
            match['action'] = match.pop('member_action')
        return getattr(controller, action)(request, **match)
