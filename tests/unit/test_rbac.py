"""rbac-policies on networks, as Neutron serves them.

Project A shares its network with project B (access_as_shared) or lets B
use it as an external network (access_as_external); project C gets
nothing.  Removing an access a project still uses (its ports, its router's
gateway) is 409.  The last test builds LP#1918145's world (10 external
networks, 1,000 projects, 2,500 entries) and checks that a project's list
is right, fast, and read without a join that multiplies rows.
"""
import time
import uuid

import sqlalchemy as sa
import testtools

from naas.db import api as db_api
from naas.db import networks as networks_db
from naas.db import rbac
from tests.fixtures import app

A, B, C, ADMIN = 'project-a', 'project-b', 'project-c', 'ops'


class Base(testtools.TestCase):
    SERVICE_PLUGINS = ['router']

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=self.SERVICE_PLUGINS))

    def call(self, method, path, body=None, project=A, admin=False):
        status, data, _ = self.api.call(method, '/v2.0/' + path, body,
                                        project=ADMIN if admin else project,
                                        roles='admin' if admin else None)
        return status, data

    def ok(self, method, path, body=None, project=A, admin=False, status=None):
        got, data = self.call(method, path, body, project, admin)
        self.assertEqual(status or {'POST': 201, 'DELETE': 204}.get(method, 200), got,
                         '%s %s: %r' % (method, path, data))
        return data

    def refused(self, status, error, method, path, body=None, project=A, admin=False):
        got, data = self.call(method, path, body, project, admin)
        self.assertEqual((status, error), (got, data['NeutronError']['type']),
                         '%s %s: %r' % (method, path, data))

    def network(self, project=A, **attrs):
        net = self.ok('POST', 'networks', {'network': dict(attrs, name='net')},
                      project=project, admin='project_id' in attrs)['network']
        self.ok('POST', 'subnets', {'subnet': {
            'network_id': net['id'], 'cidr': '10.%d.0.0/24' % (len(self.ok(
                'GET', 'subnets', admin=True)['subnets']) + 1),
            'ip_version': 4, 'project_id': net['project_id']}}, admin=True)
        return self.ok('GET', 'networks/' + net['id'], admin=True)['network']

    def share(self, net_id, target, action='access_as_shared', project=A, admin=False):
        return self.ok('POST', 'rbac-policies', {'rbac_policy': {
            'object_type': 'network', 'object_id': net_id, 'action': action,
            'target_tenant': target}}, project=project, admin=admin)['rbac_policy']

    def listed(self, project):
        return {n['id'] for n in self.ok('GET', 'networks', project=project)['networks']}


