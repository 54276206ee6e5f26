"""The OpenAPI 3.0 document of the /v2.0 API, generated from what the
router serves: GET /v2.0/openapi.json (docs/openapi.json is the document
of the whole API, core and L3 plugins, kept current by
tests/unit/test_openapi.py).

The paths are the routes the router connected (its mapper), so a route
exists in the document exactly when it is served; each operation is
described by what serves it (naas.api.router: a collection's Controller,
its tags, network-config, quotas, extensions, the root).  Request and
response bodies come from the collection's attribute map
(naas.lib.definitions): allow_post attributes make the create body (those
without a default are required), allow_put ones the update body,
is_visible ones the response, is_filter and is_sort_key ones the query
parameters; each attribute's validator gives its JSON schema where it maps
to one (strings and their lengths, enums, integer ranges, UUIDs, IP
addresses, CIDRs, MAC addresses, lists and dicts of those; list limits as
the server's configuration sets them).  Every error
is documented as the NeutronError body the faults middleware writes.

Responses are described as a client may rely on them: every attribute
may be absent (``fields``) or null; no extra attribute is forbidden.
"""
import copy
import inspect

import orjson

from naas.api import wsgi_utils
from naas.conf import CONF
from naas.lib import validators
from naas.lib.definitions import base as attr_base

OPENAPI_VERSION = '3.0.3'
PATH_PREFIX = '/v2.0'

_ERROR_REF = {'$ref': '#/components/responses/Error'}
_IP_ADDRESS = {'type': 'string', 'anyOf': [{'format': 'ipv4'}, {'format': 'ipv6'}]}
_UUID = {'type': 'string', 'format': 'uuid'}

#: Schemas of validators that take no argument, by the validator.
_SIMPLE = {
    validators.validate_boolean: {'type': 'boolean'},
    validators.validate_uuid: _UUID,
    validators.validate_ip_address: _IP_ADDRESS,
    validators.validate_subnet: {'type': 'string', 'format': 'cidr'},
    validators.validate_ip_or_subnet: {'type': 'string', 'format': 'ip-or-cidr'},
    validators.validate_mac_address: {
        'type': 'string', 'pattern': validators._MAC_RE.pattern},
    validators.validate_dict_or_none: {'type': 'object', 'nullable': True},
    validators.validate_tag: {'type': 'string', 'minLength': 1,
                              'maxLength': validators.TAG_MAX_LEN, 'pattern': '^[^,]*$'},
}
#: Validators that allow None besides what the validator they wrap allows.
_OR_NONE = {
    validators.validate_string_or_none: validators.validate_string,
    validators.validate_uuid_or_none: validators.validate_uuid,
    validators.validate_ip_address_or_none: validators.validate_ip_address,
    validators.validate_range_or_none: validators.validate_range,
}
#: Schemas of attributes that no validator describes (read-only ones).
_READ_ONLY = {
    'id': _UUID,
    'status': {'type': 'string'},
    'created_at': {'type': 'string'},
    'updated_at': {'type': 'string'},
    'revision_number': {'type': 'integer'},
    'tags': {'type': 'array', 'items': {'type': 'string'}},
    'subnets': {'type': 'array', 'items': _UUID},
}

NEUTRON_ERROR = {
    'type': 'object',
    'required': ['NeutronError'],
    'properties': {'NeutronError': {
        'type': 'object',
        'required': ['type', 'message', 'detail'],
        'properties': {'type': {'type': 'string'}, 'message': {'type': 'string'},
                       'detail': {'type': 'string'}},
    }},
}


