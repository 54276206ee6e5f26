"""Bad input never breaks the API: every refusal is a 4xx with a NeutronError
body, never a 500, and a refused request leaves nothing behind.

The fuzz tests send hostile values for every attribute of every resource's
attribute map, on create and on update, and compare the database before
and after each refused request.
"""
import functools
import io
import json
import urllib.parse

import sqlalchemy as sa
import testtools
import webob

from naas.db import api as db_api
from naas.db import models
from naas.lib import definitions
from naas.plugins import manager as plugin_manager
from tests.fixtures import app

UNKNOWN_ID = '3a1c3b0e-1d9a-4a8c-9d7e-2b9f1c7c1e11'

# The values of the brief, and a few that found bugs (inf: OverflowError in
# int(); an IP address as a MAC: IndexError in netaddr; NUL; a lone surrogate:
# UnicodeEncodeError on insert and in the error; 10**30: OverflowError in the
# driver; a deep dict: stored, then unreadable; long values and lists: echoed
# whole, or past Neutron's limits).
HOSTILE = [None, [], {}, '', 'x' * 300, -1, 2 ** 70, '\u2603', {'a': 1},
           True, float('inf'), [{}], ['x'], '10.0.0.1', '\x00',
           '\ud800', 'a\udfffb', 10 ** 30, -10 ** 30, 'y' * 100000,
           functools.reduce(lambda inner, _: {'k': inner}, range(40), {}),
           functools.reduce(lambda inner, _: {'k': inner}, range(12), {}),
           ['10.0.0.%d' % i for i in range(1, 200)],
           [{'ip_address': '10.0.0.%d' % i, 'destination': '10.%d.0.0/16' % i,
             'nexthop': '10.0.0.1'} for i in range(1, 100)]]
#: Longest error message a refusal may send (bad values are shortened).
MAX_MESSAGE = 1100

# Tables whose rows a refused request must not change.
WATCHED = ('networks', 'subnets', 'ports', 'ip_allocations', 'tags',
           'ipam_free_ranges', 'quotas')


class APITestCase(testtools.TestCase):
    """An API on a fresh database, and assertions on error bodies."""

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture())

    def call(self, method, path, body=None, project='p', roles=None, **kw):
        return self.api.call(method, path, body, project=project, roles=roles, **kw)

    def admin(self, method, path, body=None):
        return self.call(method, path, body, roles='admin')

    def assertError(self, status, body, resp, expected_status=None, expected_type=None):
        """A 4xx (or the expected status) with a well-formed NeutronError."""
        detail = '%s %r' % (status, body)
        if expected_status is not None:
            self.assertEqual(expected_status, status, detail)
        self.assertTrue(400 <= status < 500, detail)
        self.assertEqual('application/json', resp.content_type, detail)
        self.assertIsInstance(body, dict, detail)
        self.assertEqual(['NeutronError'], list(body), detail)
        err = body['NeutronError']
        self.assertEqual({'type', 'message', 'detail'}, set(err), detail)
        self.assertIsInstance(err['type'], str)
        self.assertIsInstance(err['message'], str)
        self.assertTrue(err['message'])
        if expected_type is not None:
            self.assertEqual(expected_type, err['type'], detail)

    def create(self, collection, resource, body, **kw):
        status, data, _ = self.admin('POST', '/v2.0/' + collection, {resource: body})
        self.assertEqual(201, status, data)
        return data[resource]

    def snapshot(self):
        """Every row of the watched tables (a refused request changes none)."""
        out = {}
        with db_api.get_engine().connect() as conn:
            for name in WATCHED:
                table = models.metadata.tables[name]
                out[name] = sorted(tuple(str(v) for v in row)
                                   for row in conn.execute(sa.select(table)))
        return out

    def count(self, table):
        with db_api.get_engine().connect() as conn:
            t = models.metadata.tables[table]
            return conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()


