"""The network-config extension: what an in-guest agent or a config drive
gets for a port and for an instance."""
import testtools

from tests.fixtures import app


class TestNetworkConfig(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture())
        net = self.post('networks', {'name': 'n'})
        self.v4 = self.post('subnets', {
            'network_id': net['id'], 'ip_version': 4, 'cidr': '10.20.0.0/24',
            'dns_nameservers': ['10.20.0.53'],
            'host_routes': [{'destination': '10.99.0.0/16', 'nexthop': '10.20.0.254'}]})
        self.v6 = self.post('subnets', {
            'network_id': net['id'], 'ip_version': 6, 'cidr': 'fd20::/64',
            'ipv6_address_mode': 'slaac', 'ipv6_ra_mode': 'slaac'})
        self.port = self.post('ports', {'network_id': net['id'], 'device_id': 'vm-7'})
        self.net = net

    def post(self, collection, body):
        status, data, _ = self.api.call('POST', '/v2.0/' + collection,
                                        {collection[:-1]: body}, project='p')
        self.assertEqual(201, status, data)
        return data[collection[:-1]]

    def addresses(self):
        ips = {ip['subnet_id']: ip['ip_address'] for ip in self.port['fixed_ips']}
        return ips[self.v4['id']], ips[self.v6['id']]

    def test_cloud_init_v2_for_a_port(self):
        status, body, _ = self.api.call(
            'GET', '/v2.0/ports/%s/network-config' % self.port['id'], project='p')
        self.assertEqual(200, status, body)
        v4, v6 = self.addresses()
        self.assertEqual(2, body['network']['version'])
        eth0 = body['network']['ethernets']['eth0']
        self.assertEqual({'macaddress': self.port['mac_address']}, eth0['match'])
        self.assertEqual(['%s/24' % v4, '%s/64' % v6], eth0['addresses'])
        self.assertEqual(self.net['mtu'], eth0['mtu'])
        self.assertIn({'to': '0.0.0.0/0', 'via': '10.20.0.1'}, eth0['routes'])
        self.assertIn({'to': '10.99.0.0/16', 'via': '10.20.0.254'}, eth0['routes'])
        self.assertEqual({'addresses': ['10.20.0.53']}, eth0['nameservers'])

    def test_network_data_for_an_instance(self):
        status, body, _ = self.api.call(
            'GET', '/v2.0/instances/vm-7/network-config?format=network_data', project='p')
        self.assertEqual(200, status, body)
        v4, v6 = self.addresses()
        [link] = body['links']
        self.assertEqual((self.port['id'], self.port['mac_address']),
                         (link['vif_id'], link['ethernet_mac_address']))
        by_ip = {n['ip_address']: n for n in body['networks']}
        self.assertEqual({v4, v6}, set(by_ip))
        self.assertEqual(('ipv4', '255.255.255.0', link['id']),
                         (by_ip[v4]['type'], by_ip[v4]['netmask'], by_ip[v4]['link']))
        self.assertIn({'network': '0.0.0.0', 'netmask': '0.0.0.0', 'gateway': '10.20.0.1'},
                      by_ip[v4]['routes'])
        self.assertEqual([{'type': 'dns', 'address': '10.20.0.53'}], body['services'])

    def test_other_projects_and_bad_formats(self):
        path = '/v2.0/ports/%s/network-config' % self.port['id']
        self.assertEqual(404, self.api.call('GET', path, project='other')[0])
        self.assertEqual(404, self.api.call('GET', '/v2.0/instances/vm-7/network-config',
                                            project='other')[0])
        status, body, _ = self.api.call('GET', path + '?format=xml', project='p')
        self.assertEqual(400, status)
        self.assertEqual('BadRequest', body['NeutronError']['type'])
        status, body, _ = self.api.call('GET', '/v2.0/extensions/network-config')
        self.assertEqual(200, status, body)
