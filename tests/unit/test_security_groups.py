"""Security groups as Neutron serves them (naas.plugins.securitygroups):
groups and each project's default group, rules and their checks, address
groups, the template of new groups' rules, ports' security_groups, what the
agents get (port details, get_security_group_info) and which hosts hear of
a change.  Everything goes through the real API and plugins on SQLite.
"""
import os
import threading
from unittest import mock

import fixtures
import sqlalchemy
import testtools

from naas.db import api as db_api
from naas.plugins import manager as plugin_manager
from naas.rpc import agent_api
from tests.fixtures import app

A, B = 'project-a', 'project-b'
UNKNOWN = '3a1c3b0e-1d9a-4a8c-9d7e-2b9f1c7c1e11'


class Base(testtools.TestCase):
    PLUGINS = ['security-group']

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=self.PLUGINS))

    def call(self, method, path, body=None, project=A, roles='member'):
        status, data, _ = self.api.call(method, '/v2.0/' + path, body, project=project,
                                        roles=roles)
        return status, data

    def ok(self, method, path, body=None, project=A, roles='member', status=None):
        got, data = self.call(method, path, body, project, roles)
        expected = status or {'POST': 201, 'DELETE': 204}.get(method, 200)
        self.assertEqual(expected, got, '%s %s: %r' % (method, path, data))
        return data

    def error(self, status, error_type, method, path, body=None, project=A, roles='member'):
        got, data = self.call(method, path, body, project, roles)
        self.assertEqual(status, got, data)
        self.assertEqual(error_type, data['NeutronError']['type'], data)
        return data

    def group(self, name='web', project=A, **attrs):
        return self.ok('POST', 'security-groups',
                       {'security_group': dict(attrs, name=name)}, project)['security_group']

    def rule(self, group_id, project=A, **attrs):
        attrs.setdefault('direction', 'ingress')
        return self.ok('POST', 'security-group-rules', {'security_group_rule': dict(
            attrs, security_group_id=group_id)}, project)['security_group_rule']

    def default_group(self, project=A):
        groups = self.ok('GET', 'security-groups?name=default', project=project)
        return groups['security_groups'][0]

    def network(self, project=A, cidr='10.0.0.0/24'):
        net = self.ok('POST', 'networks', {'network': {}}, project)['network']
        self.ok('POST', 'subnets', {'subnet': {'network_id': net['id'], 'cidr': cidr,
                                               'ip_version': 4}}, project)
        return net

    def port(self, network, project=A, **attrs):
        return self.ok('POST', 'ports', {'port': dict(attrs, network_id=network['id'])},
                       project)['port']


