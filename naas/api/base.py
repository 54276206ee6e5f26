"""The one controller that serves every collection, driven by its attribute
map (naas/lib/definitions) and a plugin that implements
create_/get_/update_/delete_<resource> and get_<collection>.

A sub-resource (a definition with PARENT: a QoS policy's rules) is served
under its parent's item, /{parent}/{parent_id}/{collection} (naas.api.router):
the plugin methods and policy rules are named as Neutron's,
<op>_<parent resource>_<resource> (create_policy_bandwidth_limit_rule); the
methods get the parent's id as a keyword
argument (policy_id=...); the parent must be visible to the caller (else
the parent's 404), and policy rules read the parent's project_id as the
item's, with the parent's attributes as ``<parent resource>:ATTR``.

Each request runs in one DB transaction (naas.db.api.retry): validation,
policy, quota and the plugin call all commit together or not at all.
"""
import urllib.parse

from naas.api import params as query_params
from naas.api import decoding
from naas.api import wsgi_utils
from naas.common import exceptions
from naas.common import policy
from naas.conf import CONF
from naas.db import api as db_api
from naas.db import quota
from naas.lib import attributes
from naas.lib import validators
from naas.lib.definitions import base as attr_base


class Controller:
    def __init__(self, plugin, collection, definition, core_plugin, quota_tables,
                 attr_map=None):
        """``definition`` is the collection's naas.lib.definitions module;
        ``core_plugin`` answers for the networks in policy targets;
        ``quota_tables`` is what quotas count (Registry.quota_tables);
        ``attr_map`` the collection's attributes with those the loaded
        extensions add (Registry.attribute_map; the definition's if None)."""
        self.plugin = plugin
        self.collection = collection
        #: the key of its lists in bodies ('security_groups' at /security-groups)
        self.key = getattr(definition, 'COLLECTION_KEY', collection)
        self.resource = definition.RESOURCE_NAME
        if attr_map is None:
            attr_map = definition.RESOURCE_ATTRIBUTE_MAP
        self.attr_map = attr_map
        self.parent = getattr(definition, 'PARENT', None)
        #: <resource> in the plugin's method names (create_<resource>, ...)
        self.method_resource = self.resource
        list_method = 'get_' + collection.rsplit('/', 1)[-1].replace('-', '_')
        if self.parent is not None:
            self.method_resource = '%s_%s' % (self.parent.RESOURCE_NAME, self.resource)
            list_method = 'get_%s_%s' % (self.parent.RESOURCE_NAME, collection)
            self._get_parent = getattr(plugin, 'get_' + self.parent.RESOURCE_NAME)
        self.core = core_plugin
        self.quota_tables = quota_tables
        self._visible = [n for n, s in attr_map.items() if s.get('is_visible')]
        self._guarded = [n for n, s in attr_map.items() if s.get('enforce_policy')]
        self._get_one = getattr(plugin, 'get_' + self.method_resource)
        # 'subnet-routes' is served by get_subnet_routes, 'qos/policies' by get_policies.
        self._get_all = getattr(plugin, list_method)
        #: member actions: PUT /{collection}/{id}/{action} -> plugin method
        self.actions = dict(getattr(definition, 'ACTIONS', {}))
        self._not_found_error, self._not_found_key = definition.NOT_FOUND

    def implements(self, action):
        """Whether the plugin implements ``action`` (create, update, delete)."""
        return hasattr(self.plugin, '%s_%s' % (action, self.method_resource))

    # ---- helpers -----------------------------------------------------------

    def _not_found(self, id):
        return self._not_found_error(**{self._not_found_key: validators.excerpt(id)})

    def _view_plan(self, checker, fields):
        """(attributes always shown, (attribute, rule) pairs checked per item).

        Rules that cannot depend on the item (e.g. admin-only attributes)
        are decided once here, not once per item of a long list.
        """
        shown, per_item = [], []
        for name in fields or self._visible:
            if name not in self.attr_map:
                continue
            action = 'get_%s:%s' % (self.method_resource, name)
            if name in self._guarded and checker.has_rule(action):
                if checker.reads_target(action):
                    per_item.append((name, action))
                    continue
                if not checker.check(action, {}):
                    continue
            shown.append(name)
        return shown, per_item

    def _view(self, checker, item, fields, plan=None):
        shown, per_item = plan or self._view_plan(checker, fields)
        out = {name: item[name] for name in shown if name in item}
        for name, action in per_item:
            if name in item and checker.check(action, item):
                out[name] = item[name]
        return out

    def _fields(self, request):
        """Requested fields; unknown ones are ignored, as Neutron does."""
        return [f for f in request.GET.getall('fields') if f]

    def _fetch(self, context, checker, id, parent=None):
        """The item if the context may see it, else NotFound."""
        try:
            item = self._get_one(context, id, **self._parent_arg(parent))
        except exceptions.NotFound:
            raise self._not_found(id)
        if not checker.check('get_' + self.method_resource, self._target(item, parent)):
            raise self._not_found(id)
        return item

    def _parent(self, context, checker, parent_id):
        """A sub-resource's parent if the context may see it (else the
        parent's NotFound); None for a resource without a parent."""
        if self.parent is None:
            return None
        try:
            parent = self._get_parent(context, parent_id)
        except exceptions.NotFound:
            parent = None
        if parent is None or not checker.check('get_' + self.parent.RESOURCE_NAME, parent):
            error, key = self.parent.NOT_FOUND
            raise error(**{key: validators.excerpt(parent_id)})
        return parent

    def _parent_arg(self, parent):
        """The plugin's keyword argument naming the parent (policy_id=...)."""
        return {} if parent is None else {self.parent.RESOURCE_NAME + '_id': parent['id']}

    def _target(self, item, parent):
        """What policy rules read of a sub-resource's item: its parent's
        project and attributes (``policy:shared``), then the item's own."""
        if parent is None:
            return item
        target = {'%s:%s' % (self.parent.RESOURCE_NAME, k): v for k, v in parent.items()}
        target['project_id'] = target['tenant_id'] = parent['project_id']
        target.update(item)
        return target

    def _add_network_target(self, context, target):
        """Attributes of the parent network, for rules on network owners."""
        net_id = target.get('network_id')
        if net_id and net_id is not attr_base.ATTR_NOT_SPECIFIED and \
                'network:project_id' not in target:
            net = self.core.get_network_policy_target(context, net_id)
            if not (context.is_admin or net['project_id'] == context.project_id or
                    net['shared'] or net['router:external']):
                # As Neutron: a network the caller cannot see is not found;
                # a 403 would tell that it exists.
                raise exceptions.NetworkNotFound(net_id=net_id)
            target['network:project_id'] = target['network:tenant_id'] = net['project_id']
            target.setdefault('shared', net['shared'])
            target.setdefault('router:external', net['router:external'])
        return target

    def _enforce_attrs(self, checker, action, body, target):
        """Rules named <action>:<attr> (and :<attr>:<key> for list of dicts)."""
        for name, value in body.items():
            if value is attr_base.ATTR_NOT_SPECIFIED:
                continue
            spec = self.attr_map.get(name, {})
            if not spec.get('enforce_policy'):
                continue
            if action.startswith('create') and value == spec.get('default'):
                continue  # not set by the client
            rule = '%s:%s' % (action, name)
            if checker.has_rule(rule):
                checker.enforce(rule, target)
            if isinstance(value, dict):  # rules on the keys sent, e.g.
                value = [value]          # external_gateway_info:enable_snat
            if isinstance(value, list):
                for key in sorted({k for v in value if isinstance(v, dict) for k in v}):
                    sub = '%s:%s' % (rule, key)
                    if checker.has_rule(sub):
                        checker.enforce(sub, target)

    # ---- actions -----------------------------------------------------------

    def index(self, request, parent_id=None):
        context = request.environ['naas.context']
        params = request.GET
        fields = self._fields(request)
        filters = query_params.parse_filters(self.resource, self.attr_map, params)
        sorts = query_params.parse_sorts(self.resource, self.attr_map, params)
        limit = query_params.parse_limit(self.resource, params, CONF.pagination_max_limit)
        marker = params.get('marker')
        page_reverse = query_params.parse_bool_param(self.resource, params, 'page_reverse')

        def _list(ctx):
            checker = policy.Checker(ctx)
            parent = self._parent(ctx, checker, parent_id)
            items = self._get_all(ctx, filters=filters, sorts=sorts,
                                  limit=None if limit is None else limit + 1,
                                  marker=marker, page_reverse=page_reverse,
                                  **self._parent_arg(parent))
            more = limit is not None and len(items) > limit
            if more:
                items = items[1:] if page_reverse else items[:limit]
            action = 'get_' + self.method_resource
            plan = self._view_plan(checker, fields)
            return [self._view(checker, i, fields, plan) for i in items
                    if checker.check(action, self._target(i, parent))], more, items

        views, more, items = db_api.retry(_list, context, writer=False)
        body = {self.key: views}
        if limit is not None:
            links = self._links(request, items, limit, marker, page_reverse, more)
            if links:
                body[self.key + '_links'] = links
        return wsgi_utils.json_response(body)

    def _links(self, request, items, limit, marker, page_reverse, more):
        links = []
        if not items:
            return links
        base_params = [(k, v) for k, v in request.GET.items()
                       if k not in ('marker', 'page_reverse', 'limit')]

        def href(marker_id, reverse):
            params = base_params + [('limit', str(limit)), ('marker', marker_id)]
            if reverse:
                params.append(('page_reverse', 'True'))
            return '%s?%s' % (request.path_url, urllib.parse.urlencode(params))

        has_next = more if not page_reverse else marker is not None
        has_prev = marker is not None if not page_reverse else more
        if has_next:
            links.append({'rel': 'next', 'href': href(items[-1]['id'], False)})
        if has_prev:
            links.append({'rel': 'previous', 'href': href(items[0]['id'], True)})
        return links

    def show(self, request, id, parent_id=None):
        context = request.environ['naas.context']
        fields = self._fields(request)

        def _show(ctx):
            checker = policy.Checker(ctx)
            parent = self._parent(ctx, checker, parent_id)
            return self._view(checker, self._fetch(ctx, checker, id, parent), fields)

        return wsgi_utils.json_response(
            {self.resource: db_api.retry(_show, context, writer=False)})

    def create(self, request, body=None, parent_id=None):
        context = request.environ['naas.context']
        body = decoding.json_body(request)
        if isinstance(body, dict) and self.key in body:
            items = body[self.key]
            if not isinstance(items, list) or not items:
                raise exceptions.BadRequest(resource=self.resource,
                                            msg='Resources required')
            bulk = True
        elif isinstance(body, dict) and self.resource in body and len(body) == 1:
            items, bulk = [body[self.resource]], False
        else:
            raise exceptions.BadRequest(resource=self.resource,
                                        msg='Unable to find %s in request body' % self.resource)
        prepared = [self._prepare_create(context, item) for item in items]

        def _create(ctx):
            checker = policy.Checker(ctx)
            parent = self._parent(ctx, checker, parent_id)
            created = []
            counts = {}
            for item in prepared:
                target = self._target(self._add_network_target(ctx, dict(item)), parent)
                checker.enforce('create_' + self.method_resource, target)
                self._enforce_attrs(checker, 'create_' + self.method_resource, item, target)
                if 'project_id' in target:  # (not a template of no project's)
                    counts[target['project_id']] = counts.get(target['project_id'], 0) + 1
            for project_id, n in sorted(counts.items()):  # locks in one order
                quota.check(ctx.connection, self.quota_tables, project_id, self.resource, n)
            for item in prepared:
                result = getattr(self.plugin, 'create_' + self.method_resource)(
                    ctx, item, **self._parent_arg(parent))
                created.append(self._view(checker, result, None))
            return created

        created = db_api.retry(_create, context)
        if bulk:
            return wsgi_utils.json_response({self.key: created}, status=201)
        return wsgi_utils.json_response({self.resource: created[0]}, status=201)

    def _prepare_create(self, context, item):
        item = attributes.prepare_create(self.resource, self.attr_map, item)
        if 'project_id' in self.attr_map:
            project = item.get('project_id') or item.get('tenant_id')
            other = item.get('tenant_id')
            if other and item.get('project_id') and other != item['project_id']:
                raise exceptions.BadRequest(resource=self.resource,
                                            msg='project_id and tenant_id do not match')
            if not project:
                if not context.project_id:
                    # As Neutron: an administrator without a project (noauth
                    # without X-Project-Id, a system-scoped token) names the
                    # project of what it creates.
                    raise exceptions.BadRequest(
                        resource=self.resource,
                        msg="Failed to parse request. Required attribute 'project_id' "
                            "not specified")
                project = context.project_id
            item['project_id'] = item['tenant_id'] = project
        return item

    def update(self, request, id, body=None, parent_id=None):
        context = request.environ['naas.context']
        body = decoding.json_body(request)
        if not isinstance(body, dict) or set(body) != {self.resource}:
            raise exceptions.BadRequest(resource=self.resource,
                                        msg='Unable to find %s in request body' % self.resource)
        values = attributes.prepare_update(self.resource, self.attr_map, body[self.resource])
        expected = wsgi_utils.if_match_revision(request)

        def _update(ctx):
            checker = policy.Checker(ctx)
            parent = self._parent(ctx, checker, parent_id)
            current = self._fetch(ctx, checker, id, parent)
            target = dict(self._target(current, parent), **values)
            checker.enforce('update_' + self.method_resource, target)
            self._enforce_attrs(checker, 'update_' + self.method_resource, values, target)
            kwargs = self._parent_arg(parent)
            if expected is not None:
                kwargs['expected_revision'] = expected
            result = getattr(self.plugin, 'update_' + self.method_resource)(
                ctx, id, values, **kwargs)
            return self._view(checker, result, None)

        return wsgi_utils.json_response({self.resource: db_api.retry(_update, context)})

    def delete(self, request, id, parent_id=None):
        context = request.environ['naas.context']
        expected = wsgi_utils.if_match_revision(request)

        def _delete(ctx):
            checker = policy.Checker(ctx)
            parent = self._parent(ctx, checker, parent_id)
            current = self._fetch(ctx, checker, id, parent)
            if expected is not None and current.get('revision_number') != expected:
                raise exceptions.RevisionNumberConstraintFailed(
                    expected=expected, current=current.get('revision_number'))
            checker.enforce('delete_' + self.method_resource, self._target(current, parent))
            getattr(self.plugin, 'delete_' + self.method_resource)(
                ctx, id, **self._parent_arg(parent))

        db_api.retry(_delete, context)
        return wsgi_utils.empty_response()

    def member_action(self, request, id, action):
        """PUT /{collection}/{id}/{action}: a bare JSON object in, the plugin's
        answer out (e.g. add_router_interface).  Policy: the rule named by
        the action, on the item, after the item's get rule."""
        context = request.environ['naas.context']
        body = decoding.json_body(request)
        if not isinstance(body, dict):
            raise exceptions.BadRequest(resource=self.resource,
                                        msg='Resource body required')
        method = getattr(self.plugin, self.actions[action])

        def _act(ctx):
            checker = policy.Checker(ctx)
            current = self._fetch(ctx, checker, id)
            checker.enforce(action, current)
            return method(ctx, id, body)

        return wsgi_utils.json_response(db_api.retry(_act, context))