class TestMalformedRequests(APITestCase):

    def setUp(self):
        super().setUp()
        self.net = self.create('networks', 'network', {'name': 'n'})

    def test_malformed_json(self):
        for raw in (b'{', b'{"network": ', b'not json', b'{"network": {"name": }}',
                    b"{'network': {}}", b'\xff\xfe\x00'):
            for method, path in (('POST', '/v2.0/networks'),
                                 ('PUT', '/v2.0/networks/' + self.net['id'])):
                status, body, resp = self.call(method, path, raw)
                self.assertError(status, body, resp, 400)
        self.assertEqual(1, self.count('networks'))

    def test_empty_body(self):
        for method, path in (('POST', '/v2.0/networks'),
                             ('PUT', '/v2.0/networks/' + self.net['id']),
                             ('PUT', '/v2.0/networks/%s/tags' % self.net['id'])):
            status, body, resp = self.call(method, path, b'')
            self.assertError(status, body, resp, 400)

    def test_body_not_an_object(self):
        for raw in ([], [{'name': 'x'}], 'network', 1, None, True):
            status, body, resp = self.call('POST', '/v2.0/networks',
                                           json.dumps(raw).encode())
            self.assertError(status, body, resp, 400)
            status, body, resp = self.call('PUT', '/v2.0/networks/' + self.net['id'],
                                           json.dumps(raw).encode())
            self.assertError(status, body, resp, 400)
        self.assertEqual(1, self.count('networks'))

    def test_resource_not_an_object(self):
        for value in ([], 'x', 1, None, [{'name': 'x'}]):
            status, body, resp = self.call('POST', '/v2.0/networks', {'network': value})
            self.assertError(status, body, resp, 400)
            status, body, resp = self.call('PUT', '/v2.0/networks/' + self.net['id'],
                                           {'network': value})
            self.assertError(status, body, resp, 400)

    def test_wrong_envelope(self):
        for doc in ({'port': {'name': 'x'}}, {'network': {}, 'extra': 1},
                    {'Network': {'name': 'x'}}, {}, {'networks': {}},
                    {'networks': 'x'}):
            status, body, resp = self.call('POST', '/v2.0/networks', doc)
            self.assertError(status, body, resp, 400)
        status, body, resp = self.call('PUT', '/v2.0/networks/' + self.net['id'],
                                       {'networks': [{'name': 'x'}]})
        self.assertError(status, body, resp, 400)
        self.assertEqual(1, self.count('networks'))

    def test_unknown_attribute(self):
        status, body, resp = self.call('POST', '/v2.0/networks',
                                       {'network': {'name': 'x', 'colour': 'red'}})
        self.assertError(status, body, resp, 400)
        self.assertIn('colour', body['NeutronError']['message'])
        status, body, resp = self.call('PUT', '/v2.0/networks/' + self.net['id'],
                                       {'network': {'colour': 'red'}})
        self.assertError(status, body, resp, 400)

    def test_read_only_attributes(self):
        for attr, value in (('id', UNKNOWN_ID), ('status', 'DOWN'),
                            ('created_at', '2020-01-01T00:00:00Z'),
                            ('revision_number', 7), ('subnets', []), ('tags', ['a'])):
            status, body, resp = self.call('POST', '/v2.0/networks',
                                           {'network': {'name': 'x', attr: value}})
            self.assertError(status, body, resp, 400)
            status, body, resp = self.call('PUT', '/v2.0/networks/' + self.net['id'],
                                           {'network': {attr: value}})
            self.assertError(status, body, resp, 400)
        self.assertEqual(1, self.count('networks'))

    def test_wrong_types(self):
        for attrs in ({'admin_state_up': 'maybe'}, {'admin_state_up': 2},
                      {'admin_state_up': None}, {'admin_state_up': []},
                      {'name': ['a']}, {'name': 1}, {'name': None}, {'name': {'a': 1}},
                      {'name': 'x' * 256}, {'description': 5},
                      {'mtu': 'big'}, {'mtu': 10}, {'mtu': True},
                      {'shared': 'yes please'}, {'availability_zone_hints': 'az'}):
            status, body, resp = self.call('POST', '/v2.0/networks', {'network': attrs})
            self.assertError(status, body, resp, 400)
            self.assertEqual('InvalidInput', body['NeutronError']['type'], attrs)
        self.assertEqual(1, self.count('networks'))

    def test_unicode_names(self):
        for name in ('r\u00e9seau', '\u2603 snowman', '\u7f51\u7edc', 'x' * 255,
                     '\U0001f310', "quote ' and \" and \\"):
            status, body, _ = self.call('POST', '/v2.0/networks', {'network': {'name': name}})
            self.assertEqual(201, status, body)
            self.assertEqual(name, body['network']['name'])
            status, body, _ = self.call('GET', '/v2.0/networks/' + body['network']['id'])
            self.assertEqual(name, body['network']['name'])
            status, body, _ = self.call('GET', '/v2.0/networks?name=' +
                                        urllib.parse.quote(name))
            self.assertEqual([name], [n['name'] for n in body['networks']])

    def test_bad_uuids_in_path(self):
        for bad in ('not-a-uuid', '1', UNKNOWN_ID, UNKNOWN_ID.upper(), "'; drop table",
                    '..', '%25FF'):
            for collection in ('networks', 'subnets', 'ports'):
                for method, body in (('GET', None), ('DELETE', None),
                                     ('PUT', {collection[:-1]: {'name': 'x'}})):
                    status, data, resp = self.call(method, '/v2.0/%s/%s' % (collection, bad),
                                                   body)
                    self.assertError(status, data, resp, 404)
                status, data, resp = self.call('GET', '/v2.0/%s/%s/tags' % (collection, bad))
                self.assertError(status, data, resp, 404)

    def test_bad_uuids_in_body(self):
        for bad in ('abc', 1, None, UNKNOWN_ID[:-1], UNKNOWN_ID + 'a'):
            status, body, resp = self.call('POST', '/v2.0/ports', {'port': {'network_id': bad}})
            self.assertError(status, body, resp, 400)
            status, body, resp = self.call('POST', '/v2.0/subnets', {'subnet': {
                'network_id': bad, 'ip_version': 4, 'cidr': '10.0.0.0/24'}})
            self.assertError(status, body, resp, 400)
            status, body, resp = self.call('POST', '/v2.0/ports', {'port': {
                'network_id': self.net['id'], 'fixed_ips': [{'subnet_id': bad}]}})
            self.assertError(status, body, resp, 400)
        status, body, resp = self.call('POST', '/v2.0/ports', {'port': {
            'network_id': self.net['id'], 'fixed_ips': [{'subnet_id': UNKNOWN_ID}]}})
        self.assertError(status, body, resp, 400)
        self.assertEqual(0, self.count('ports'))

    def test_invalid_cidrs(self):
        for cidr in ('10.0.0.0', '10.0.0.0/33', '300.0.0.0/8', '10.0.0.1/24', 'x/24',
                     '10.0.0.0/-1', '10.0.0.0/24/1', '', '::/129', '2001:db8::1/64',
                     '10.0.0.0/0', 'fe80::/0', 1, None, ['10.0.0.0/24']):
            status, body, resp = self.call('POST', '/v2.0/subnets', {'subnet': {
                'network_id': self.net['id'], 'ip_version': 4, 'cidr': cidr}})
            self.assertError(status, body, resp, 400)
        self.assertEqual(0, self.count('subnets'))

    def test_invalid_ips(self):
        status, body, _ = self.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': self.net['id'], 'ip_version': 4, 'cidr': '10.0.0.0/24'}})
        self.assertEqual(201, status, body)
        subnet_id = body['subnet']['id']
        for ip in ('10.0.0', '10.0.0.256', '010.000.000.005', 'x', '', 5, None,
                   '10.0.0.5/24', '::ffff:10.0.0.5x'):
            status, body, resp = self.call('POST', '/v2.0/ports', {'port': {
                'network_id': self.net['id'], 'fixed_ips': [{'ip_address': ip}]}})
            self.assertError(status, body, resp, 400)
            status, body, resp = self.call('POST', '/v2.0/subnets', {'subnet': {
                'network_id': self.net['id'], 'ip_version': 4, 'cidr': '10.1.0.0/24',
                'gateway_ip': ip}})
            if ip is not None:
                self.assertError(status, body, resp, 400)
            status, body, resp = self.call('PUT', '/v2.0/subnets/' + subnet_id, {'subnet': {
                'allocation_pools': [{'start': ip, 'end': '10.0.0.9'}]}})
            self.assertError(status, body, resp, 400)
            status, body, resp = self.call('PUT', '/v2.0/subnets/' + subnet_id, {'subnet': {
                'dns_nameservers': [ip]}})
            self.assertError(status, body, resp, 400)
        self.assertEqual(0, self.count('ports'))

    def test_invalid_macs(self):
        for mac in ('zz', 'fa:16:3e:00:00:0g', 'fa:16:3e:00:00', 'fa:16:3e:00:00:00:01',
                    '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00',
                    '', 'x' * 300, '\u2603', 12345, True, None, ['fa:16:3e:00:00:01'],
                    'fa16.3e00.0001x'):
            status, body, resp = self.call('POST', '/v2.0/ports', {'port': {
                'network_id': self.net['id'], 'mac_address': mac}})
            self.assertError(status, body, resp, 400)
            status, body, resp = self.call('POST', '/v2.0/ports', {'port': {
                'network_id': self.net['id'],
                'allowed_address_pairs': [{'ip_address': '10.0.0.5', 'mac_address': mac}]}})
            self.assertError(status, body, resp, 400)
        self.assertEqual(0, self.count('ports'))

    def test_bad_list_parameters(self):
        for query in ('sort_key=colour', 'sort_key=tags', 'sort_key=name&sort_dir=sideways',
                      'sort_key=name&sort_dir=asc&sort_dir=desc', 'sort_dir=asc',
                      'limit=-1', 'limit=-100', 'limit=1.5', 'limit=x', 'limit=',
                      'limit=99999999999999999999999999999x',
                      'limit=2&marker=' + UNKNOWN_ID, 'limit=2&marker=garbage',
                      'page_reverse=perhaps', 'colour=red',
                      'mtu=big', 'shared=perhaps', 'admin_state_up=2',
                      'revision_number=x', 'fixed_ips=ip_address'):
            for collection in ('networks', 'subnets', 'ports'):
                if collection != 'networks' and query.startswith(('mtu', 'shared')):
                    continue
                if collection != 'ports' and query.startswith('fixed_ips'):
                    continue
                status, body, resp = self.call('GET', '/v2.0/%s?%s' % (collection, query))
                # An unknown marker: 400 or, as a not found object, 404.
                self.assertError(status, body, resp, None if 'marker' in query else 400)

    def test_huge_limit_is_fine(self):
        status, body, _ = self.call('GET', '/v2.0/networks?limit=99999999999999999999999')
        self.assertEqual(200, status, body)
        self.assertEqual(1, len(body['networks']))

    def test_every_filter_is_served(self):
        # Each attribute a definition says is a filter is answered, not a 500.
        for collection, definition, _ in plugin_manager.get_manager().registry.served():
            for name, spec in definition.RESOURCE_ATTRIBUTE_MAP.items():
                if not spec.get('is_filter'):
                    continue
                for value in ('x', '', '1', 'true', UNKNOWN_ID):
                    query = urllib.parse.urlencode({name: value})
                    status, body, resp = self.admin('GET', '/v2.0/%s?%s' % (collection, query))
                    if status != 200:
                        self.assertError(status, body, resp, 400)
                    else:
                        self.assertIsInstance(
                            body[getattr(definition, 'COLLECTION_KEY', collection)], list)

    def test_body_too_large(self):
        big = {'network': {'name': 'x', 'description': 'y' * 200000}}
        status, body, resp = self.call('POST', '/v2.0/networks', big)
        self.assertError(status, body, resp, 413)
        self.assertEqual('RequestEntityTooLarge', body['NeutronError']['type'])
        status, body, resp = self.call('PUT', '/v2.0/networks/' + self.net['id'], big)
        self.assertError(status, body, resp, 413)
        self.assertEqual(1, self.count('networks'))

    def test_chunked_body(self):
        # A chunked body within the limit is read and used.
        req = webob.Request.blank('/v2.0/networks', method='POST')
        req.environ['wsgi.input'] = io.BytesIO(b'{"network": {"name": "chunked"}}')
        req.environ['SERVER_PROTOCOL'] = 'HTTP/1.1'
        req.environ['wsgi.input_terminated'] = True
        req.environ.pop('CONTENT_LENGTH', None)
        req.headers['Transfer-Encoding'] = 'chunked'
        req.headers['X-Project-Id'] = 'p'
        req.content_type = 'application/json'
        resp = req.get_response(self.api.app)
        self.assertEqual(201, resp.status_int, resp.body)
        self.assertEqual('chunked', resp.json['network']['name'])

    def test_chunked_body_too_large(self):
        # No Content-Length: the body is read up to the limit and refused.
        req = webob.Request.blank('/v2.0/networks', method='POST')
        data = json.dumps({'network': {'name': 'y' * 200000}}).encode()
        req.environ['wsgi.input'] = io.BytesIO(data)
        req.environ['SERVER_PROTOCOL'] = 'HTTP/1.1'
        req.environ['wsgi.input_terminated'] = True  # as eventlet/uWSGI set it
        req.environ.pop('CONTENT_LENGTH', None)
        req.headers['Transfer-Encoding'] = 'chunked'
        req.headers['X-Project-Id'] = 'p'
        req.content_type = 'application/json'
        resp = req.get_response(self.api.app)
        self.assertEqual(413, resp.status_int, resp.body)
        self.assertEqual('RequestEntityTooLarge', resp.json['NeutronError']['type'])
        self.assertEqual(1, self.count('networks'))

    def test_body_just_under_the_limit_is_read(self):
        # A big but allowed body gets past the size check to validation.
        doc = {'network': {'name': 'x', 'description': 'y' * 100000}}
        status, body, resp = self.call('POST', '/v2.0/networks', doc)
        self.assertError(status, body, resp, 400, 'InvalidInput')

    def test_unknown_paths_and_methods(self):
        for method, path, expected in (
                ('GET', '/v2.0/widgets', 404), ('GET', '/v2.0/networks/x/y/z', 404),
                ('GET', '/v1.0/networks', 404), ('GET', '/v2.0/networks/%s/tags/a/b'
                                                 % self.net['id'], 404),
                ('PATCH', '/v2.0/networks/' + self.net['id'], 405),
                ('POST', '/v2.0/networks/' + self.net['id'], 405),
                ('DELETE', '/v2.0/subnets', 405), ('PUT', '/v2.0/ports', 405),
                ('POST', '/v2.0/quotas', 405), ('POST', '/v2.0/extensions/quotas', 405),
                ('POST', '/v2.0/networks/%s/tags' % self.net['id'], 405)):
            status, body, resp = self.call(method, path, {'x': 1} if method in (
                'POST', 'PUT', 'PATCH') else None)
            self.assertError(status, body, resp, expected)

    def test_bad_if_match(self):
        for header in ('revision_number=x', 'revision_number=-1', '*', 'W/"x"', ''):
            status, body, resp = self.call('PUT', '/v2.0/networks/' + self.net['id'],
                                           {'network': {'name': 'z'}},
                                           headers={'If-Match': header})
            if header:
                self.assertError(status, body, resp, 400)
        status, body, _ = self.call('GET', '/v2.0/networks/' + self.net['id'])
        self.assertIn(body['network']['name'], ('n', 'z'))

    def test_bad_tags(self):
        path = '/v2.0/networks/%s/tags' % self.net['id']
        for tags in ('a', None, [1], [''], ['a,b'], ['x' * 256], [['a']], {'a': 1}):
            status, body, resp = self.call('PUT', path, {'tags': tags})
            self.assertError(status, body, resp, 400)
        status, body, resp = self.call('PUT', path + '/' + 'x' * 256)
        self.assertError(status, body, resp, 400)
        status, body, _ = self.call('GET', path)
        self.assertEqual([], body['tags'])

    def test_bad_quota_values(self):
        for value in ('x', None, -2, 2 ** 70, '1.5', [], {}, True, float('inf')):
            status, body, resp = self.admin('PUT', '/v2.0/quotas/p',
                                            {'quota': {'network': value}})
            self.assertError(status, body, resp, 400)
        for doc in ({'quota': {'widgets': 1}}, {'quota': []}, {'quotas': {}}, [], {}):
            status, body, resp = self.admin('PUT', '/v2.0/quotas/p', doc)
            self.assertError(status, body, resp, 400)
        self.assertEqual(0, self.count('quotas'))


