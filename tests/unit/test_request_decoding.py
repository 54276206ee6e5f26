"""What every request is checked for before a controller reads it
(naas.api.decoding, through the faults middleware), and the bounds a client
value meets wherever it goes: integers (validators.convert_to_int), list
lengths (max_* options), echoed values (validators.excerpt), the project of
what a noauth administrator creates.  Each refusal is a 4xx NeutronError
and leaves no row behind.
"""
import http.client
import json
import logging

import fixtures
import testtools
import webob

from naas.api import decoding
from naas.api import wsgi_utils
from naas.common import exceptions
from naas.conf import CONF
from naas.lib import validators
from tests.unit import test_bad_input
from tools.harness import servers

BIG = 10 ** 30
UNKNOWN_ID = test_bad_input.UNKNOWN_ID


def deep(levels, leaf='x'):
    """A JSON document nesting ``levels`` lists, as text."""
    return '[' * levels + json.dumps(leaf) + ']' * levels


class DecodingTestCase(test_bad_input.APITestCase):
    """An API with a network, a subnet and a port, and raw requests."""

    def setUp(self):
        super().setUp()
        self.net = self.create('networks', 'network', {'name': 'n'})
        self.subnet = self.create('subnets', 'subnet', {
            'network_id': self.net['id'], 'ip_version': 4, 'cidr': '10.0.0.0/24'})
        self.port = self.create('ports', 'port', {'network_id': self.net['id']})

    def raw(self, method, path, body=None, content_type='application/json', headers=None,
            project='p', roles='admin'):
        """(status, parsed body, response) of a request sent as given."""
        req = webob.Request.blank(path, method=method)
        if body is not None:
            req.body = body.encode() if isinstance(body, str) else body
        if content_type is not None:
            req.headers['Content-Type'] = content_type
        if project:
            req.headers['X-Project-Id'] = project
        if roles:
            req.headers['X-Roles'] = roles
        req.headers.update(headers or {})
        resp = req.get_response(self.api.app)
        return resp.status_int, resp.json if resp.body else None, resp

    def override(self, option, value):
        CONF.set_override(option, value)
        self.addCleanup(CONF.clear_override, option)

    def writes(self):
        """(method, path, body of one attribute's value as JSON text) of every
        kind of write: resources, bulk, tags, quotas."""
        net = '/v2.0/networks/' + self.net['id']
        return [('POST', '/v2.0/networks', '{"network": {"name": %s}}'),
                ('POST', '/v2.0/networks', '{"networks": [{"name": %s}]}'),
                ('PUT', net, '{"network": {"name": %s}}'),
                ('PUT', net + '/tags', '{"tags": [%s]}'),
                ('PUT', '/v2.0/quotas/p', '{"quota": {"network": %s}}')]


class TestContentType(DecodingTestCase):

    def test_a_body_must_be_json(self):
        before = self.snapshot()
        for content_type in ('text/plain', 'application/x-www-form-urlencoded',
                             'application/xml', 'application/json; charset=latin-1',
                             'application/json; charset=utf-16', 'multipart/form-data'):
            for method, path, template in self.writes():
                status, body, resp = self.raw(method, path, template % '"x"', content_type)
                self.assertError(status, body, resp, 415, 'UnsupportedMediaType')
        self.assertEqual(before, self.snapshot())

    def test_json_with_or_without_charset(self):
        for content_type in ('application/json', 'application/json; charset=UTF-8',
                             'Application/JSON;charset="utf-8"'):
            status, body, _ = self.raw('POST', '/v2.0/networks',
                                       '{"network": {"name": "ok"}}', content_type)
            self.assertEqual(201, status, body)

    def test_a_body_without_content_type_is_read_as_json(self):
        # As Neutron's API: the body is JSON whatever the headers say.
        status, body, _ = self.raw('POST', '/v2.0/networks', '{"network": {"name": "bare"}}',
                                   content_type=None)
        self.assertEqual(201, status, body)
        self.assertEqual('bare', body['network']['name'])
        status, body, resp = self.raw('POST', '/v2.0/networks', 'name=bare', content_type=None)
        self.assertError(status, body, resp, 400, 'MalformedRequestBody')

    def test_a_request_without_body_needs_no_content_type(self):
        status, body, _ = self.raw('GET', '/v2.0/networks', content_type='text/plain')
        self.assertEqual(200, status, body)
        status, _, _ = self.raw('DELETE', '/v2.0/ports/' + self.port['id'],
                                content_type='text/plain')
        self.assertEqual(204, status)


