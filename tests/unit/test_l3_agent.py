"""naas.agent.l3 without root: names, and what a router wants (addresses,
routes, the nftables ruleset) from its sync_routers data; the manager's
handling of casts."""
from unittest import mock

import testtools

from naas.agent.l3 import garp
from naas.agent.l3 import manager
from naas.agent.l3 import nft
from naas.agent.l3 import ra
from naas.agent.l3 import router as wanted

RID = 'a1b2c3d4-0000-4000-8000-000000000001'


def port(port_id, ip, plen, cidr, gateway_ip, mtu=1450):
    return {'port_id': port_id, 'mac_address': 'fa:16:3e:00:00:01', 'network_id': 'n',
            'mtu': mtu, 'admin_state_up': True,
            'fixed_ips': [{'subnet_id': 's-' + cidr, 'ip_address': ip, 'prefixlen': plen,
                           'cidr': cidr, 'ip_version': 6 if ':' in ip else 4,
                           'gateway_ip': gateway_ip}]}


def router(**kw):
    r = {'id': RID, 'admin_state_up': True, 'hidden': False, 'enable_snat': True,
         'gateway': None, 'routes': [], 'floating_ips': [], 'subnet_routes': [],
         'interfaces': [port('11111111-aaaa', '10.0.1.1', 24, '10.0.1.0/24', '10.0.1.1'),
                        port('22222222-bbbb', '10.0.2.1', 24, '10.0.2.0/24', '10.0.2.1')]}
    r.update(kw)
    return r


GW = port('33333333-cccc', '203.0.113.10', 24, '203.0.113.0/24', '203.0.113.1', 1500)
FIP = {'id': 'f1', 'floating_ip_address': '203.0.113.50', 'fixed_ip_address': '10.0.1.5',
       'port_id': 'p1', 'status': 'DOWN'}


class TestNames(testtools.TestCase):
    def test_names(self):
        self.assertEqual('naas-x-h1-router-a1b2c3d4-00', wanted.namespace_name('naas-x-h1', RID))
        self.assertEqual('qr-11111111-aa', wanted.internal_name('11111111-aaaa-bbbb'))
        self.assertEqual('qg-11111111-aa', wanted.gateway_name('11111111-aaaa-bbbb'))


class TestWanted(testtools.TestCase):
    def test_addresses_with_gateway_and_floating_ips(self):
        r = router(gateway=GW, floating_ips=[FIP, dict(FIP, id='f2', fixed_ip_address=None,
                                                       floating_ip_address='203.0.113.51')])
        self.assertEqual({'qr-11111111-aa': {('10.0.1.1', 24)},
                          'qr-22222222-bb': {('10.0.2.1', 24)},
                          'qg-33333333-cc': {('203.0.113.10', 24), ('203.0.113.50', 32)}},
                         wanted.wanted_addresses(r))

    def test_routes(self):
        r = router(gateway=GW, routes=[{'destination': '192.168.0.0/16',
                                        'nexthop': '10.0.1.9'}])
        self.assertEqual({('0.0.0.0/0', '203.0.113.1'), ('192.168.0.0/16', '10.0.1.9')},
                         wanted.wanted_routes(r))
        self.assertEqual({('192.168.0.0/16', '10.0.1.9')},
                         wanted.wanted_routes(router(routes=r['routes'])))

    def test_floating_ips_need_a_gateway(self):
        self.assertEqual({}, wanted.floating_ips(router(floating_ips=[FIP])))
        self.assertEqual({'203.0.113.50': '10.0.1.5'},
                         wanted.floating_ips(router(gateway=GW, floating_ips=[FIP])))