class TestGroups(Base):

    def test_default_group_made_once_on_first_list(self):
        first = self.ok('GET', 'security-groups')['security_groups']
        self.assertEqual(['default'], [g['name'] for g in first])
        again = self.ok('GET', 'security-groups')['security_groups']
        self.assertEqual([first[0]['id']], [g['id'] for g in again])
        rules = {(r['direction'], r['ethertype'], r['remote_group_id'])
                 for r in first[0]['security_group_rules']}
        group_id = first[0]['id']
        self.assertEqual({('egress', 'IPv4', None), ('egress', 'IPv6', None),
                          ('ingress', 'IPv4', group_id), ('ingress', 'IPv6', group_id)},
                         rules)
        self.assertTrue(all(r['belongs_to_default_sg']
                            for r in first[0]['security_group_rules']))

    def test_new_group_gets_the_egress_rules_of_the_template(self):
        group = self.group(description='web servers', stateful=False)
        self.assertEqual(('web', 'web servers', False),
                         (group['name'], group['description'], group['stateful']))
        self.assertEqual({('egress', 'IPv4'), ('egress', 'IPv6')},
                         {(r['direction'], r['ethertype'])
                          for r in group['security_group_rules']})
        # Creating a group made the project's default group too.
        names = sorted(g['name'] for g in self.ok('GET', 'security-groups')['security_groups'])
        self.assertEqual(['default', 'web'], names)

    def test_a_new_group_and_rule_are_shown_as_read_back(self):
        # Creates answer with what they wrote, not with a read: the answer
        # must be what a later read returns.
        group = self.group()
        self.assertEqual(group, self.ok('GET', 'security-groups/' + group['id'])['security_group'])
        rule = self.rule(group['id'], protocol='tcp', port_range_min=22, port_range_max=22,
                         remote_ip_prefix='10.0.0.1/24')
        self.assertEqual(rule, self.ok('GET', 'security-group-rules/' + rule['id'])
                         ['security_group_rule'])
        default = self.default_group()
        rule = self.rule(default['id'], protocol='udp')
        self.assertTrue(rule['belongs_to_default_sg'])
        self.assertEqual(rule, self.ok('GET', 'security-group-rules/' + rule['id'])
                         ['security_group_rule'])

    def test_a_list_reads_the_groups_and_rules_in_a_few_statements(self):
        statements = []
        engine = db_api.get_engine()

        def count(*_args):
            statements.append(1)
        sqlalchemy.event.listen(engine, 'before_cursor_execute', count)
        self.addCleanup(sqlalchemy.event.remove, engine, 'before_cursor_execute', count)
        per_list = []
        for n in (1, 5):
            while len(self.ok('GET', 'security-groups')['security_groups']) < n + 1:
                self.rule(self.group('web-%d' % n)['id'], protocol='tcp')
            del statements[:]
            self.ok('GET', 'security-groups')
            per_list.append(len(statements))
        # Not one query per group: the default group check, the groups
        # (with default and shared as columns), their rules.
        self.assertEqual([per_list[0]] * 2, per_list)
        self.assertLessEqual(per_list[0], 5)

    def test_update_and_delete(self):
        group = self.group()
        updated = self.ok('PUT', 'security-groups/' + group['id'], {'security_group': {
            'name': 'www', 'stateful': False}})['security_group']
        self.assertEqual(('www', False, 1), (updated['name'], updated['stateful'],
                                             updated['revision_number']))
        self.ok('DELETE', 'security-groups/' + group['id'])
        self.error(404, 'SecurityGroupNotFound', 'GET', 'security-groups/' + group['id'])

    def test_the_default_group_is_kept(self):
        default = self.default_group()
        self.error(409, 'SecurityGroupCannotRemoveDefault', 'DELETE',
                   'security-groups/' + default['id'])
        self.error(409, 'SecurityGroupCannotUpdateDefault', 'PUT',
                   'security-groups/' + default['id'],
                   {'security_group': {'name': 'other'}})
        self.ok('PUT', 'security-groups/' + default['id'],
                {'security_group': {'description': 'mine'}})
        self.error(409, 'SecurityGroupDefaultAlreadyExists', 'POST', 'security-groups',
                   {'security_group': {'name': 'default'}})
        group = self.group()
        self.error(409, 'SecurityGroupDefaultAlreadyExists', 'PUT',
                   'security-groups/' + group['id'], {'security_group': {'name': 'default'}})
        # An administrator may delete it; the next list makes a new one.
        self.ok('DELETE', 'security-groups/' + default['id'], roles='admin')
        self.assertNotEqual(default['id'], self.default_group()['id'])

    def test_bad_input_is_400(self):
        for body in ({'name': 5}, {'stateful': 'maybe'}, {'shared': True},
                     {'security_group_rules': []}, {'colour': 'red'}):
            self.assertEqual(400, self.call('POST', 'security-groups',
                                            {'security_group': body})[0], body)

    def test_quota(self):
        self.api.useFixture(app.ConfFixture(**{'quotas.quota_security_group': 2}))
        self.group('one')       # the default group is the second
        self.error(409, 'OverQuota', 'POST', 'security-groups',
                   {'security_group': {'name': 'two'}})

    def test_tags(self):
        group = self.group()
        self.ok('PUT', 'security-groups/%s/tags/red' % group['id'], status=201)
        self.assertEqual(['red'], self.ok('GET', 'security-groups/' + group['id'])
                         ['security_group']['tags'])
        self.assertEqual([group['id']], [g['id'] for g in self.ok(
            'GET', 'security-groups?tags=red')['security_groups']])


