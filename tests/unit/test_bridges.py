"""The remote-bridges API (naas.plugins.bridges) through the real WSGI
stack: create/read/update/delete, the checks a bridge passes (endpoint,
VNI, network, host), the choice of the bridging host, the remotes the
agents get in port details, the status they report, and the cast to the
bridging host.
"""
from unittest import mock

import testtools

from naas.common import context as naas_context
from naas.db import agents as db_agents
from naas.db import api as db_api
from naas.lib import constants
from naas.plugins import manager as plugin_manager
from naas.plugins.bridges import plugin as bridges_plugin
from naas.plugins.l2 import agents as l2_agents
from naas.rpc import agent_api
from tests.fixtures import app


def register_agent(host, tunnel_ip='192.0.2.1', remote_tunnels=('vxlan',),
                   agent_type=constants.AGENT_TYPE_LINUXBRIDGE):
    """An L2 agent row of ``host``, as its heartbeat would write it."""
    state = {'agent_type': agent_type, 'binary': 'naas-agent', 'topic': 'naas-agent',
             'host': host, 'configurations': {'tunnel_types': ['vxlan'],
                                              'tunnel_ip': tunnel_ip,
                                              'remote_tunnels': list(remote_tunnels)}}
    db_api.retry(lambda ctx: db_agents.report_state(ctx.connection, state),
                 naas_context.get_admin_context())


class BridgesTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(
            service_plugins=['bridges'], agent_down_time=30,
            **{'bridges.allowed_remote_cidrs': ['198.51.100.0/24', '2001:db8::/32']}))
        self.casts = []
        cast = mock.patch.object(agent_api.AgentNotifyAPI, 'remote_bridges_updated',
                                 autospec=True,
                                 side_effect=lambda api, nid, host: self.casts.append(
                                     (nid, host)))
        cast.start()
        self.addCleanup(cast.stop)
        register_agent('hv1', '192.0.2.1')
        register_agent('hv2', '192.0.2.2')
        self.network = self.call('POST', '/networks', {'network': {}}, 201)['network']

    def call(self, method, path, body=None, expect=None, project='pa', roles='member'):
        status, data, _ = self.api.call(method, '/v2.0' + path, body, project=project,
                                        roles=roles)
        if expect is not None:
            self.assertEqual(expect, status, data)
        return data

    def error(self, body, expect, error_type=None, **kwargs):
        data = self.call('POST', '/remote-bridges', {'remote_bridge': body}, expect, **kwargs)
        if error_type:
            self.assertEqual(error_type, data['NeutronError']['type'], data)
        return data['NeutronError']['message']

    def bridge(self, expect=201, **attrs):
        body = dict({'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
                     'segmentation_id': 70000}, **attrs)
        data = self.call('POST', '/remote-bridges', {'remote_bridge': body}, expect)
        return data.get('remote_bridge')

    def port_on(self, host, network_id=None):
        return self.call('POST', '/ports', {'port': {
            'network_id': network_id or self.network['id'], 'binding:host_id': host}},
            201, roles='admin')['port']

    def details(self, host):
        handler = plugin_manager.get_manager().core.rpc_handler
        return handler.sync(host)['ports']


class TestCrud(BridgesTestCase):

    def test_listed_as_an_extension(self):
        aliases = {e['alias'] for e in self.call('GET', '/extensions', None, 200)['extensions']}
        self.assertIn('remote-bridges', aliases)

    def test_create_read_update_delete(self):
        created = self.bridge(name='to-lyon', remote_entries=[
            {'mac_address': 'FA:16:3E:00:00:01', 'ip_address': '10.9.0.5'}])
        self.assertEqual({'name': 'to-lyon', 'network_id': self.network['id'],
                          'remote_ip': '198.51.100.7', 'segmentation_id': 70000,
                          'encapsulation': 'vxlan', 'status': 'DOWN', 'project_id': 'pa',
                          'remote_entries': [{'mac_address': 'fa:16:3e:00:00:01',
                                              'ip_address': '10.9.0.5'}]},
                         {k: created[k] for k in ('name', 'network_id', 'remote_ip',
                                                  'segmentation_id', 'encapsulation',
                                                  'status', 'project_id', 'remote_entries')})
        self.assertIn(created['host'], ('hv1', 'hv2'))
        path = '/remote-bridges/' + created['id']
        self.assertEqual(created, self.call('GET', path, None, 200)['remote_bridge'])
        self.assertEqual([created['id']], [b['id'] for b in self.call(
            'GET', '/remote-bridges?segmentation_id=70000', None, 200)['remote_bridges']])
        updated = self.call('PUT', path, {'remote_bridge': {'remote_entries': []}},
                            200)['remote_bridge']
        self.assertEqual([], updated['remote_entries'])
        self.assertEqual(created['revision_number'] + 1, updated['revision_number'])
        self.call('PUT', path, {'remote_bridge': {'remote_ip': '198.51.100.8'}}, 400)
        self.call('DELETE', path, None, 204)
        self.call('GET', path, None, 404)
        network_host = (self.network['id'], created['host'])
        self.assertEqual([network_host] * 3, self.casts)

    def test_another_project_sees_nothing(self):
        created = self.bridge()
        self.call('GET', '/remote-bridges/' + created['id'], None, 404, project='pb')
        self.call('DELETE', '/remote-bridges/' + created['id'], None, 404, project='pb')
        self.assertEqual([], self.call('GET', '/remote-bridges', None, 200,
                                       project='pb')['remote_bridges'])

    def test_deleting_the_network_deletes_its_bridges(self):
        created = self.bridge()
        self.call('DELETE', '/networks/' + self.network['id'], None, 204)
        self.call('GET', '/remote-bridges/' + created['id'], None, 404)


