"""The Open vSwitch driver's pure logic (naas.agent.l2.ovs_flows): no OVS.

What it promises: local VLANs are 1..4094, one per network, taken back as
found on the host at a restart and never given twice; names fit IFNAMSIZ;
the flow tables isolate networks (each network's local VLAN maps to its
own tunnel id / segmentation VLAN only, drop is the default) and flood to
the network's other hosts only; the flow mods between two tables touch
only what changed, and a full refresh adds every flow with the new cookie.
"""
import testtools

from naas.agent.l2 import ovs_flows as flows

NET1 = '11111111-2222-3333-4444-555555555555'
NET2 = '22222222-2222-3333-4444-555555555555'
NET3 = '33333333-2222-3333-4444-555555555555'
COOKIE = flows.make_cookie(7)


def layout(tunnels=None, physnets=None, dead=()):
    return flows.Layout(int_br='br-int', tun_br='br-tun', patch_int_ofport=1,
                        tunnels=tunnels if tunnels is not None else {
                            ('vxlan', '192.0.2.2'): 2, ('vxlan', '192.0.2.3'): 3,
                            ('gre', '192.0.2.2'): 4},
                        physnets=physnets or {}, dead_ofports=dead)


class TestLocalVlans(testtools.TestCase):
    def test_lowest_free_one_per_network(self):
        v = flows.LocalVlans()
        self.assertEqual(1, v.allocate(NET1))
        self.assertEqual(2, v.allocate(NET2))
        self.assertEqual(1, v.allocate(NET1))
        self.assertEqual(2, len(v))

    def test_recover_keeps_host_vlans_and_allocation_avoids_them(self):
        v = flows.LocalVlans()
        self.assertTrue(v.recover(NET1, 5))
        self.assertTrue(v.recover(NET1, 5))            # again: fine
        self.assertFalse(v.recover(NET2, 5))           # taken
        self.assertFalse(v.recover(NET1, 6))           # NET1 has one
        self.assertFalse(v.recover(NET3, 4095))        # the dead VLAN
        self.assertFalse(v.recover(NET3, 0))
        self.assertEqual(1, v.allocate(NET2))
        self.assertEqual(5, v.get(NET1))

    def test_release_frees_for_reuse(self):
        v = flows.LocalVlans()
        v.allocate(NET1)
        v.allocate(NET2)
        self.assertEqual(1, v.release(NET1))
        self.assertIsNone(v.release(NET1))
        self.assertIsNone(v.get(NET1))
        self.assertEqual(1, v.allocate(NET3))

    def test_exhausted(self):
        v = flows.LocalVlans(1, 2)
        v.allocate(NET1)
        v.allocate(NET2)
        self.assertRaises(RuntimeError, v.allocate, NET3)

    def test_full_range(self):
        v = flows.LocalVlans()
        for i in range(4094):
            self.assertEqual(i + 1, v.allocate('net-%d' % i))
        self.assertRaises(RuntimeError, v.allocate, 'one-more')


class TestNames(testtools.TestCase):
    def test_tunnel_port_names(self):
        self.assertEqual('vxlan-c0000202', flows.tunnel_port_name('vxlan', '192.0.2.2'))
        self.assertEqual('gre-c0000202', flows.tunnel_port_name('gre', '192.0.2.2'))
        v6 = flows.tunnel_port_name('vxlan', '2001:db8::1')
        self.assertTrue(v6.startswith('vxlan-'))
        self.assertLessEqual(len(v6), flows.IFNAMSIZ)
        self.assertEqual(v6, flows.tunnel_port_name('vxlan', '2001:DB8:0::1'))

    def test_patch_names(self):
        self.assertEqual('int-br-phys', flows.int_patch_name('br-phys'))
        self.assertEqual('phy-br-phys', flows.phy_patch_name('br-phys'))
        long = flows.int_patch_name('br-a-very-long-bridge')
        self.assertLessEqual(len(long), flows.IFNAMSIZ)
        self.assertNotEqual(long, flows.int_patch_name('br-a-very-long-bridgf'))

    def test_remote_ips(self):
        endpoints = [{'host': 'h1', 'tunnel_ip': '192.0.2.1'},
                     {'host': 'h3', 'tunnel_ip': '192.0.2.10'},
                     {'host': 'h2', 'tunnel_ip': '192.0.2.2'},
                     {'host': 'x', 'tunnel_ip': ''}]
        self.assertEqual(('192.0.2.2', '192.0.2.10'),
                         flows.remote_ips(endpoints, '192.0.2.1'))
        self.assertEqual((), flows.remote_ips(None, '192.0.2.1'))

    def test_cookies(self):
        self.assertTrue(flows.is_naas_cookie(COOKIE))
        self.assertFalse(flows.is_naas_cookie(0))
        self.assertFalse(flows.is_naas_cookie(7))
        self.assertEqual(COOKIE & 0xFFFFFFFF, 7)


