"""High availability on the server side: DHCP networks served by
dhcp_agents_per_network agents and moved off dead DHCP agents
(naas.plugins.l2.dhcp), routers moved off dead L3 agents
(naas.plugins.l3.scheduler); on the in-process transport.  An agent dies
here by its heartbeat being set agent_down_time + 1 s into the past; the
failover check is called directly (the server runs it periodically)."""
import time

import testtools

from naas import rpc
from naas.common import context as naas_context
from naas.common import periodic
from naas.db import api as db_api
from naas.db import models as core_models
from naas.lib import constants
from naas.plugins import manager as plugin_manager
from naas.plugins.l3 import scheduler
from naas.rpc import l3_api
from naas.rpc import server_api
from tests.fixtures import app
from tests.unit import test_dhcp
from tests.unit import test_l3_rpc

DOWN_TIME = 30


def kill(host, agent_types):
    """Make the agents of ``host`` dead: last heartbeat long ago."""
    agents = core_models.agents

    def stale(context):
        context.connection.execute(agents.update().where(
            agents.c.host == host, agents.c.agent_type.in_(list(agent_types)))
            .values(heartbeat=time.time() - DOWN_TIME - 1))
    db_api.retry(stale, naas_context.get_admin_context())


class TestDhcpFailover(testtools.TestCase):
    # The helpers of the DHCP scheduling tests (not their tests).
    report = test_dhcp.TestDhcpScheduling.report
    call = test_dhcp.TestDhcpScheduling.call
    network = test_dhcp.TestDhcpScheduling.network
    dhcp_ports = test_dhcp.TestDhcpScheduling.dhcp_ports

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(agent_down_time=DOWN_TIME))
        app.start_rpc_listeners(self)
        self.agents = {}
        self.dhcp = plugin_manager.get_manager().core.dhcp

    def served(self, host):
        return server_api.ServerAPI(host, timeout=10).get_dhcp_networks({})

    def kill(self, host):
        kill(host, [constants.AGENT_TYPE_LINUXBRIDGE])

    def test_two_agents_per_network_serve_the_same_hosts(self):
        self.useFixture(app.ConfFixture(dhcp_agents_per_network=2))
        for host in ('hv1', 'hv2', 'hv3'):
            self.report(host)
        net, _ = self.network()
        vm = self.call('POST', '/v2.0/ports', {'port': {'network_id': net['id']}},
                       201)['port']
        for host in ('hv1', 'hv2', 'hv3'):     # each serving host makes its DHCP port
            self.served(host)
        by_host = {h: self.served(h) for h in ('hv1', 'hv2', 'hv3')}
        serving = sorted(h for h, nets in by_host.items() if nets)
        self.assertEqual(2, len(serving), by_host)
        views = [by_host[h][0] for h in serving]
        # Each its own DHCP port; the same MAC -> IP entries in both.
        self.assertNotEqual(views[0]['port']['id'], views[1]['port']['id'])
        entries = [{p['mac_address']: p['fixed_ips'] for p in v['ports']} for v in views]
        self.assertEqual(entries[0], entries[1])
        self.assertIn(vm['mac_address'], entries[0])
        self.assertEqual(2, len(self.dhcp_ports(net)))

    def test_network_of_a_dead_agent_moves_to_an_alive_one(self):
        self.report('hv1')
        net, _ = self.network()
        self.assertEqual([net['id']], [n['id'] for n in self.served('hv1')])
        self.report('hv2')
        [old_port] = self.dhcp_ports(net)
        # Alive: nothing moves.
        self.assertEqual({}, self.dhcp.reschedule_dead_agents())
        self.kill('hv1')
        self.agents['hv2'].event.clear()
        self.assertEqual({net['id']: ['hv2']}, self.dhcp.reschedule_dead_agents())
        self.assertTrue(self.agents['hv2'].event.wait(10))
        self.assertIn(net['id'], self.agents['hv2'].changed)
        self.assertEqual([net['id']], [n['id'] for n in self.served('hv2')])
        [port] = self.dhcp_ports(net)
        self.assertNotEqual(old_port['id'], port['id'])
        self.assertEqual(('dhcp-hv2', 'hv2'), (port['device_id'], port['binding:host_id']))
        # hv1 back: it has nothing left to serve (its dnsmasq goes on its sync).
        self.report('hv1')
        self.assertEqual([], self.served('hv1'))
        self.assertEqual({}, self.dhcp.reschedule_dead_agents())

    def test_nothing_moves_while_no_dhcp_agent_is_alive(self):
        self.report('hv1')
        self.report('hv2')
        net, _ = self.network()
        self.served('hv1')
        self.kill('hv1')
        self.kill('hv2')
        self.assertEqual({}, self.dhcp.reschedule_dead_agents())
        self.report('hv1')
        self.assertEqual([net['id']], [n['id'] for n in self.served('hv1')])

    def test_dead_agent_with_no_replacement_is_unbound_and_gets_it_back(self):
        self.useFixture(app.ConfFixture(dhcp_agents_per_network=2))
        self.report('hv1')
        self.report('hv2')
        net, _ = self.network()
        self.served('hv1')
        self.served('hv2')
        self.kill('hv2')
        self.assertEqual({net['id']: ['hv1']}, self.dhcp.reschedule_dead_agents())
        self.assertEqual(['hv1'], [p['binding:host_id'] for p in self.dhcp_ports(net)])
        self.report('hv2')
        self.assertEqual([net['id']], [n['id'] for n in self.served('hv2')])
        self.assertEqual(['hv1', 'hv2'],
                         sorted(p['binding:host_id'] for p in self.dhcp_ports(net)))