class NetworkRbacTestCase(Base):

    # ---- access_as_shared ----------------------------------------------------

    def test_shared_with_b_only(self):
        net = self.network()
        entry = self.share(net['id'], B)
        self.assertEqual({'project_id': A, 'tenant_id': A, 'object_type': 'network',
                          'object_id': net['id'], 'target_tenant': B,
                          'action': 'access_as_shared'},
                         {k: v for k, v in entry.items() if k != 'id'})
        # B sees it, shared with it (as Neutron shows it); the owner does not
        # see it shared (no '*' entry); B lists it and its subnet.
        self.assertTrue(self.ok('GET', 'networks/' + net['id'], project=B)['network']['shared'])
        self.assertFalse(self.ok('GET', 'networks/' + net['id'])['network']['shared'])
        self.assertIn(net['id'], self.listed(B))
        self.assertEqual([net['id']], [n['id'] for n in self.ok(
            'GET', 'networks?shared=true', project=B)['networks']])
        self.assertEqual(net['subnets'], [s['id'] for s in self.ok(
            'GET', 'subnets?network_id=' + net['id'], project=B)['subnets']])
        port = self.ok('POST', 'ports', {'port': {'network_id': net['id']}},
                       project=B)['port']
        self.assertEqual(B, port['project_id'])
        self.assertEqual(1, len(port['fixed_ips']))
        # C does not: 404 as for an unknown network, not listed, no port.
        self.refused(404, 'NetworkNotFound', 'GET', 'networks/' + net['id'], project=C)
        self.assertNotIn(net['id'], self.listed(C))
        self.assertEqual([], self.ok('GET', 'subnets', project=C)['subnets'])
        self.refused(404, 'NetworkNotFound', 'POST', 'ports',
                     {'port': {'network_id': net['id']}}, project=C)

    def test_removal_refused_while_the_target_has_ports(self):
        net = self.network()
        entry = self.share(net['id'], B)
        port = self.ok('POST', 'ports', {'port': {'network_id': net['id']}}, project=B)['port']
        path = 'rbac-policies/' + entry['id']
        self.refused(409, 'RbacPolicyInUse', 'DELETE', path)
        self.refused(409, 'RbacPolicyInUse', 'PUT', path,
                     {'rbac_policy': {'target_tenant': C}})
        # A '*' entry covers B: then B's own entry may go.
        wildcard = self.share(net['id'], '*', admin=True)
        self.ok('DELETE', path)
        self.refused(409, 'RbacPolicyInUse', 'DELETE', 'rbac-policies/' + wildcard['id'],
                     admin=True)
        self.refused(409, 'InUse', 'PUT', 'networks/' + net['id'],
                     {'network': {'shared': False}}, admin=True)
        self.ok('DELETE', 'ports/' + port['id'], project=B)
        self.ok('PUT', 'networks/' + net['id'], {'network': {'shared': False}}, admin=True)
        self.assertEqual([], self.ok('GET', 'rbac-policies', admin=True)['rbac_policies'])
        self.refused(404, 'NetworkNotFound', 'GET', 'networks/' + net['id'], project=B)

    def test_wildcard_entry_is_shared_true(self):
        net = self.network(project_id=A, shared=True)
        [entry] = self.ok('GET', 'rbac-policies')['rbac_policies']
        self.assertEqual(('*', 'access_as_shared', A),
                         (entry['target_tenant'], entry['action'], entry['project_id']))
        self.assertTrue(self.ok('GET', 'networks/' + net['id'], project=C)['network']['shared'])
        self.ok('DELETE', 'rbac-policies/' + entry['id'])
        self.assertFalse(self.ok('GET', 'networks/' + net['id'])['network']['shared'])
        self.refused(404, 'NetworkNotFound', 'GET', 'networks/' + net['id'], project=C)
        self.share(net['id'], '*', admin=True)
        self.assertTrue(self.ok('GET', 'networks/' + net['id'])['network']['shared'])
        self.assertIn(net['id'], self.listed(C))
        self.ok('PUT', 'networks/' + net['id'], {'network': {'shared': False}}, admin=True)
        self.assertEqual([], self.ok('GET', 'rbac-policies', admin=True)['rbac_policies'])
        # Only an admin shares with every project.
        self.refused(403, 'PolicyNotAuthorized', 'POST', 'rbac-policies', {'rbac_policy': {
            'object_type': 'network', 'object_id': net['id'],
            'action': 'access_as_shared', 'target_tenant': '*'}})

    def test_only_the_owner_makes_entries(self):
        net = self.network()
        entry = self.share(net['id'], B)
        body = {'rbac_policy': {'object_type': 'network', 'object_id': net['id'],
                                'action': 'access_as_shared', 'target_tenant': C}}
        unknown = {'rbac_policy': dict(body['rbac_policy'], object_id=str(uuid.uuid4()))}
        # B sees the network but does not own it; C does not see it: both get
        # the answer an unknown network gets.
        for project in (B, C):
            for request in (body, unknown):
                self.refused(400, 'InvalidInput', 'POST', 'rbac-policies', request,
                             project=project)
            self.refused(404, 'RbacPolicyNotFound', 'GET', 'rbac-policies/' + entry['id'],
                         project=project)
            self.refused(404, 'RbacPolicyNotFound', 'DELETE',
                         'rbac-policies/' + entry['id'], project=project)
            self.assertEqual([], self.ok('GET', 'rbac-policies',
                                         project=project)['rbac_policies'])
        self.refused(409, 'DuplicateRbacPolicy', 'POST', 'rbac-policies', {'rbac_policy': dict(
            body['rbac_policy'], target_tenant=B)})
        for field, value in (('object_type', 'router'), ('action', 'access_as_readonly')):
            self.refused(400, 'InvalidInput', 'POST', 'rbac-policies',
                         {'rbac_policy': dict(body['rbac_policy'], **{field: value})})
        # The owner itself as target: allowed, as in Neutron.
        self.share(net['id'], A)
        self.assertEqual(2, len(self.ok('GET', 'rbac-policies')['rbac_policies']))
        # Deleting the network deletes its entries.
        self.ok('DELETE', 'networks/' + net['id'])
        self.assertEqual([], self.ok('GET', 'rbac-policies', admin=True)['rbac_policies'])

    # ---- access_as_external --------------------------------------------------

    def test_external_to_b_lets_b_set_a_gateway(self):
        net = self.network(project_id=ADMIN)
        entry = self.share(net['id'], B, action='access_as_external', admin=True)
        seen = self.ok('GET', 'networks/' + net['id'], project=B)['network']
        self.assertEqual((True, False), (seen['router:external'], seen['shared']))
        gateway = {'router': {'external_gateway_info': {'network_id': net['id']}}}
        router = self.ok('POST', 'routers', gateway, project=B)['router']
        self.assertEqual(net['id'], router['external_gateway_info']['network_id'])
        self.refused(404, 'NetworkNotFound', 'POST', 'routers', gateway, project=C)
        self.assertNotIn(net['id'], self.listed(C))
        # B's router depends on the entry.
        self.refused(409, 'RbacPolicyInUse', 'DELETE', 'rbac-policies/' + entry['id'],
                     admin=True)
        self.ok('PUT', 'routers/' + router['id'],
                {'router': {'external_gateway_info': {}}}, project=B)
        self.ok('DELETE', 'rbac-policies/' + entry['id'], admin=True)
        # The last access_as_external entry gone, the network is not external.
        self.assertFalse(self.ok('GET', 'networks/' + net['id'],
                                 admin=True)['network']['router:external'])

    def test_router_external_is_the_wildcard_entry(self):
        net = self.network(project_id=ADMIN, **{'router:external': True})
        [entry] = self.ok('GET', 'rbac-policies', admin=True)['rbac_policies']
        self.assertEqual(('*', 'access_as_external'), (entry['target_tenant'], entry['action']))
        self.assertIn(net['id'], self.listed(C))
        self.ok('PUT', 'networks/' + net['id'], {'network': {'router:external': False}},
                admin=True)
        self.assertEqual([], self.ok('GET', 'rbac-policies', admin=True)['rbac_policies'])
        self.assertNotIn(net['id'], self.listed(C))

    # ---- scale (LP#1918145) --------------------------------------------------

    def test_list_with_2500_entries_reads_no_multiplied_rows(self):
        projects = ['p%04d' % i for i in range(1000)]
        external = [str(uuid.uuid4()) for _ in range(10)]
        body = {'name': 'n', 'description': '', 'admin_state_up': True, 'shared': False,
                'router:external': True, 'port_security_enabled': True,
                'availability_zone_hints': []}
        entries = []
        with db_api.get_engine().begin() as conn:
            for net_id in external:
                networks_db.insert(conn, dict(body, id=net_id, project_id=ADMIN), 1500)
            for project in projects:   # each project's own network
                networks_db.insert(conn, dict(body, project_id=project,
                                              **{'router:external': False}), 1500)
            # 250 projects per external network: 2,500 entries; p0000 has
            # entries on the 10 networks, p0999 on none, the others on 2 or 3.
            others = projects[1:999]
            for n, net_id in enumerate(external):
                for project in projects[:1] + [others[(n * 99 + k) % len(others)]
                                               for k in range(249)]:
                    entries.append({'id': str(uuid.uuid4()), 'project_id': ADMIN,
                                    'object_type': 'network', 'object_id': net_id,
                                    'target_tenant': project, 'action': 'access_as_external'})
            conn.execute(rbac.entries.insert(), entries)
        self.assertEqual(2500, len(entries))
        # Its own network and the external networks it has an entry for.
        expected = {project: 1 + sum(e['target_tenant'] == project for e in entries)
                    for project in (projects[0], projects[150], projects[999])}
        self.assertEqual([11, 3, 1], list(expected.values()))
        statements = []
        sa.event.listen(db_api.get_engine(), 'before_cursor_execute',
                        lambda conn, cursor, stmt, params, *args: statements.append(
                            (stmt, params)))
        for project, count in expected.items():
            del statements[:]
            start = time.monotonic()
            listed = self.ok('GET', 'networks', project=project)['networks']
            self.assertLess(time.monotonic() - start, 2.0)
            self.assertEqual(count, len(listed), project)
            self.assertEqual(count, len({n['id'] for n in listed}), project)
            [(select, params)] = [(stmt, params) for stmt, params in statements
                                  if 'FROM networks' in stmt and 'rbac_entries' in stmt]
            self.assertNotIn('JOIN', select.upper())
        # The entries are probed by their index (EXISTS, once per network
        # row), not scanned or joined.
        with db_api.get_engine().connect() as conn:
            plan = ' '.join(str(row) for row in conn.exec_driver_sql(
                'EXPLAIN QUERY PLAN ' + select, params))
        self.assertIn('SEARCH rbac_entries USING', plan)
        self.assertIn('(object_id=? AND target_tenant=? AND action=?)', plan)
        self.assertNotIn('SCAN rbac_entries', plan)