class TestRuleset(testtools.TestCase):
    def test_plain_router_forwards_everything_no_nat(self):
        text = nft.ruleset(router())
        self.assertIn('policy accept;', text)
        self.assertNotIn('table ip naas {', text)
        # Atomic replacement: both tables declared, deleted, written.
        self.assertTrue(text.startswith('table inet naas\ndelete table inet naas\n'))
        self.assertIn('table ip naas\ndelete table ip naas\n', text)

    def test_snat_and_floating_ip(self):
        text = nft.ruleset(router(gateway=GW, floating_ips=[FIP]))
        self.assertIn('oifname "qg-33333333-cc" snat to 203.0.113.10', text)
        self.assertIn('ip daddr 203.0.113.50 dnat to 10.0.1.5', text)
        self.assertIn('oifname "qg-33333333-cc" ip saddr 10.0.1.5 snat to 203.0.113.50', text)
        self.assertIn('iifname "qg-33333333-cc" drop', text)
        # The floating IP's SNAT comes before the router's.
        self.assertLess(text.index('snat to 203.0.113.50'), text.index('snat to 203.0.113.10'))

    def test_no_snat(self):
        text = nft.ruleset(router(gateway=GW, enable_snat=False))
        self.assertNotIn('snat', text)
        self.assertNotIn('drop', text)
        text = nft.ruleset(router(gateway=GW, enable_snat=False, floating_ips=[FIP]))
        self.assertIn('dnat to 10.0.1.5', text)
        self.assertNotIn('snat to 203.0.113.10', text)

    def test_hidden_router_forwards_only_paired_subnets(self):
        r = router(hidden=True, subnet_routes=[
            {'id': 'sr', 'subnet_ids': ['a', 'b'], 'cidrs': ['10.0.1.0/24', '10.0.2.0/24']},
            {'id': 'sr6', 'subnet_ids': ['c', 'd'], 'cidrs': ['fd00:1::/64', 'fd00:2::/64']}])
        text = nft.ruleset(r)
        self.assertIn('policy drop;', text)
        self.assertIn('ip saddr 10.0.1.0/24 ip daddr 10.0.2.0/24 accept', text)
        self.assertIn('ip saddr 10.0.2.0/24 ip daddr 10.0.1.0/24 accept', text)
        self.assertIn('ip6 saddr fd00:1::/64 ip6 daddr fd00:2::/64 accept', text)


class TestCasts(testtools.TestCase):
    def _manager(self):
        m = manager.L3Manager.__new__(manager.L3Manager)
        super(manager.L3Manager, m).__init__()     # the reconciler's state only
        return m

    def test_casts_are_merged_into_one_pass(self):
        m = self._manager()
        m.on_routers_updated(['r1', 'r2'])
        m.on_subnet_routes_updated('r3', ['sr'])
        m.on_router_deleted('r2')     # sync() finds it gone and removes it
        self.assertEqual((False, ['r1', 'r2', 'r3']), m._next())


class TestAdminDownRouter(testtools.TestCase):
    """An admin-down router keeps its ports plugged (ACTIVE), links down,
    nothing configured."""

    def test_links_down_nothing_configured(self):
        r = wanted.realised(router(admin_state_up=False, gateway=GW, floating_ips=[FIP],
                                   routes=[{'destination': '192.168.0.0/16',
                                            'nexthop': '10.0.1.9'}]))
        links = wanted.wanted_links(r)
        self.assertEqual({'qr-11111111-aa', 'qr-22222222-bb', 'qg-33333333-cc'}, set(links))
        self.assertEqual([False] * 3, [view['admin_state_up'] for view in links.values()])
        self.assertEqual({name: set() for name in links}, wanted.wanted_addresses(r))
        self.assertEqual(set(), wanted.wanted_routes(r))
        self.assertEqual({}, wanted.floating_ips(r))
        self.assertNotIn('snat to', nft.ruleset(r))

    def test_sync_applies_it_instead_of_removing_it(self):
        m = manager.L3Manager.__new__(manager.L3Manager)
        m.plugin = mock.Mock(**{'sync_routers.return_value': [router(admin_state_up=False)]})
        m.apply, m.remove = mock.Mock(), mock.Mock()
        self.assertEqual([], m.sync([RID]))
        m.apply.assert_called_once_with(router(admin_state_up=False))
        m.remove.assert_not_called()


class TestPackets(testtools.TestCase):
    def test_garp_frame(self):
        frame = garp.garp_frame('fa:16:3e:00:00:01', '10.0.0.1')
        self.assertEqual(42, len(frame))
        self.assertEqual(b'\xff' * 6, frame[:6])
        self.assertEqual(bytes.fromhex('fa163e000001'), frame[6:12])
        self.assertEqual(b'\x08\x06', frame[12:14])
        # ARP request, sender and target IP both the announced address.
        self.assertEqual(b'\x00\x01', frame[20:22])
        self.assertEqual(bytes([10, 0, 0, 1]), frame[28:32])
        self.assertEqual(bytes([10, 0, 0, 1]), frame[38:42])

    def test_router_advertisement(self):
        pkt = ra.ra_packet('fa:16:3e:00:00:01', 1450)
        self.assertEqual(134, pkt[0])
        self.assertEqual(ra.RA_LIFETIME, int.from_bytes(pkt[6:8], 'big'))
        self.assertEqual(bytes([1, 1]) + bytes.fromhex('fa163e000001'), pkt[16:24])
        self.assertEqual(bytes([5, 1, 0, 0]) + (1450).to_bytes(4, 'big'), pkt[24:32])
        self.assertEqual(24, len(ra.ra_packet('fa:16:3e:00:00:01')))
