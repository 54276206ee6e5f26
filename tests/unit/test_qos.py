"""The QoS API (naas.plugins.qos) through the real WSGI stack: policies and
their rules, rule types from the alive L2 agents, qos_policy_id on networks
and ports (present only with the plugin loaded), qos_policy in the agents'
port details, and the casts a policy change sends.
"""
import uuid

import testtools

from naas.common import context as naas_context
from naas.db import agents as db_agents
from naas.db import api as db_api
from naas.db import models
from naas.lib import constants
from naas.plugins import manager as plugin_manager
from naas.rpc import agent_api
from tests.fixtures import app
from tests.unit import test_casts

ALL_TYPES = ['bandwidth_limit', 'dscp_marking', 'packet_rate_limit']
MAX_INT = 2 ** 31 - 1


def register_agent(host, rule_types, agent_type=constants.AGENT_TYPE_LINUXBRIDGE):
    """An L2 agent row of ``host`` reporting ``rule_types``, as its heartbeat
    would write it."""
    state = {'agent_type': agent_type, 'binary': 'naas-agent', 'topic': 'naas-agent',
             'host': host, 'configurations': {'qos_rule_types': list(rule_types),
                                              'tunnel_types': ['vxlan'],
                                              'tunnel_ip': '192.0.2.1'}}
    db_api.retry(lambda ctx: db_agents.report_state(ctx.connection, state),
                 naas_context.get_admin_context())


def kill_agents():
    """Every agent's last heartbeat an hour ago: none is alive."""
    db_api.retry(lambda ctx: ctx.connection.execute(
        models.agents.update().values(heartbeat=models.agents.c.heartbeat - 3600)),
        naas_context.get_admin_context())


class QoSTestCase(testtools.TestCase):
    SERVICE_PLUGINS = ['qos']

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=self.SERVICE_PLUGINS,
                                                  agent_down_time=30))

    def call(self, method, path, body=None, expect=None, project='pa', roles='member'):
        status, data, _ = self.api.call(method, '/v2.0' + path, body, project=project,
                                        roles=roles)
        if expect is not None:
            self.assertEqual(expect, status, data)
        return data

    def error(self, method, path, body, expect, error_type=None, **kwargs):
        """The NeutronError of a request that must fail with ``expect``."""
        data = self.call(method, path, body, expect, **kwargs)
        error = data['NeutronError']
        self.assertEqual({'type', 'message', 'detail'}, set(error))
        if error_type:
            self.assertEqual(error_type, error['type'], error)
        return error

    def policy(self, **attrs):
        return self.call('POST', '/qos/policies', {'policy': attrs}, 201)['policy']

    def rule(self, policy_id, kind, expect=201, **attrs):
        data = self.call('POST', '/qos/policies/%s/%ss' % (policy_id, kind), {kind: attrs},
                         expect)
        return data.get(kind) if expect == 201 else data


class TestPolicies(QoSTestCase):

    def test_crud(self):
        created = self.policy(name='gold', description='fast')
        self.assertEqual({'name': 'gold', 'description': 'fast', 'shared': False,
                          'is_default': False, 'rules': [], 'project_id': 'pa'},
                         {k: created[k] for k in ('name', 'description', 'shared',
                                                  'is_default', 'rules', 'project_id')})
        path = '/qos/policies/' + created['id']
        self.assertEqual(created, self.call('GET', path, None, 200)['policy'])
        self.assertEqual([created['id']],
                         [p['id'] for p in self.call('GET', '/qos/policies', None, 200)
                          ['policies']])
        updated = self.call('PUT', path, {'policy': {'name': 'silver'}}, 200)['policy']
        self.assertEqual('silver', updated['name'])
        self.assertEqual(created['revision_number'] + 1, updated['revision_number'])
        self.call('DELETE', path, None, 204)
        self.error('GET', path, None, 404, 'QosPolicyNotFound')

    def test_one_default_per_project(self):
        first = self.policy(is_default=True)
        self.assertTrue(first['is_default'])
        self.error('POST', '/qos/policies', {'policy': {'is_default': True}}, 409,
                   'QoSPolicyDefaultAlreadyExists')
        second = self.policy()
        self.error('PUT', '/qos/policies/' + second['id'], {'policy': {'is_default': True}},
                   409, 'QoSPolicyDefaultAlreadyExists')
        # Another project has its own default.
        self.call('POST', '/qos/policies', {'policy': {'is_default': True}}, 201, project='pb')
        self.call('PUT', '/qos/policies/' + first['id'], {'policy': {'is_default': False}}, 200)
        self.call('PUT', '/qos/policies/' + second['id'], {'policy': {'is_default': True}}, 200)
        listed = self.call('GET', '/qos/policies?is_default=true', None, 200)['policies']
        self.assertEqual([second['id']], [p['id'] for p in listed])

    def test_network_gets_its_projects_default_policy(self):
        default = self.policy(is_default=True)
        network = self.call('POST', '/networks', {'network': {}}, 201)['network']
        self.assertEqual(default['id'], network['qos_policy_id'])

    def test_validation_errors_are_400(self):
        for body in ({'shared': 'maybe'}, {'name': 'x' * 256}, {'rules': []},
                     {'is_default': 3}, {'bogus': 1}):
            self.error('POST', '/qos/policies', {'policy': body}, 400)

    def test_only_an_admin_shares_a_policy(self):
        self.error('POST', '/qos/policies', {'policy': {'shared': True}}, 403,
                   'PolicyNotAuthorized')
        self.call('POST', '/qos/policies', {'policy': {'shared': True}}, 201, roles='admin')


