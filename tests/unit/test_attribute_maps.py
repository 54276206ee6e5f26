"""The attribute maps (naas/lib/definitions) are well-formed data.

The generic controller trusts them: a key it does not know is silently
ignored, a default that fails its own validator is stored unchecked, a
sort key without a column is a 500.  Each check collects every problem
found so that one failure lists them all.
"""
import testtools

from naas.common import exceptions
from naas.common import policies
from naas.lib import definitions as lib_definitions
from naas.lib.definitions import base
from naas.lib.definitions import quota
from naas.db import networks
from naas.db import ports
from naas.db import subnets

COLUMNS = {'networks': networks.COLUMNS, 'subnets': subnets.COLUMNS,
           'ports': ports.COLUMNS}

# What a Neutron client must send on create (project_id comes from the token).
REQUIRED_ON_CREATE = {
    'networks': set(),
    'subnets': {'network_id', 'ip_version'},   # cidr: or a subnetpool_id
    'subnetpools': {'prefixes'},
    'ports': {'network_id'},
}


def definitions():
    """(collection, resource, attribute map) of every definition, with the
    attributes extensions add to it (EXTENDED_ATTRIBUTES)."""
    extended = {}
    for extension in lib_definitions.EXTENSIONS.values():
        for collection, attrs in getattr(extension, 'EXTENDED_ATTRIBUTES', {}).items():
            extended.setdefault(collection, {}).update(attrs)
    out = [(c, d.RESOURCE_NAME, dict(d.RESOURCE_ATTRIBUTE_MAP, **extended.get(c, {})))
           for c, d in sorted(lib_definitions.RESOURCES.items())]
    out.append((quota.COLLECTION_NAME, quota.RESOURCE_NAME, quota.RESOURCE_ATTRIBUTE_MAP))
    return out


def attributes():
    for collection, resource, attr_map in definitions():
        for name, spec in sorted(attr_map.items()):
            yield collection, resource, name, spec