class TestRules(Base):

    def setUp(self):
        super().setUp()
        self.group_id = self.group()['id']

    def bad(self, error_type, status=400, **attrs):
        attrs.setdefault('direction', 'ingress')
        attrs['security_group_id'] = attrs.get('security_group_id', self.group_id)
        return self.error(status, error_type, 'POST', 'security-group-rules',
                          {'security_group_rule': attrs})

    def test_rule_as_stored(self):
        rule = self.rule(self.group_id, protocol='TCP', ethertype='ipv4', port_range_min=22,
                         port_range_max=22, remote_ip_prefix='10.1.2.3/24')
        self.assertEqual(('tcp', 'IPv4', 22, 22, '10.1.2.3/24', '10.1.2.0/24', A),
                         (rule['protocol'], rule['ethertype'], rule['port_range_min'],
                          rule['port_range_max'], rule['remote_ip_prefix'],
                          rule['normalized_cidr'], rule['project_id']))
        self.assertEqual(rule, self.ok('GET', 'security-group-rules/' + rule['id'])
                         ['security_group_rule'])
        group = self.ok('GET', 'security-groups/' + self.group_id)['security_group']
        self.assertIn(rule['id'], [r['id'] for r in group['security_group_rules']])
        self.assertEqual(1, group['revision_number'])

    def test_normal_forms(self):
        any_rule = self.rule(self.group_id, protocol='any', remote_ip_prefix='192.0.2.7')
        self.assertEqual((None, '192.0.2.7/32'),
                         (any_rule['protocol'], any_rule['remote_ip_prefix']))
        icmp6 = self.rule(self.group_id, protocol='icmp', ethertype='IPv6')
        self.assertEqual('ipv6-icmp', icmp6['protocol'])
        full = self.rule(self.group_id, protocol='udp', port_range_min=1,
                         port_range_max=65535)
        self.assertEqual((None, None), (full['port_range_min'], full['port_range_max']))
        number = self.rule(self.group_id, protocol=132, port_range_min=5, port_range_max=6)
        self.assertEqual('132', number['protocol'])

    def test_duplicates_are_409(self):
        rule = self.rule(self.group_id, protocol='tcp', port_range_min=80, port_range_max=80)
        data = self.bad('SecurityGroupRuleExists', 409, protocol='6', port_range_min=80,
                        port_range_max=80)
        self.assertIn(rule['id'], data['NeutronError']['message'])
        any_v4 = self.rule(self.group_id, protocol='udp')
        data = self.bad('SecurityGroupRuleExists', 409, protocol='17',
                        remote_ip_prefix='0.0.0.0/0')
        self.assertIn(any_v4['id'], data['NeutronError']['message'])
        # The same rule in another direction is another rule.
        self.rule(self.group_id, protocol='tcp', port_range_min=80, port_range_max=80,
                  direction='egress')

    def test_checks_as_neutron(self):
        self.bad('InvalidInput', protocol='bogus')
        self.bad('InvalidInput', protocol='256')
        # Found by the fuzz tier (500s): a protocol that is not text or a
        # number, and digits that int() refuses.
        self.bad('InvalidInput', protocol=[{}])
        self.bad('InvalidInput', protocol={'tcp': 1})
        self.bad('InvalidInput', protocol='\u00b2')
        self.bad('InvalidInput', direction='sideways')
        self.bad('InvalidInput', ethertype='IPv5')
        self.bad('InvalidInput', port_range_min=70000, protocol='tcp')
        self.bad('InvalidInput', remote_ip_prefix='10.0.0.300/24')
        self.bad('SecurityGroupNotFound', 404, security_group_id='not-a-uuid')
        self.bad('SecurityGroupNotFound', 404, remote_group_id='bad_group_id')
        data = self.bad('InvalidInput', protocol='tcp', port_range_min=-16, port_range_max=80)
        self.assertIn('Invalid value for port -16', data['NeutronError']['message'])
        data = self.bad('InvalidInput', protocol='tcp', port_range_min=80,
                        port_range_max=65536)
        self.assertIn('Invalid value for port 65536', data['NeutronError']['message'])
        self.bad('SecurityGroupProtocolRequiredWithPorts', port_range_min=22,
                 port_range_max=22)
        self.bad('SecurityGroupInvalidPortRange', protocol='tcp', port_range_min=23,
                 port_range_max=22)
        self.bad('SecurityGroupInvalidPortRange', protocol='tcp', port_range_min=23)
        self.bad('SecurityGroupInvalidPortValue', protocol='udp', port_range_min=0,
                 port_range_max=10)
        self.bad('SecurityGroupInvalidIcmpValue', protocol='icmp', port_range_min=256)
        self.bad('SecurityGroupMissingIcmpType', protocol='icmp', port_range_max=0)
        self.bad('SecurityGroupInvalidProtocolForPort', protocol='gre', port_range_min=1,
                 port_range_max=2)
        self.bad('SecurityGroupRuleParameterConflict', ethertype='IPv6',
                 remote_ip_prefix='10.0.0.0/8')
        self.bad('SecurityGroupEthertypeConflictWithProtocol', protocol='ipv6-icmp')
        self.bad('SecurityGroupMultipleRemoteEntites', remote_ip_prefix='10.0.0.0/8',
                 remote_group_id=self.group_id)
        self.bad('SecurityGroupNotFound', 404, remote_group_id=UNKNOWN)
        self.bad('AddressGroupNotFound', 404, remote_address_group_id=UNKNOWN)
        self.bad('SecurityGroupNotFound', 404, security_group_id=UNKNOWN)
        self.assertEqual(405, self.call('PUT', 'security-group-rules/' + UNKNOWN,
                                        {'security_group_rule': {'description': 'x'}})[0])

    def test_icmp_type_and_code(self):
        rule = self.rule(self.group_id, protocol='icmp', port_range_min=8, port_range_max=0)
        self.assertEqual((8, 0), (rule['port_range_min'], rule['port_range_max']))

    def test_delete(self):
        rule = self.rule(self.group_id, protocol='tcp')
        self.ok('DELETE', 'security-group-rules/' + rule['id'])
        self.error(404, 'SecurityGroupRuleNotFound', 'GET', 'security-group-rules/' + rule['id'])

    def test_remote_group_deleted_takes_the_rules_naming_it(self):
        other = self.group('other')
        rule = self.rule(self.group_id, remote_group_id=other['id'])
        self.ok('DELETE', 'security-groups/' + other['id'])
        self.error(404, 'SecurityGroupRuleNotFound', 'GET', 'security-group-rules/' + rule['id'])

    def test_list_by_group(self):
        other = self.group('other')
        self.rule(other['id'], protocol='tcp')
        listed = self.ok('GET', 'security-group-rules?security_group_id=' + other['id'])
        self.assertEqual({other['id']}, {r['security_group_id']
                                         for r in listed['security_group_rules']})
        self.assertEqual(3, len(listed['security_group_rules']))