class TestBodies(DecodingTestCase):

    def assertRefusedEverywhere(self, value, expected_type='MalformedRequestBody'):
        before = self.snapshot()
        for method, path, template in self.writes():
            status, body, resp = self.raw(method, path, template % value)
            self.assertError(status, body, resp, 400, expected_type)
        self.assertEqual(before, self.snapshot())

    def test_lone_surrogates(self):
        for value in ('"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"', '"\\ud83c"'):
            self.assertRefusedEverywhere(value)

    def test_surrogate_pairs_are_characters(self):
        status, body, _ = self.raw('POST', '/v2.0/networks', '{"network": {"name": "\\ud83c\\udf10"}}')
        self.assertEqual(201, status, body)
        self.assertEqual('\U0001f310', body['network']['name'])

    def test_nul(self):
        self.assertRefusedEverywhere('"a\\u0000b"')

    def test_not_utf8(self):
        before = self.snapshot()
        for raw in (b'{"network": {"name": "\xff"}}', b'{"network": {"name": "\xed\xa0\x80"}}',
                    '{"network": {"name": "x"}}'.encode('utf-16'),
                    '{"network": {"name": "x"}}'.encode('utf-32'),
                    b'\xef\xbb\xbf{"network": {"name": "x"}}'):
            status, body, resp = self.raw('POST', '/v2.0/networks', raw)
            self.assertError(status, body, resp, 400, 'MalformedRequestBody')
        self.assertEqual(before, self.snapshot())

    def test_nesting_depth(self):
        for levels in (decoding.MAX_DEPTH, 1000, 1100, 50000):
            self.assertRefusedEverywhere(deep(levels))
        # The deepest body allowed is read.
        status, body, _ = self.raw('PUT', '/v2.0/ports/' + self.port['id'], json.dumps(
            {'port': {'binding:profile': {'a': {'b': {'c': 'd'}}}}}))
        self.assertEqual(200, status, body)

    def test_nesting_is_counted_without_recursion(self):
        document = []
        for _ in range(100000):
            document = [document]
        self.assertEqual(33, validators.nesting_depth(document, 32))
        self.assertEqual(0, validators.nesting_depth('x', 32))
        self.assertEqual(2, validators.nesting_depth({'a': [], 'b': 1}, 32))

    def test_binding_profile_is_bounded(self):
        port = '/v2.0/ports/' + self.port['id']
        deep_profile = {}
        for _ in range(validators.DICT_BOUNDS[0]):
            deep_profile = {'k': deep_profile}
        for profile in (deep_profile, {'k': 'x' * validators.DICT_BOUNDS[1]}):
            for method, path, doc in (
                    ('POST', '/v2.0/ports', {'port': {'network_id': self.net['id'],
                                                      'binding:profile': profile}}),
                    ('PUT', port, {'port': {'binding:profile': profile}})):
                before = self.snapshot()
                status, body, resp = self.raw(method, path, json.dumps(doc))
                self.assertError(status, body, resp, 400, 'InvalidInput')
                self.assertIn('binding:profile', body['NeutronError']['message'])
                self.assertEqual(before, self.snapshot())
        status, body, _ = self.raw('PUT', port, json.dumps(
            {'port': {'binding:profile': deep_profile['k']}}))
        self.assertEqual(200, status, body)
        status, body, _ = self.raw('GET', '/v2.0/ports')
        self.assertEqual(200, status, body)