class TestL3Failover(testtools.TestCase):
    # The set-up and helpers of the L3 RPC tests (not their tests).
    call = test_l3_rpc.TestL3RPC.call
    report = test_l3_rpc.TestL3RPC.report
    listen = test_l3_rpc.TestL3RPC.listen
    topology = test_l3_rpc.TestL3RPC.topology

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=['router'],
                                                  agent_down_time=DOWN_TIME))
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        manager = plugin_manager.get_manager()
        self.l3 = manager.services['router']
        for server in manager.core.start_rpc_listeners() + self.l3.start_rpc_listeners():
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)

    def host_of(self, router_id):
        return db_api.retry(lambda ctx: scheduler.host_of(ctx.connection, router_id),
                            naas_context.get_admin_context())

    def test_router_of_a_dead_agent_moves_with_its_ports(self):
        self.report('hv1')
        self.report('hv1', constants.AGENT_TYPE_LINUXBRIDGE)
        ext, ext_sub, net, sub, router = self.topology()
        self.assertEqual('hv1', self.host_of(router['id']))
        self.report('hv2')
        self.report('hv2', constants.AGENT_TYPE_LINUXBRIDGE)
        hv2 = self.listen('hv2')
        self.assertEqual({}, self.l3.reschedule_dead_agents())
        kill('hv1', [constants.AGENT_TYPE_L3])
        self.assertEqual({router['id']: 'hv2'}, self.l3.reschedule_dead_agents())
        self.assertEqual('hv2', self.host_of(router['id']))
        self.assertEqual([('routers_updated', [router['id']])],
                         hv2.wait_for('routers_updated'))
        ports = self.call('GET', '/v2.0/ports?device_id=' + router['id'],
                          **test_l3_rpc.ADMIN)['ports']
        self.assertEqual(2, len(ports))
        self.assertEqual({'hv2'}, {p['binding:host_id'] for p in ports})
        # The new host's sync has the router with its gateway.
        [data] = l3_api.L3ServerAPI('hv2', timeout=10).sync_routers({})
        self.assertEqual(router['id'], data['id'])
        self.assertIsNotNone(data['gateway'])
        self.assertEqual({}, self.l3.reschedule_dead_agents())

    def test_nothing_moves_without_an_alive_l3_agent(self):
        self.report('hv1')
        ext, ext_sub, net, sub, router = self.topology()
        kill('hv1', [constants.AGENT_TYPE_L3])
        self.assertEqual({}, self.l3.reschedule_dead_agents())
        self.assertEqual('hv1', self.host_of(router['id']))


class TestPeriodic(testtools.TestCase):

    def test_runs_after_its_delay_and_survives_an_exception(self):
        calls = []

        def task():
            calls.append(time.monotonic())
            if len(calls) == 1:
                raise RuntimeError('first run fails')
        started = time.monotonic()
        task_thread = periodic.Periodic('test', task, interval=0.05,
                                        initial_delay=0.2).start()
        self.addCleanup(task_thread.wait)
        self.addCleanup(task_thread.stop)
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertGreaterEqual(len(calls), 3)
        self.assertGreaterEqual(calls[0] - started, 0.2)
        task_thread.stop()
        task_thread.wait()
        count = len(calls)
        time.sleep(0.2)
        self.assertEqual(count, len(calls))

    def test_failover_checks_follow_their_options(self):
        self.useFixture(app.APIFixture(service_plugins=['router'],
                                       allow_automatic_dhcp_failover=False))
        manager = plugin_manager.get_manager()
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        servers = manager.core.start_rpc_listeners() + \
            manager.services['router'].start_rpc_listeners()
        for server in servers:
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)
        self.assertEqual(['l3-failover'], [s.name for s in servers
                                           if isinstance(s, periodic.Periodic)])
