"""The /v2.0 application: a routes Mapper over the controllers."""
import logging

import routes
import webob.dec

from naas.api import base
from naas.api import extensions
from naas.api import network_config
from naas.api import quotas
from naas.api import resources
from naas.api import tags
from naas.api import wsgi_utils
from naas.common import exceptions
from naas.plugins import manager as plugin_manager

LOG = logging.getLogger(__name__)

MEMBER_METHODS = {'GET': 'show', 'PUT': 'update', 'DELETE': 'delete'}


class NotImplementedController:
    """Answers 501 for a collection no loaded plugin serves."""

    def __init__(self, collection):
        self.collection = collection

    def dispatch(self, request, **kwargs):
        raise exceptions.NotImplementedError_(what=self.collection)


class APIRouter:
    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls()

    def __init__(self, manager=None):
        self.manager = manager or plugin_manager.get_manager()
        self.mapper = routes.Mapper()
        self.controllers = {}
        self.collections = []
        core = self.manager.core
        for collection, definition in resources.DEFINITIONS.items():
            plugin = self.manager.plugin_for(collection)
            if plugin is None:
                continue
            ctrl = base.Controller(plugin, collection, definition.RESOURCE_NAME,
                                   definition.RESOURCE_ATTRIBUTE_MAP, core,
                                   actions=getattr(definition, 'ACTIONS', None))
            self._add_collection(collection, ctrl)
            if 'tags' in definition.RESOURCE_ATTRIBUTE_MAP:
                self._add_tags(collection, tags.TagsController(ctrl))
            self.collections.append((definition.RESOURCE_NAME, collection))
        for collection in resources.L3_COLLECTIONS:
            if self.manager.plugin_for(collection) is None:
                ctrl = NotImplementedController(collection)
                for path in ('/%s' % collection, '/%s/{rest:.*}' % collection):
                    self.mapper.connect(path, controller=self._key(ctrl),
                                        action='dispatch')
        if hasattr(core, 'get_network_config'):
            netconf = network_config.NetworkConfigController(core)
            self._connect('/ports/{id}/network-config', netconf, {'GET': 'port'})
            self._connect('/instances/{id}/network-config', netconf, {'GET': 'instance'})
        self._add_quotas(quotas.QuotasController())
        ext = extensions.ExtensionsController(self.manager)
        self._connect('/extensions', ext, {'GET': 'index'})
        self._connect('/extensions/{id}', ext, {'GET': 'show'})
        self._connect('/', self, {'GET': 'resources'})
        self._connect('', self, {'GET': 'resources'})

    def _connect(self, path, controller, methods):
        # routes turns controllers into strings: match on a key, keep the object.
        key = self._key(controller)
        for method, action in methods.items():
            self.mapper.connect(path, controller=key, action=action,
                                conditions={'method': [method]})
        self.mapper.connect(path, controller=self._key(self), action='not_allowed')

    def _key(self, controller):
        key = str(id(controller))
        self.controllers[key] = controller
        return key

    def _add_collection(self, collection, ctrl):
        """Routes for the actions the plugin implements (others are 405)."""
        def has(op):
            return hasattr(ctrl.plugin, '%s_%s' % (op, ctrl.resource))
        self._connect('/%s' % collection, ctrl,
                      {'GET': 'index', **({'POST': 'create'} if has('create') else {})})
        self._connect('/%s/{id}' % collection, ctrl,
                      {m: a for m, a in MEMBER_METHODS.items()
                       if a == 'show' or has(a)})
        for action, method in ctrl.actions.items():
            if not hasattr(ctrl.plugin, method):
                continue
            path = '/%s/{id}/%s' % (collection, action)
            self.mapper.connect(path, controller=self._key(ctrl), action='member_action',
                                conditions={'method': ['PUT']}, member_action=action)
            self.mapper.connect(path, controller=self._key(self), action='not_allowed')

    def _add_tags(self, collection, ctrl):
        self._connect('/%s/{parent_id}/tags' % collection, ctrl,
                      {'GET': 'index', 'PUT': 'update_all', 'DELETE': 'delete_all'})
        self._connect('/%s/{parent_id}/tags/{id}' % collection, ctrl, MEMBER_METHODS)

    def _add_quotas(self, ctrl):
        self._connect('/quotas', ctrl, {'GET': 'index'})
        self._connect('/quotas/{id}/default', ctrl, {'GET': 'defaults'})
        self._connect('/quotas/{id}/details', ctrl, {'GET': 'details'})
        self._connect('/quotas/{id}', ctrl, MEMBER_METHODS)

    def resources(self, request):
        return wsgi_utils.json_response({'resources': [
            {'name': name, 'collection': collection,
             'links': [{'rel': 'self', 'href': '%s/%s' % (
                 request.application_url.rstrip('/'), collection)}]}
            for name, collection in self.collections]})

    def not_allowed(self, request, **kwargs):
        return wsgi_utils.json_response(
            {'NeutronError': {'type': 'HTTPMethodNotAllowed',
                              'message': 'The method %s is not allowed for this '
                                         'resource.' % request.method,
                              'detail': ''}}, status=405)

    @webob.dec.wsgify
    def __call__(self, request):
        path = request.path_info
        if path.endswith('.json'):
            path = path[:-5]
        match = self.mapper.match(path, request.environ)
        if match is None:
            return wsgi_utils.json_response(
                {'NeutronError': {'type': 'HTTPNotFound',
                                  'message': 'The resource could not be found.',
                                  'detail': ''}}, status=404)
        match = dict(match)
        controller = self.controllers[match.pop('controller')]
        action = match.pop('action')
        match.pop('rest', None)
        if 'member_action' in match:
            match['action'] = match.pop('member_action')
        try:
            return getattr(controller, action)(request, **match)
        except exceptions.NaasException as e:
            if e.code >= 500:
                LOG.error('%s %s: %s', request.method, request.path, e)
            return wsgi_utils.error_response(e)
