"""Physical-network bridges, VNI reservation and bridge failover
(naas.plugins.bridges) through the real WSGI stack: the checks of
POST /v2.0/physical-bridges, what the agents get in port details, the
status; a remote bridge's VNI never given to a VXLAN network (and a VLAN
of a physical bridge never to a VLAN network); the remote bridges of a
dead host moved to a live one, the physical bridges of a dead host DOWN.
"""
from unittest import mock

import testtools

from naas.common import context as naas_context
from naas.db import agents as db_agents
from naas.db import api as db_api
from naas.db import models as core_models
from naas.lib import constants
from naas.plugins import manager as plugin_manager
from naas.plugins.bridges import plugin as bridges_plugin
from naas.rpc import agent_api
from tests.fixtures import app


def register_agent(host, tunnel_ip, bridge_mappings=None):
    state = {'agent_type': constants.AGENT_TYPE_OVS, 'binary': 'naas-agent',
             'topic': 'naas-agent', 'host': host,
             'configurations': {'tunnel_types': ['vxlan'], 'tunnel_ip': tunnel_ip,
                                'remote_tunnels': ['vxlan'],
                                'bridge_mappings': bridge_mappings or {}}}
    db_api.retry(lambda ctx: db_agents.report_state(ctx.connection, state),
                 naas_context.get_admin_context())


def age_agent(host, seconds):
    """The agent of ``host`` last heard ``seconds`` ago."""
    agents = core_models.agents
    db_api.retry(lambda ctx: ctx.connection.execute(
        agents.update().where(agents.c.host == host).values(
            heartbeat=agents.c.heartbeat - seconds)), naas_context.get_admin_context())


class PhysicalBridgesTestCase(testtools.TestCase):
    overrides = {}

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(
            service_plugins=['bridges'], agent_down_time=30,
            **dict({'l2.network_vlan_ranges': ['physnet1:100:101', 'physnet2'],
                    'l2.vni_ranges': ['100:102']}, **self.overrides)))
        self.casts = []
        cast = mock.patch.object(agent_api.AgentNotifyAPI, 'remote_bridges_updated',
                                 autospec=True,
                                 side_effect=lambda api, nid, host: self.casts.append(
                                     (nid, host)))
        cast.start()
        self.addCleanup(cast.stop)
        register_agent('hv1', '192.0.2.1', {'physnet1': 'br-phys1'})
        register_agent('hv2', '192.0.2.2', {'physnet2': 'br-phys2'})
        self.network = self.call('POST', '/networks', {'network': {}}, 201)['network']

    @property
    def plugin(self):
        return next(p for p in plugin_manager.get_manager().plugins()
                    if isinstance(p, bridges_plugin.BridgePlugin))

    def call(self, method, path, body=None, expect=None, project='pa', roles='admin'):
        status, data, _ = self.api.call(method, '/v2.0' + path, body, project=project,
                                        roles=roles)
        if expect is not None:
            self.assertEqual(expect, status, data)
        return data

    def bridge(self, expect=201, roles='admin', **attrs):
        body = dict({'network_id': self.network['id'], 'host': 'hv1',
                     'physical_network': 'physnet1', 'segmentation_id': 200}, **attrs)
        data = self.call('POST', '/physical-bridges', {'physical_bridge': body}, expect,
                         roles=roles)
        return data.get('physical_bridge') or data

    def details(self, host):
        return plugin_manager.get_manager().core.rpc_handler.sync(host)['ports']

    def port_on(self, host, network_id=None):
        return self.call('POST', '/ports', {'port': {
            'network_id': network_id or self.network['id'], 'binding:host_id': host}}, 201)


