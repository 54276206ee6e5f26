"""The OpenAPI document (naas.api.openapi): valid OpenAPI 3.0, exactly the
routes the router serves, bodies as the attribute maps say, and
docs/openapi.json current (regenerate it with
``NAAS_WRITE_OPENAPI=1 .venv/bin/stestr --test-path tests/unit --top-dir ./ run test_openapi``).
"""
import json
import os
import re

from schemathesis.specs.openapi import definitions as openapi_definitions
import testtools

from naas.api import openapi
from naas.api import router as api_router
from naas.lib import definitions
from naas.lib import validators
from tests.fixtures import app

#: Every service plugin, so that the document covers the whole API.
SERVICE_PLUGINS = ['router', 'security-group', 'qos', 'statistics']
DOCUMENT = os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'openapi.json')


def dump(document):
    return json.dumps(document, indent=1, sort_keys=True) + '\n'


class TestDocument(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=SERVICE_PLUGINS))
        status, self.document, response = self.api.call('GET', '/v2.0/openapi.json')
        self.assertEqual(200, status)
        self.assertEqual('application/json', response.content_type)

    def test_valid_openapi_3(self):
        errors = [str(error)[-400:] for error in
                  openapi_definitions.OPENAPI_30_VALIDATOR.iter_errors(self.document)]
        self.assertEqual([], errors)

    def test_docs_openapi_json_is_current(self):
        if os.environ.get('NAAS_WRITE_OPENAPI'):
            with open(DOCUMENT, 'w') as f:
                f.write(dump(self.document))
        with open(DOCUMENT) as f:
            self.assertEqual(dump(self.document), f.read(),
                             'docs/openapi.json is not current: see this module docstring')

    def _served(self):
        """{(path template, method)} of every route ROUTES makes for the
        loaded plugins, but the 501 of unserved collections."""
        served = {api_router.collection_path(d): d for c, d, _ in _registry().served()}
        routes = set()
        for path, methods, serves in api_router.ROUTES:
            if serves == api_router.NOT_SERVED:
                continue
            collections = served if '{collection}' in path else [None]
            for collection in collections:
                concrete = path.replace('{collection}', collection or '')
                if serves == api_router.MEMBER_ACTION:
                    for action in getattr(served[collection], 'ACTIONS', {}):
                        for method in methods:
                            routes.add(('/' + concrete.replace('{action}', action)
                                        .lstrip('/'), method))
                    continue
                for method in methods:
                    routes.add(('/' + concrete.lstrip('/'), method))
        return routes

    def test_every_route_documented_and_only_those(self):
        documented = {(path, method.upper()) for path, operations in
                      self.document['paths'].items() for method in operations}
        served = self._served()
        # POST/PUT/DELETE of a collection whose plugin lacks the method is 405.
        router = _router()
        served = {(path, method) for path, method in served
                  if _answers(router, path, method)}
        self.assertEqual(sorted(served), sorted(documented))

    def test_every_documented_operation_is_served(self):
        router = _router()
        for path, operations in self.document['paths'].items():
            for method in operations:
                self.assertTrue(_answers(router, path, method.upper()), (method, path))

    def test_bodies_follow_the_attribute_maps(self):
        schemas = self.document['components']['schemas']
        subnet = definitions.RESOURCES['subnets'].RESOURCE_ATTRIBUTE_MAP
        create = schemas['subnet_create']
        self.assertEqual(
            sorted(n for n, s in subnet.items() if s['allow_post']),
            sorted(create['properties']))
        # cidr is optional: a subnet pool may give it (subnet_allocation).
        self.assertEqual(['ip_version', 'network_id'], create['required'])
        self.assertEqual(sorted(n for n, s in subnet.items() if s['allow_put']),
                         sorted(schemas['subnet_update']['properties']))
        self.assertEqual({'type': 'integer', 'enum': [4, 6]},
                         create['properties']['ip_version'])
        self.assertEqual({'type': 'string', 'maxLength': validators.NAME_MAX_LEN},
                         create['properties']['name'])
        network = schemas['network_create']['properties']
        self.assertEqual({'type': 'integer', 'minimum': 68, 'maximum': 65535},
                         network['mtu'])
        pools = create['properties']['allocation_pools']
        self.assertEqual(['end', 'start'], pools['items']['required'])

    def test_errors_are_neutron_errors(self):
        error = self.document['components']['responses']['Error']
        self.assertEqual({'$ref': '#/components/schemas/NeutronError'},
                         error['content']['application/json']['schema'])
        for path, operations in self.document['paths'].items():
            for method, operation in operations.items():
                self.assertEqual({'$ref': '#/components/responses/Error'},
                                 operation['responses']['4XX'], (method, path))

    def test_unmapped_validator_allows_anything(self):
        self.assertEqual({}, openapi.validator_schema((lambda value, arg: None, None)))


def _registry():
    from naas.plugins import manager
    return manager.get_manager().registry


def _router():
    return api_router.APIRouter()


def _answers(router, path, method):
    """The route ``router`` picks for ``path`` (ids filled in) is not its 405."""
    concrete = re.sub(r'\{[^}]+\}', 'x', path)
    match = router.mapper.match(concrete, {'REQUEST_METHOD': method})
    return match is not None and match['action'] not in ('not_allowed', 'not_served')
