"""HA routers on the agent side (naas.agent.l3.keepalived): the keepalived
configuration of a router, and the state its notify script leaves."""
import os

import fixtures
import testtools

from naas.agent.l3 import keepalived

ROUTER_ID = 'a1b2c3d4-0000-4000-8000-000000000001'


def router():
    """A sync_routers view: an IPv4 and an IPv6 interface, a gateway with
    SNAT, a floating IP and an extra route."""
    return {
        'id': ROUTER_ID, 'admin_state_up': True, 'ha': True, 'ha_vr_id': 7,
        'enable_snat': True,
        'interfaces': [
            {'port_id': 'i4aaaaaaaaaaaa', 'mac_address': 'fa:16:3e:00:00:01', 'mtu': 1450,
             'fixed_ips': [{'ip_address': '10.0.0.1', 'prefixlen': 24,
                            'gateway_ip': '10.0.0.1'}]},
            {'port_id': 'i6bbbbbbbbbbbb', 'mac_address': 'fa:16:3e:00:00:02', 'mtu': 1450,
             'fixed_ips': [{'ip_address': '2001:db8::1', 'prefixlen': 64,
                            'gateway_ip': '2001:db8::1'}]}],
        'gateway': {'port_id': 'gwcccccccccccc', 'mac_address': 'fa:16:3e:00:00:03',
                    'mtu': 1500,
                    'fixed_ips': [{'ip_address': '203.0.113.10', 'prefixlen': 24,
                                   'gateway_ip': '203.0.113.1', 'ip_version': 4}]},
        'floating_ips': [{'id': 'f', 'floating_ip_address': '203.0.113.20',
                          'fixed_ip_address': '10.0.0.5'}],
        'routes': [{'destination': '192.168.0.0/16', 'nexthop': '10.0.0.254'}],
        'ha_ports': [
            {'port_id': 'hadddddddddddd', 'host': 'hv1', 'mac_address': 'fa:16:3e:00:00:04',
             'fixed_ips': [{'ip_address': '169.254.192.3', 'prefixlen': 18}]},
            {'port_id': 'haeeeeeeeeeeee', 'host': 'hv2', 'mac_address': 'fa:16:3e:00:00:05',
             'fixed_ips': [{'ip_address': '169.254.192.4', 'prefixlen': 18}]}],
    }


class TestConfig(testtools.TestCase):

    def test_every_address_route_and_floating_ip_is_a_virtual_one(self):
        text = keepalived.config(router(), 'ha-hadddddddddd', 0.5, '/s/notify.sh')
        self.assertIn('vrrp_instance VR_7 {', text)
        for line in ('state BACKUP', 'nopreempt', 'virtual_router_id 7',
                     'interface ha-hadddddddddd', 'advert_int 0.50', 'vrrp_version 3',
                     'notify "/s/notify.sh"',
                     '169.254.0.7/24 dev ha-hadddddddddd',
                     '10.0.0.1/24 dev qr-i4aaaaaaaaa',
                     '2001:db8::1/64 dev qr-i6bbbbbbbbb',
                     # the link-local address of the IPv6 interface (its MAC)
                     'fe80::f816:3eff:fe00:2/64 dev qr-i6bbbbbbbbb',
                     '203.0.113.10/24 dev qg-gwccccccccc',
                     '203.0.113.20/32 dev qg-gwccccccccc',
                     '0.0.0.0/0 via 203.0.113.1 dev qg-gwccccccccc',
                     '192.168.0.0/16 via 10.0.0.254 dev qr-i4aaaaaaaaa'):
            self.assertIn(line, text)
        # The primary address only in virtual_ipaddress, the rest excluded.
        primary = text.split('virtual_ipaddress {')[1].split('}')[0]
        self.assertEqual(['169.254.0.7/24 dev ha-hadddddddddd'],
                         [line.strip() for line in primary.strip().splitlines()])
        self.assertNotIn('fe80', text.split('virtual_ipaddress_excluded')[0])

    def test_whole_seconds_and_no_gateway(self):
        r = dict(router(), gateway=None, floating_ips=[], routes=[])
        text = keepalived.config(r, 'ha-x', 2.0, '/n')
        self.assertIn('advert_int 2\n', text)
        self.assertNotIn('qg-', text)
        self.assertNotIn('virtual_routes', text)

    def test_the_port_of_this_host(self):
        self.assertEqual('haeeeeeeeeeeee', keepalived.ha_port(router(), 'hv2')['port_id'])
        self.assertIsNone(keepalived.ha_port(router(), 'hv3'))


class TestState(testtools.TestCase):

    def test_notify_script_writes_the_state_the_manager_reads(self):
        base = self.useFixture(fixtures.TempDir()).path
        manager = keepalived.KeepalivedManager(base)
        script = manager.notify_script('ns1')
        self.assertTrue(os.access(script, os.X_OK))
        os.system('%s INSTANCE VR_7 MASTER 50' % script)
        with open(os.path.join(base, 'ha_confs', 'ns1', 'state')) as f:
            self.assertEqual('MASTER', f.read().strip())
        [(when, state)] = manager.transitions('ns1')
        self.assertEqual('MASTER', state)
        # No keepalived running there: standby, whatever the file says.
        self.assertEqual('standby', manager.state('ns1'))
        self.assertEqual(['ns1'], manager.namespaces())
        manager.stop('ns1')
        self.assertEqual([], manager.namespaces())
