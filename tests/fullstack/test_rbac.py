"""A network shared with one chosen project (rbac-policies, UC5), on the
dataplane: project B's VM on project A's network reaches A's VM; project
C does not see the network; the entry cannot go while B's port is there.
The `openstack network rbac` commands work unchanged."""
import json
import os
import subprocess
import sys
import uuid

from tests.fullstack import base

OPENSTACK_CLI = os.path.join(os.path.dirname(sys.executable), 'openstack')


class TestRbac(base.FullstackTestCase):

    def test_network_shared_with_one_project(self):
        env = self.make_env()
        h1, h2 = env.hosts
        owner, guest, other = (env.prefix + '-' + name for name in ('a', 'b', 'c'))
        net, subnet = env.create_network(owner, '10.70.1.0/24')
        vm_a = env.boot_vm(h1, net, '10.70.1.10')
        entry = env.client(owner).request('POST', '/v2.0/rbac-policies', {'rbac_policy': {
            'object_type': 'network', 'object_id': net['id'],
            'action': 'access_as_shared', 'target_tenant': guest}}, expect=201)[1][
            'rbac_policy']
        # B makes its own port on A's network (an admin binds it, as nova).
        port = env.client(guest).request('POST', '/v2.0/ports', {'port': {
            'network_id': net['id']}}, expect=201)[1]['port']
        self.assertEqual(guest, port['project_id'])
        port = env.api.request('PUT', '/v2.0/ports/' + port['id'], {'port': {
            'binding:host_id': h2.name, 'device_owner': 'compute:nova',
            'device_id': str(uuid.uuid4())}}, expect=200)[1]['port']
        env.port_ids.append(port['id'])
        vm_b = env.boot_vm(h2, net, port=port)
        env.wait_port_status(port['id'])
        env.wait_port_status(vm_a.port['id'])
        self.assertTrue(vm_b.can_ping('10.70.1.10'), 'B cannot reach A on the shared network')
        # C: not found, as an unknown network; no port.
        env.client(other).request('GET', '/v2.0/networks/' + net['id'], expect=404)
        env.client(other).request('POST', '/v2.0/ports', {'port': {
            'network_id': net['id']}}, expect=404)
        # B's port depends on the entry.
        status, body = env.client(owner).request(
            'DELETE', '/v2.0/rbac-policies/' + entry['id'])
        self.assertEqual((409, 'RbacPolicyInUse'), (status, body['NeutronError']['type']))

    def test_openstack_cli(self):
        if not os.path.exists(OPENSTACK_CLI):
            self.skipTest('no openstack CLI in the venv')
        env = self.make_env()
        net, _ = env.create_network(env.prefix + '-a', '10.70.2.0/24')

        def cli(*args):
            cmd = [OPENSTACK_CLI, '--os-auth-type', 'none', '--os-endpoint',
                   env.server.url] + list(args)
            envvars = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, env=envvars, timeout=120)
            self.assertEqual(0, proc.returncode, 'openstack %s failed:\n%s%s'
                             % (' '.join(args), proc.stdout, proc.stderr))
            return json.loads(proc.stdout) if '-f' in args else proc.stdout

        # --target-project needs Keystone to resolve the project: '*' does not.
        entry = cli('network', 'rbac', 'create', '--type', 'network', '--action',
                    'access_as_shared', '--target-all-projects', net['id'], '-f', 'json')
        self.assertEqual((net['id'], '*', 'network'),
                         (entry['object_id'], entry['target_project_id'], entry['object_type']))
        self.assertIn(entry['id'], [e['ID'] for e in cli('network', 'rbac', 'list',
                                                         '-f', 'json')])
        self.assertEqual('access_as_shared', cli('network', 'rbac', 'show', entry['id'],
                                                 '-f', 'json')['action'])
        self.assertTrue(cli('network', 'show', net['id'], '-f', 'json')['shared'])
        cli('network', 'rbac', 'delete', entry['id'])
        self.assertEqual([], cli('network', 'rbac', 'list', '-f', 'json'))
        self.assertFalse(cli('network', 'show', net['id'], '-f', 'json')['shared'])
