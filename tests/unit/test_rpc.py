"""The agent and compute RPC APIs end to end on the in-process transport."""
import threading
import time

import testtools

from naas import rpc
from naas.plugins import manager as plugin_manager
from naas.rpc import compute_api
from naas.rpc import server_api
from tests.fixtures import app


class TestAgentRPC(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(agent_down_time=30))
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        servers = plugin_manager.get_manager().core.start_rpc_listeners()
        for server in servers:
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)
        self.client = server_api.ServerAPI('hv1', timeout=10)
        self.events = []
        self.got_event = threading.Event()

        def on_event(event, port_id):
            self.events.append((event, port_id))
            self.got_event.set()
        compute = compute_api.listen('hv1', on_event)
        self.addCleanup(compute.wait)
        self.addCleanup(compute.stop)

    def report(self, host='hv1', tunnel_ip='192.0.2.1'):
        self.assertEqual('alive', server_api.ServerAPI(host, timeout=10).report_state({}, {
            'agent_type': 'NaaS Linux bridge agent', 'binary': 'naas-agent',
            'topic': rpc.AGENT_TOPIC, 'host': host, 'start_flag': True,
            'configurations': {'tunnel_ip': tunnel_ip, 'tunnel_types': ['vxlan']}}))

    def make_port(self, host, device_id='vm-1'):
        status, body, _ = self.api.call('POST', '/v2.0/networks', {'network': {}}, project='p')
        net = self.api.call('GET', '/v2.0/networks/' + body['network']['id'])[1]['network']
        self.api.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': net['id'], 'ip_version': 4, 'cidr': '10.9.0.0/24'}}, project='p')
        status, body, _ = self.api.call('POST', '/v2.0/ports', {'port': {
            'network_id': net['id'], 'binding:host_id': host, 'device_id': device_id}})
        self.assertEqual(201, status, body)
        return net, body['port']

    def test_heartbeat_makes_an_alive_agent(self):
        self.report()
        status, body, _ = self.api.call('GET', '/v2.0/agents')
        self.assertEqual(200, status)
        [agent] = body['agents']
        self.assertEqual(('hv1', True, 'NaaS Linux bridge agent'),
                         (agent['host'], agent['alive'], agent['agent_type']))
        self.assertEqual('192.0.2.1', agent['configurations']['tunnel_ip'])
        status, body, _ = self.api.call('GET', '/v2.0/agents', project='p')
        self.assertEqual(200, status)
        self.assertEqual([], body['agents'])  # admins only

    def test_port_binds_to_the_hosts_agent(self):
        net, port = self.make_port('hv-without-agent', device_id='vm-0')
        self.assertEqual('binding_failed', port['binding:vif_type'])
        self.report()
        net, port = self.make_port('hv1')
        self.assertEqual('bridge', port['binding:vif_type'])
        self.assertEqual('DOWN', port['status'])

        [details] = self.client.get_devices_details_list({}, [port['id']])
        self.assertEqual((net['id'], 'vxlan', net['provider:segmentation_id'],
                          port['mac_address'], net['mtu']),
                         (details['network_id'], details['network_type'],
                          details['segmentation_id'], details['mac_address'],
                          details['mtu']))
        self.assertEqual([{'host': 'hv1', 'tunnel_ip': '192.0.2.1'}], details['endpoints'])
        self.assertEqual([port['id']], [p['port_id'] for p in self.client.sync({})['ports']])
        self.assertEqual([{'device': port['id'], 'missing': True}],
                         server_api.ServerAPI('hv2', timeout=10)
                         .get_devices_details_list({}, [port['id']]))

        self.client.update_device_up({}, [port['id']])
        status, body, _ = self.api.call('GET', '/v2.0/ports/' + port['id'])
        self.assertEqual('ACTIVE', body['port']['status'])
        self.assertTrue(self.got_event.wait(10))
        self.assertEqual([('network-vif-plugged', port['id'])], self.events)

        [vif] = self.client.get_instance_network_info({}, 'vm-1')
        self.assertEqual((port['id'], port['mac_address'], True, 'bridge'),
                         (vif['id'], vif['address'], vif['active'], vif['type']))
        self.assertEqual(['10.9.0.0/24'], [s['cidr'] for s in vif['network']['subnets']])

        self.client.update_device_down({}, [port['id']])
        status, body, _ = self.api.call('GET', '/v2.0/ports/' + port['id'])
        self.assertEqual('DOWN', body['port']['status'])

    def test_agent_dies_after_agent_down_time(self):
        self.report()
        from naas.conf import CONF
        CONF.set_override('agent_down_time', 1)
        self.addCleanup(CONF.clear_override, 'agent_down_time')
        deadline = time.time() + 5
        while time.time() < deadline:
            body = self.api.call('GET', '/v2.0/agents')[1]
            if not body['agents'][0]['alive']:
                break
            time.sleep(0.2)
        self.assertFalse(body['agents'][0]['alive'])
        self.assertEqual([], self.api.call('GET', '/v2.0/agents?alive=true')[1]['agents'])