class TestPhysicalBridges(PhysicalBridgesTestCase):

    def test_create_show_list_delete(self):
        created = self.bridge(name='to the lab')
        self.assertEqual({'network_id': self.network['id'], 'host': 'hv1',
                          'physical_network': 'physnet1', 'segmentation_id': 200,
                          'status': 'DOWN', 'name': 'to the lab'},
                         {k: created[k] for k in ('network_id', 'host', 'physical_network',
                                                  'segmentation_id', 'status', 'name')})
        self.assertEqual([(self.network['id'], 'hv1')], self.casts)
        path = '/physical-bridges/' + created['id']
        self.assertEqual(created['id'], self.call('GET', path, None, 200)['physical_bridge']['id'])
        listed = self.call('GET', '/physical-bridges?host=hv1', None, 200)['physical_bridges']
        self.assertEqual([created['id']], [b['id'] for b in listed])
        self.call('PUT', path, {'physical_bridge': {'name': 'renamed'}}, 200)
        self.call('PUT', path, {'physical_bridge': {'segmentation_id': 201}}, 400)
        self.call('DELETE', path, None, 204)
        self.call('GET', path, None, 404)
        self.assertEqual(2, len(self.casts))

    def test_flat_is_a_null_segmentation_id(self):
        created = self.bridge(segmentation_id=None)
        self.assertIsNone(created['segmentation_id'])
        listed = self.call('GET', '/physical-bridges?physical_network=physnet1', None,
                           200)['physical_bridges']
        self.assertEqual([None], [b['segmentation_id'] for b in listed])

    def test_listed_as_an_extension(self):
        aliases = {e['alias'] for e in self.call('GET', '/extensions', None, 200)['extensions']}
        self.assertIn('physical-bridges', aliases)

    def test_administrators_only(self):
        created = self.bridge()
        self.bridge(expect=403, roles='member', segmentation_id=201)
        self.call('GET', '/physical-bridges/' + created['id'], None, 404, roles='member')
        self.assertEqual([], self.call('GET', '/physical-bridges', None, 200,
                                       roles='member')['physical_bridges'])
        self.call('DELETE', '/physical-bridges/' + created['id'], None, 404, roles='member')

    def test_bad_requests(self):
        for attrs in ({'segmentation_id': 0}, {'segmentation_id': 4095},
                      {'segmentation_id': 'ten'},
                      {'physical_network': 'physnet2'},       # hv1 has no mapping for it
                      {'host': 'hv9'},                        # no agent there
                      {'physical_network': None}):
            self.bridge(expect=400, **attrs)

    def test_network_not_found(self):
        self.bridge(expect=404, network_id='9d7a6f2e-0c1b-4c44-9a53-1f5d2c0a9b71')

    def test_the_same_host_physnet_and_vlan_twice_is_409(self):
        self.bridge()
        other = self.call('POST', '/networks', {'network': {}}, 201)['network']
        data = self.bridge(expect=409, network_id=other['id'])
        self.assertEqual('PhysicalBridgeInUse', data['NeutronError']['type'])
        self.bridge(expect=201, network_id=other['id'], segmentation_id=201)

    def test_a_network_once_per_physnet_and_host(self):
        self.bridge()
        self.bridge(expect=409, segmentation_id=201)

    def test_a_vlan_networks_segment_is_409_and_a_bridges_vlan_no_networks(self):
        vlan_net = self.call('POST', '/networks', {'network': {
            'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1',
            'provider:segmentation_id': 300}}, 201)['network']
        data = self.bridge(expect=409, segmentation_id=300)
        self.assertIn(vlan_net['id'], data['NeutronError']['message'])
        # The other way: a VLAN of the tenant range a bridge uses is no
        # network's, given or asked for.
        self.bridge(segmentation_id=100)
        self.call('POST', '/networks', {'network': {
            'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1',
            'provider:segmentation_id': 100}}, 409)
        given = self.call('POST', '/networks', {'network': {
            'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1'}},
            201)['network']
        self.assertEqual(101, given['provider:segmentation_id'])

    def test_flat_bridge_and_flat_network_exclude_each_other(self):
        self.bridge(segmentation_id=None)
        self.call('POST', '/networks', {'network': {
            'provider:network_type': 'flat', 'provider:physical_network': 'physnet1'}}, 409)
        other = self.call('POST', '/networks', {'network': {
            'provider:network_type': 'flat', 'provider:physical_network': 'physnet2'}},
            201)['network']
        self.bridge(expect=409, host='hv2', physical_network='physnet2', segmentation_id=None,
                    network_id=self.call('POST', '/networks', {'network': {}}, 201)
                    ['network']['id'])
        self.assertTrue(other['id'])

    def test_in_the_bridging_hosts_port_details_only_and_status(self):
        self.port_on('hv1')
        self.port_on('hv2')
        created = self.bridge()
        self.assertEqual([[{'id': created['id'], 'physical_network': 'physnet1',
                            'segmentation_id': 200}]],
                         [d['physical_bridges'] for d in self.details('hv1')])
        self.assertEqual([[]], [d['physical_bridges'] for d in self.details('hv2')])
        self.plugin.update_bridge_status('hv2', {created['id']: 'ACTIVE'})
        path = '/physical-bridges/' + created['id']
        self.assertEqual('DOWN', self.call('GET', path, None, 200)['physical_bridge']['status'])
        self.plugin.update_bridge_status('hv1', {created['id']: 'ACTIVE'})
        self.assertEqual('ACTIVE',
                         self.call('GET', path, None, 200)['physical_bridge']['status'])

    def test_deleting_the_network_deletes_its_bridges_and_frees_the_vlan(self):
        self.bridge(segmentation_id=100)
        self.call('DELETE', '/networks/' + self.network['id'], None, 204)
        self.assertEqual([], self.call('GET', '/physical-bridges', None,
                                       200)['physical_bridges'])
        given = self.call('POST', '/networks', {'network': {
            'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1'}},
            201)['network']
        self.assertEqual(100, given['provider:segmentation_id'])


