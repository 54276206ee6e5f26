"""The L3 RPC end to end on the in-process transport: scheduling routers to
L3 agents, casts after commit, sync_routers and floating IP statuses."""
import threading

import oslo_messaging as messaging
import testtools

from naas import rpc
from naas.lib import constants
from naas.plugins import manager as plugin_manager
from naas.plugins.l3 import scheduler
from naas.rpc import l3_api
from naas.rpc import server_api
from tests.fixtures import app

ADMIN = {'project': 'ops', 'roles': 'admin'}


class FakeL3Agent:
    """Records the casts an L3 agent gets."""

    def __init__(self):
        self.events = []
        self.got = threading.Event()

    def _record(self, *event):
        self.events.append(event)
        self.got.set()

    def on_routers_updated(self, router_ids):
        self._record('routers_updated', sorted(router_ids))

    def on_router_deleted(self, router_id):
        self._record('router_deleted', router_id)

    def on_subnet_routes_updated(self, router_id, subnet_route_ids):
        self._record('subnet_routes_updated', router_id, subnet_route_ids)

    def wait_for(self, event, timeout=10):
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(e[0] == event for e in self.events):
                return [e for e in self.events if e[0] == event]
            self.got.wait(0.1)
            self.got.clear()
        raise AssertionError('no %s cast: %s' % (event, self.events))