class TestRender(testtools.TestCase):
    def test_no_network_drops_everything_but_normal_on_br_int(self):
        tables = flows.render(layout(tunnels={}), [])
        self.assertEqual({(0, 65535, 'vlan_tci=0x0fff/0x1fff'): 'drop', (0, 0, ''): 'NORMAL',
                          (flows.CANARY_TABLE, 0, ''): 'drop'}, tables['br-int'])
        tun = tables['br-tun']
        self.assertEqual('drop', tun[(0, 0, '')])
        self.assertEqual('resubmit(,22)', tun[(0, 1, 'in_port=1')])
        for table in (3, 4, 22):
            self.assertEqual('drop', tun[(table, 0, '')])
        self.assertEqual(5, len(tun))

    def test_vxlan_and_gre_networks(self):
        nets = [flows.Net(NET1, 1, 'vxlan', None, 1001, ('192.0.2.2', '192.0.2.3')),
                flows.Net(NET2, 2, 'vxlan', None, 1002, ('192.0.2.3',)),
                flows.Net(NET3, 3, 'gre', None, 1001, ('192.0.2.2',))]
        tun = flows.render(layout(), nets)['br-tun']
        # In from each tunnel port, to the table of its type.
        self.assertEqual('resubmit(,4)', tun[(0, 1, 'in_port=2')])
        self.assertEqual('resubmit(,4)', tun[(0, 1, 'in_port=3')])
        self.assertEqual('resubmit(,3)', tun[(0, 1, 'in_port=4')])
        # tunnel id -> local VLAN, per type: VXLAN 1001 and GRE 1001 apart.
        self.assertEqual('mod_vlan_vid:1,output:1', tun[(4, 1, 'tun_id=0x3e9')])
        self.assertEqual('mod_vlan_vid:2,output:1', tun[(4, 1, 'tun_id=0x3ea')])
        self.assertEqual('mod_vlan_vid:3,output:1', tun[(3, 1, 'tun_id=0x3e9')])
        # Local VLAN -> the network's tunnels only.
        self.assertEqual('strip_vlan,set_tunnel:0x3e9,output:2,output:3',
                         tun[(22, 1, 'dl_vlan=1')])
        self.assertEqual('strip_vlan,set_tunnel:0x3ea,output:3', tun[(22, 1, 'dl_vlan=2')])
        self.assertEqual('strip_vlan,set_tunnel:0x3e9,output:4', tun[(22, 1, 'dl_vlan=3')])

    def test_network_without_remotes_or_ports_floods_nowhere(self):
        nets = [flows.Net(NET1, 1, 'vxlan', None, 1001, ()),
                flows.Net(NET2, 2, 'vxlan', None, 1002, ('192.0.2.9',))]   # no port yet
        tun = flows.render(layout(), nets)['br-tun']
        self.assertNotIn((22, 1, 'dl_vlan=1'), tun)
        self.assertNotIn((22, 1, 'dl_vlan=2'), tun)
        self.assertIn((4, 1, 'tun_id=0x3e9'), tun)

    def test_vlan_and_flat_networks(self):
        phys = {'physnet1': flows.PhysLink('br-phys', 7, 8, False)}
        nets = [flows.Net(NET1, 1, 'vlan', 'physnet1', 150, ()),
                flows.Net(NET2, 2, 'flat', 'physnet1', 0, ()),
                flows.Net(NET3, 3, 'vlan', 'physnet2', 150, ())]     # unmapped
        tables = flows.render(layout(physnets=phys), nets)
        integ, ph = tables['br-int'], tables['br-phys']
        self.assertEqual('mod_vlan_vid:1,NORMAL', integ[(0, 3, 'in_port=7,dl_vlan=150')])
        self.assertEqual('mod_vlan_vid:2,NORMAL',
                         integ[(0, 3, 'in_port=7,vlan_tci=0x0000/0x1fff')])
        self.assertEqual('drop', integ[(0, 2, 'in_port=7')])
        self.assertEqual('mod_vlan_vid:150,NORMAL', ph[(0, 4, 'in_port=8,dl_vlan=1')])
        self.assertEqual('strip_vlan,NORMAL', ph[(0, 4, 'in_port=8,dl_vlan=2')])
        self.assertEqual('drop', ph[(0, 2, 'in_port=8')])
        self.assertNotIn((0, 0, ''), ph)      # not NaaS's bridge: its NORMAL stays
        self.assertNotIn((0, 4, 'in_port=8,dl_vlan=3'), ph)
        # VLAN networks are nothing to br-tun.
        self.assertFalse([k for k in tables['br-tun'] if k[1] == 1 and k[0] != 0])

    def test_owned_physical_bridge_gets_normal(self):
        phys = {'physnet1': flows.PhysLink('br-phys', 7, 8, True)}
        ph = flows.render(layout(physnets=phys), [])['br-phys']
        self.assertEqual('NORMAL', ph[(0, 0, '')])

    def test_patch_without_ofport_yet(self):
        phys = {'physnet1': flows.PhysLink('br-phys', -1, 8, False)}
        nets = [flows.Net(NET1, 1, 'vlan', 'physnet1', 150, ())]
        tables = flows.render(layout(physnets=phys), nets)
        self.assertEqual({(0, 2, 'in_port=8'): 'drop'}, tables['br-phys'])

    def test_dead_ports_dropped(self):
        integ = flows.render(layout(dead=[12, 12, -1, 13]), [])['br-int']
        self.assertEqual('drop', integ[(0, 2, 'in_port=12')])
        self.assertEqual('drop', integ[(0, 2, 'in_port=13')])
        self.assertNotIn((0, 2, 'in_port=-1'), integ)

    def test_no_tunnel_bridge(self):
        lay = layout()._replace(tun_br=None)
        tables = flows.render(lay, [flows.Net(NET1, 1, 'local', None, None, ())])
        self.assertEqual(['br-int'], list(tables))

    def test_same_state_same_tables(self):
        nets = [flows.Net(NET1, 1, 'vxlan', None, 1001, ('192.0.2.2',)),
                flows.Net(NET2, 2, 'gre', None, 1001, ('192.0.2.2',))]
        self.assertEqual(flows.render(layout(), nets),
                         flows.render(layout(), list(reversed(nets))))