class SecurityGroupRbacTestCase(Base):
    """A security group shared with project B (access_as_shared)."""
    SERVICE_PLUGINS = ['security-group']

    def test_shared_group_is_read_and_used_not_changed(self):
        group = self.ok('POST', 'security-groups', {'security_group': {'name': 'web'}})[
            'security_group']
        entry = self.ok('POST', 'rbac-policies', {'rbac_policy': {
            'object_type': 'security_group', 'object_id': group['id'],
            'action': 'access_as_shared', 'target_tenant': B}})['rbac_policy']
        seen = self.ok('GET', 'security-groups/' + group['id'], project=B)['security_group']
        self.assertEqual(('web', True), (seen['name'], seen['shared']))
        self.assertFalse(self.ok('GET', 'security-groups/' + group['id'])[
            'security_group']['shared'])
        self.assertIn(group['id'], [g['id'] for g in self.ok(
            'GET', 'security-groups', project=B)['security_groups']])
        net = self.ok('POST', 'networks', {'network': {'name': 'b'}}, project=B)['network']
        port = self.ok('POST', 'ports', {'port': {'network_id': net['id'],
                                                  'security_groups': [group['id']]}},
                       project=B)['port']
        self.assertEqual([group['id']], port['security_groups'])
        # B does not change it (403 as in Neutron: B sees it); C does not see it.
        self.refused(403, 'PolicyNotAuthorized', 'PUT', 'security-groups/' + group['id'],
                     {'security_group': {'name': 'mine'}}, project=B)
        self.refused(404, 'SecurityGroupNotFound', 'POST', 'security-group-rules',
                     {'security_group_rule': {'security_group_id': group['id'],
                                              'direction': 'ingress'}}, project=B)
        self.refused(404, 'SecurityGroupNotFound', 'GET', 'security-groups/' + group['id'],
                     project=C)
        self.refused(404, 'SecurityGroupNotFound', 'POST', 'ports', {'port': {
            'network_id': self.ok('POST', 'networks', {'network': {}}, project=C)[
                'network']['id'], 'security_groups': [group['id']]}}, project=C)
        # B's port is in it: the entry stays until the port goes.
        self.refused(409, 'RbacPolicyInUse', 'DELETE', 'rbac-policies/' + entry['id'])
        self.ok('DELETE', 'ports/' + port['id'], project=B)
        self.ok('DELETE', 'rbac-policies/' + entry['id'])
        self.refused(404, 'SecurityGroupNotFound', 'GET', 'security-groups/' + group['id'],
                     project=B)