class TestAttributeMaps(testtools.TestCase):

    def test_core_definitions_present(self):
        self.assertTrue({'networks', 'subnets', 'ports'} <= set(lib_definitions.RESOURCES))
        for collection, definition in lib_definitions.RESOURCES.items():
            self.assertEqual(collection, definition.COLLECTION_NAME)
            self.assertTrue(definition.RESOURCE_ATTRIBUTE_MAP)

    def test_not_found_names_the_id(self):
        for collection, definition in lib_definitions.RESOURCES.items():
            error, key = definition.NOT_FOUND
            made = error(**{key: 'the-id'})
            self.assertIsInstance(made, exceptions.NotFound, collection)
            self.assertIn('the-id', str(made), collection)

    def test_keys_known_and_typed(self):
        problems = []
        for collection, _, name, spec in attributes():
            if not isinstance(spec, dict):
                problems.append('%s.%s is not a dict' % (collection, name))
                continue
            for key, value in spec.items():
                if key not in base.ATTRIBUTE_KEYS:
                    problems.append('%s.%s: unknown key %r' % (collection, name, key))
                elif not isinstance(value, base.ATTRIBUTE_KEYS[key]):
                    problems.append('%s.%s: %s=%r is not %s' % (
                        collection, name, key, value, base.ATTRIBUTE_KEYS[key].__name__))
        self.assertEqual([], problems)

    def test_required_keys(self):
        problems = ['%s.%s lacks %s' % (collection, name, key)
                    for collection, _, name, spec in attributes()
                    for key in base.REQUIRED_KEYS if key not in spec]
        self.assertEqual([], problems)

    def test_validate_is_callable_and_arg(self):
        problems = []
        for collection, _, name, spec in attributes():
            if 'validate' not in spec:
                continue
            validate = spec['validate']
            if not (isinstance(validate, tuple) and len(validate) == 2 and
                    callable(validate[0])):
                problems.append('%s.%s: validate=%r' % (collection, name, validate))
        self.assertEqual([], problems)

    def test_convert_to_is_callable(self):
        problems = ['%s.%s: convert_to=%r' % (collection, name, spec['convert_to'])
                    for collection, _, name, spec in attributes()
                    if 'convert_to' in spec and not callable(spec['convert_to'])]
        self.assertEqual([], problems)

    def test_defaults_pass_their_own_validation(self):
        problems = []
        for collection, _, name, spec in attributes():
            default = spec.get('default', base.ATTR_NOT_SPECIFIED)
            if default is base.ATTR_NOT_SPECIFIED or default is None:
                continue
            value = default
            try:
                if 'convert_to' in spec:
                    value = spec['convert_to'](value)
            except exceptions.InvalidInput as e:
                problems.append('%s.%s: default %r: %s' % (collection, name, default, e))
                continue
            if 'validate' in spec:
                validator, arg = spec['validate']
                msg = validator(value, arg)
                if msg:
                    problems.append('%s.%s: default %r: %s' % (collection, name, default, msg))
        self.assertEqual([], problems)

    def test_defaults_of_allow_put_only_attributes(self):
        # A default means "value on create": only attributes that may be
        # given on create (allow_post) have one.
        problems = ['%s.%s: default without allow_post' % (collection, name)
                    for collection, _, name, spec in attributes()
                    if 'default' in spec and not spec['allow_post']
                    and spec['default'] not in ([], None)]
        self.assertEqual([], problems)

    def test_sort_keys_are_columns(self):
        problems = []
        for collection, _, name, spec in attributes():
            if not spec.get('is_sort_key') or collection not in COLUMNS:
                continue
            if name not in COLUMNS[collection]:
                problems.append('%s.%s is a sort key with no column' % (collection, name))
        self.assertEqual([], problems)

    def test_sort_keys_are_visible_and_filterable(self):
        problems = ['%s.%s: sort key but not visible' % (collection, name)
                    for collection, _, name, spec in attributes()
                    if spec.get('is_sort_key') and not spec.get('is_visible')]
        self.assertEqual([], problems)

    def test_one_primary_key_named_id(self):
        for collection, definition in lib_definitions.RESOURCES.items():
            keys = [n for n, s in definition.RESOURCE_ATTRIBUTE_MAP.items()
                    if s.get('primary_key')]
            self.assertEqual(['id'], keys, collection)

    def test_required_attributes_on_create(self):
        for collection, required in REQUIRED_ON_CREATE.items():
            attr_map = lib_definitions.RESOURCES[collection].RESOURCE_ATTRIBUTE_MAP
            found = {n for n, s in attr_map.items()
                     if s['allow_post'] and 'default' not in s
                     and n not in ('project_id', 'tenant_id')}
            self.assertEqual(required, found, collection)

    def test_project_and_tenant_id_alike(self):
        for collection in ('networks', 'subnets', 'ports'):
            attr_map = lib_definitions.RESOURCES[collection].RESOURCE_ATTRIBUTE_MAP
            self.assertEqual(attr_map['project_id'], attr_map['tenant_id'], collection)

    def test_enforce_policy_attributes_have_rules(self):
        # enforce_policy with no rule naming the attribute guards nothing.
        rules = {r.name for r in policies.list_rules()}
        problems = []
        for collection, resource, name, spec in attributes():
            if not spec.get('enforce_policy'):
                continue
            wanted = ['%s_%s:%s' % (op, resource, name) for op in ('create', 'update', 'get')]
            if not any(r == w or r.startswith(w + ':') for r in rules for w in wanted):
                problems.append('%s.%s: enforce_policy but no rule' % (collection, name))
        self.assertEqual([], problems)

    def test_attribute_rules_name_real_attributes(self):
        # A rule "create_network:sharde" would never be checked.
        maps = {resource: attr_map for _, resource, attr_map in definitions()}
        problems = []
        for rule in policies.list_rules():
            action, sep, attr = rule.name.partition(':')
            if not sep or '_' not in action:
                continue
            op, _, resource = action.partition('_')
            if op not in ('create', 'update', 'get', 'delete') or resource not in maps:
                continue
            attr_map = maps[resource]
            if attr not in attr_map and attr.rpartition(':')[0] not in attr_map:
                problems.append(rule.name)
            elif not attr_map.get(attr, attr_map.get(attr.rpartition(':')[0], {})).get(
                    'enforce_policy'):
                problems.append('%s (attribute without enforce_policy)' % rule.name)
        self.assertEqual([], problems)

    def test_quota_limits_accept_minus_one(self):
        for resource in quota.RESOURCES:
            spec = quota.RESOURCE_ATTRIBUTE_MAP[resource]
            validator, arg = spec['validate']
            self.assertIsNone(validator(spec['convert_to']('-1'), arg))
            self.assertIsNotNone(validator(spec['convert_to'](-2), arg))


class TestExtensionDescriptors(testtools.TestCase):

    def test_descriptors_are_complete(self):
        problems = []
        for alias, extension in sorted(lib_definitions.EXTENSIONS.items()):
            if extension.ALIAS != alias:
                problems.append('%s listed as %s' % (extension.ALIAS, alias))
            for key in ('NAME', 'DESCRIPTION'):
                value = getattr(extension, key, None)
                if not isinstance(value, str) or not value:
                    problems.append('%s: %s=%r' % (alias, key, value))
        self.assertEqual([], problems)

    def test_every_declared_extension_is_described(self):
        from naas.plugins.l2 import plugin as l2_plugin
        from naas.plugins.l3 import plugin as l3_plugin
        for plugin in (l2_plugin.L2Plugin, l3_plugin.L3Plugin):
            self.assertEqual([], sorted(set(plugin.extensions) -
                                        set(lib_definitions.EXTENSIONS)), plugin.__name__)