def validator_schema(validate):
    """The JSON schema of values that ``validate`` (an attribute's
    ``(validator, arg)``) accepts; {} (any value) when it does not map."""
    validator, arg = validate
    if validator in _SIMPLE:
        return copy.deepcopy(_SIMPLE[validator])
    if validator in _OR_NONE:
        return dict(validator_schema((_OR_NONE[validator], arg)), nullable=True)
    if validator is validators.validate_string:
        schema = {'type': 'string'}
        if arg is not None:
            schema['maxLength'] = arg
        return schema
    if validator is validators.validate_range:
        low, high = arg
        schema = {'type': 'integer', 'minimum': low}
        if high is not None:
            schema['maximum'] = high
        return schema
    if validator is validators.validate_values:
        values = [v for v in arg if v is not None]
        schema = {'type': 'integer' if values and all(isinstance(v, int) for v in values)
                  else 'string', 'enum': list(arg)}
        if None in arg:   # OpenAPI 3.0: null is allowed by nullable and listed in enum
            schema['nullable'] = True
        return schema
    if validator is validators.validate_fixed_ips:
        return validator_schema((validators._validate_fixed_ip_list, None))
    closure = inspect.getclosurevars(validator).nonlocals
    if validator.__qualname__.startswith('validate_list_of.'):
        schema = {'type': 'array',
                  'items': validator_schema((closure['item_validator'], arg))}
        limit = closure.get('max_len')
        if closure.get('limit_option'):   # a list limit of the server's configuration
            limit = getattr(CONF, closure['limit_option'])
        if limit is not None:
            schema['maxItems'] = limit
        if closure.get('unique'):
            schema['uniqueItems'] = True
        return schema
    if validator.__qualname__.startswith('validate_dict_of.'):
        spec = closure['spec']
        schema = {'type': 'object', 'additionalProperties': False,
                  'properties': {key: validator_schema((item, None))
                                 for key, (_, item) in spec.items()}}
        required = sorted(key for key, (needed, _) in spec.items() if needed)
        if required:
            schema['required'] = required
        return schema
    return {}


def attribute_schema(name, spec):
    """An attribute's schema: its validator's, else its converter's type."""
    if 'validate' in spec:
        schema = validator_schema(spec['validate'])
    else:
        schema = copy.deepcopy(_READ_ONLY.get(name, {}))
    if not schema and spec.get('convert_to') is validators.convert_to_boolean:
        schema = {'type': 'boolean'}
    if spec.get('default', attr_base.ATTR_NOT_SPECIFIED) is None:
        schema['nullable'] = True
    return schema


def _request_body(attr_map, allow, required=False):
    names = sorted(name for name, spec in attr_map.items() if spec.get(allow))
    schema = {'type': 'object', 'additionalProperties': False,
              'properties': {name: attribute_schema(name, attr_map[name]) for name in names}}
    needed = [name for name in names if 'default' not in attr_map[name]
              and name not in ('project_id', 'tenant_id')]
    if required and needed:
        schema['required'] = needed
    if not required:
        schema['minProperties'] = 1
    return schema


def _view(attr_map):
    """The response schema of one item: any attribute may be absent or null."""
    properties = {}
    for name, spec in sorted(attr_map.items()):
        if spec.get('is_visible'):
            schema = attribute_schema(name, spec)
            for limit in ('maxLength', 'maxItems', 'minLength', 'minimum', 'maximum'):
                schema.pop(limit, None)   # the server's own objects may exceed them
            properties[name] = dict(schema, nullable=True) if schema else {}
    return {'type': 'object', 'properties': properties}


def _json(schema):
    return {'application/json': {'schema': schema}}


def _ok(status, schema=None, description='OK'):
    responses = {'4XX': _ERROR_REF, '5XX': _ERROR_REF}
    if schema is None:
        responses[str(status)] = {'description': description}
    else:
        responses[str(status)] = {'description': description, 'content': _json(schema)}
    return responses


def _path_parameter(name, schema=None):
    return {'name': name, 'in': 'path', 'required': True,
            'schema': schema or {'type': 'string'}}


def _query(name, schema, description=None):
    parameter = {'name': name, 'in': 'query', 'required': False, 'schema': schema}
    if description:
        parameter['description'] = description
    return parameter


def _if_match():
    return {'name': 'If-Match', 'in': 'header', 'required': False,
            'description': 'revision_number=N: only if the revision is still N',
            'schema': {'type': 'string'}}