class TestChecks(BridgesTestCase):

    def test_bad_endpoints_are_400(self):
        for address, reason in (('not-an-ip', 'not a valid IP'),
                                ('127.0.0.1', 'not a unicast'),
                                ('::1', 'not a unicast'),
                                ('224.0.0.5', 'not a unicast'),
                                ('169.254.1.1', 'not a unicast'),
                                ('fe80::1', 'not a unicast'),
                                ('0.0.0.0', 'not a unicast'),
                                ('203.0.113.9', 'outside the allowed'),
                                ('2001:db9::1', 'outside the allowed')):
            message = self.error({'network_id': self.network['id'], 'remote_ip': address,
                                  'segmentation_id': 70000}, 400)
            self.assertIn(reason, message, address)

    def test_a_naas_hosts_own_tunnel_address_is_400(self):
        register_agent('hv3', '198.51.100.3')
        message = self.error({'network_id': self.network['id'], 'remote_ip': '198.51.100.3',
                              'segmentation_id': 70000}, 400)
        self.assertIn('tunnel address of NaaS host hv3', message)

    def test_vni_out_of_range_is_400(self):
        for vni in (0, 2 ** 24, -1, 'x'):
            self.error({'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
                        'segmentation_id': vni}, 400)

    def test_vni_of_another_bridge_or_a_network_is_409(self):
        self.bridge()
        other = self.call('POST', '/networks', {'network': {}}, 201)['network']
        message = self.error({'network_id': other['id'], 'remote_ip': '198.51.100.9',
                              'segmentation_id': 70000}, 409, project='pa')
        self.assertIn('remote bridge', message)
        vxlan = self.call('POST', '/networks', {'network': {
            'provider:network_type': 'vxlan', 'provider:segmentation_id': 80000}},
            201, roles='admin')['network']
        self.assertEqual(80000, vxlan['provider:segmentation_id'])
        message = self.error({'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
                              'segmentation_id': 80000}, 409)
        self.assertIn('a network', message)

    def test_networks_the_caller_cannot_use_are_404(self):
        foreign = self.call('POST', '/networks', {'network': {}}, 201, project='pb')['network']
        self.error({'network_id': foreign['id'], 'remote_ip': '198.51.100.7',
                    'segmentation_id': 70000}, 404, 'NetworkNotFound')
        shared = self.call('POST', '/networks', {'network': {'shared': True}}, 201,
                           project='pb', roles='admin')['network']
        self.error({'network_id': shared['id'], 'remote_ip': '198.51.100.7',
                    'segmentation_id': 70000}, 404, 'NetworkNotFound')

    def test_only_an_admin_names_the_host(self):
        self.error({'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
                    'segmentation_id': 70000, 'host': 'hv2'}, 403, 'PolicyNotAuthorized')
        data = self.call('POST', '/remote-bridges', {'remote_bridge': {
            'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
            'segmentation_id': 70000, 'host': 'hv2', 'project_id': 'pa'}}, 201, roles='admin')
        self.assertEqual('hv2', data['remote_bridge']['host'])

    def test_a_host_that_cannot_bridge_is_refused(self):
        register_agent('hv-old', '192.0.2.9', remote_tunnels=())
        self.call('POST', '/remote-bridges', {'remote_bridge': {
            'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
            'segmentation_id': 70000, 'host': 'hv-old', 'project_id': 'pa'}}, 400,
            roles='admin')
        # An IPv6 remote needs an IPv6 tunnel address: none here.
        self.error({'network_id': self.network['id'], 'remote_ip': '2001:db8::7',
                    'segmentation_id': 70000}, 409, 'NoBridgingHost')

    def test_duplicate_static_macs_are_400(self):
        entries = [{'mac_address': 'fa:16:3e:00:00:01'}, {'mac_address': 'FA:16:3E:00:00:01'}]
        self.bridge(expect=400, remote_entries=entries)
        self.bridge(expect=400, remote_entries=[{'mac_address': 'ff:ff:ff:ff:ff:ff'}])
        self.bridge(expect=400, remote_entries=[{'ip_address': '10.0.0.1'}])