class TestRemoteBridgeVnis(PhysicalBridgesTestCase):
    """A remote bridge's VNI is out of the tenant VNI pool while the bridge
    exists (vni_ranges 100:102; the first network has 100)."""

    def remote(self, vni, expect=201):
        body = {'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
                'segmentation_id': vni}
        return self.call('POST', '/remote-bridges', {'remote_bridge': body},
                         expect).get('remote_bridge')

    def test_a_bridges_vni_is_given_to_no_network(self):
        self.assertEqual(100, self.network['provider:segmentation_id'])
        bridge = self.remote(101)
        second = self.call('POST', '/networks', {'network': {}}, 201)['network']
        self.assertEqual(102, second['provider:segmentation_id'])
        self.call('POST', '/networks', {'network': {}}, 503)      # 101 is the bridge's
        self.call('POST', '/networks', {'network': {
            'provider:network_type': 'vxlan', 'provider:segmentation_id': 101}}, 409)
        self.call('DELETE', '/remote-bridges/' + bridge['id'], None, 204)
        third = self.call('POST', '/networks', {'network': {}}, 201)['network']
        self.assertEqual(101, third['provider:segmentation_id'])

    def test_a_networks_vni_is_refused_to_a_bridge(self):
        self.remote(100, expect=409)

    def test_a_vni_outside_the_ranges_is_refused_to_provider_networks(self):
        self.remote(70000)
        self.call('POST', '/networks', {'network': {
            'provider:network_type': 'vxlan', 'provider:segmentation_id': 70000}}, 409)


class TestRemoteBridgeVnisRangeChange(PhysicalBridgesTestCase):

    def test_a_refill_of_the_pool_leaves_the_bridges_vni_out(self):
        self.call('POST', '/remote-bridges', {'remote_bridge': {
            'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
            'segmentation_id': 101}}, 201)
        from naas.conf import CONF
        CONF.set_override('vni_ranges', ['100:103'], group='l2')   # a refill
        given = [self.call('POST', '/networks', {'network': {}}, 201)['network']
                 ['provider:segmentation_id'] for _ in range(2)]
        self.assertEqual([102, 103], given)


