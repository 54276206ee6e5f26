"""openstacksdk and the ``openstack`` CLI, unchanged, on the L3 API of a
naas-server with the L3 plugin (service_plugins = router): routers,
interfaces, the external gateway, floating IPs; and, without the plugin,
501 for every L3 request.

As in test_clients: noauth, the sdk names the project of what it creates,
the CLI's resources belong to the server's noauth_admin_project.
"""
import json
import os
import subprocess
import sys

import openstack
from openstack import exceptions as sdk_exc

from tests.functional import base

PROJECT = 'proj-l3'
OPENSTACK_CLI = os.path.join(os.path.dirname(sys.executable), 'openstack')
CLI_TIMEOUT = 120


class L3ClientTests(base.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(
            options={'service_plugins': 'router', 'noauth_admin_project': 'proj-cli'},
            quotas={'router': -1, 'floatingip': -1})
        self.sdk = openstack.connect(auth_type='none', endpoint=self.server.url,
                                     load_yaml_config=False, load_envvars=False)
        self.addCleanup(self.sdk.close)

    def cli(self, *args):
        cmd = [OPENSTACK_CLI, '--os-auth-type', 'none', '--os-endpoint',
               self.server.url] + list(args)
        env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, env=env, timeout=CLI_TIMEOUT)
        self.assertEqual(0, proc.returncode, 'openstack %s failed:\n%s%s'
                         % (' '.join(args), proc.stdout, proc.stderr))
        return json.loads(proc.stdout) if '-f' in args else proc.stdout

    def external(self):
        net = self.sdk.network.create_network(name='public', is_router_external=True)
        subnet = self.sdk.network.create_subnet(network_id=net.id, ip_version=4,
                                                cidr='203.0.113.0/24', name='public-v4')
        return net, subnet

    def test_sdk_router_interfaces_gateway_floating_ips(self):
        ext, ext_subnet = self.external()
        net = self.sdk.network.create_network(name='private', project_id=PROJECT)
        subnet = self.sdk.network.create_subnet(network_id=net.id, ip_version=4,
                                                cidr='10.0.0.0/24', project_id=PROJECT)
        router = self.sdk.network.create_router(name='r', project_id=PROJECT)
        self.assertEqual(('r', PROJECT, 'ACTIVE', None),
                         (router.name, router.project_id, router.status,
                          router.external_gateway_info))

        info = self.sdk.network.add_interface_to_router(router, subnet_id=subnet.id)
        self.assertEqual((router.id, subnet.id, [subnet.id], net.id),
                         (info['id'], info['subnet_id'], info['subnet_ids'],
                          info['network_id']))
        port = self.sdk.network.get_port(info['port_id'])
        self.assertEqual(('network:router_interface', router.id, '10.0.0.1'),
                         (port.device_owner, port.device_id,
                          port.fixed_ips[0]['ip_address']))

        router = self.sdk.network.update_router(
            router, external_gateway_info={'network_id': ext.id})
        self.assertEqual(ext.id, router.external_gateway_info['network_id'])
        self.assertTrue(router.external_gateway_info['enable_snat'])
        router = self.sdk.network.update_router(
            router, routes=[{'destination': '192.168.9.0/24', 'nexthop': '10.0.0.9'}])
        self.assertEqual([{'destination': '192.168.9.0/24', 'nexthop': '10.0.0.9'}],
                         router.routes)

        vm = self.sdk.network.create_port(network_id=net.id, project_id=PROJECT,
                                          device_owner='compute:nova', device_id='vm-1')
        fip = self.sdk.network.create_ip(floating_network_id=ext.id, project_id=PROJECT)
        self.assertEqual(('DOWN', None), (fip.status, fip.port_id))
        fip = self.sdk.network.update_ip(fip, port_id=vm.id)
        self.assertEqual((vm.id, vm.fixed_ips[0]['ip_address'], router.id),
                         (fip.port_id, fip.fixed_ip_address, fip.router_id))
        self.assertEqual([fip.id], [f.id for f in self.sdk.network.ips(port_id=vm.id)])

        error = self.assertRaises(sdk_exc.ConflictException, self.sdk.network.delete_router,
                                  router)
        self.assertEqual('RouterInUse', error.response.json()['NeutronError']['type'])
        error = self.assertRaises(sdk_exc.ConflictException,
                                  self.sdk.network.remove_interface_from_router,
                                  router, subnet_id=subnet.id)
        self.assertEqual('RouterInterfaceInUseByRoute',
                         error.response.json()['NeutronError']['type'])

        fip = self.sdk.network.update_ip(fip, port_id=None)
        self.assertEqual((None, None), (fip.port_id, fip.router_id))
        self.sdk.network.delete_ip(fip)
        self.sdk.network.update_router(router, routes=[])
        info = self.sdk.network.remove_interface_from_router(router, subnet_id=subnet.id)
        self.assertEqual(port.id, info['port_id'])
        self.sdk.network.update_router(router, external_gateway_info={})
        self.sdk.network.delete_router(router)
        self.assertEqual([], list(self.sdk.network.routers()))
        self.assertEqual([], list(self.sdk.network.ports(device_owner='network:router_gateway')))

    def test_cli_router_and_floating_ip(self):
        ext, ext_subnet = self.external()
        net = self.cli('network', 'create', 'cli-net', '-f', 'json')
        self.cli('subnet', 'create', 'cli-subnet', '--network', net['id'],
                          '--subnet-range', '10.1.0.0/24', '-f', 'json')
        router = self.cli('router', 'create', 'cli-router', '-f', 'json')
        self.assertEqual('cli-router', router['name'])
        self.cli('router', 'add', 'subnet', 'cli-router', 'cli-subnet')
        self.cli('router', 'set', '--external-gateway', 'public', 'cli-router')
        shown = self.cli('router', 'show', 'cli-router', '-f', 'json')
        gateway = shown['external_gateway_info']
        if isinstance(gateway, str):  # older clients print it as text
            gateway = json.loads(gateway)
        self.assertEqual(ext.id, gateway['network_id'])
        self.assertEqual(1, len([p for p in self.sdk.network.ports(device_id=router['id'])
                                 if p.device_owner == 'network:router_interface']))

        vm = self.cli('port', 'create', '--network', 'cli-net', '--device-owner',
                      'compute:nova', 'vm-port', '-f', 'json')
        fip = self.cli('floating', 'ip', 'create', 'public', '-f', 'json')
        self.assertTrue(fip['floating_ip_address'].startswith('203.0.113.'))
        self.cli('floating', 'ip', 'set', '--port', vm['id'], fip['id'])
        shown = self.cli('floating', 'ip', 'show', fip['id'], '-f', 'json')
        self.assertEqual((vm['id'], router['id']), (shown['port_id'], shown['router_id']))
        self.cli('floating', 'ip', 'unset', '--port', fip['id'])
        shown = self.cli('floating', 'ip', 'show', fip['id'], '-f', 'json')
        self.assertIsNone(shown['port_id'])
        self.cli('floating', 'ip', 'delete', fip['id'])
        self.cli('router', 'unset', '--external-gateway', 'cli-router')
        self.cli('router', 'remove', 'subnet', 'cli-router', 'cli-subnet')
        self.cli('router', 'delete', 'cli-router')
        self.assertEqual([], self.cli('router', 'list', '-f', 'json'))


class NoL3PluginTests(base.TestCase):

    def test_every_l3_request_is_501(self):
        server = self.start_server()
        client = base.Client(server.url)
        self.addCleanup(client.close)
        some_id = '3a1c3b0e-1d9a-4a8c-9d7e-2b9f1c7c1e11'
        for method, path, body in (
                ('GET', '/v2.0/routers', None),
                ('POST', '/v2.0/routers', {'router': {}}),
                ('PUT', '/v2.0/routers/%s/add_router_interface' % some_id,
                 {'subnet_id': some_id}),
                ('GET', '/v2.0/floatingips', None),
                ('POST', '/v2.0/floatingips', {'floatingip': {}}),
                ('DELETE', '/v2.0/floatingips/%s' % some_id, None),
                ('GET', '/v2.0/subnet-routes', None),
                ('POST', '/v2.0/subnet-routes', {'subnet_route': {}})):
            status, data = client.request(method, path, body)
            self.assertEqual(501, status, (method, path, data))
            self.assertEqual('NotImplemented', data['NeutronError']['type'])
