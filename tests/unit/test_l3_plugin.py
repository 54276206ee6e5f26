"""The L3 plugin's definitions against its tables, and what loading it (or
not) changes in the API: quotas, extensions, 501."""
import unittest

import testtools

from naas.lib import definitions
from naas.plugins.l3 import floatingips
from naas.plugins.l3 import plugin
from naas.plugins.l3 import routers
from naas.plugins.l3 import subnet_routes
from tests.fixtures import app
from tests.unit import test_attribute_maps

COLUMNS = {'routers': routers.COLUMNS, 'floatingips': floatingips.COLUMNS,
           'subnet-routes': subnet_routes.COLUMNS}
DEFINITIONS = {d.COLLECTION_NAME: d for d in plugin.L3Plugin.resources}
#: filters a plugin handles itself (not a column of its own)
SPECIAL_FILTERS = {'tags', 'subnet_ids'}


class TestDefinitions(testtools.TestCase):

    def test_sort_keys_and_filters_have_columns(self):
        problems = []
        for collection, columns in COLUMNS.items():
            attr_map = DEFINITIONS[collection].RESOURCE_ATTRIBUTE_MAP
            for name, spec in attr_map.items():
                if spec.get('is_sort_key') and name not in columns:
                    problems.append('%s.%s: sort key without column' % (collection, name))
                if spec.get('is_filter') and name not in columns and \
                        name not in SPECIAL_FILTERS:
                    problems.append('%s.%s: filter without column' % (collection, name))
        self.assertEqual([], problems)

    def test_the_generic_attribute_map_checks(self):
        # test_attribute_maps checks every definition of naas.lib.definitions.
        for collection, definition in DEFINITIONS.items():
            self.assertIs(definition, definitions.RESOURCES[collection])
        result = unittest.TestResult()
        unittest.defaultTestLoader.loadTestsFromTestCase(
            test_attribute_maps.TestAttributeMaps).run(result)
        self.assertGreater(result.testsRun, 10)
        self.assertEqual([], [str(e) for e in result.failures + result.errors])

    def test_project_and_tenant_id_alike(self):
        for collection in COLUMNS:
            attr_map = DEFINITIONS[collection].RESOURCE_ATTRIBUTE_MAP
            self.assertEqual(attr_map['project_id'], attr_map['tenant_id'], collection)

    def test_member_actions_are_plugin_methods(self):
        for collection in COLUMNS:
            for action, method in getattr(DEFINITIONS[collection],
                                          'ACTIONS', {}).items():
                self.assertTrue(callable(getattr(plugin.L3Plugin, method, None)), action)


class TestLoadedOrNot(testtools.TestCase):

    def test_quotas_follow_the_loaded_plugins(self):
        api = app.APIFixture(service_plugins=['router'])
        api.setUp()
        try:
            quota = api.call('GET', '/v2.0/quotas/p/default', project='p')[1]['quota']
        finally:
            api.cleanUp()
        self.assertEqual((10, 50), (quota['router'], quota['floatingip']))
        api = self.useFixture(app.APIFixture())
        quota = api.call('GET', '/v2.0/quotas/p/default', project='p')[1]['quota']
        self.assertNotIn('router', quota)
        self.assertNotIn('floatingip', quota)
        status, body, _ = api.call('GET', '/v2.0/routers', project='p')
        self.assertEqual((501, 'NotImplemented'), (status, body['NeutronError']['type']))
        aliases = {e['alias'] for e in api.call('GET', '/v2.0/extensions')[1]['extensions']}
        self.assertFalse(aliases & {'router', 'ext-gw-mode', 'extraroute', 'subnet-routes'})