class Document:
    """Builds the document from a naas.api.router.APIRouter."""

    def __init__(self, router):
        self.router = router
        self.schemas = {'NeutronError': NEUTRON_ERROR}

    def build(self):
        paths = {}
        for route in self.router.mapper.matchlist:
            methods = (route.conditions or {}).get('method')
            if not methods:
                continue   # the 405 of every path
            controller_name = route.defaults['controller']
            action = route.defaults['action']
            member_action = route.defaults.get('member_action')
            path = '/' + route.routepath.lstrip('/')
            operation = self._operation(controller_name, action, path, member_action)
            if operation is not None:
                paths.setdefault(path, {})[methods[0].lower()] = operation
        self._link(paths)
        return {
            'openapi': OPENAPI_VERSION,
            'info': {
                'title': 'NaaS Networking API v2.0',
                'version': '2.0',
                'description': (
                    'OpenStack Networking API v2.0 as NaaS serves it, generated from the '
                    'attribute maps (naas.api.openapi).  Identity: a Keystone token '
                    '(X-Auth-Token), or with auth_strategy=noauth X-Project-Id and '
                    'X-Roles.  Every error is a NeutronError body.'),
            },
            'servers': [{'url': PATH_PREFIX}],
            'paths': dict(sorted(paths.items())),
            'components': {
                'schemas': dict(sorted(self.schemas.items())),
                'responses': {'Error': {'description': 'NeutronError',
                                        'content': _json({'$ref': '#/components/schemas/'
                                                          'NeutronError'})}},
            },
        }

    def _link(self, paths):
        """OpenAPI links from each create to what the new id opens: the
        item's operations, its tags and member actions ({id}, {parent_id}),
        and the creates whose body names it (a network's id as a subnet's or
        a port's network_id, a port's as a floating IP's port_id)."""
        operations = {operation['operationId']: (path, operation)
                      for path, methods in paths.items() for operation in methods.values()}
        for operation_id, (path, operation) in operations.items():
            if not operation_id.startswith('create_'):
                continue
            resource = operation_id[len('create_'):]
            new_id = '$response.body#/%s/id' % resource
            links = {}
            for other_id, (other_path, other) in sorted(operations.items()):
                if other_path.startswith(path + '/{'):
                    name = 'parent_id' if '{parent_id}' in other_path else 'id'
                    links[other_id] = {'operationId': other_id, 'parameters': {name: new_id}}
                body = other.get('requestBody', {}).get('content', {}).get(
                    'application/json', {}).get('schema', {})
                other_resource = other_id[len('create_'):]
                created = self.schemas.get(other_resource + '_create', {})
                if other_id.startswith('create_') and resource + '_id' in created.get(
                        'properties', {}) and body:
                    links[other_id] = {'operationId': other_id, 'requestBody': {
                        other_resource: {resource + '_id': new_id}}}
            if links:
                operation['responses']['201']['links'] = links

    def _operation(self, controller_name, action, path, member_action):
        from naas.api import router as api_router
        controller = self.router.controllers[controller_name]
        if controller_name == api_router.ROOT:
            return self._root(action)
        if controller_name == api_router.OPENAPI:
            return {'operationId': 'get_openapi', 'summary': 'This document',
                    'responses': _ok(200, {'type': 'object'})}
        if controller_name == api_router.QUOTAS:
            return self._quotas(action, path)
        if controller_name == api_router.EXTENSIONS:
            return self._extensions(action, path)
        if controller_name == api_router.NETWORK_CONFIG:
            return self._network_config(controller, action, path)
        if controller_name.endswith('/tags'):
            return self._tags(controller.parent, action, path)
        if member_action:
            return self._member_action(controller, member_action, path)
        return self._collection(controller, action, path)

    def _ref(self, name, schema):
        self.schemas[name] = schema
        return {'$ref': '#/components/schemas/' + name}

    # ---- a collection (naas.api.base.Controller) ----------------------------

    def _collection(self, controller, action, path):
        resource, collection = controller.resource, controller.collection
        attr_map = controller.attr_map
        item = self._ref(resource, _view(attr_map))
        # A sub-resource's paths name its parent (naas.api.router.collection_path).
        parent_param = [_path_parameter('parent_id', _UUID)] if '{parent_id}' in path else []
        id_param = parent_param + [_path_parameter(
            'id', attribute_schema('id', attr_map['id']) if 'id' in attr_map else None)]
        if action == 'index':
            return {'operationId': 'list_' + collection, 'tags': [collection],
                    'parameters': parent_param + self._list_parameters(attr_map),
                    'responses': _ok(200, {
                        'type': 'object', 'required': [controller.key],
                        'properties': {
                            controller.key: {'type': 'array', 'items': item},
                            controller.key + '_links': {'type': 'array', 'items': {
                                'type': 'object',
                                'properties': {'rel': {'type': 'string'},
                                               'href': {'type': 'string'}}}}}})}
        if action == 'create':
            body = self._ref(resource + '_create', _request_body(attr_map, 'allow_post', True))
            return {'operationId': 'create_' + resource, 'tags': [collection],
                    **({'parameters': parent_param} if parent_param else {}),
                    'requestBody': {'required': True, 'content': _json({
                        'type': 'object', 'required': [resource],
                        'additionalProperties': False,
                        'properties': {resource: body}})},
                    'responses': _ok(201, {'type': 'object', 'required': [resource],
                                           'properties': {resource: item}}, 'Created')}
        if action == 'show':
            return {'operationId': 'show_' + resource, 'tags': [collection],
                    'parameters': id_param + [self._fields_parameter(attr_map)],
                    'responses': _ok(200, {'type': 'object', 'required': [resource],
                                           'properties': {resource: item}})}
        if action == 'update':
            body = self._ref(resource + '_update', _request_body(attr_map, 'allow_put'))
            return {'operationId': 'update_' + resource, 'tags': [collection],
                    'parameters': id_param + [_if_match()],
                    'requestBody': {'required': True, 'content': _json({
                        'type': 'object', 'required': [resource],
                        'additionalProperties': False,
                        'properties': {resource: body}})},
                    'responses': _ok(200, {'type': 'object', 'required': [resource],
                                           'properties': {resource: item}})}
        if action == 'delete':
            return {'operationId': 'delete_' + resource, 'tags': [collection],
                    'parameters': id_param + [_if_match()],
                    'responses': _ok(204, description='Deleted')}
        raise ValueError('no description of %s %s' % (collection, action))

    @staticmethod
    def _fields_parameter(attr_map):
        visible = sorted(name for name, spec in attr_map.items() if spec.get('is_visible'))
        return _query('fields', {'type': 'array', 'items': {'type': 'string', 'enum': visible}},
                      'attributes to return (repeat the parameter)')

    def _list_parameters(self, attr_map):
        parameters = [self._fields_parameter(attr_map)]
        for name, spec in sorted(attr_map.items()):
            if not spec.get('is_filter'):
                continue
            schema = attribute_schema(name, spec)
            if schema.get('type') not in ('string', 'integer', 'boolean'):
                schema = {'type': 'string'}
            schema.pop('nullable', None)
            parameters.append(_query(name, schema, 'may be repeated: any of the values'))
        if 'tags' in attr_map:
            parameters += [_query(name, {'type': 'string'}, 'comma-separated tags')
                           for name in attr_base.TAG_FILTERS if name != 'tags']
        sort_keys = sorted(name for name, spec in attr_map.items() if spec.get('is_sort_key'))
        if sort_keys:   # (qos/rule-types has none)
            parameters += [
                _query('sort_key', {'type': 'array', 'items': {'type': 'string',
                                                               'enum': sort_keys}}),
                _query('sort_dir', {'type': 'array', 'items': {'type': 'string',
                                                               'enum': ['asc', 'desc']}})]
        parameters += [
            _query('limit', {'type': 'integer', 'minimum': 0}),
            _query('marker', _UUID),
            _query('page_reverse', {'type': 'boolean'}),
        ]
        return parameters

    def _member_action(self, controller, action, path):
        return {'operationId': action, 'tags': [controller.collection],
                'parameters': [_path_parameter('id', _UUID)],
                'requestBody': {'required': True, 'content': _json({'type': 'object'})},
                'responses': _ok(200, {'type': 'object'})}

    # ---- the rest ------------------------------------------------------------

    def _tags(self, parent, action, path):
        resource, collection = parent.resource, parent.collection
        parameters = [_path_parameter('parent_id', _UUID)]
        tag = validator_schema((validators.validate_tag, None))
        tag_list = {'type': 'object', 'required': ['tags'],
                    'properties': {'tags': {'type': 'array', 'items': {'type': 'string'}}}}
        if path.endswith('/{id}'):
            parameters.append(_path_parameter('id', tag))
            status = {'show': 204, 'update': 201, 'delete': 204}[action]
            return {'operationId': '%s_%s_tag' % (action, resource), 'tags': [collection],
                    'parameters': parameters, 'responses': _ok(status, description='Done')}
        operation = {'operationId': '%s_%s_tags' % (action, resource), 'tags': [collection],
                     'parameters': parameters}
        if action == 'index':
            operation['responses'] = _ok(200, tag_list)
        elif action == 'update_all':
            operation['requestBody'] = {'required': True, 'content': _json({
                'type': 'object', 'required': ['tags'],
                'properties': {'tags': validator_schema((validators.validate_tags, None))}})}
            operation['responses'] = _ok(200, tag_list)
        else:
            operation['responses'] = _ok(204, description='Deleted')
        return operation

    def _network_config(self, controller, action, path):
        formats = sorted(controller.plugin.network_config_formats)
        return {'operationId': 'network_config_of_' + action, 'tags': ['network-config'],
                'parameters': [_path_parameter('id'),
                               _query('format', {'type': 'string', 'enum': formats})],
                'responses': _ok(200, {'type': 'object'})}

    def _quotas(self, action, path):
        from naas.lib.definitions import quota as quota_def
        counted = sorted(self.router.controllers['quotas'].counted)
        limits = {name: attribute_schema(name, quota_def.RESOURCE_ATTRIBUTE_MAP[name])
                  for name in counted if name in quota_def.RESOURCE_ATTRIBUTE_MAP}
        quota = self._ref('quota', {'type': 'object', 'properties': {
            **{name: {'type': 'integer'} for name in limits},
            'project_id': {'type': 'string'}, 'tenant_id': {'type': 'string'}}})
        one = {'type': 'object', 'required': ['quota'], 'properties': {
            'quota': {'type': 'object'} if action == 'details' else quota}}
        operation = {'operationId': '%s_quota%s' % (action, '' if '{id}' in path else 's'),
                     'tags': ['quotas']}
        if '{id}' in path:
            operation['parameters'] = [_path_parameter('id')]
        if action == 'index':
            operation['responses'] = _ok(200, {
                'type': 'object', 'required': ['quotas'],
                'properties': {'quotas': {'type': 'array', 'items': quota}}})
        elif action == 'update':
            operation['requestBody'] = {'required': True, 'content': _json({
                'type': 'object', 'required': ['quota'], 'additionalProperties': False,
                'properties': {'quota': {'type': 'object', 'additionalProperties': False,
                                         'minProperties': 1, 'properties': limits}}})}
            operation['responses'] = _ok(200, one)
        elif action == 'delete':
            operation['responses'] = _ok(204, description='Reset to the defaults')
        else:
            operation['responses'] = _ok(200, one)
        return operation

    def _extensions(self, action, path):
        extension = self._ref('extension', {'type': 'object', 'properties': {
            name: {'type': 'string'} for name in ('alias', 'name', 'description', 'updated')}})
        if action == 'index':
            return {'operationId': 'list_extensions', 'tags': ['extensions'],
                    'responses': _ok(200, {'type': 'object', 'required': ['extensions'],
                                           'properties': {'extensions': {
                                               'type': 'array', 'items': extension}}})}
        return {'operationId': 'show_extension', 'tags': ['extensions'],
                'parameters': [_path_parameter('id')],
                'responses': _ok(200, {'type': 'object', 'required': ['extension'],
                                       'properties': {'extension': extension}})}

    def _root(self, action):
        return {'operationId': 'list_resources',
                'responses': _ok(200, {'type': 'object', 'required': ['resources'],
                                       'properties': {'resources': {
                                           'type': 'array', 'items': {'type': 'object'}}}})}


def document(router):
    """The OpenAPI document of what ``router`` (an APIRouter) serves."""
    return Document(router).build()


class DocumentController:
    """GET /v2.0/openapi.json: the document, built once on first request."""

    def __init__(self, router):
        self.router = router
        self._body = None

    def document(self, request):
        if self._body is None:
            self._body = orjson.dumps(document(self.router))
        response = wsgi_utils.json_response(None)
        response.body = self._body
        return response