class TestFailover(PhysicalBridgesTestCase):

    def remote(self, **attrs):
        body = dict({'network_id': self.network['id'], 'remote_ip': '198.51.100.7',
                     'segmentation_id': 70000}, **attrs)
        return self.call('POST', '/remote-bridges', {'remote_bridge': body}, 201)['remote_bridge']

    def test_remote_bridges_of_a_dead_host_move_physical_ones_go_down(self):
        remote = self.remote(host='hv1')
        physical = self.bridge()
        self.plugin.update_bridge_status('hv1', {remote['id']: 'ACTIVE',
                                                 physical['id']: 'ACTIVE'})
        self.assertEqual({}, self.plugin.reschedule_dead_hosts())     # all alive
        self.casts.clear()
        age_agent('hv1', 60)
        self.assertEqual({remote['id']: 'hv2'}, self.plugin.reschedule_dead_hosts())
        moved = self.call('GET', '/remote-bridges/' + remote['id'], None, 200)['remote_bridge']
        self.assertEqual(('hv2', 'DOWN'), (moved['host'], moved['status']))
        self.assertEqual({(self.network['id'], 'hv1'), (self.network['id'], 'hv2')},
                         set(self.casts))
        stays = self.call('GET', '/physical-bridges/' + physical['id'], None,
                          200)['physical_bridge']
        self.assertEqual(('hv1', 'DOWN'), (stays['host'], stays['status']))
        self.assertEqual({}, self.plugin.reschedule_dead_hosts())     # nothing more

    def test_no_live_host_the_bridge_stays_down(self):
        remote = self.remote(host='hv1')
        self.plugin.update_bridge_status('hv1', {remote['id']: 'ACTIVE'})
        age_agent('hv1', 60)
        age_agent('hv2', 60)
        self.assertEqual({}, self.plugin.reschedule_dead_hosts())
        stays = self.call('GET', '/remote-bridges/' + remote['id'], None, 200)['remote_bridge']
        self.assertEqual(('hv1', 'DOWN'), (stays['host'], stays['status']))


class TestOvsJoins(testtools.TestCase):
    """naas.agent.l2.physical_ovs: the joins as the flows they render."""

    def test_a_join_renders_the_translation_flows_of_its_physnet(self):
        from naas.agent.l2 import ovs_flows as flows
        from naas.agent.l2 import physical_ovs
        joins = physical_ovs.OvsPhysicalBridges({'physnet1': 'br-phys1'})
        self.assertTrue(joins.set('n1', [{'id': 'b1', 'physical_network': 'physnet1',
                                          'segmentation_id': 200}], lvid=5))
        self.assertFalse(joins.set('n1', [{'id': 'b1', 'physical_network': 'physnet1',
                                           'segmentation_id': 200}], lvid=5))
        layout = flows.Layout('br-int', None, -1, {}, {
            'physnet1': flows.PhysLink('br-phys1', 10, 20, False)}, ())
        tables = flows.render(layout, joins.nets({'n1': 5}.get))
        self.assertEqual('mod_vlan_vid:5,NORMAL',
                         tables['br-int'][(0, 3, 'in_port=10,dl_vlan=200')])
        self.assertEqual('mod_vlan_vid:200,NORMAL',
                         tables['br-phys1'][(0, 4, 'in_port=20,dl_vlan=5')])
        joins.set('n1', [{'id': 'b1', 'physical_network': 'physnet1',
                          'segmentation_id': None}], lvid=5)       # flat
        tables = flows.render(layout, joins.nets({'n1': 5}.get))
        self.assertEqual('strip_vlan,NORMAL', tables['br-phys1'][(0, 4, 'in_port=20,dl_vlan=5')])
        self.assertTrue(joins.set('n1', [], lvid=5))
        self.assertEqual([], joins.nets({'n1': 5}.get))

    def test_refused_without_the_network_or_the_mapping(self):
        from naas.agent.l2 import physical_ovs
        joins = physical_ovs.OvsPhysicalBridges({'physnet1': 'br-phys1'})
        bridge = {'id': 'b1', 'physical_network': 'physnet1', 'segmentation_id': 200}
        self.assertRaises(LookupError, joins.set, 'n1', [bridge], None)
        self.assertRaises(ValueError, joins.set, 'n1',
                          [dict(bridge, physical_network='physnet9')], 5)
        joins.reconcile({'n1': [bridge], 'n2': [dict(bridge, physical_network='physnet9')]})
        self.assertEqual({'n1': (('physnet1', 200),)}, joins.joins)


class FakePhysical:
    def __init__(self, fail=()):
        self.calls = []
        self.fail = set(fail)

    def set_physical_bridges(self, network_id, bridges):
        self.calls.append((network_id, [b['id'] for b in bridges]))
        if network_id in self.fail:
            raise ValueError('no mapping')