class TestL3RPC(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=['router']))
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        manager = plugin_manager.get_manager()
        self.l3 = manager.services['router']
        for server in manager.core.start_rpc_listeners() + self.l3.start_rpc_listeners():
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)

    def call(self, method, path, body=None, status=None, **kwargs):
        kwargs.setdefault('project', 'p')
        code, data, _ = self.api.call(method, path, body, **kwargs)
        if status is not None:
            self.assertEqual(status, code, data)
        return data

    def report(self, host, agent_type=constants.AGENT_TYPE_L3):
        self.assertEqual('alive', server_api.ServerAPI(host, timeout=10).report_state({}, {
            'agent_type': agent_type, 'binary': 'naas-agent', 'topic': l3_api.L3_AGENT_TOPIC,
            'host': host, 'start_flag': True,
            'configurations': {'tunnel_ip': '192.0.2.9', 'tunnel_types': ['vxlan']}}))

    def listen(self, host):
        agent = FakeL3Agent()
        target = messaging.Target(topic=l3_api.L3_AGENT_TOPIC, server=host)
        server = rpc.get_server(target, [l3_api.L3AgentEndpoint(agent)])
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)
        return agent

    def topology(self):
        """An external network, a project network and a router joining them."""
        ext = self.call('POST', '/v2.0/networks', {'network': {
            'name': 'public', 'router:external': True}}, 201, **ADMIN)['network']
        ext_sub = self.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': ext['id'], 'ip_version': 4, 'cidr': '203.0.113.0/24'}},
            201, **ADMIN)['subnet']
        net = self.call('POST', '/v2.0/networks', {'network': {'name': 'n'}}, 201)['network']
        sub = self.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': net['id'], 'ip_version': 4, 'cidr': '10.0.0.0/24'}}, 201)['subnet']
        router = self.call('POST', '/v2.0/routers', {'router': {
            'name': 'r', 'external_gateway_info': {'network_id': ext['id']}}}, 201)['router']
        self.call('PUT', '/v2.0/routers/%s/add_router_interface' % router['id'],
                  {'subnet_id': sub['id']}, 200)
        return ext, ext_sub, net, sub, router

    def test_router_goes_to_the_least_loaded_l3_agent(self):
        self.report('l3-a')
        self.report('l3-b')
        self.report('hv-l2', agent_type='NaaS Linux bridge agent')  # not an L3 agent
        hosts = []
        for i in range(4):
            router = self.call('POST', '/v2.0/routers', {'router': {'name': 'r%d' % i}},
                               201)['router']
            hosts.append(self.l3.rpc_handler._run(
                lambda ctx: scheduler.host_of(ctx.connection, router['id'])))
        self.assertEqual(['l3-a', 'l3-b', 'l3-a', 'l3-b'], hosts)

    def test_casts_and_sync_routers(self):
        self.report('l3-a')
        agent = self.listen('l3-a')
        ext, ext_sub, net, sub, router = self.topology()
        self.assertIn(('routers_updated', [router['id']]), agent.wait_for('routers_updated'))

        port = self.call('POST', '/v2.0/ports', {'port': {
            'network_id': net['id'], 'device_owner': 'compute:nova'}}, 201)['port']
        fip = self.call('POST', '/v2.0/floatingips', {'floatingip': {
            'floating_network_id': ext['id'], 'port_id': port['id']}}, 201)['floatingip']
        self.call('PUT', '/v2.0/routers/%s' % router['id'], {'router': {
            'routes': [{'destination': '192.168.0.0/24', 'nexthop': '10.0.0.9'}]}}, 200)

        client = l3_api.L3ServerAPI('l3-a', timeout=10)
        [data] = client.sync_routers({})
        self.assertEqual((router['id'], 'p', True, False, True),
                         (data['id'], data['project_id'], data['enable_snat'],
                          data['hidden'], data['admin_state_up']))
        [interface] = data['interfaces']
        self.assertEqual(net['id'], interface['network_id'])
        self.assertEqual([{'subnet_id': sub['id'], 'ip_address': '10.0.0.1', 'prefixlen': 24,
                           'cidr': '10.0.0.0/24', 'ip_version': 4,
                           'gateway_ip': '10.0.0.1'}], interface['fixed_ips'])
        self.assertEqual('vxlan', interface['segment']['network_type'])
        self.assertEqual(net['mtu'], interface['mtu'])
        gw = data['gateway']
        self.assertEqual(ext['id'], gw['network_id'])
        self.assertEqual(('203.0.113.2', 24, '203.0.113.1'),
                         (gw['fixed_ips'][0]['ip_address'], gw['fixed_ips'][0]['prefixlen'],
                          gw['fixed_ips'][0]['gateway_ip']))
        self.assertEqual([{'destination': '192.168.0.0/24', 'nexthop': '10.0.0.9'}],
                         data['routes'])
        self.assertEqual([{'id': fip['id'], 'floating_ip_address': fip['floating_ip_address'],
                           'fixed_ip_address': port['fixed_ips'][0]['ip_address'],
                           'port_id': port['id'], 'status': 'DOWN'}], data['floating_ips'])
        self.assertEqual([], data['subnet_routes'])

        # The router's ports are bound to the L3 agent's host.
        ports = self.call('GET', '/v2.0/ports?device_id=%s' % router['id'], **ADMIN)['ports']
        self.assertEqual({'l3-a'}, {p['binding:host_id'] for p in ports})

        # Another host gets nothing; a host without an L3 agent gets nothing.
        self.report('l3-b')
        self.assertEqual([], l3_api.L3ServerAPI('l3-b', timeout=10).sync_routers({}))
        self.assertEqual([], l3_api.L3ServerAPI('nowhere', timeout=10).sync_routers({}))
        self.assertEqual([router['id']], [r['id'] for r in client.sync_routers(
            {}, router_ids=[router['id']])])

        self.assertEqual([fip['id']], client.update_floatingip_statuses(
            {}, router['id'], {fip['id']: 'ACTIVE'}))
        self.assertEqual('ACTIVE', self.call('GET', '/v2.0/floatingips/%s' % fip['id'])
                         ['floatingip']['status'])

        self.call('DELETE', '/v2.0/floatingips/%s' % fip['id'], status=204)
        self.call('PUT', '/v2.0/routers/%s' % router['id'], {'router': {'routes': []}}, 200)
        self.call('PUT', '/v2.0/routers/%s/remove_router_interface' % router['id'],
                  {'subnet_id': sub['id']}, 200)
        self.call('DELETE', '/v2.0/routers/%s' % router['id'], status=204)
        self.assertIn(('router_deleted', router['id']), agent.wait_for('router_deleted'))

    def test_unbound_router_is_scheduled_by_the_first_sync(self):
        ext, ext_sub, net, sub, router = self.topology()
        self.assertIsNone(self.l3.rpc_handler._run(
            lambda ctx: scheduler.host_of(ctx.connection, router['id'])))
        self.report('l3-late')
        [data] = l3_api.L3ServerAPI('l3-late', timeout=10).sync_routers({})
        self.assertEqual(router['id'], data['id'])
        ports = self.call('GET', '/v2.0/ports?device_id=%s' % router['id'], **ADMIN)['ports']
        self.assertEqual({'l3-late'}, {p['binding:host_id'] for p in ports})

    def test_subnet_route_is_a_hidden_router(self):
        self.report('l3-a')
        agent = self.listen('l3-a')
        nets, subs = [], []
        for i in (1, 2):
            nets.append(self.call('POST', '/v2.0/networks', {'network': {}}, 201)['network'])
            subs.append(self.call('POST', '/v2.0/subnets', {'subnet': {
                'network_id': nets[-1]['id'], 'ip_version': 4,
                'cidr': '10.%d.0.0/24' % i}}, 201)['subnet'])
        route = self.call('POST', '/v2.0/subnet-routes', {'subnet_route': {
            'subnet_ids': [subs[0]['id'], subs[1]['id']]}}, 201)['subnet_route']
        [data] = l3_api.L3ServerAPI('l3-a', timeout=10).sync_routers({})
        self.assertTrue(data['hidden'])
        self.assertIsNone(data['gateway'])
        self.assertEqual([{'id': route['id'], 'subnet_ids': [subs[0]['id'], subs[1]['id']],
                           'cidrs': ['10.1.0.0/24', '10.2.0.0/24']}], data['subnet_routes'])
        self.assertEqual(['10.1.0.1', '10.2.0.1'], sorted(
            i['fixed_ips'][0]['ip_address'] for i in data['interfaces']))
        [event] = agent.wait_for('subnet_routes_updated')
        self.assertEqual(('subnet_routes_updated', data['id'], [route['id']]), event)

        # A user router taking subnet 1's gateway routes to subnet 2 through
        # the hidden router's other address on subnet 1.
        user = self.call('POST', '/v2.0/routers', {'router': {}}, 201)['router']
        self.call('PUT', '/v2.0/routers/%s/add_router_interface' % user['id'],
                  {'subnet_id': subs[0]['id']}, 200)
        by_id = {r['id']: r for r in l3_api.L3ServerAPI('l3-a', timeout=10).sync_routers({})}
        hidden_ip = by_id[data['id']]['interfaces'][0]['fixed_ips']
        hidden_on_1 = [ip['ip_address'] for i in by_id[data['id']]['interfaces']
                       for ip in i['fixed_ips'] if ip['subnet_id'] == subs[0]['id']]
        self.assertNotEqual(['10.1.0.1'], hidden_on_1, hidden_ip)
        self.assertEqual([{'destination': '10.2.0.0/24', 'nexthop': hidden_on_1[0]}],
                         by_id[user['id']]['routes'])

        self.call('PUT', '/v2.0/routers/%s/remove_router_interface' % user['id'],
                  {'subnet_id': subs[0]['id']}, 200)
        self.call('DELETE', '/v2.0/subnet-routes/%s' % route['id'], status=204)
        self.assertEqual([user['id']], [r['id'] for r in l3_api.L3ServerAPI(
            'l3-a', timeout=10).sync_routers({})])
        self.assertIn(('router_deleted', data['id']), agent.wait_for('router_deleted'))