class TestIsolation(Base):

    def setUp(self):
        super().setUp()
        self.a_group = self.group(project=A)
        self.a_rule = self.rule(self.a_group['id'], project=A, protocol='tcp')
        self.a_addresses = self.ok('POST', 'address-groups', {'address_group': {
            'addresses': ['10.0.0.0/8']}})['address_group']

    def test_another_projects_objects_are_not_found(self):
        for path, error_type in (('security-groups/' + self.a_group['id'],
                                  'SecurityGroupNotFound'),
                                 ('security-group-rules/' + self.a_rule['id'],
                                  'SecurityGroupRuleNotFound'),
                                 ('address-groups/' + self.a_addresses['id'],
                                  'AddressGroupNotFound')):
            for method in ('GET', 'DELETE'):
                self.error(404, error_type, method, path, project=B)
        self.error(404, 'SecurityGroupNotFound', 'PUT',
                   'security-groups/' + self.a_group['id'],
                   {'security_group': {'name': 'mine'}}, project=B)
        self.error(404, 'AddressGroupNotFound', 'PUT',
                   'address-groups/%s/add_addresses' % self.a_addresses['id'],
                   {'addresses': ['192.0.2.0/24']}, project=B)
        listed = self.ok('GET', 'security-groups', project=B)['security_groups']
        self.assertEqual(['default'], [g['name'] for g in listed])
        self.assertEqual({B}, {r['project_id'] for r in self.ok(
            'GET', 'security-group-rules', project=B)['security_group_rules']})

    def test_naming_another_projects_group_is_404(self):
        b_group = self.group(project=B)
        for attrs in ({'security_group_id': self.a_group['id']},
                      {'security_group_id': b_group['id'],
                       'remote_group_id': self.a_group['id']}):
            self.error(404, 'SecurityGroupNotFound', 'POST', 'security-group-rules',
                       {'security_group_rule': dict(attrs, direction='ingress')}, project=B)
        self.error(404, 'AddressGroupNotFound', 'POST', 'security-group-rules',
                   {'security_group_rule': {
                       'security_group_id': b_group['id'], 'direction': 'ingress',
                       'remote_address_group_id': self.a_addresses['id']}}, project=B)
        network = self.network(project=B)
        self.error(404, 'SecurityGroupNotFound', 'POST', 'ports', {'port': {
            'network_id': network['id'], 'security_groups': [self.a_group['id']]}},
            project=B)
        port = self.port(network, project=B)
        self.error(404, 'SecurityGroupNotFound', 'PUT', 'ports/' + port['id'],
                   {'port': {'security_groups': [self.a_group['id']]}}, project=B)
        # The listing made no default group for the other project.
        self.ok('GET', 'security-groups?project_id=' + A, project=B)

    def test_listing_for_another_project_makes_no_group_there(self):
        self.ok('GET', 'security-groups?project_id=project-c', project=B)
        listed = self.ok('GET', 'security-groups?project_id=project-c', roles='admin',
                         project='ops')['security_groups']
        self.assertEqual(['default'], [g['name'] for g in listed])  # the admin's list made it
        self.assertEqual([], self.ok('GET', 'security-groups?project_id=project-d',
                                     project=B)['security_groups'])


