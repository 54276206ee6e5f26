"""The agent and compute RPC APIs end to end on the in-process transport, and
their version caps ([upgrade_levels])."""
import functools
import threading
import time
import uuid

import fixtures
import oslo_messaging as messaging
import testtools

from naas import rpc
from naas.conf import CONF
from naas.plugins import manager as plugin_manager
from naas.rpc import agent_api
from naas.rpc import compute_api
from naas.rpc import l3_api
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
            'network_id': net['id'], 'binding:host_id': host, 'device_id': device_id}},
            project='p', roles='admin')
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


class RecordingAgent:
    """The agent behind an AgentEndpoint: records every cast it handles."""

    def __init__(self):
        self.casts = []
        self._changed = threading.Condition()

    def __getattr__(self, name):
        if not name.startswith('on_'):
            raise AttributeError(name)

        def record(*args):
            with self._changed:
                self.casts.append((name[3:],) + args)
                self._changed.notify_all()
        return record

    def wait_for(self, method):
        with self._changed:
            self._changed.wait_for(lambda: method in [c[0] for c in self.casts], 10)
            return list(self.casts)


class OldAgentEndpoint(agent_api.AgentEndpoint):
    """An agent of the release before dhcp_network_changed (agent API 1.0)."""

    target = messaging.Target(version='1.0')


class TestVersionCaps(testtools.TestCase):
    """[upgrade_levels]: a capped client sends what the old side serves, and
    the current endpoints handle those older messages (same major, lower
    minor)."""

    CLIENTS = [(agent_api.AgentNotifyAPI, 'agent'), (l3_api.L3AgentNotifyAPI, 'l3_agent'),
               (compute_api.ComputeNotifyAPI, 'compute'),
               (functools.partial(server_api.ServerAPI, 'hv1'), 'server'),
               (functools.partial(l3_api.L3ServerAPI, 'hv1'), 'l3_server')]

    def setUp(self):
        super().setUp()
        # One worker per RPC server: each listener handles its casts in order.
        self.api = self.useFixture(app.APIFixture(agent_down_time=30,
                                                  executor_thread_pool_size=1))
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        self.sent = []
        transport = rpc.get_transport()
        send = transport._send

        def record(target, ctxt, message, **kwargs):
            self.sent.append((message['method'], message['version']))
            return send(target, ctxt, message, **kwargs)
        self.useFixture(fixtures.MockPatchObject(transport, '_send', side_effect=record))

    def cap(self, level, version):
        CONF.set_override(level, version, group='upgrade_levels')
        self.addCleanup(CONF.clear_override, level, group='upgrade_levels')

    def listen(self, endpoint_class):
        """An agent with an endpoint of ``endpoint_class`` on a host of its own."""
        host = 'hv-' + uuid.uuid4().hex[:8]
        agent = RecordingAgent()
        server = rpc.get_server(messaging.Target(topic=rpc.AGENT_TOPIC, server=host),
                                [endpoint_class(agent)])
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)
        return host, agent

    def test_each_client_takes_its_cap(self):
        for make_client, level in self.CLIENTS:
            client = make_client()
            self.assertIsNone(client.version_cap)
            self.assertTrue(client.can_send_version(client.VERSION))
            self.cap(level, '1.0')
            client = make_client()
            self.assertEqual('1.0', client.client.version_cap, level)
            self.assertTrue(client.can_send_version('1.0'))
            self.assertFalse(client.can_send_version('1.1'))

    def test_a_cap_of_another_major_is_refused(self):
        self.cap('agent', '2.0')
        error = self.assertRaises(ValueError, agent_api.AgentNotifyAPI)
        self.assertIn('[upgrade_levels] agent = 2.0', str(error))
        self.assertRaises(ValueError, CONF.set_override, 'agent', 'newest',
                          group='upgrade_levels')

    def test_capped_server_sends_old_agents_only_what_they_serve(self):
        self.cap('agent', '1.0')
        old_host, old_agent = self.listen(OldAgentEndpoint)
        new_host, new_agent = self.listen(agent_api.AgentEndpoint)
        api = agent_api.AgentNotifyAPI()
        for host in (old_host, new_host):
            api.dhcp_network_changed('net-1', host=host)   # 1.1: not sent
            api.port_update({'id': 'port-1'}, host=host)
            api.port_delete('port-1', host=host)
        self.assertEqual([('port_update', '1.0'), ('port_delete', '1.0')] * 2, self.sent)
        for agent in (old_agent, new_agent):
            self.assertEqual([('port_update', {'id': 'port-1'}), ('port_delete', 'port-1')],
                             agent.wait_for('port_delete'))

    def test_uncapped_server_sends_what_old_agents_refuse(self):
        # Why the cap: without it a 1.0 agent drops the 1.1 cast.
        old_host, old_agent = self.listen(OldAgentEndpoint)
        new_host, new_agent = self.listen(agent_api.AgentEndpoint)
        api = agent_api.AgentNotifyAPI()
        for host in (old_host, new_host):
            api.dhcp_network_changed('net-1', host=host)
            api.port_delete('port-1', host=host)
        self.assertEqual([('dhcp_network_changed', '1.1'), ('port_delete', '1.0')] * 2,
                         self.sent)
        self.assertEqual([('port_delete', 'port-1')], old_agent.wait_for('port_delete'))
        self.assertEqual([('dhcp_network_changed', 'net-1'), ('port_delete', 'port-1')],
                         new_agent.wait_for('port_delete'))

    def test_current_server_handles_a_capped_agent(self):
        for server in plugin_manager.get_manager().core.start_rpc_listeners():
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)
        self.cap('server', '1.1')
        client = server_api.ServerAPI('hv1', timeout=10)
        self.assertEqual('alive', client.report_state({}, {
            'agent_type': 'NaaS Linux bridge agent', 'binary': 'naas-agent',
            'topic': rpc.AGENT_TOPIC, 'host': 'hv1', 'start_flag': True,
            'configurations': {}}))
        self.assertEqual([], client.get_instance_network_info({}, 'vm-1'))
        error = self.assertRaises(rpc.VersionCapped, client.get_dhcp_networks, {})
        self.assertIn('get_dhcp_networks needs RPC version 1.2, but [upgrade_levels] server '
                      'caps this client at 1.1', str(error))
        # The endpoint (1.2) took the 1.0 and 1.1 calls; the 1.2 one was never sent.
        self.assertEqual([('report_state', '1.0'), ('get_instance_network_info', '1.1')],
                         self.sent)