class TestRules(QoSTestCase):

    def setUp(self):
        super().setUp()
        register_agent('hv1', ALL_TYPES)
        self.policy_id = self.policy()['id']

    def test_bandwidth_limit_rule_crud(self):
        rule = self.rule(self.policy_id, 'bandwidth_limit_rule', max_kbps=10000)
        self.assertEqual({'id': rule['id'], 'max_kbps': 10000, 'max_burst_kbps': 0,
                          'direction': 'egress'}, rule)
        path = '/qos/policies/%s/bandwidth_limit_rules/%s' % (self.policy_id, rule['id'])
        self.assertEqual(rule, self.call('GET', path, None, 200)['bandwidth_limit_rule'])
        updated = self.call('PUT', path, {'bandwidth_limit_rule': {'max_burst_kbps': 800}},
                            200)['bandwidth_limit_rule']
        self.assertEqual(800, updated['max_burst_kbps'])
        policy = self.call('GET', '/qos/policies/' + self.policy_id, None, 200)['policy']
        self.assertEqual([dict(updated, type='bandwidth_limit', qos_policy_id=self.policy_id)],
                         policy['rules'])
        listed = self.call('GET', '/qos/policies/%s/bandwidth_limit_rules' % self.policy_id,
                           None, 200)['bandwidth_limit_rules']
        self.assertEqual([updated], listed)
        self.call('DELETE', path, None, 204)
        self.error('GET', path, None, 404, 'QosRuleNotFound')
        self.assertEqual([], self.call('GET', '/qos/policies/' + self.policy_id, None, 200)
                         ['policy']['rules'])

    def test_one_rule_per_direction(self):
        self.rule(self.policy_id, 'bandwidth_limit_rule', max_kbps=1000)
        error = self.rule(self.policy_id, 'bandwidth_limit_rule', 409, max_kbps=2000,
                          direction='egress')
        self.assertEqual('QoSRulesConflict', error['NeutronError']['type'])
        ingress = self.rule(self.policy_id, 'bandwidth_limit_rule', max_kbps=2000,
                            direction='ingress')
        path = '/qos/policies/%s/bandwidth_limit_rules/%s' % (self.policy_id, ingress['id'])
        self.error('PUT', path, {'bandwidth_limit_rule': {'direction': 'egress'}}, 409,
                   'QoSRulesConflict')
        self.rule(self.policy_id, 'packet_rate_limit_rule', max_kpps=100)
        self.rule(self.policy_id, 'packet_rate_limit_rule', 409, max_kpps=100)
        self.rule(self.policy_id, 'dscp_marking_rule', dscp_mark=46)
        self.rule(self.policy_id, 'dscp_marking_rule', 409, dscp_mark=10)
        types = sorted(r['type'] for r in self.call(
            'GET', '/qos/policies/' + self.policy_id, None, 200)['policy']['rules'])
        self.assertEqual(['bandwidth_limit', 'bandwidth_limit', 'dscp_marking',
                          'packet_rate_limit'], types)

    def test_bounds_are_400(self):
        for kind, attrs in (
                ('bandwidth_limit_rule', {'max_kbps': MAX_INT + 1}),
                ('bandwidth_limit_rule', {'max_kbps': -1}),
                ('bandwidth_limit_rule', {'max_kbps': 2 ** 70}),
                ('bandwidth_limit_rule', {'max_kbps': 'fast'}),
                ('bandwidth_limit_rule', {'max_kbps': True}),
                ('bandwidth_limit_rule', {'max_kbps': 10, 'max_burst_kbps': MAX_INT + 1}),
                ('bandwidth_limit_rule', {'max_kbps': 10, 'direction': 'both'}),
                ('bandwidth_limit_rule', {}),
                ('dscp_marking_rule', {'dscp_mark': 7}),
                ('dscp_marking_rule', {'dscp_mark': 64}),
                ('dscp_marking_rule', {'dscp_mark': None}),
                ('packet_rate_limit_rule', {'max_kpps': MAX_INT + 1}),
                ('packet_rate_limit_rule', {'max_kpps': 1, 'max_burst_kpps': -5})):
            error = self.rule(self.policy_id, kind, 400, **attrs)
            self.assertIn(error['NeutronError']['type'], ('BadRequest', 'InvalidInput'), attrs)
        self.assertEqual([], self.call('GET', '/qos/policies/' + self.policy_id, None, 200)
                         ['policy']['rules'])
        self.rule(self.policy_id, 'bandwidth_limit_rule', max_kbps=MAX_INT,
                  max_burst_kbps=MAX_INT)
        self.rule(self.policy_id, 'dscp_marking_rule', dscp_mark=56)
        self.rule(self.policy_id, 'packet_rate_limit_rule', max_kpps=MAX_INT, direction='ingress')
        rule_id = self.rule(self.policy_id, 'bandwidth_limit_rule', max_kbps=0,
                            direction='ingress')['id']
        self.error('PUT', '/qos/policies/%s/bandwidth_limit_rules/%s' % (self.policy_id, rule_id),
                   {'bandwidth_limit_rule': {'max_kbps': MAX_INT + 1}}, 400)

    def test_rule_of_another_policy_is_not_found(self):
        rule = self.rule(self.policy_id, 'dscp_marking_rule', dscp_mark=8)
        other = self.policy()['id']
        self.error('GET', '/qos/policies/%s/dscp_marking_rules/%s' % (other, rule['id']),
                   None, 404, 'QosRuleNotFound')
        self.error('DELETE', '/qos/policies/%s/dscp_marking_rules/%s' % (other, rule['id']),
                   None, 404, 'QosRuleNotFound')
        self.error('GET', '/qos/policies/%s/dscp_marking_rules' % uuid.uuid4(), None, 404,
                   'QosPolicyNotFound')