class TestPathAndQuery(DecodingTestCase):

    def setUp(self):
        super().setUp()
        self.logged = self.useFixture(fixtures.FakeLogger(
            name='naas.api.middleware', level=logging.INFO))

    def test_path_not_utf8(self):
        before = self.snapshot()
        for method in ('GET', 'PUT', 'DELETE'):
            for path in ('/v2.0/networks/%FF', '/v2.0/networks/%ED%A0%80',
                         '/v2.0/ports/%C0%AF/tags', '/v2.0/%FF', '/v2.0/networks/%00'):
                status, body, resp = self.raw(method, path, '{"network": {}}'
                                              if method == 'PUT' else None)
                self.assertError(status, body, resp, 400, 'InvalidInput')
        self.assertEqual(before, self.snapshot())
        # Logged as a failed request, as every client error is.
        self.assertIn('GET /v2.0/networks/\\xff failed (client error)', self.logged.output)
        status, body, resp = self.raw('GET', '/%FF')
        self.assertError(status, body, resp, 404)

    def test_query_not_utf8(self):
        net_config = '/v2.0/ports/%s/network-config' % self.port['id']
        for path in ('/v2.0/networks?name=%FF', '/v2.0/networks?%FF=x',
                     '/v2.0/networks?sort_key=%FF', '/v2.0/networks?fields=%FF',
                     '/v2.0/networks?marker=%FF&limit=1', '/v2.0/networks?name=%00',
                     '/v2.0/ports?fixed_ips=ip_address%3D%FF',
                     net_config + '?format=%FF'):
            status, body, resp = self.raw('GET', path)
            self.assertError(status, body, resp, 400, 'InvalidInput')
        status, body, _ = self.raw('GET', net_config + '?format=cloud-init')
        self.assertEqual(200, status, body)

    def test_url_length(self):
        query = 'name=' + 'x' * (decoding.MAX_URL_LENGTH - len('/v2.0/networks?name='))
        status, body, _ = self.raw('GET', '/v2.0/networks?' + query)
        self.assertEqual(200, status, body)
        status, body, resp = self.raw('GET', '/v2.0/networks?' + query + 'x')
        self.assertError(status, body, resp, 414, 'RequestURITooLong')
        status, body, resp = self.raw('GET', '/v2.0/networks/' + 'x' * decoding.MAX_URL_LENGTH)
        self.assertError(status, body, resp, 414, 'RequestURITooLong')


class TestIntegers(DecodingTestCase):

    def test_filters(self):
        for query in ('mtu', 'provider:segmentation_id', 'revision_number', 'tenant_id'):
            for value in (BIG, -BIG, 2 ** 63, -2 ** 63 - 1):
                status, body, resp = self.raw('GET', '/v2.0/networks?%s=%d' % (query, value))
                if query == 'tenant_id':   # a string attribute: no such project
                    self.assertEqual(([], 200), (body['networks'], status))
                else:
                    self.assertError(status, body, resp, 400, 'InvalidInput')
        for collection, query in (('subnets', 'ip_version'), ('ports', 'revision_number'),
                                  ('subnets', 'revision_number')):
            status, body, resp = self.raw('GET', '/v2.0/%s?%s=%d' % (collection, query, BIG))
            self.assertError(status, body, resp, 400, 'InvalidInput')
        # The widest value a column holds is a value like any other.
        status, body, _ = self.raw('GET', '/v2.0/networks?revision_number=%d' % (2 ** 63 - 1))
        self.assertEqual(([], 200), (body['networks'], status))
        status, body, _ = self.raw('GET', '/v2.0/networks?limit=%d' % BIG)
        self.assertEqual(200, status, body)

    def test_if_match(self):
        before = self.snapshot()
        path = '/v2.0/networks/' + self.net['id']
        for method, doc in (('PUT', '{"network": {"name": "z"}}'), ('DELETE', None)):
            for value in (BIG, 2 ** 63):
                status, body, resp = self.raw(method, path, doc, headers={
                    'If-Match': 'revision_number=%d' % value})
                self.assertError(status, body, resp, 400, 'InvalidInput')
        self.assertEqual(before, self.snapshot())

    def test_bodies(self):
        before = self.snapshot()
        for value in (BIG, -BIG, 2 ** 64, 2 ** 63, 1e300):
            for collection, doc in (
                    ('networks', {'network': {'mtu': value}}),
                    ('networks', {'network': {'provider:network_type': 'vlan',
                                              'provider:physical_network': 'physnet1',
                                              'provider:segmentation_id': value}}),
                    ('subnets', {'subnet': {'network_id': self.net['id'], 'ip_version': value,
                                            'cidr': '10.9.0.0/24'}})):
                status, body, resp = self.raw('POST', '/v2.0/' + collection, json.dumps(doc))
                self.assertError(status, body, resp, 400)
            status, body, resp = self.raw('PUT', '/v2.0/quotas/p', json.dumps(
                {'quota': {'network': value}}))
            self.assertError(status, body, resp, 400, 'InvalidInput')
        self.assertEqual(before, self.snapshot())

    def test_converter(self):
        self.assertEqual(2 ** 63 - 1, validators.convert_to_int(str(2 ** 63 - 1)))
        self.assertEqual(-2 ** 63, validators.convert_to_int(-2 ** 63))
        for value in (2 ** 63, -2 ** 63 - 1, str(BIG), float(BIG), '9' * 5000):
            self.assertRaises(exceptions.InvalidInput, validators.convert_to_int, value)


