"""No project reaches another's objects: the isolation table.

One world per test: an administrator's external network (not shared) and a
shared network; a victim project with two networks, a router (gateway on
the external network, interface on its subnet), a port with a floating IP
and a subnet-route; an intruder project with its own network and router.
The intruder tries every operation on the victim's objects, and every
create that names one of them (network_id, subnet_id, port_id, router_id,
device_id, project_id, floating_network_id, external_gateway_info), as
pagination marker too.  Each answer is compared with the answer to the
same request naming an id that does not exist: the same status and error
type (no existence oracle).  Then the victim's objects are as they were,
and the victim (and the administrator) still do what they may.
"""
import json

import testtools

from tests.fixtures import app

UNKNOWN = '3a1c3b0e-1d9a-4a8c-9d7e-2b9f1c7c1e11'
VICTIM, INTRUDER = 'victim', 'intruder'

#: collection -> (resource, error type of an id the caller may not see)
COLLECTIONS = {
    'networks': ('network', 'NetworkNotFound'),
    'subnets': ('subnet', 'SubnetNotFound'),
    'ports': ('port', 'PortNotFound'),
    'routers': ('router', 'RouterNotFound'),
    'floatingips': ('floatingip', 'FloatingIPNotFound'),
    'subnet-routes': ('subnet_route', 'SubnetRouteNotFound'),
}


class IsolationTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=['router']))
        self.world = self._build()

    # ---- helpers -------------------------------------------------------------

    def call(self, method, path, body=None, project=INTRUDER, roles=None):
        status, data, _ = self.api.call(method, '/v2.0/' + path, body, project=project,
                                        roles=roles)
        return status, data

    def ok(self, method, path, body=None, project=VICTIM, roles=None, status=None):
        got, data = self.call(method, path, body, project, roles)
        expected = status or {'POST': 201, 'DELETE': 204}.get(method, 200)
        self.assertEqual(expected, got, '%s %s: %r' % (method, path, data))
        return data

    def admin(self, method, path, body=None, status=None):
        return self.ok(method, path, body, project='ops', roles='admin', status=status)

    def create(self, collection, body, project=VICTIM):
        resource = COLLECTIONS[collection][0]
        return self.ok('POST', collection, {resource: body}, project)[resource]

    def refused(self, status, data, expected_status, expected_type):
        detail = '%s %r' % (status, data)
        self.assertEqual(expected_status, status, detail)
        self.assertEqual(expected_type, data['NeutronError']['type'], detail)

    def answer(self, method, path, body=None):
        status, data = self.call(method, path, body)
        return status, (data or {}).get('NeutronError', {}).get('type')

    def assertLikeUnknown(self, method, path, body=None, victim_id=None):
        """The intruder's request naming the victim's id answers as the same
        request naming an id that does not exist; returns that answer."""
        seen = self.answer(method, path, body)
        unknown_path = path.replace(victim_id, UNKNOWN)
        unknown_body = json.loads(json.dumps(body).replace(victim_id, UNKNOWN))
        self.assertEqual(self.answer(method, unknown_path, unknown_body), seen,
                         '%s %s %r' % (method, path, body))
        return seen

    def _build(self):
        w = {}
        w['public'] = self.admin('POST', 'networks', {'network': {
            'name': 'public', 'router:external': True}})['network']
        self.admin('POST', 'subnets', {'subnet': {
            'network_id': w['public']['id'], 'cidr': '203.0.113.0/24', 'ip_version': 4}})
        w['shared'] = self.admin('POST', 'networks', {'network': {
            'name': 'shared', 'shared': True}})['network']
        self.admin('POST', 'subnets', {'subnet': {
            'network_id': w['shared']['id'], 'cidr': '198.51.100.0/24', 'ip_version': 4}})
        for who, prefix in ((VICTIM, '10.1'), (INTRUDER, '10.2')):
            net = self.create('networks', {'name': who}, who)
            subnet = self.create('subnets', {'network_id': net['id'], 'ip_version': 4,
                                             'cidr': prefix + '.0.0/24'}, who)
            router = self.create('routers', {'name': who, 'external_gateway_info': {
                'network_id': w['public']['id']}}, who)
            self.ok('PUT', 'routers/%s/add_router_interface' % router['id'],
                    {'subnet_id': subnet['id']}, who)
            w[who] = {'network': net, 'subnet': subnet, 'router': router}
        victim = w[VICTIM]
        net2 = self.create('networks', {'name': 'second'})
        victim['subnet2'] = self.create('subnets', {'network_id': net2['id'], 'ip_version': 4,
                                                    'cidr': '10.3.0.0/24'})
        victim['port'] = self.create('ports', {'network_id': victim['network']['id']})
        victim['floatingip'] = self.create('floatingips', {
            'floating_network_id': w['public']['id'], 'port_id': victim['port']['id']})
        victim['subnet_route'] = self.create('subnet-routes', {
            'subnet_ids': [victim['subnet']['id'], victim['subnet2']['id']]})
        victim['router'] = self.ok('GET', 'routers/' + victim['router']['id'])['router']
        return w

    def victim_ids(self):
        v = self.world[VICTIM]
        return {'networks': v['network']['id'], 'subnets': v['subnet']['id'],
                'ports': v['port']['id'], 'routers': v['router']['id'],
                'floatingips': v['floatingip']['id'],
                'subnet-routes': v['subnet_route']['id']}

    def victim_view(self):
        """Everything the victim sees of its own objects, and its router's
        ports as the administrator sees them."""
        view = {c: self.ok('GET', c)[c] for c in COLLECTIONS}
        view['router ports'] = sorted(
            (p['id'], p['device_owner'], p['project_id']) for p in self.admin(
                'GET', 'ports?device_id=' + self.world[VICTIM]['router']['id'])['ports'])
        return view

    # ---- the table ---------------------------------------------------------------

    def test_show_update_delete_of_another_projects_objects(self):
        before = self.victim_view()
        for collection, id in self.victim_ids().items():
            resource, not_found = COLLECTIONS[collection]
            for method, body in (('GET', None), ('PUT', {resource: {'description': 'x'}}),
                                 ('DELETE', None)):
                if collection == 'subnet-routes' and method == 'PUT':
                    continue  # subnet-routes have no update (405 for any id)
                self.assertEqual(
                    (404, not_found),
                    self.assertLikeUnknown(method, '%s/%s' % (collection, id), body, id))
        self.assertEqual(before, self.victim_view())

    def test_lists_with_filters_and_markers(self):
        for collection, id in self.victim_ids().items():
            resource, not_found = COLLECTIONS[collection]
            status, data = self.call('GET', '%s?id=%s' % (collection, id))
            self.assertEqual((200, []), (status, data[collection]))
            # Neutron's get_marker_obj: the marker is fetched as the caller
            # sees it; one it may not see is not found, as an unknown one.
            for query in ('limit=1&marker=%s', 'limit=1&page_reverse=True&marker=%s',
                          'sort_key=id&sort_dir=desc&limit=1&marker=%s'):
                path = '%s?%s' % (collection, query % id)
                self.assertEqual((404, not_found), self.assertLikeUnknown('GET', path, None, id))
            # The owner pages by its own marker.
            self.ok('GET', '%s?limit=1&marker=%s' % (collection, id))
        ids = self.victim_ids()
        for query in ('ports?network_id=' + ids['networks'],
                      'ports?device_id=' + ids['routers'],
                      'subnets?network_id=' + ids['networks'],
                      'networks?subnets=' + ids['subnets'],
                      'floatingips?port_id=' + ids['ports'],
                      'floatingips?router_id=' + ids['routers'],
                      'subnet-routes?subnet_ids=' + ids['subnets']):
            collection = query.split('?')[0]
            self.assertEqual([], self.ok('GET', query, project=INTRUDER)[collection], query)
            self.assertTrue(self.ok('GET', query)[collection], query)

    def test_shared_and_external_rows_are_markers_for_everyone(self):
        public = self.world['public']['id']
        names = [n['name'] for n in self.ok(
            'GET', 'networks?sort_key=name&limit=5&marker=' + public,
            project=INTRUDER)['networks']]
        self.assertEqual(['shared'], names)

    def test_creates_naming_another_projects_objects(self):
        w, ids = self.world, self.victim_ids()
        v, mine = w[VICTIM], w[INTRUDER]
        before = self.victim_view()
        cases = [
            # (method, path, body, the victim's id in it, expected answer)
            ('POST', 'subnets', {'subnet': {'network_id': ids['networks'], 'ip_version': 4,
                                            'cidr': '10.9.0.0/24'}},
             ids['networks'], (404, 'NetworkNotFound')),
            ('POST', 'ports', {'port': {'network_id': ids['networks']}},
             ids['networks'], (404, 'NetworkNotFound')),
            ('POST', 'ports', {'port': {'network_id': mine['network']['id'],
                                        'fixed_ips': [{'subnet_id': ids['subnets']}]}},
             ids['subnets'], (400, 'InvalidInput')),
            ('POST', 'floatingips', {'floatingip': {'floating_network_id': ids['networks']}},
             ids['networks'], (404, 'NetworkNotFound')),
            ('POST', 'floatingips', {'floatingip': {'floating_network_id': w['public']['id'],
                                                    'port_id': ids['ports']}},
             ids['ports'], (404, 'PortNotFound')),
            ('PUT', 'floatingips/%s' % ids['floatingips'], {'floatingip': {'port_id': None}},
             ids['floatingips'], (404, 'FloatingIPNotFound')),
            ('POST', 'routers', {'router': {'external_gateway_info': {
                'network_id': ids['networks']}}},
             ids['networks'], (404, 'NetworkNotFound')),
            ('PUT', 'routers/%s' % mine['router']['id'], {'router': {'external_gateway_info': {
                'network_id': ids['networks']}}},
             ids['networks'], (404, 'NetworkNotFound')),
            ('PUT', 'routers/%s/add_router_interface' % mine['router']['id'],
             {'subnet_id': ids['subnets']}, ids['subnets'], (404, 'SubnetNotFound')),
            ('PUT', 'routers/%s/add_router_interface' % mine['router']['id'],
             {'port_id': ids['ports']}, ids['ports'], (404, 'PortNotFound')),
            ('PUT', 'routers/%s/remove_router_interface' % mine['router']['id'],
             {'subnet_id': ids['subnets']}, ids['subnets'], (404, 'SubnetNotFound')),
            ('PUT', 'routers/%s/add_router_interface' % ids['routers'],
             {'subnet_id': mine['subnet']['id']}, ids['routers'], (404, 'RouterNotFound')),
            ('POST', 'subnet-routes', {'subnet_route': {
                'subnet_ids': [mine['subnet']['id'], ids['subnets']]}},
             ids['subnets'], (404, 'SubnetNotFound')),
        ]
        for method, path, body, victim_id, expected in cases:
            self.assertEqual(expected, self.assertLikeUnknown(method, path, body, victim_id))
        self.assertEqual(before, self.victim_view())
        self.assertEqual(v['router']['external_gateway_info'],
                         self.victim_view()['routers'][0]['external_gateway_info'])

    def test_only_an_administrator_creates_for_another_project(self):
        before = self.victim_view()
        mine = self.world[INTRUDER]
        bodies = {
            'networks': {'name': 'x'},
            'subnets': {'network_id': mine['network']['id'], 'ip_version': 4,
                        'cidr': '10.8.0.0/24'},
            'ports': {'network_id': mine['network']['id']},
            'routers': {'name': 'x'},
            'floatingips': {'floating_network_id': self.world['public']['id']},
        }
        for collection, body in bodies.items():
            resource = COLLECTIONS[collection][0]
            for key in ('project_id', 'tenant_id'):
                status, data = self.call('POST', collection,
                                         {resource: dict(body, **{key: VICTIM})})
                self.refused(status, data, 403, 'PolicyNotAuthorized')
            # ... its own project is fine, and an administrator may.
            self.create(collection, dict(body), INTRUDER)
            if collection == 'subnets':
                body['cidr'] = '10.6.0.0/24'
            made = self.admin('POST', collection, {resource: dict(body, project_id=VICTIM)})
            self.assertEqual(VICTIM, made[resource]['project_id'])
            self.admin('DELETE', '%s/%s' % (collection, made[resource]['id']))
        self.assertEqual(before, self.victim_view())

    def test_ports_on_an_external_network_that_is_not_shared(self):
        public = self.world['public']['id']
        status, data = self.call('POST', 'ports', {'port': {'network_id': public}})
        self.refused(status, data, 403, 'PolicyNotAuthorized')
        admin_view = self.admin('GET', 'ports?network_id=' + public)['ports']
        self.assertNotIn(INTRUDER, {p['project_id'] for p in admin_view})
        # A shared network is everyone's to plug into; an administrator may
        # plug a port for a project into the external network.
        self.create('ports', {'network_id': self.world['shared']['id']}, INTRUDER)
        self.admin('POST', 'ports', {'port': {'network_id': public, 'project_id': INTRUDER}})

    def test_ports_planted_in_another_projects_router(self):
        v, mine = self.world[VICTIM], self.world[INTRUDER]
        victim_router = v['router']['id']
        before = self.victim_view()
        for owner in ('network:router_interface', 'network:router_gateway'):
            body = {'network_id': mine['network']['id'], 'device_owner': owner,
                    'device_id': victim_router}
            status, data = self.call('POST', 'ports', {'port': body})
            self.refused(status, data, 409, 'DeviceIDNotOwnedByTenant')
            port = self.create('ports', {'network_id': mine['network']['id']}, INTRUDER)
            for update in ({'device_owner': owner, 'device_id': victim_router},):
                status, data = self.call('PUT', 'ports/' + port['id'], {'port': update})
                self.refused(status, data, 409, 'DeviceIDNotOwnedByTenant')
            # In two steps: the owner first, then the device.
            self.ok('PUT', 'ports/' + port['id'], {'port': {'device_owner': owner}},
                    project=INTRUDER)
            status, data = self.call('PUT', 'ports/' + port['id'],
                                     {'port': {'device_id': victim_router}})
            self.refused(status, data, 409, 'DeviceIDNotOwnedByTenant')
        self.assertEqual(before, self.victim_view())
        # A port of the victim on the intruder's network cannot join the
        # intruder's router either (the port's project must own the router).
        subnet = self.create('subnets', {'network_id': mine['network']['id'], 'ip_version': 4,
                                         'cidr': '10.5.0.0/24'}, INTRUDER)
        victim_port = self.admin('POST', 'ports', {'port': {
            'network_id': mine['network']['id'], 'project_id': VICTIM,
            'fixed_ips': [{'subnet_id': subnet['id']}]}})['port']
        status, data = self.call('PUT', 'routers/%s/add_router_interface'
                                 % mine['router']['id'], {'port_id': victim_port['id']})
        self.refused(status, data, 409, 'DeviceIDNotOwnedByTenant')
        self.assertEqual('', self.admin('GET', 'ports/' + victim_port['id'])['port']['device_id'])
        # The victim's router: no route through the intruder's subnet, the
        # gateway it had, and it still goes.
        status, data = self.call('PUT', 'routers/' + victim_router, {'router': {'routes': [
            {'destination': '192.0.2.0/24', 'nexthop': '10.2.0.10'}]}}, project=VICTIM)
        self.refused(status, data, 400, 'InvalidRoutes')
        router = self.ok('GET', 'routers/' + victim_router)['router']
        self.assertEqual(v['router']['external_gateway_info'], router['external_gateway_info'])
        self.ok('DELETE', 'floatingips/' + v['floatingip']['id'])
        self.ok('DELETE', 'subnet-routes/' + v['subnet_route']['id'])
        self.ok('PUT', 'routers/%s/remove_router_interface' % victim_router,
                {'subnet_id': v['subnet']['id']})
        self.ok('DELETE', 'routers/' + victim_router)

    def test_own_router_devices_and_administrators_still_work(self):
        mine = self.world[INTRUDER]
        subnet = self.create('subnets', {'network_id': mine['network']['id'], 'ip_version': 4,
                                         'cidr': '10.7.0.0/24'}, INTRUDER)
        port = self.create('ports', {'network_id': mine['network']['id'],
                                     'fixed_ips': [{'subnet_id': subnet['id']}]}, INTRUDER)
        self.ok('PUT', 'routers/%s/add_router_interface' % mine['router']['id'],
                {'port_id': port['id']}, INTRUDER)
        self.admin('POST', 'ports', {'port': {
            'network_id': mine['network']['id'], 'device_owner': 'network:router_interface',
            'device_id': self.world[VICTIM]['router']['id'], 'project_id': INTRUDER}})