class TestFlowMods(testtools.TestCase):
    def test_full_refresh_adds_everything_with_the_cookie(self):
        table = {(0, 0, ''): 'NORMAL', (0, 2, 'in_port=3'): 'drop'}
        lines = flows.flow_mods(None, table, COOKIE)
        self.assertEqual(['add cookie=%#x,table=0,priority=2,in_port=3,actions=drop' % COOKIE,
                          'add cookie=%#x,table=0,priority=0,actions=NORMAL' % COOKIE], lines)

    def test_only_differences(self):
        old = {(0, 0, ''): 'NORMAL', (0, 2, 'in_port=3'): 'drop',
               (22, 1, 'dl_vlan=1'): 'strip_vlan,set_tunnel:0x1,output:2'}
        new = {(0, 0, ''): 'NORMAL',
               (22, 1, 'dl_vlan=1'): 'strip_vlan,set_tunnel:0x1,output:2,output:3',
               (4, 1, 'tun_id=0x1'): 'mod_vlan_vid:1,output:1'}
        lines = flows.flow_mods(old, new, COOKIE)
        self.assertEqual([
            'add cookie=%#x,table=4,priority=1,tun_id=0x1,actions=mod_vlan_vid:1,output:1'
            % COOKIE,
            'add cookie=%#x,table=22,priority=1,dl_vlan=1,actions=strip_vlan,'
            'set_tunnel:0x1,output:2,output:3' % COOKIE,
            'delete_strict cookie=%#x/%#x,table=0,priority=2,in_port=3'
            % (flows.COOKIE_MARK, flows.COOKIE_MASK)], lines)
        self.assertEqual([], flows.flow_mods(new, dict(new), COOKIE))