class TestQueries(QoSTestCase):

    def test_every_filter_and_sort_key_is_served(self):
        # What the attribute maps offer as filters and sort keys is answered
        # (200 or 400), never a 500.
        register_agent('hv1', ALL_TYPES)
        policy_id = self.policy(name='p')['id']
        for kind, attrs in (('bandwidth_limit_rule', {'max_kbps': 10}),
                            ('dscp_marking_rule', {'dscp_mark': 8}),
                            ('packet_rate_limit_rule', {'max_kpps': 1})):
            self.rule(policy_id, kind, **attrs)
        paths = {'/qos/policies': 'qos/policies', '/qos/rule-types': 'qos/rule-types'}
        paths.update({'/qos/policies/%s/%s' % (policy_id, collection): collection
                      for collection in ('bandwidth_limit_rules', 'dscp_marking_rules',
                                         'packet_rate_limit_rules')})
        registry = plugin_manager.get_manager().registry
        for path, collection in sorted(paths.items()):
            for name, spec in registry.attribute_map(collection).items():
                queries = []
                if spec.get('is_filter'):
                    queries += ['%s=%s' % (name, value) for value in ('x', '', '1', 'true')]
                if spec.get('is_sort_key'):
                    queries += ['sort_key=%s&sort_dir=desc' % name]
                for query in queries:
                    status, body, _ = self.api.call('GET', '/v2.0%s?%s' % (path, query),
                                                    project='pa', roles='member')
                    self.assertIn(status, (200, 400), (path, query, body))
        self.error('GET', '/qos/policies?sort_key=is_default', None, 400)
        listed = self.call('GET', '/qos/policies/%s/bandwidth_limit_rules?max_kbps=10&limit=1'
                           % policy_id, None, 200)['bandwidth_limit_rules']
        self.assertEqual([10], [r['max_kbps'] for r in listed])

    def test_tags(self):
        policy_id = self.policy()['id']
        self.call('PUT', '/qos/policies/%s/tags/gold' % policy_id, None, 201)
        policy = self.call('GET', '/qos/policies/' + policy_id, None, 200)['policy']
        self.assertEqual(['gold'], policy['tags'])
        self.assertEqual([policy_id], [p['id'] for p in self.call(
            'GET', '/qos/policies?tags=gold', None, 200)['policies']])


