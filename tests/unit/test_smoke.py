import testtools

from tests.fixtures import app


class TestSmoke(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture())

    def test_network_subnet_port(self):
        status, body, _ = self.api.call('POST', '/v2.0/networks',
                                        {'network': {'name': 'n'}}, project='p')
        self.assertEqual(201, status, body)
        net = body['network']
        status, body, _ = self.api.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': net['id'], 'ip_version': 4, 'cidr': '10.1.0.0/29'}},
            project='p')
        self.assertEqual(201, status, body)
        ips = []
        for _ in range(5):
            status, body, _ = self.api.call('POST', '/v2.0/ports', {'port': {
                'network_id': net['id']}}, project='p')
            self.assertEqual(201, status, body)
            ips.append(body['port']['fixed_ips'][0]['ip_address'])
        self.assertEqual(['10.1.0.%d' % i for i in range(2, 7)], ips)
        status, body, _ = self.api.call('POST', '/v2.0/ports', {'port': {
            'network_id': net['id']}}, project='p')
        self.assertEqual(409, status, body)
        self.assertEqual('IpAddressGenerationFailure', body['NeutronError']['type'])