class TestMessages(DecodingTestCase):

    def assertShort(self, body):
        message = body['NeutronError']['message']
        self.assertLess(len(message), 400, message)
        return message

    def test_bad_values_are_not_echoed_whole(self):
        huge = 'x' * 100000
        port = '/v2.0/ports/' + self.port['id']
        for method, path, doc in (
                ('POST', '/v2.0/networks', {'network': {'name': huge}}),
                ('POST', '/v2.0/networks', {'network': {'mtu': huge}}),
                ('POST', '/v2.0/networks', {'network': {'admin_state_up': huge}}),
                ('PUT', port, {'port': {'mac_address': huge}}),
                ('PUT', port, {'port': {'fixed_ips': [{'ip_address': huge}]}}),
                ('PUT', port, {'port': {'security_groups': [huge]}}),
                ('PUT', port, {'port': {'binding:vnic_type': huge}}),
                ('PUT', port, {'port': {'allowed_address_pairs': [{huge: 1}]}}),
                ('PUT', '/v2.0/subnets/' + self.subnet['id'],
                 {'subnet': {'dns_nameservers': [huge[:20000]] * 4}}),
                ('PUT', '/v2.0/networks/%s/tags' % self.net['id'], {'tags': [huge]}),
                ('PUT', '/v2.0/quotas/p', {'quota': {'network': huge}})):
            status, body, resp = self.raw(method, path, json.dumps(doc))
            self.assertError(status, body, resp, 400)
            self.assertIn('x...', self.assertShort(body))
        long_id = 'y' * 8000
        for path, query in (('/v2.0/networks/' + long_id, ''), ('/v2.0/networks', long_id + '=1'),
                            ('/v2.0/networks', 'sort_key=' + long_id),
                            ('/v2.0/networks', 'limit=' + long_id),
                            ('/v2.0/networks/%s/tags/%s' % (self.net['id'], long_id), ''),
                            ('/v2.0/ports/%s/network-config' % long_id, ''),
                            ('/v2.0/instances/%s/network-config' % long_id, '')):
            status, body, resp = self.raw('GET', path + ('?' + query if query else ''))
            self.assertError(status, body, resp)
            self.assertIn('y...', self.assertShort(body))

    def test_any_message_renders(self):
        error = exceptions.BadRequest(resource='network', msg='\ud800' + 'z' * 5000)
        resp = wsgi_utils.error_response(error)
        message = json.loads(resp.body)['NeutronError']['message']
        self.assertTrue(message.startswith('Bad network request: \\ud800zzz'), message)
        self.assertLessEqual(len(message), wsgi_utils.MAX_MESSAGE + 3)

    def test_excerpt(self):
        self.assertEqual('abc', validators.excerpt('abc'))
        self.assertEqual('a' * validators.ECHO_MAX + '...', validators.excerpt('a' * 1000))
        self.assertEqual("['b', 'b'", validators.excerpt(['b'] * 1000)[:9])