class TestRuleTypes(QoSTestCase):

    def test_no_agent_no_rule(self):
        policy_id = self.policy()['id']
        self.assertEqual([], self.call('GET', '/qos/rule-types', None, 200)['rule_types'])
        for kind, attrs in (('bandwidth_limit_rule', {'max_kbps': 1000}),
                            ('dscp_marking_rule', {'dscp_mark': 8}),
                            ('packet_rate_limit_rule', {'max_kpps': 10})):
            error = self.rule(policy_id, kind, 409, **attrs)['NeutronError']
            self.assertEqual('QosRuleTypeNotSupported', error['type'])
            self.assertIn('is not supported', error['message'])
        self.assertEqual([], self.call('GET', '/qos/policies/' + policy_id, None, 200)
                         ['policy']['rules'])

    def test_only_what_an_alive_agent_enforces(self):
        register_agent('hv1', ['bandwidth_limit'])
        register_agent('hv2', ['bandwidth_limit', 'dscp_marking'], constants.AGENT_TYPE_OVS)
        listed = self.call('GET', '/qos/rule-types', None, 200)['rule_types']
        self.assertEqual([{'type': 'bandwidth_limit'}, {'type': 'dscp_marking'}], listed)
        shown = self.call('GET', '/qos/rule-types/bandwidth_limit', None, 200)['rule_type']
        self.assertEqual(sorted([constants.AGENT_TYPE_LINUXBRIDGE, constants.AGENT_TYPE_OVS]),
                         sorted(d['name'] for d in shown['drivers']))
        self.assertIn({'parameter_name': 'max_kbps', 'parameter_type': 'range',
                       'parameter_values': {'start': 0, 'end': MAX_INT}},
                      shown['drivers'][0]['supported_parameters'])
        self.error('GET', '/qos/rule-types/packet_rate_limit', None, 404, 'QosRuleTypeNotFound')
        policy_id = self.policy()['id']
        self.rule(policy_id, 'dscp_marking_rule', dscp_mark=8)
        self.rule(policy_id, 'packet_rate_limit_rule', 409, max_kpps=10)
        kill_agents()
        self.assertEqual([], self.call('GET', '/qos/rule-types', None, 200)['rule_types'])
        self.rule(policy_id, 'bandwidth_limit_rule', 409, max_kbps=10)


class TestIsolation(QoSTestCase):

    def setUp(self):
        super().setUp()
        register_agent('hv1', ALL_TYPES)
        self.private = self.policy(name='private')
        self.shared = self.call('POST', '/qos/policies', {'policy': {'shared': True}}, 201,
                                roles='admin')['policy']

    def test_other_project_sees_only_shared(self):
        listed = self.call('GET', '/qos/policies', None, 200, project='pb')['policies']
        self.assertEqual([self.shared['id']], [p['id'] for p in listed])
        private = '/qos/policies/' + self.private['id']
        for method, path, body in (
                ('GET', private, None),
                ('PUT', private, {'policy': {'name': 'mine'}}),
                ('DELETE', private, None),
                ('GET', private + '/bandwidth_limit_rules', None),
                ('POST', private + '/bandwidth_limit_rules',
                 {'bandwidth_limit_rule': {'max_kbps': 1}})):
            self.error(method, path, body, 404, 'QosPolicyNotFound', project='pb')

    def test_shared_policy_read_only_for_others(self):
        shared = '/qos/policies/' + self.shared['id']
        self.call('GET', shared, None, 200, project='pb')
        self.error('PUT', shared, {'policy': {'name': 'mine'}}, 403, project='pb')
        self.error('POST', shared + '/dscp_marking_rules', {'dscp_marking_rule': {'dscp_mark': 8}},
                   403, project='pb')
        self.call('POST', shared + '/dscp_marking_rules', {'dscp_marking_rule': {'dscp_mark': 8}},
                  201, roles='admin')
        self.assertEqual(1, len(self.call('GET', shared + '/dscp_marking_rules', None, 200,
                                          project='pb')['dscp_marking_rules']))

    def test_attach_only_visible_policies(self):
        network = self.call('POST', '/networks', {'network': {}}, 201, project='pb')['network']
        self.error('PUT', '/networks/' + network['id'],
                   {'network': {'qos_policy_id': self.private['id']}}, 404, 'QosPolicyNotFound',
                   project='pb')
        self.error('POST', '/ports', {'port': {'network_id': network['id'],
                                               'qos_policy_id': self.private['id']}},
                   404, 'QosPolicyNotFound', project='pb')
        self.error('POST', '/networks', {'network': {'qos_policy_id': str(uuid.uuid4())}}, 404,
                   'QosPolicyNotFound', project='pb')
        self.error('POST', '/networks', {'network': {'qos_policy_id': 'nope'}}, 400,
                   project='pb')
        updated = self.call('PUT', '/networks/' + network['id'],
                            {'network': {'qos_policy_id': self.shared['id']}}, 200,
                            project='pb')['network']
        self.assertEqual(self.shared['id'], updated['qos_policy_id'])
        port = self.call('POST', '/ports', {'port': {'network_id': network['id']}}, 201,
                         project='pb')['port']
        self.assertIsNone(port['qos_policy_id'])
        listed = self.call('GET', '/networks', None, 200, project='pb')['networks']
        self.assertEqual([self.shared['id']], [n['qos_policy_id'] for n in listed])