class TestAgentPhysical(testtools.TestCase):
    """naas.agent.agent.Agent's calls of the PhysicalBridges hook."""

    def agent(self, physical):
        from naas.agent import agent as agent_mod
        agent = agent_mod.Agent.__new__(agent_mod.Agent)
        agent.physical = physical
        agent.wired = {}
        agent.reported = []
        agent._report_bridges = agent.reported.append
        return agent

    def test_each_network_once_status_reported_and_dropped_with_the_last_port(self):
        physical = FakePhysical(fail={'n2'})
        agent = self.agent(physical)
        bridge = {'id': 'b1', 'physical_network': 'physnet1', 'segmentation_id': 200}
        agent._set_physical([
            {'port_id': 'p1', 'network_id': 'n1', 'physical_bridges': [bridge]},
            {'port_id': 'p2', 'network_id': 'n1', 'physical_bridges': [bridge]},
            {'port_id': 'p3', 'network_id': 'n2', 'physical_bridges': [dict(bridge, id='b2')]},
            {'port_id': 'p4', 'network_id': 'n3'}])
        self.assertEqual([('n1', ['b1']), ('n2', ['b2'])], physical.calls)
        self.assertEqual([{'b1': 'ACTIVE', 'b2': 'ERROR'}], agent.reported)
        agent.wired = {'p1': {'port_id': 'p1', 'network_id': 'n1'}}
        agent._drop_physical(['n1', 'n3'])
        self.assertEqual(('n3', []), physical.calls[-1])


class TestLinuxBridgeJoins(testtools.TestCase):
    """naas.agent.l2.physical_linuxbridge on the fake netlink handle of
    test_linuxbridge: a VLAN device of the mapped interface in the
    network's bridge, kept when right, removed with its bridge."""

    NET = '11111111-2222-3333-4444-555555555555'

    def setUp(self):
        super().setUp()
        from naas.agent.l2 import linuxbridge
        from naas.agent.l2 import physical_linuxbridge
        from tests.unit import test_linuxbridge as fakes
        self.ip = fakes.FakeIP([fakes.link(2, 'phys0', 'veth'),
                                fakes.link(3, linuxbridge.bridge_name(self.NET), 'bridge')])
        self.bridge_index = 3
        self.joins = physical_linuxbridge.LinuxBridgeJoins(
            lambda: self.ip, {'physnet1': 'phys0'}, linuxbridge.bridge_name)

    def bridge(self, vlan=150, bridge_id='b1'):
        return {'id': bridge_id, 'physical_network': 'physnet1', 'segmentation_id': vlan}

    def test_a_vlan_device_in_the_networks_bridge(self):
        self.joins.set_physical_bridges(self.NET, [self.bridge()])
        device = self.ip.links_['pvl-150-phys0']
        self.assertEqual(('vlan', 150, 2, self.bridge_index, True),
                         (device.kind, device.vlan_id, device.parent, device.master, device.up))
        self.assertTrue(self.ip.links_['phys0'].up)

    def test_another_vlan_replaces_it_and_an_empty_list_removes_it(self):
        from naas.agent.l2 import physical_linuxbridge
        self.joins.set_physical_bridges(self.NET, [self.bridge()])
        # The fake does not keep ifalias: mark the device ours as the kernel would.
        name = 'pvl-150-phys0'
        self.ip.links_[name] = self.ip.links_[name]._replace(
            alias=physical_linuxbridge.device_alias(self.NET, 'b1'))
        self.joins.set_physical_bridges(self.NET, [self.bridge(151)])
        self.assertNotIn(name, self.ip.links_)
        self.assertIn('pvl-151-phys0', self.ip.links_)
        self.ip.links_['pvl-151-phys0'] = self.ip.links_['pvl-151-phys0']._replace(
            alias=physical_linuxbridge.device_alias(self.NET, 'b1'))
        self.joins.reconcile_physical_bridges({})
        self.assertNotIn('pvl-151-phys0', self.ip.links_)
        self.assertIn('phys0', self.ip.links_)

    def test_refused_flat_unmapped_or_without_the_network(self):
        self.assertRaises(ValueError, self.joins.set_physical_bridges, self.NET,
                          [self.bridge(None)])
        self.assertRaises(ValueError, self.joins.set_physical_bridges, self.NET,
                          [dict(self.bridge(), physical_network='physnet9')])
        self.assertRaises(LookupError, self.joins.set_physical_bridges,
                          '99999999-2222-3333-4444-555555555555', [self.bridge()])