class TestListLimits(DecodingTestCase):
    """Neutron's limits, and its option names: max_dns_nameservers,
    max_subnet_host_routes, max_allowed_address_pair; max_tags."""

    def lists(self):
        """(option, default, method, path, {attribute: list of n})."""
        subnet = '/v2.0/subnets/' + self.subnet['id']
        return [
            ('max_dns_nameservers', 5, 'PUT', subnet, lambda n: {'subnet': {
                'dns_nameservers': ['10.1.0.%d' % i for i in range(1, n + 1)]}}),
            ('max_subnet_host_routes', 20, 'PUT', subnet, lambda n: {'subnet': {
                'host_routes': [{'destination': '10.%d.0.0/16' % i, 'nexthop': '10.0.0.1'}
                                for i in range(1, n + 1)]}}),
            ('max_allowed_address_pair', 10, 'PUT', '/v2.0/ports/' + self.port['id'],
             lambda n: {'port': {'allowed_address_pairs': [
                 {'ip_address': '10.2.0.%d' % i} for i in range(1, n + 1)]}}),
            ('max_tags', 50, 'PUT', '/v2.0/networks/%s/tags' % self.net['id'],
             lambda n: {'tags': ['t%d' % i for i in range(n)]}),
        ]

    def test_defaults(self):
        for option, limit, method, path, doc in self.lists():
            before = self.snapshot()
            status, body, resp = self.raw(method, path, json.dumps(doc(limit + 1)))
            self.assertError(status, body, resp, 400, 'InvalidInput')
            self.assertIn(option, body['NeutronError']['message'])
            self.assertEqual(before, self.snapshot())
            status, body, _ = self.raw(method, path, json.dumps(doc(limit)))
            self.assertEqual(200, status, body)
        # On create too.
        status, body, resp = self.raw('POST', '/v2.0/subnets', json.dumps({'subnet': {
            'network_id': self.net['id'], 'ip_version': 4, 'cidr': '10.3.0.0/24',
            'dns_nameservers': ['10.3.0.%d' % i for i in range(1, 7)]}}))
        self.assertError(status, body, resp, 400, 'InvalidInput')
        # One tag more than the limit, by name.
        status, body, resp = self.raw('PUT', '/v2.0/networks/%s/tags/one-more' % self.net['id'])
        self.assertError(status, body, resp, 400, 'InvalidInput')
        status, body, _ = self.raw('PUT', '/v2.0/networks/%s/tags/t0' % self.net['id'])
        self.assertEqual(201, status, body)
        status, body, _ = self.raw('GET', '/v2.0/networks/%s/tags' % self.net['id'])
        self.assertEqual(50, len(body['tags']))

    def test_configurable(self):
        for option, _, method, path, doc in self.lists():
            self.override(option, 2)
            status, body, resp = self.raw(method, path, json.dumps(doc(3)))
            self.assertError(status, body, resp, 400, 'InvalidInput')
            status, body, _ = self.raw(method, path, json.dumps(doc(2)))
            self.assertEqual(200, status, body)


class TestNoauthAdministrator(DecodingTestCase):
    """noauth without X-Project-Id: an administrator of no project."""

    def test_creates_only_for_a_named_project(self):
        before = self.snapshot()
        for collection, item in (
                ('networks', {'name': 'orphan'}),
                ('subnets', {'network_id': self.net['id'], 'ip_version': 4,
                             'cidr': '10.4.0.0/24'}),
                ('ports', {'network_id': self.net['id']})):
            status, body, resp = self.raw('POST', '/v2.0/' + collection, json.dumps(
                {collection[:-1]: item}), project=None, roles=None)
            self.assertError(status, body, resp, 400, 'BadRequest')
            self.assertIn('project_id', body['NeutronError']['message'])
        self.assertEqual(before, self.snapshot())
        status, body, _ = self.raw('POST', '/v2.0/networks', json.dumps(
            {'network': {'name': 'named', 'project_id': 'q'}}), project=None, roles=None)
        self.assertEqual((201, 'q'), (status, body['network']['project_id']))

    def test_noauth_admin_project(self):
        self.override('noauth_admin_project', 'admins')
        status, body, _ = self.raw('POST', '/v2.0/networks', '{"network": {}}',
                                   project=None, roles=None)
        self.assertEqual((201, 'admins'), (status, body['network']['project_id']))
        status, body, _ = self.raw('GET', '/v2.0/networks', project=None, roles=None)
        # Still an administrator: it sees every project's networks.
        self.assertEqual({'p', 'admins'}, {n['project_id'] for n in body['networks']})


class TestRealServer(testtools.TestCase):
    """A naas-server process: a request line eventlet would refuse with an
    empty HTTP/1.0 414 gets the API's NeutronError."""

    def test_long_request_line(self):
        server = self.useFixture(servers.NaasServer())
        for length, expected in ((decoding.MAX_URL_LENGTH + 1000, 414), (100, 200)):
            conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
            self.addCleanup(conn.close)
            conn.request('GET', '/v2.0/networks?name=' + 'x' * length,
                         headers={'X-Project-Id': 'p'})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            self.assertEqual(expected, resp.status, body)
            if expected == 414:
                self.assertEqual('RequestURITooLong', body['NeutronError']['type'])
                self.assertEqual('application/json', resp.getheader('Content-Type'))
