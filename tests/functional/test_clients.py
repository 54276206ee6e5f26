"""openstacksdk and the ``openstack`` CLI, unchanged, against naas-server.

The server runs with auth_strategy = noauth: the clients use keystoneauth's
``none`` auth type with the server's URL as endpoint (the sdk through
``openstack.connect(auth_type='none', endpoint=URL)``, the CLI through
``--os-auth-type none --os-endpoint URL`` and, once, a clouds.yaml with
``auth_type: none``).  A noauth request without X-Project-Id is an admin
without a project; the sdk names the project of what it creates
(``project_id=``), the CLI cannot (its ``--project`` asks the identity
service) and its resources belong to the server's noauth_admin_project.

Every test runs on SQLite and again on PostgreSQL.
"""
import json
from operator import itemgetter
import os
import subprocess
import sys

import fixtures
import netaddr
import openstack
from openstack import exceptions as sdk_exc

from tests.functional import base

PROJECT = 'proj-clients'
CLI_PROJECT = 'proj-cli'
OPENSTACK_CLI = os.path.join(os.path.dirname(sys.executable), 'openstack')
CLI_TIMEOUT = 120


class ClientTests(object):
    """The tests; the subclasses below say which database they run on."""

    def setUp(self):
        super(ClientTests, self).setUp()
        self.server = self.start_server(db_url=self.database_url(),
                                        options={'noauth_admin_project': CLI_PROJECT})
        self.sdk = openstack.connect(auth_type='none',
                                     endpoint=self.server.url,
                                     load_yaml_config=False,
                                     load_envvars=False)
        self.addCleanup(self.sdk.close)
        self.raw = base.Client(self.server.url)
        self.addCleanup(self.raw.close)

    def database_url(self):
        return None

    # -- helpers

    def cli(self, *args, expect_fail=False, env=None):
        """Run ``openstack ARGS``; parsed JSON output when ``-f json``."""
        cmd = [OPENSTACK_CLI]
        if not (env and 'OS_CLOUD' in env):
            cmd += ['--os-auth-type', 'none', '--os-endpoint', self.server.url]
        cmd += list(args)
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith('OS_')}
        clean.update(env or {})
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=clean,
                              timeout=CLI_TIMEOUT)
        if expect_fail:
            self.assertNotEqual(0, proc.returncode,
                                'openstack %s succeeded: %s'
                                % (' '.join(args), proc.stdout))
            return proc
        self.assertEqual(0, proc.returncode, 'openstack %s failed:\n%s%s'
                         % (' '.join(args), proc.stdout, proc.stderr))
        if '-f' in args and 'json' in args:
            return json.loads(proc.stdout)
        return proc.stdout

    def assert_conflict(self, error, type_, *words):
        """A ConflictException from a NeutronError of type ``type_``."""
        self.assertIsInstance(error, sdk_exc.ConflictException)
        self.assertEqual(409, error.status_code)
        body = error.response.json()
        self.assertEqual(type_, body['NeutronError']['type'], body)
        for word in words:
            self.assertIn(word, str(error))

    # -- openstacksdk

    def test_sdk_networks_subnets_ports(self):
        net = self.sdk.network.create_network(name='sdk-net',
                                              project_id=PROJECT)
        self.assertEqual(PROJECT, net.project_id)
        self.assertEqual('ACTIVE', net.status)
        net = self.sdk.network.update_network(net, name='sdk-net2',
                                              description='renamed')
        shown = self.sdk.network.get_network(net.id)
        self.assertEqual(('sdk-net2', 'renamed'),
                         (shown.name, shown.description))
        self.assertEqual([net.id], [n.id for n in self.sdk.network.networks()])
        self.assertEqual(net.id, self.sdk.network.find_network('sdk-net2').id)

        v4 = self.sdk.network.create_subnet(
            network_id=net.id, ip_version=4, cidr='10.0.0.0/24',
            name='sdk-v4', project_id=PROJECT)
        self.assertEqual('10.0.0.1', v4.gateway_ip)
        self.assertEqual([{'start': '10.0.0.2', 'end': '10.0.0.254'}],
                         v4.allocation_pools)
        v6 = self.sdk.network.create_subnet(
            network_id=net.id, ip_version=6, cidr='fd00:1::/64',
            ipv6_address_mode='dhcpv6-stateful',
            ipv6_ra_mode='dhcpv6-stateful', name='sdk-v6',
            project_id=PROJECT)
        self.assertEqual('fd00:1::1', v6.gateway_ip)
        self.assertEqual({'sdk-v4', 'sdk-v6'},
                         {s.name for s in self.sdk.network.subnets(
                             network_id=net.id)})
        v4 = self.sdk.network.update_subnet(v4, name='sdk-v4b')
        self.assertEqual('sdk-v4b',
                         self.sdk.network.get_subnet(v4.id).name)

        # A port without fixed IPs gets the first free address of each
        # subnet; one with fixed IPs gets those.
        auto = self.sdk.network.create_port(network_id=net.id, name='auto',
                                            project_id=PROJECT)
        self.assertEqual({(v4.id, '10.0.0.2'), (v6.id, 'fd00:1::2')},
                         {(ip['subnet_id'], ip['ip_address'])
                          for ip in auto.fixed_ips})
        fixed = self.sdk.network.create_port(
            network_id=net.id, name='fixed', project_id=PROJECT,
            fixed_ips=[{'subnet_id': v4.id, 'ip_address': '10.0.0.50'},
                       {'ip_address': 'fd00:1::50'}])
        self.assertEqual({(v4.id, '10.0.0.50'), (v6.id, 'fd00:1::50')},
                         {(ip['subnet_id'], ip['ip_address'])
                          for ip in fixed.fixed_ips})
        only_v4 = self.sdk.network.create_port(
            network_id=net.id, name='only-v4', project_id=PROJECT,
            fixed_ips=[{'subnet_id': v4.id}])
        self.assertEqual([{'subnet_id': v4.id, 'ip_address': '10.0.0.3'}],
                         only_v4.fixed_ips)
        other = self.sdk.network.create_network(name='other',
                                                project_id=PROJECT)
        self.sdk.network.create_subnet(network_id=other.id, ip_version=4,
                                       cidr='10.9.0.0/24', project_id=PROJECT)
        elsewhere = self.sdk.network.create_port(network_id=other.id,
                                                 project_id=PROJECT)

        # Filters: by network, by fixed IP (address, subnet, substring).
        self.assertEqual({auto.id, fixed.id, only_v4.id},
                         {p.id for p in self.sdk.network.ports(
                             network_id=net.id)})
        self.assertEqual([elsewhere.id], [p.id for p in self.sdk.network.ports(
            network_id=other.id)])
        self.assertEqual([fixed.id], [p.id for p in self.sdk.network.ports(
            fixed_ips='ip_address=10.0.0.50')])
        self.assertEqual([fixed.id], [p.id for p in self.sdk.network.ports(
            fixed_ips='ip_address=fd00:1::50')])
        self.assertEqual({auto.id, fixed.id},
                         {p.id for p in self.sdk.network.ports(
                             fixed_ips='subnet_id=%s' % v6.id)})
        self.assertEqual([], list(self.sdk.network.ports(
            fixed_ips='ip_address=10.0.0.99')))

        # A fixed IP that another port has: 409 IpAddressAlreadyAllocated.
        error = self.assertRaises(
            sdk_exc.ConflictException, self.sdk.network.create_port,
            network_id=net.id, project_id=PROJECT,
            fixed_ips=[{'ip_address': '10.0.0.50'}])
        self.assert_conflict(error, 'IpAddressAlreadyAllocated',
                             '10.0.0.50', 'already allocated')
        error = self.assertRaises(
            sdk_exc.ConflictException, self.sdk.network.update_port,
            only_v4, fixed_ips=[{'subnet_id': v4.id,
                                 'ip_address': '10.0.0.2'}])
        self.assert_conflict(error, 'IpAddressAlreadyAllocated', '10.0.0.2')

        # Update: name, and a fixed IP moved to another address.
        fixed = self.sdk.network.update_port(
            fixed, name='fixed2',
            fixed_ips=[{'subnet_id': v4.id, 'ip_address': '10.0.0.51'}])
        self.assertEqual('fixed2', fixed.name)
        self.assertEqual([{'subnet_id': v4.id, 'ip_address': '10.0.0.51'}],
                         fixed.fixed_ips)
        self.assertEqual('fixed2', self.sdk.network.get_port(fixed.id).name)
        # ... and the old one is free again.
        again = self.sdk.network.create_port(
            network_id=net.id, project_id=PROJECT,
            fixed_ips=[{'ip_address': '10.0.0.50'}])

        # Delete everything; a subnet with ports on it cannot go first.
        self.assertRaises(sdk_exc.ConflictException,
                          self.sdk.network.delete_subnet, v4)
        for port in (auto, fixed, only_v4, again, elsewhere):
            self.sdk.network.delete_port(port)
        self.assertEqual([], list(self.sdk.network.ports()))
        self.assertRaises(sdk_exc.NotFoundException,
                          self.sdk.network.get_port, auto.id)
        self.sdk.network.delete_subnet(v4)
        self.sdk.network.delete_subnet(v6)
        self.assertEqual(['10.9.0.0/24'],
                         [s.cidr for s in self.sdk.network.subnets()])
        self.sdk.network.delete_network(net)
        self.sdk.network.delete_network(other)
        self.assertEqual([], list(self.sdk.network.networks()))
        self.assertEqual([], list(self.sdk.network.subnets()))

    def test_sdk_and_raw_pagination(self):
        net = self.sdk.network.create_network(name='paged',
                                              project_id=PROJECT)
        self.sdk.network.create_subnet(network_id=net.id, ip_version=4,
                                       cidr='10.2.0.0/24', project_id=PROJECT)
        # Another network's port must not show up in the filtered pages.
        noise = self.sdk.network.create_network(project_id=PROJECT)
        self.sdk.network.create_port(network_id=noise.id, project_id=PROJECT)
        # 120 ports in one bulk request.
        created = self.sdk.network.create_ports(
            [{'network_id': net.id, 'name': 'p%03d' % i,
              'project_id': PROJECT} for i in range(120)])
        created = list(created)
        self.assertEqual(120, len(created))
        ids = {p.id for p in created}
        self.assertEqual(120, len(ids))
        addresses = {p.fixed_ips[0]['ip_address'] for p in created}
        self.assertEqual(120, len(addresses))

        # The sdk follows the next links until the last page.
        listed = [p.id for p in self.sdk.network.ports(network_id=net.id,
                                                       limit=50)]
        self.assertEqual(120, len(listed))
        self.assertEqual(ids, set(listed))

        # Raw GETs: exactly 50, 50 and 20, linked by next links.
        url = '/v2.0/ports?network_id=%s&limit=50' % net.id
        pages = []
        while url:
            body = self.raw.check('GET', url)
            pages.append([p['id'] for p in body['ports']])
            links = {l['rel']: l['href'] for l in body.get('ports_links', [])}
            url = links.get('next')
            if url:
                self.assertIn('limit=50', url)
                self.assertIn('marker=%s' % pages[-1][-1], url)
                self.assertIn('network_id=%s' % net.id, url)
            if len(pages) > 1:
                self.assertIn('previous', links)
            self.assertLess(len(pages), 5, 'runaway pagination')
        self.assertEqual([50, 50, 20], [len(p) for p in pages])
        flat = [i for page in pages for i in page]
        self.assertEqual(sorted(ids), flat)
        # Without a limit everything comes at once, with no links.
        body = self.raw.check('GET', '/v2.0/ports?network_id=%s' % net.id)
        self.assertEqual(120, len(body['ports']))
        self.assertNotIn('ports_links', body)

    # -- the openstack CLI

    def test_cli_networks_subnets_ports(self):
        net = self.cli('network', 'create', 'cli-net', '-f', 'json')
        self.assertEqual('cli-net', net['name'])
        self.assertIn(net['id'], [n['ID'] for n in self.cli(
            'network', 'list', '-f', 'json')])
        self.cli('network', 'set', '--name', 'cli-net2', '--description',
                 'renamed', 'cli-net')
        shown = self.cli('network', 'show', 'cli-net2', '-f', 'json')
        self.assertEqual((net['id'], 'renamed'),
                         (shown['id'], shown['description']))

        v4 = self.cli('subnet', 'create', '--network', 'cli-net2',
                      '--subnet-range', '10.1.0.0/24', 'cli-v4', '-f', 'json')
        self.assertEqual('10.1.0.1', v4['gateway_ip'])
        v6 = self.cli('subnet', 'create', '--network', 'cli-net2',
                      '--ip-version', '6', '--subnet-range', 'fd00:2::/64',
                      '--ipv6-address-mode', 'slaac', '--ipv6-ra-mode',
                      'slaac', 'cli-v6', '-f', 'json')
        self.assertEqual('slaac', v6['ipv6_address_mode'])
        self.cli('subnet', 'set', '--name', 'cli-v4b', 'cli-v4')
        self.assertEqual({'cli-v4b', 'cli-v6'}, {s['Name'] for s in self.cli(
            'subnet', 'list', '--network', 'cli-net2', '-f', 'json')})

        # Without fixed IPs: the first free v4 address and the EUI-64
        # address on the SLAAC subnet.
        auto = self.cli('port', 'create', '--network', 'cli-net2', 'auto',
                        '-f', 'json')
        eui64 = str(netaddr.EUI(auto['mac_address']).ipv6(
            netaddr.IPNetwork('fd00:2::/64').network))
        self.assertEqual({(v4['id'], '10.1.0.2'), (v6['id'], eui64)},
                         {(ip['subnet_id'], ip['ip_address'])
                          for ip in auto['fixed_ips']})
        fixed = self.cli('port', 'create', '--network', 'cli-net2',
                         '--fixed-ip', 'subnet=cli-v4b,ip-address=10.1.0.77',
                         'fixed', '-f', 'json')
        self.assertEqual([{'subnet_id': v4['id'], 'ip_address': '10.1.0.77'}],
                         fixed['fixed_ips'])

        self.assertEqual({auto['id'], fixed['id']}, {p['ID'] for p in self.cli(
            'port', 'list', '--network', 'cli-net2', '-f', 'json')})
        self.assertEqual([fixed['id']], [p['ID'] for p in self.cli(
            'port', 'list', '--fixed-ip', 'ip-address=10.1.0.77',
            '-f', 'json')])

        # The address another port has: exit status and message.
        proc = self.cli('port', 'create', '--network', 'cli-net2',
                        '--fixed-ip', 'subnet=cli-v4b,ip-address=10.1.0.77',
                        'dup', expect_fail=True)
        self.assertIn('ConflictException: 409', proc.stderr)
        self.assertIn('IP address 10.1.0.77 already allocated in subnet %s'
                      % v4['id'], proc.stderr)

        self.cli('port', 'set', '--name', 'fixed2', 'fixed')
        self.assertEqual(fixed['id'], self.cli(
            'port', 'show', 'fixed2', '-f', 'json')['id'])

        # The same through a clouds.yaml that says auth_type: none.
        clouds = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'clouds.yaml')
        with open(clouds, 'w') as f:
            json.dump({'clouds': {'naas': {
                'auth_type': 'none',
                'auth': {'endpoint': self.server.url}}}}, f)
        env = {'OS_CLIENT_CONFIG_FILE': clouds, 'OS_CLOUD': 'naas'}
        self.assertEqual(('10.1.0.0/24', v4['id']), itemgetter(
            'cidr', 'id')(self.cli('subnet', 'show', 'cli-v4b', '-f', 'json',
                                   env=env)))

        self.cli('port', 'delete', 'auto', 'fixed2')
        self.cli('subnet', 'delete', 'cli-v4b', 'cli-v6')
        self.cli('network', 'delete', 'cli-net2')
        self.assertEqual([], self.cli('network', 'list', '-f', 'json'))
        # The CLI did delete them all.
        body = self.raw.check('GET', '/v2.0/ports')
        self.assertEqual([], body['ports'])
        self.assertEqual([], self.raw.check('GET', '/v2.0/subnets')['subnets'])


class TestClientsSQLite(ClientTests, base.TestCase):
    """naas-server on its embedded SQLite database."""


class TestClientsPostgreSQL(ClientTests, base.PostgreSQLTestCase):
    """naas-server on a private PostgreSQL (schema by naas-db-manage)."""

    def database_url(self):
        return self.db_url