class TestHostsAndAgents(BridgesTestCase):

    def test_the_host_with_ports_of_the_network_is_chosen(self):
        self.port_on('hv2')
        self.assertEqual('hv2', self.bridge()['host'])

    def test_the_least_loaded_host_is_chosen(self):
        first = self.bridge()['host']
        second = self.bridge(segmentation_id=70001)['host']
        self.assertEqual({'hv1', 'hv2'}, {first, second})

    def test_remotes_in_the_bridging_hosts_port_details_only(self):
        self.port_on('hv1')
        self.port_on('hv2')
        created = self.bridge(host=None, remote_entries=[{'mac_address': 'fa:16:3e:00:00:01'}])
        host = created['host']
        other = 'hv2' if host == 'hv1' else 'hv1'
        self.assertEqual([[{'id': created['id'], 'remote_ip': '198.51.100.7', 'type': 'vxlan',
                            'segmentation_id': 70000,
                            'entries': [{'mac_address': 'fa:16:3e:00:00:01',
                                         'ip_address': None}]}]],
                         [d['remotes'] for d in self.details(host)])
        self.assertEqual([[]], [d['remotes'] for d in self.details(other)])

    def test_status_from_the_bridging_host_only(self):
        created = self.bridge()
        plugin = next(p for p in plugin_manager.get_manager().plugins()
                      if isinstance(p, bridges_plugin.BridgePlugin))
        other = 'hv2' if created['host'] == 'hv1' else 'hv1'
        plugin.update_bridge_status(other, {created['id']: 'ACTIVE'})
        path = '/remote-bridges/' + created['id']
        self.assertEqual('DOWN', self.call('GET', path, None, 200)['remote_bridge']['status'])
        plugin.update_bridge_status(created['host'], {created['id']: 'ACTIVE'})
        self.assertEqual('ACTIVE', self.call('GET', path, None, 200)['remote_bridge']['status'])

    def test_no_alive_agent_is_409(self):
        db_api.retry(lambda ctx: ctx.connection.execute(
            l2_agents.core_models.agents.update().values(
                heartbeat=l2_agents.core_models.agents.c.heartbeat - 3600)),
            naas_context.get_admin_context())
        self.bridge(expect=409)


class FakeRemotes:
    """A driver with the RemoteTunnels hook that records its calls."""

    remote_tunnel_types = ('vxlan',)

    def __init__(self, fail=()):
        self.calls = []
        self.fail = set(fail)

    def set_remotes(self, network_id, remotes):
        self.calls.append((network_id, [r['id'] for r in remotes]))
        if network_id in self.fail:
            raise OSError('no bridge')


class TestAgentRemotes(testtools.TestCase):
    """naas.agent.agent.Agent's calls of the RemoteTunnels hook."""

    def agent(self, remotes):
        from naas.agent import agent as agent_mod
        agent = agent_mod.Agent.__new__(agent_mod.Agent)
        agent.remotes = remotes
        agent.wired = {}
        agent.reported = []
        agent._report_bridges = agent.reported.append
        return agent

    def test_each_network_of_a_batch_once_and_its_status_reported(self):
        remotes = FakeRemotes(fail={'n2'})
        agent = self.agent(remotes)
        bridge = {'id': 'b1', 'remote_ip': '198.51.100.7', 'type': 'vxlan',
                  'segmentation_id': 70000, 'entries': []}
        other = dict(bridge, id='b2', segmentation_id=70001)
        agent._set_remotes([
            {'port_id': 'p1', 'network_id': 'n1', 'remotes': [bridge]},
            {'port_id': 'p2', 'network_id': 'n1', 'remotes': [bridge]},
            {'port_id': 'p3', 'network_id': 'n2', 'remotes': [other]},
            {'port_id': 'p4', 'network_id': 'n3'}])          # no bridges plugin
        self.assertEqual([('n1', ['b1']), ('n2', ['b2'])], remotes.calls)
        self.assertEqual([{'b1': 'ACTIVE', 'b2': 'ERROR'}], agent.reported)

    def test_a_network_without_ports_here_loses_its_tunnels(self):
        remotes = FakeRemotes()
        agent = self.agent(remotes)
        agent.wired = {'p1': {'port_id': 'p1', 'network_id': 'n1'}}
        agent._drop_remotes(['n1', 'n2'])
        self.assertEqual([('n2', [])], remotes.calls)