class TestPorts(Base):

    def setUp(self):
        super().setUp()
        self.net = self.network()

    def test_port_gets_the_default_group(self):
        port = self.port(self.net)
        self.assertEqual([self.default_group()['id']], port['security_groups'])
        listed = self.ok('GET', 'ports?security_groups=' + port['security_groups'][0])
        self.assertEqual([port['id']], [p['id'] for p in listed['ports']])

    def test_groups_asked_for_or_none(self):
        group = self.group()
        port = self.port(self.net, security_groups=[group['id']])
        self.assertEqual([group['id']], port['security_groups'])
        self.assertEqual([], self.port(self.net, security_groups=[])['security_groups'])
        updated = self.ok('PUT', 'ports/' + port['id'], {'port': {
            'security_groups': [group['id'], self.default_group()['id']]}})['port']
        self.assertEqual(sorted([group['id'], self.default_group()['id']]),
                         sorted(updated['security_groups']))
        self.assertEqual(updated, self.ok('GET', 'ports/' + port['id'])['port'])
        self.error(409, 'SecurityGroupInUse', 'DELETE', 'security-groups/' + group['id'])
        self.ok('DELETE', 'ports/' + port['id'])
        self.ok('DELETE', 'security-groups/' + group['id'])

    def test_stateful_and_stateless_together_are_409(self):
        stateless = self.group('udp-only', stateful=False)
        self.error(409, 'SecurityGroupConflict', 'POST', 'ports', {'port': {
            'network_id': self.net['id'],
            'security_groups': [stateless['id'], self.default_group()['id']]}})
        port = self.port(self.net, security_groups=[stateless['id']])
        self.error(409, 'SecurityGroupInUse', 'PUT', 'security-groups/' + stateless['id'],
                   {'security_group': {'stateful': True}})
        self.assertEqual([stateless['id']], port['security_groups'])

    def test_port_security(self):
        self.assertEqual([], self.port(self.net, port_security_enabled=False)
                         ['security_groups'])
        self.error(400, 'PortSecurityAndIPRequiredForSecurityGroups', 'POST', 'ports',
                   {'port': {'network_id': self.net['id'], 'port_security_enabled': False,
                             'security_groups': [self.default_group()['id']]}})
        self.error(409, 'AddressPairAndPortSecurityRequired', 'POST', 'ports',
                   {'port': {'network_id': self.net['id'], 'port_security_enabled': False,
                             'allowed_address_pairs': [{'ip_address': '10.0.0.99'}]}})
        port = self.port(self.net)
        self.error(409, 'PortSecurityPortHasSecurityGroup', 'PUT', 'ports/' + port['id'],
                   {'port': {'port_security_enabled': False}})
        off = self.ok('PUT', 'ports/' + port['id'], {'port': {
            'port_security_enabled': False, 'security_groups': []}})['port']
        self.assertEqual((False, []), (off['port_security_enabled'], off['security_groups']))

    def test_service_ports_get_no_group(self):
        port = self.port(self.net, device_owner='network:dhcp')
        self.assertEqual([], port['security_groups'])