class TestInUse(QoSTestCase):

    def test_policy_in_use_is_409(self):
        policy = self.policy()
        path = '/qos/policies/' + policy['id']
        network = self.call('POST', '/networks', {'network': {'qos_policy_id': policy['id']}},
                            201)['network']
        self.error('DELETE', path, None, 409, 'QosPolicyInUse')
        self.call('PUT', '/networks/' + network['id'], {'network': {'qos_policy_id': None}}, 200)
        port = self.call('POST', '/ports', {'port': {'network_id': network['id'],
                                                     'qos_policy_id': policy['id']}},
                         201)['port']
        self.assertEqual(policy['id'], port['qos_policy_id'])
        self.error('DELETE', path, None, 409, 'QosPolicyInUse')
        self.call('DELETE', '/ports/' + port['id'], None, 204)
        self.call('DELETE', path, None, 204)


class TestWithoutPlugin(QoSTestCase):
    SERVICE_PLUGINS = []

    def test_no_qos_policy_id_without_the_plugin(self):
        self.error('POST', '/networks', {'network': {'qos_policy_id': None}}, 400)
        network = self.call('POST', '/networks', {'network': {}}, 201)['network']
        self.assertNotIn('qos_policy_id', network)
        port = self.call('POST', '/ports', {'port': {'network_id': network['id']}}, 201)['port']
        self.assertNotIn('qos_policy_id', port)
        self.error('PUT', '/ports/' + port['id'], {'port': {'qos_policy_id': None}}, 400)
        self.error('GET', '/qos/policies', None, 501)
        self.error('GET', '/qos/policies/%s/bandwidth_limit_rules' % uuid.uuid4(), None, 501)
        aliases = {e['alias'] for e in self.call('GET', '/extensions', None, 200)['extensions']}
        self.assertFalse(aliases & {'qos', 'qos-default', 'qos-bw-limit-direction', 'qos-pps',
                                    'qos-rule-type-details'})