class FuzzMixin:
    """Hostile values for each attribute of one resource, on POST and PUT."""

    collection = None

    def setUp(self):
        super().setUp()
        # Ports are created on `net` (a /16 to allocate from); updates go
        # to resources on `other` so that the creates are not disturbed.
        self.net = self.create('networks', 'network', {'name': 'fuzz'})
        self.subnet = self.create('subnets', 'subnet', {
            'network_id': self.net['id'], 'ip_version': 4, 'cidr': '10.100.0.0/16'})
        self.other = self.create('networks', 'network', {'name': 'target'})
        self.other_subnet = self.create('subnets', 'subnet', {
            'network_id': self.other['id'], 'ip_version': 4, 'cidr': '10.200.0.0/24'})
        self.other_port = self.create('ports', 'port', {'network_id': self.other['id']})
        self.subnet_net = self.create('networks', 'network', {'name': 'for-subnets'})

    def base_body(self):
        return {
            'networks': {'name': 'fuzzed'},
            'subnets': {'network_id': self.subnet_net['id'], 'ip_version': 4,
                        'cidr': '10.50.0.0/24'},
            'ports': {'network_id': self.net['id']},
        }[self.collection]

    def target(self):
        return {'networks': self.other, 'subnets': self.other_subnet,
                'ports': self.other_port}[self.collection]

    def attributes(self):
        return sorted(definitions.RESOURCES[self.collection].RESOURCE_ATTRIBUTE_MAP)

    def _check(self, method, path, doc, name, value):
        """Send one hostile request: < 500, and if refused, nothing changed.

        The database only changes when a request succeeds, so the snapshot
        taken after one request is the "before" of the next.
        """
        before = self._state if self._state is not None else self.snapshot()
        status, body, resp = self.admin(method, path, doc)
        what = '%s %s %s=%.100r -> %s %.300r' % (method, path, name, value, status, body)
        self.assertLess(status, 500, what)
        if status >= 400:
            self.assertError(status, body, resp)
            self.assertLess(len(body['NeutronError']['message']), MAX_MESSAGE, what)
            self.assertEqual(before, self.snapshot(), 'refused but changed: ' + what)
            self._state = before
            self._refused += 1
        else:
            self._state = None
        return status, body

    _state = None
    _refused = 0

    def test_fuzz_create(self):
        resource = self.collection[:-1]
        for name in self.attributes():
            for value in HOSTILE:
                doc = {resource: dict(self.base_body(), **{name: value})}
                count = self.count(self.collection)
                status, body = self._check('POST', '/v2.0/' + self.collection, doc,
                                           name, value)
                if status == 201:
                    self.assertEqual(count + 1, self.count(self.collection))
                    status, body, _ = self.admin('DELETE', '/v2.0/%s/%s' % (
                        self.collection, body[resource]['id']))
                    self.assertEqual(204, status, body)
                    continue
                # Refused alone, it is refused in a bulk after a good item,
                # and the good item is not created either.
                good = dict(self.base_body(), name='good')
                if self.collection == 'subnets':
                    good.update(network_id=self.other['id'], cidr='10.201.0.0/24')
                status, body = self._check(
                    'POST', '/v2.0/' + self.collection,
                    {self.collection: [good, doc[resource]]}, name, value)
                self.assertGreaterEqual(status, 400, body)
        self.assertGreater(self._refused, len(self.attributes()))

    def test_fuzz_update(self):
        resource = self.collection[:-1]
        path = '/v2.0/%s/%s' % (self.collection, self.target()['id'])
        for name in self.attributes():
            for value in HOSTILE:
                self._check('PUT', path, {resource: {name: value}}, name, value)
        status, body, _ = self.admin('GET', path)
        self.assertEqual(200, status, body)
        # Whatever was accepted can be listed back (a stored deep dict could not).
        status, body, _ = self.admin('GET', '/v2.0/' + self.collection)
        self.assertEqual(200, status, body)
        self.assertGreater(self._refused, len(self.attributes()))


class TestFuzzNetworks(FuzzMixin, APITestCase):
    collection = 'networks'


class TestFuzzSubnets(FuzzMixin, APITestCase):
    collection = 'subnets'


class TestFuzzPorts(FuzzMixin, APITestCase):
    collection = 'ports'