class TestAddressGroups(Base):

    def test_addresses(self):
        group = self.ok('POST', 'address-groups', {'address_group': {
            'name': 'office', 'addresses': ['10.1.2.3/24', '2001:db8::1']}})['address_group']
        self.assertEqual(['10.1.2.0/24', '2001:db8::1/128'], group['addresses'])
        path = 'address-groups/%s/' % group['id']
        added = self.ok('PUT', path + 'add_addresses', {'addresses': ['192.0.2.1']})
        self.assertEqual(['10.1.2.0/24', '192.0.2.1/32', '2001:db8::1/128'],
                         added['address_group']['addresses'])
        self.error(400, 'AddressesAlreadyExist', 'PUT', path + 'add_addresses',
                   {'addresses': ['192.0.2.1/32']})
        self.error(404, 'AddressesNotFound', 'PUT', path + 'remove_addresses',
                   {'addresses': ['198.51.100.0/24']})
        self.error(400, 'InvalidInput', 'PUT', path + 'add_addresses',
                   {'addresses': ['not an address']})
        removed = self.ok('PUT', path + 'remove_addresses', {'addresses': ['10.1.2.0/24']})
        self.assertEqual(['192.0.2.1/32', '2001:db8::1/128'],
                         removed['address_group']['addresses'])
        renamed = self.ok('PUT', 'address-groups/' + group['id'],
                          {'address_group': {'name': 'home'}})['address_group']
        self.assertEqual('home', renamed['name'])
        self.error(400, 'BadRequest', 'PUT', 'address-groups/' + group['id'],
                   {'address_group': {'addresses': []}})

    def test_in_use_by_a_rule(self):
        addresses = self.ok('POST', 'address-groups', {'address_group': {}})['address_group']
        rule = self.rule(self.group()['id'], remote_address_group_id=addresses['id'])
        self.error(409, 'AddressGroupInUse', 'DELETE', 'address-groups/' + addresses['id'])
        self.ok('DELETE', 'security-group-rules/' + rule['id'])
        self.ok('DELETE', 'address-groups/' + addresses['id'])


class TestTemplate(Base):

    def test_admin_template_used_for_new_groups(self):
        rule = self.ok('POST', 'default-security-group-rules', {
            'default_security_group_rule': {'direction': 'ingress', 'protocol': 'tcp',
                                            'port_range_min': 22, 'port_range_max': 22}},
            roles='admin', project='ops')['default_security_group_rule']
        self.assertEqual((False, True), (rule['used_in_default_sg'],
                                         rule['used_in_non_default_sg']))
        self.error(409, 'DefaultSecurityGroupRuleExists', 'POST',
                   'default-security-group-rules', {'default_security_group_rule': {
                       'direction': 'ingress', 'protocol': '6', 'port_range_min': 22,
                       'port_range_max': 22}}, roles='admin', project='ops')
        self.error(403, 'PolicyNotAuthorized', 'POST', 'default-security-group-rules',
                   {'default_security_group_rule': {'direction': 'egress'}})
        listed = self.ok('GET', 'default-security-group-rules')['default_security_group_rules']
        self.assertEqual(5, len(listed))
        group = self.group()
        self.assertIn(('ingress', 'tcp', 22), {
            (r['direction'], r['protocol'], r['port_range_min'])
            for r in group['security_group_rules']})
        self.assertNotIn(('ingress', 'tcp', 22), {
            (r['direction'], r['protocol'], r['port_range_min'])
            for r in self.default_group()['security_group_rules']})
        self.error(403, 'PolicyNotAuthorized', 'DELETE',
                   'default-security-group-rules/' + rule['id'])
        self.ok('DELETE', 'default-security-group-rules/' + rule['id'], roles='admin',
                project='ops')


class TestLoaded(testtools.TestCase):

    def test_extensions_only_with_the_plugin(self):
        aliases = {'security-group', 'stateful-security-group', 'address-group',
                   'security-groups-default-rules'}
        for plugins, expected in (([], set()), (['security-group'], aliases)):
            api = self.useFixture(app.APIFixture(service_plugins=plugins))
            _, data, _ = api.call('GET', '/v2.0/extensions', project=A, roles='member')
            self.assertEqual(expected, aliases & {e['alias'] for e in data['extensions']})
            status, _, _ = api.call('GET', '/v2.0/security-groups', project=A, roles='member')
            self.assertEqual(200 if plugins else 501, status)