class TestPortDetails(QoSTestCase):

    def setUp(self):
        super().setUp()
        register_agent('hv1', ALL_TYPES)

    def admin(self, method, path, body=None, expect=None):
        return self.call(method, path, body, expect, roles='admin')

    def test_port_policy_wins_over_network_policy(self):
        network_policy = self.policy()['id']
        self.rule(network_policy, 'bandwidth_limit_rule', max_kbps=1000)
        port_policy = self.policy()['id']
        self.rule(port_policy, 'dscp_marking_rule', dscp_mark=46)
        self.rule(port_policy, 'bandwidth_limit_rule', max_kbps=500, max_burst_kbps=100,
                  direction='ingress')
        network = self.admin('POST', '/networks',
                             {'network': {'qos_policy_id': network_policy}}, 201)['network']

        def port(**attrs):
            attrs.update({'network_id': network['id'], 'binding:host_id': 'hv1'})
            return self.admin('POST', '/ports', {'port': attrs}, 201)['port']['id']

        own, inherits = port(qos_policy_id=port_policy), port()
        dhcp = port(device_owner=constants.DEVICE_OWNER_DHCP)
        handler = plugin_manager.get_manager().core.rpc_handler
        details = {d['port_id']: d['qos_policy']
                   for d in handler.get_devices_details([own, inherits, dhcp], 'hv1')}
        self.assertEqual({'id': port_policy, 'rules': [
            {'type': 'bandwidth_limit', 'max_kbps': 500, 'max_burst_kbps': 100,
             'direction': 'ingress'},
            {'type': 'dscp_marking', 'dscp_mark': 46}]}, details[own])
        self.assertEqual({'id': network_policy, 'rules': [
            {'type': 'bandwidth_limit', 'max_kbps': 1000, 'max_burst_kbps': 0,
             'direction': 'egress'}]}, details[inherits])
        # A network service's port does not take its network's policy.
        self.assertIsNone(details[dhcp])
        self.admin('PUT', '/ports/' + own, {'port': {'qos_policy_id': None}}, 200)
        self.admin('PUT', '/networks/' + network['id'], {'network': {'qos_policy_id': None}}, 200)
        details = handler.sync('hv1')['ports']
        self.assertEqual([None, None, None], [d['qos_policy'] for d in details])


class TestCasts(QoSTestCase):
    """A policy's change reaches the hosts of the ports it applies to, and
    only those."""

    def setUp(self):
        super().setUp()
        self.useFixture(app.ConfFixture(executor_thread_pool_size=1, agent_down_time=30))
        app.start_rpc_listeners(self)
        suffix = uuid.uuid4().hex[:8]
        self.seen = {}
        self.hosts = ['hv1-' + suffix, 'hv2-' + suffix, 'hv3-' + suffix]
        self.agents = {host: app.serve_agent(self, host, test_casts.RecordingAgent(),
                                             timeout=test_casts.TIMEOUT,
                                             qos_rule_types=ALL_TYPES)
                       for host in self.hosts}

    def casts(self, host):
        """The port casts ``host`` got since the last call (a marker cast
        after them: the agent's one worker handles its queue in order)."""
        marker = 'marker-' + uuid.uuid4().hex
        agent_api.AgentNotifyAPI().port_delete(marker, host=host)
        agent = self.agents[host]
        got = [cast for cast in agent.wait_for(('port_delete', marker))
               if not cast[1].startswith('marker-')]
        new, self.seen[host] = got[self.seen.get(host, 0):], len(got)
        return new

    def test_rule_change_reaches_only_the_hosts_of_its_ports(self):
        hv1, hv2, hv3 = self.hosts
        policy = self.policy()['id']
        other = self.policy()['id']
        net = self.call('POST', '/networks', {'network': {'qos_policy_id': policy}},
                        201, roles='admin')['network']['id']
        plain = self.call('POST', '/networks', {'network': {}}, 201, roles='admin')['network']['id']

        def port(network_id, host, **attrs):
            attrs.update({'network_id': network_id, 'binding:host_id': host})
            return self.call('POST', '/ports', {'port': attrs}, 201, roles='admin')['port']['id']

        inherits = port(net, hv1)                       # the network's policy
        own = port(plain, hv3, qos_policy_id=policy)    # its own
        port(net, hv2, qos_policy_id=other)             # its own policy wins: not affected
        port(plain, hv2)                                # no policy
        port(net, '')                                   # bound nowhere
        for host in self.hosts:
            self.casts(host)   # the port creations' casts
        rule = self.rule(policy, 'bandwidth_limit_rule', max_kbps=1000)
        self.assertEqual([('port_update', inherits)], self.casts(hv1))
        self.assertEqual([], self.casts(hv2))
        self.assertEqual([('port_update', own)], self.casts(hv3))
        self.call('PUT', '/qos/policies/%s/bandwidth_limit_rules/%s' % (policy, rule['id']),
                  {'bandwidth_limit_rule': {'max_kbps': 2000}}, 200)
        self.call('DELETE', '/qos/policies/%s/bandwidth_limit_rules/%s' % (policy, rule['id']),
                  None, 204)
        self.assertEqual([('port_update', inherits)] * 2, self.casts(hv1))
        self.assertEqual([], self.casts(hv2))
        self.assertEqual([('port_update', own)] * 2, self.casts(hv3))
        # A refused rule sends nothing.
        self.rule(policy, 'dscp_marking_rule', 400, dscp_mark=1)
        self.assertEqual([], self.casts(hv1))
