"""HA routers on the server side (naas.plugins.l3.ha): the ``ha`` attribute
and its policy, scheduling to several L3 agents with a VRRP port each on
the project's hidden HA network, the states agents report and the
l3-agents view; on the in-process transport."""
import testtools

from naas import rpc
from naas.lib import constants
from naas.plugins import manager as plugin_manager
from naas.rpc import l3_api
from tests.fixtures import app
from tests.unit import test_ha
from tests.unit import test_l3_rpc

ADMIN = test_l3_rpc.ADMIN
HA_OWNER = constants.DEVICE_OWNER_ROUTER_HA_INTF


class TestL3HA(testtools.TestCase):
    call = test_l3_rpc.TestL3RPC.call
    report = test_l3_rpc.TestL3RPC.report
    listen = test_l3_rpc.TestL3RPC.listen
    topology = test_l3_rpc.TestL3RPC.topology

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=['router'],
                                                  agent_down_time=test_ha.DOWN_TIME))
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        manager = plugin_manager.get_manager()
        for server in (manager.core.start_rpc_listeners()
                       + manager.services['router'].start_rpc_listeners()):
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)
        for host in ('hv1', 'hv2', 'hv3'):
            self.report(host)
            self.report(host, constants.AGENT_TYPE_LINUXBRIDGE)

    def ha_router(self, **body):
        return self.call('POST', '/v2.0/routers', {'router': dict(
            {'name': 'r', 'ha': True, 'project_id': 'p'}, **body)}, 201, **ADMIN)['router']

    def l3_agents(self, router_id):
        return self.call('GET', '/v2.0/routers/%s/l3-agents' % router_id, None, 200,
                         **ADMIN)['agents']

    def ha_ports(self, router_id):
        return self.call('GET', '/v2.0/ports?device_owner=%s&device_id=%s'
                         % (HA_OWNER, router_id), None, 200, **ADMIN)['ports']

    # ---- the attribute ----------------------------------------------------------

    def test_only_an_admin_sets_or_sees_ha(self):
        self.call('POST', '/v2.0/routers', {'router': {'name': 'r', 'ha': True}}, 403)
        mine = self.call('POST', '/v2.0/routers', {'router': {'name': 'r'}}, 201)['router']
        self.assertNotIn('ha', mine)
        self.assertFalse(self.call('GET', '/v2.0/routers/' + mine['id'], None, 200,
                                   **ADMIN)['router']['ha'])
        router = self.ha_router()
        self.assertTrue(router['ha'])
        self.assertNotIn('ha', self.call('GET', '/v2.0/routers/' + router['id'], None,
                                         200)['router'])
        self.call('PUT', '/v2.0/routers/' + router['id'],
                  {'router': {'ha': False, 'admin_state_up': False}}, 403)

    def test_l3_ha_option_is_the_default(self):
        self.useFixture(app.ConfFixture(l3_ha=True))
        router = self.call('POST', '/v2.0/routers', {'router': {'name': 'r'}}, 201)['router']
        self.assertTrue(self.call('GET', '/v2.0/routers/' + router['id'], None, 200,
                                  **ADMIN)['router']['ha'])
        self.assertEqual(3, len(self.l3_agents(router['id'])))

    def test_ha_changes_only_while_the_router_is_down(self):
        router = self.ha_router()
        path = '/v2.0/routers/' + router['id']
        self.call('PUT', path, {'router': {'ha': False}}, 400, **ADMIN)
        down = self.call('PUT', path, {'router': {'ha': False, 'admin_state_up': False}},
                         200, **ADMIN)['router']
        self.assertFalse(down['ha'])
        self.assertEqual([], self.ha_ports(router['id']))
        self.assertEqual(1, len(self.l3_agents(router['id'])))
        self.assertEqual([None], [a['ha_state'] for a in self.l3_agents(router['id'])])
        again = self.call('PUT', path, {'router': {'ha': True}}, 200, **ADMIN)['router']
        self.assertTrue(again['ha'])
        self.assertEqual(3, len(self.ha_ports(router['id'])))

    # ---- scheduling ---------------------------------------------------------------

    def test_scheduled_to_max_agents_each_with_a_vrrp_port_on_a_hidden_network(self):
        self.useFixture(app.ConfFixture(max_l3_agents_per_router=2))
        hv = {host: self.listen(host) for host in ('hv1', 'hv2', 'hv3')}
        router = self.ha_router()
        agents = self.l3_agents(router['id'])
        hosts = sorted(a['host'] for a in agents)
        self.assertEqual(2, len(hosts))
        self.assertEqual(['standby', 'standby'], [a['ha_state'] for a in agents])
        ports = self.ha_ports(router['id'])
        self.assertEqual(hosts, sorted(p['binding:host_id'] for p in ports))
        [net_id] = {p['network_id'] for p in ports}
        network = self.call('GET', '/v2.0/networks/' + net_id, None, 200, **ADMIN)['network']
        self.assertEqual('HA network tenant p', network['name'])
        self.assertEqual('', network['project_id'])
        # Hidden from the project (Neutron's HA network has no project).
        self.call('GET', '/v2.0/networks/' + net_id, None, 404)
        self.assertNotIn(net_id, [n['id'] for n in self.call('GET', '/v2.0/networks')[
            'networks']])
        for p in ports:
            self.assertTrue(p['fixed_ips'][0]['ip_address'].startswith('169.254.'))
        # A second router of the project: the same network, another vr_id.
        second = self.ha_router(name='r2')
        self.assertEqual({net_id}, {p['network_id'] for p in self.ha_ports(second['id'])})
        datas = {}
        for host in hosts:
            for data in l3_api.L3ServerAPI(host, timeout=10).sync_routers({}):
                datas[data['id']] = data
                mine = [p for p in data['ha_ports'] if p['host'] == host]
                self.assertEqual(1, len(mine))
                self.assertTrue(data['ha'])
        self.assertEqual(2, len({d['ha_vr_id'] for d in datas.values()}))
        # Deleting both removes the ports, the network, and the instances.
        for r in (router, second):
            self.call('DELETE', '/v2.0/routers/' + r['id'], None, 204, **ADMIN)
        self.call('GET', '/v2.0/networks/' + net_id, None, 404, **ADMIN)
        for host in hosts:
            self.assertIn(('router_deleted', router['id']), hv[host].wait_for('router_deleted'))

    def test_state_reports_bind_the_ports_to_the_active_host(self):
        self.useFixture(app.ConfFixture(max_l3_agents_per_router=2))
        ext = self.topology()[0]
        net = self.call('POST', '/v2.0/networks', {'network': {'name': 'n2'}}, 201)['network']
        sub = self.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': net['id'], 'ip_version': 4, 'cidr': '10.1.0.0/24'}}, 201)['subnet']
        router = self.ha_router(external_gateway_info={'network_id': ext['id']})
        self.call('PUT', '/v2.0/routers/%s/add_router_interface' % router['id'],
                  {'subnet_id': sub['id']}, 200, **ADMIN)
        hosts = sorted(a['host'] for a in self.l3_agents(router['id']))
        backup, master = hosts
        l3_api.L3ServerAPI(master, timeout=10).update_ha_states({}, {router['id']: 'active'})
        l3_api.L3ServerAPI(backup, timeout=10).update_ha_states({}, {router['id']: 'standby'})
        states = {a['host']: a['ha_state'] for a in self.l3_agents(router['id'])}
        self.assertEqual({master: 'active', backup: 'standby'}, states)
        ports = self.call('GET', '/v2.0/ports?device_id=' + router['id'], None, 200,
                          **ADMIN)['ports']
        routed = [p for p in ports if p['device_owner'] != HA_OWNER]
        self.assertEqual(2, len(routed))
        self.assertEqual({master}, {p['binding:host_id'] for p in routed})
        # The L2 agents of both hosts may wire them (the backup's too).
        from naas.rpc import server_api
        for host in hosts:
            details = server_api.ServerAPI(host, timeout=10).get_devices_details_list(
                {}, [p['id'] for p in routed])
            self.assertEqual([False, False], [bool(d.get('missing')) for d in details])
        # Failover: the backup reports active, the ports follow it.
        l3_api.L3ServerAPI(backup, timeout=10).update_ha_states({}, {router['id']: 'active'})
        ports = self.call('GET', '/v2.0/ports?device_id=' + router['id'], None, 200,
                          **ADMIN)['ports']
        self.assertEqual({backup}, {p['binding:host_id'] for p in ports
                                    if p['device_owner'] != HA_OWNER})

    def test_an_agent_that_comes_later_tops_up_the_router(self):
        self.useFixture(app.ConfFixture(max_l3_agents_per_router=4))
        router = self.ha_router()
        self.assertEqual(3, len(self.l3_agents(router['id'])))
        self.report('hv4')
        [data] = l3_api.L3ServerAPI('hv4', timeout=10).sync_routers({})
        self.assertEqual(router['id'], data['id'])
        self.assertEqual(4, len(self.l3_agents(router['id'])))
        self.assertEqual(4, len(data['ha_ports']))

    def test_tenant_sees_no_l3_agents_and_nobody_deletes_a_vrrp_port(self):
        router = self.ha_router()
        self.assertEqual(3, len(self.l3_agents(router['id'])))
        self.assertEqual({'agents': []}, self.call(
            'GET', '/v2.0/routers/%s/l3-agents' % router['id'], None, 200))
        port = self.ha_ports(router['id'])[0]
        self.call('DELETE', '/v2.0/ports/' + port['id'], None, 409, **ADMIN)

    def test_the_periodic_check_schedules_a_router_made_while_no_agent_was_alive(self):
        l3 = plugin_manager.get_manager().services['router']
        for host in ('hv1', 'hv2', 'hv3'):
            test_ha.kill(host, [constants.AGENT_TYPE_L3])
        router = self.ha_router()
        self.assertEqual([], self.l3_agents(router['id']))
        self.report('hv2')
        hv2 = self.listen('hv2')
        self.assertEqual({router['id']: 'hv2'}, l3.reschedule_dead_agents())
        self.assertEqual(['hv2'], [a['host'] for a in self.l3_agents(router['id'])])
        self.assertEqual([('routers_updated', [router['id']])],
                         hv2.wait_for('routers_updated'))
        self.assertEqual({}, l3.reschedule_dead_agents())