class TestDefaultGroupRace(testtools.TestCase):
    """Concurrent first lists of one project make one default group (the
    primary key of default_security_groups; the loser is retried)."""

    def test_one_default_group(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'race.db')
        api = self.useFixture(app.APIFixture(db_url='sqlite:///' + path,
                                             service_plugins=['security-group']))
        answers = []
        barrier = threading.Barrier(6)

        def first_list():
            barrier.wait()
            answers.append(api.call('GET', '/v2.0/security-groups', project=A,
                                    roles='member')[:2])
        threads = [threading.Thread(target=first_list) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([200] * 6, [status for status, _ in answers])
        ids = {g['id'] for _, data in answers for g in data['security_groups']}
        self.assertEqual(1, len(ids), answers)
        _, data, _ = api.call('GET', '/v2.0/security-groups', project='ops', roles='admin')
        self.assertEqual(1, len([g for g in data['security_groups'] if g['project_id'] == A]))


class TestAgents(Base):
    """What the agents get and which hosts hear of a change."""

    def setUp(self):
        super().setUp()
        self.casts = []
        patcher = mock.patch.object(agent_api.AgentNotifyAPI, 'security_groups_updated',
                                    autospec=True, side_effect=self._record)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.net = self.network()
        self.rpc = plugin_manager.get_manager().core.rpc_handler

    def _record(self, api, group_ids, host):
        self.casts.append((host, tuple(group_ids)))

    def hosts(self):
        hosts = sorted({host for host, _ in self.casts})
        del self.casts[:]
        return hosts

    def bound(self, host, groups, **attrs):
        """A port of ``groups`` bound to ``host`` (binding: an administrator's)."""
        return self.ok('POST', 'ports', {'port': dict(
            attrs, network_id=self.net['id'], security_groups=groups,
            **{'binding:host_id': host})}, roles='admin')['port']

    def test_casts_reach_only_the_hosts_concerned(self):
        web, db, other = self.group('web'), self.group('db'), self.group('other')
        self.rule(db['id'], protocol='tcp', port_range_min=5432, port_range_max=5432,
                  remote_group_id=web['id'])
        self.bound('h-db', [db['id']])
        self.bound('h-other', [other['id']])
        self.hosts()
        # A member joins web: web's hosts and the hosts of db (whose rule names web).
        web_port = self.bound('h-web', [web['id']])
        self.assertEqual(['h-db', 'h-web'], self.hosts())
        # A rule of other: other's host only.
        rule = self.rule(other['id'], protocol='udp')
        self.assertEqual(['h-other'], self.hosts())
        self.ok('DELETE', 'security-group-rules/' + rule['id'])
        self.assertEqual(['h-other'], self.hosts())
        # A member's address changes: web's and db's hosts, one cast each.
        self.ok('PUT', 'ports/' + web_port['id'], {'port': {
            'fixed_ips': [{'ip_address': '10.0.0.77'}]}}, roles='admin')
        self.assertEqual([('h-db', (db['id'],)), ('h-web', (web['id'],))],
                         sorted(self.casts))
        self.hosts()
        # Nothing for a change that no filter depends on.
        self.ok('PUT', 'ports/' + web_port['id'], {'port': {'name': 'renamed'}},
                roles='admin')
        self.assertEqual([], self.hosts())
        # The member leaves: db's host (web has no other host left).
        self.ok('DELETE', 'ports/' + web_port['id'], roles='admin')
        self.assertEqual(['h-db'], self.hosts())
        # An address group named by db's rules: db's host.
        addresses = self.ok('POST', 'address-groups', {'address_group': {}})['address_group']
        self.rule(db['id'], remote_address_group_id=addresses['id'], protocol='icmp')
        self.hosts()
        self.ok('PUT', 'address-groups/%s/add_addresses' % addresses['id'],
                {'addresses': ['192.0.2.0/24']})
        self.assertEqual(['h-db'], self.hosts())

    def test_failed_request_casts_nothing(self):
        web = self.group('web')
        self.bound('h1', [web['id']])
        self.hosts()
        self.error(409, 'SecurityGroupRuleExists', 'POST', 'security-group-rules',
                   {'security_group_rule': {'security_group_id': web['id'],
                                            'direction': 'egress'}})
        self.assertEqual([], self.hosts())

    def test_port_details(self):
        web = self.group('web')
        port = self.bound('h1', [web['id']], allowed_address_pairs=[
            {'ip_address': '10.0.0.200'}, {'ip_address': '10.9.0.0/24',
                                          'mac_address': 'fa:16:3e:00:00:01'}])
        off = self.bound('h1', [], port_security_enabled=False)
        dhcp = self.ok('POST', 'ports', {'port': {
            'network_id': self.net['id'], 'device_owner': 'network:dhcp',
            'binding:host_id': 'h1'}}, roles='admin')['port']
        details = {d['port_id']: d for d in self.rpc.get_devices_details(
            [port['id'], off['id'], dhcp['id']], 'h1')}
        self.assertEqual((True, [web['id']]), (details[port['id']]['port_security_enabled'],
                                              details[port['id']]['security_groups']))
        self.assertEqual([{'ip_address': '10.0.0.200', 'mac_address': port['mac_address']},
                          {'ip_address': '10.9.0.0/24', 'mac_address': 'fa:16:3e:00:00:01'}],
                         details[port['id']]['allowed_address_pairs'])
        for other in (off, dhcp):
            self.assertEqual((False, []), (details[other['id']]['port_security_enabled'],
                                           details[other['id']]['security_groups']))

    def test_security_group_info(self):
        web, db = self.group('web'), self.group('db', stateful=False)
        addresses = self.ok('POST', 'address-groups', {'address_group': {
            'addresses': ['192.0.2.0/24', '2001:db8::/64']}})['address_group']
        from_web = self.rule(db['id'], protocol='tcp', port_range_min=5432,
                             port_range_max=5432, remote_group_id=web['id'])
        from_office = self.rule(db['id'], protocol='icmp', port_range_min=8,
                                remote_address_group_id=addresses['id'])
        member = self.bound('h1', [web['id']], fixed_ips=[{'ip_address': '10.0.0.10'}],
                            allowed_address_pairs=[{'ip_address': '10.0.0.11'}])
        self.assertTrue(member['id'])
        info = self.rpc.get_security_group_info([db['id']])
        self.assertEqual([db['id']], list(info['security_groups']))
        group = info['security_groups'][db['id']]
        self.assertFalse(group['stateful'])
        by_id = {r['id']: r for r in group['rules']}
        self.assertEqual({'id': from_web['id'], 'direction': 'ingress', 'ethertype': 'IPv4',
                          'protocol': 6, 'port_range_min': 5432, 'port_range_max': 5432,
                          'remote_ip_prefix': None, 'remote_group_id': web['id'],
                          'remote_address_group_id': None}, by_id[from_web['id']])
        self.assertEqual((1, 8, None), (by_id[from_office['id']]['protocol'],
                                        by_id[from_office['id']]['port_range_min'],
                                        by_id[from_office['id']]['port_range_max']))
        self.assertEqual({web['id']: {'IPv4': ['10.0.0.10', '10.0.0.11'], 'IPv6': []}},
                         info['members'])
        self.assertEqual({addresses['id']: {'IPv4': ['192.0.2.0/24'],
                                            'IPv6': ['2001:db8::/64']}},
                         info['address_groups'])
        # Any protocol is None; egress rules of the template are there.
        self.assertIn(None, {r['protocol'] for r in group['rules']})


class TestFilters(Base):

    def test_every_filter_and_sort_key_is_served(self):
        # Each attribute a definition says is a filter or a sort key is
        # answered with a list or a 400, never a 500.
        self.rule(self.group()['id'], protocol='tcp')
        for collection, definition, _ in plugin_manager.get_manager().registry.served():
            if collection not in ('security-groups', 'security-group-rules',
                                  'address-groups', 'default-security-group-rules'):
                continue
            for name, spec in definition.RESOURCE_ATTRIBUTE_MAP.items():
                queries = ['sort_key=%s' % name] if spec.get('is_sort_key') else []
                if spec.get('is_filter'):
                    queries += ['%s=%s' % (name, value) for value in ('x', '', '1', UNKNOWN)]
                for query in queries:
                    status, body = self.call('GET', '%s?%s' % (collection, query),
                                             roles='admin')
                    self.assertIn(status, (200, 400), (collection, query, body))
                    if status == 200:
                        self.assertIsInstance(body[definition.COLLECTION_KEY], list)