class QosPolicyRbacTestCase(Base):
    """A QoS policy shared with project B (access_as_shared)."""
    SERVICE_PLUGINS = ['qos']

    def test_shared_policy_is_read_and_used(self):
        policy = self.ok('POST', 'qos/policies', {'policy': {'name': 'gold'}})['policy']
        entry = self.ok('POST', 'rbac-policies', {'rbac_policy': {
            'object_type': 'qos_policy', 'object_id': policy['id'],
            'action': 'access_as_shared', 'target_tenant': B}})['rbac_policy']
        seen = self.ok('GET', 'qos/policies/' + policy['id'], project=B)['policy']
        self.assertEqual(('gold', True), (seen['name'], seen['shared']))
        self.assertFalse(self.ok('GET', 'qos/policies/' + policy['id'])['policy']['shared'])
        self.assertIn(policy['id'], [p['id'] for p in self.ok(
            'GET', 'qos/policies', project=B)['policies']])
        net = self.ok('POST', 'networks', {'network': {'qos_policy_id': policy['id']}},
                      project=B)['network']
        self.assertEqual(policy['id'], net['qos_policy_id'])
        self.refused(404, 'QosPolicyNotFound', 'GET', 'qos/policies/' + policy['id'],
                     project=C)
        self.refused(404, 'QosPolicyNotFound', 'POST', 'networks',
                     {'network': {'qos_policy_id': policy['id']}}, project=C)
        # B's network uses it: the entry stays until the network lets it go.
        self.refused(409, 'RbacPolicyInUse', 'DELETE', 'rbac-policies/' + entry['id'])
        self.ok('PUT', 'networks/' + net['id'], {'network': {'qos_policy_id': None}},
                project=B)
        self.ok('DELETE', 'rbac-policies/' + entry['id'])
        self.refused(404, 'QosPolicyNotFound', 'GET', 'qos/policies/' + policy['id'],
                     project=B)

    def test_shared_true_is_the_wildcard_entry(self):
        policy = self.ok('POST', 'qos/policies', {'policy': {
            'name': 'all', 'shared': True, 'project_id': A}}, admin=True)['policy']
        [entry] = self.ok('GET', 'rbac-policies')['rbac_policies']
        self.assertEqual(('qos_policy', policy['id'], '*'),
                         (entry['object_type'], entry['object_id'], entry['target_tenant']))
        net = self.ok('POST', 'networks', {'network': {'qos_policy_id': policy['id']}},
                      project=C)['network']
        self.refused(409, 'RbacPolicyInUse', 'PUT', 'qos/policies/' + policy['id'],
                     {'policy': {'shared': False}}, admin=True)
        self.ok('DELETE', 'networks/' + net['id'], project=C)
        self.ok('DELETE', 'rbac-policies/' + entry['id'])
        self.assertFalse(self.ok('GET', 'qos/policies/' + policy['id'])['policy']['shared'])
        self.refused(404, 'QosPolicyNotFound', 'GET', 'qos/policies/' + policy['id'],
                     project=C)
