"""The Open vSwitch driver (naas.agent.l2.openvswitch) on a fake OVS.

tests.unit.fake_ovs stands in for OVSDB and ovs-ofctl; naas.host.ovs_lib
and the driver run unchanged on it.  What the driver promises, read as an
operator reads a host (ovs-vsctl, ovs-ofctl dump-flows): setup makes the
bridges it is configured for, once; a wired VIF is an access port on its
network's local VLAN, and br-tun / the physical bridge translate that VLAN
to the network's segment, towards the network's other hosts only; admin
down is the dead VLAN and a drop; the last port of a network takes its
flows and unneeded tunnels with it; a restarted agent keeps every VLAN and
flow that is right (one atomic bundle per bridge, nothing rewritten in
OVSDB) and removes stale NaaS things, never foreign ones; a batch is one
OVSDB transaction and one bundle per bridge; service ports (DHCP, router)
are plugged in one transaction, cut off until wired; cleanup_all leaves
only what is not NaaS's.  naas.host.vif's veth pairs and naas.host.offload
(netlink) are faked by FakeVeths.
"""
import types

from oslo_config import cfg
import testtools

from naas.agent.l2 import base
from naas.agent.l2 import openvswitch as ovs
from naas.agent.l2 import ovs_flows as flows
from naas.conf import agent as agent_conf
from naas.host import offload
from naas.host import ovs_lib
from naas.host import vif as host_vif
from naas.lib import constants
from tests.unit import fake_ovs

CONNECTION = 'unix:/run/naas-test-h1/db.sock'
LOCAL = '192.0.2.1'
H2, H3, H4 = '192.0.2.2', '192.0.2.3', '192.0.2.4'
NET1 = '11111111-2222-3333-4444-555555555555'
NET2 = '22222222-2222-3333-4444-555555555555'
NET3 = '33333333-2222-3333-4444-555555555555'
PORT1 = 'a1a1a1a1-0000-0000-0000-000000000001'
PORT2 = 'a2a2a2a2-0000-0000-0000-000000000002'
PORT3 = 'a3a3a3a3-0000-0000-0000-000000000003'
PORT4 = 'a4a4a4a4-0000-0000-0000-000000000004'
FOREIGN_COOKIE = 0x1234
FOREIGN_FLOW = 'cookie=%#x,table=0,priority=50,in_port=99,actions=NORMAL' % FOREIGN_COOKIE


def make_conf(tunnel_ip=LOCAL, tunnel_types=('vxlan',), mappings=None,
              datapath_type='system', namespace=None):
    conf = cfg.ConfigOpts()
    agent_conf.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override('namespace', namespace, group='agent')
    conf.set_override('ovsdb_connection', CONNECTION, group='ovs')
    conf.set_override('datapath_type', datapath_type, group='ovs')
    conf.set_override('tunnel_ip', tunnel_ip, group='agent')
    conf.set_override('tunnel_types', list(tunnel_types), group='agent')
    conf.set_override('bridge_mappings', mappings or {}, group='agent')
    return conf


def endpoints(*ips):
    """This host and the hosts at ``ips``, as the server sends them."""
    return [{'host': 'h1', 'tunnel_ip': LOCAL}] + [
        {'host': 'h-%s' % ip, 'tunnel_ip': ip} for ip in ips]


def details(port_id, network_id=NET1, network_type='vxlan', seg=1001, up=True,
            remotes=(H2,), physnet=None):
    out = {'port_id': port_id, 'network_id': network_id, 'network_type': network_type,
           'segmentation_id': seg, 'admin_state_up': up, 'mtu': 1450,
           'physical_network': physnet, 'device_owner': 'compute:nova'}
    if network_type in flows.TUNNEL_TYPES:
        out['endpoints'] = endpoints(*remotes)
    return out


class OVSTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.switch = fake_ovs.FakeSwitch(CONNECTION)
        self.switch.install(self)

    def driver(self, **conf):
        """A driver after setup(), as the agent starts it."""
        driver = ovs.OpenvSwitchDriver(make_conf(**conf))
        driver.setup()
        return driver

    def agent(self, wanted=(), **conf):
        """A driver after setup, a scan and reconcile(wanted): an agent's
        start, with the VIFs of ``wanted`` plugged (those missing: by nova)."""
        driver = self.driver(**conf)
        self.plug(*[d['port_id'] for d in wanted if self.vif(d['port_id']) is None])
        driver.scan_vifs()
        driver.reconcile(list(wanted))
        return driver

    def plug(self, *port_ids):
        """Plug VIFs as naas.compute.vif does (dead VLAN until wired), in
        one transaction."""
        ovs_lib.transact(self.switch.api, [
            ovs_lib.op_plug_vif('br-int', base.vif_name(port_id), port_id,
                                'fa:16:3e:00:00:%s' % port_id[:2]) for port_id in port_ids])

    def unplug(self, port_id):
        ovs_lib.transact(self.switch.api, [ovs_lib.op_del_port(base.vif_name(port_id))])

    def ofport(self, name):
        return self.switch.row('Interface', name).ofport[0]

    def vif(self, port_id):
        return self.switch.port(base.vif_name(port_id))

    def tunnel_ports(self):
        """{port name: (type, options)} of the ports on br-tun but the patch."""
        return {name: (port.iface.type, port.iface.options)
                for name, port in self.switch.bridges()['br-tun'].ports.items()
                if name not in ('br-tun', ovs.PATCH_INT)}

    def flood(self, lvid):
        return self.switch.table('br-tun').get((flows.FLOOD_TO_TUN, 1, 'dl_vlan=%d' % lvid))

    def outputs(self, *tunnel_ips, ttype='vxlan'):
        return ','.join('output:%d' % self.ofport(flows.tunnel_port_name(ttype, ip))
                        for ip in tunnel_ips)


class TestSetup(OVSTestCase):
    def test_makes_marked_bridges_on_the_configured_datapath_joined_by_patches(self):
        self.driver(datapath_type='netdev', mappings={'physnet1': 'br-phys1'})
        bridges = self.switch.bridges()
        self.assertEqual({'br-int', 'br-tun', 'br-phys1'}, set(bridges))
        for name, role in (('br-int', 'int'), ('br-tun', 'tun'), ('br-phys1', 'phys')):
            self.assertEqual('netdev', bridges[name].datapath_type, name)
            self.assertEqual('secure', bridges[name].fail_mode, name)
            self.assertEqual(role, bridges[name].external_ids[ovs_lib.BRIDGE_MARK])
        for bridge, port, peer in (('br-int', 'patch-tun', 'patch-int'),
                                   ('br-tun', 'patch-int', 'patch-tun'),
                                   ('br-int', 'int-br-phys1', 'phy-br-phys1'),
                                   ('br-phys1', 'phy-br-phys1', 'int-br-phys1')):
            iface = bridges[bridge].ports[port].iface
            self.assertEqual(('patch', {'peer': peer}), (iface.type, iface.options))

    def test_without_tunnel_ip_there_is_no_tunnel_bridge_and_no_overlay(self):
        driver = self.agent(tunnel_ip=None)
        self.assertEqual({'br-int'}, set(self.switch.bridges()))
        self.assertIsNone(driver.configurations()['tunnel_bridge'])
        self.assertEqual([], driver.configurations()['tunnel_types'])
        self.plug(PORT1)
        self.assertRaises(ValueError, driver.wire, details(PORT1))
        self.assertEqual(flows.DEAD_VLAN, self.vif(PORT1).tag)

    def test_setup_again_and_after_a_restart_writes_nothing(self):
        conf = {'datapath_type': 'netdev', 'mappings': {'physnet1': 'br-phys1'}}
        driver = self.driver(**conf)
        done = len(self.switch.transactions)
        driver.setup()
        self.driver(**conf)
        self.assertEqual([], self.switch.writes(done))

    def test_an_existing_physical_bridge_is_used_not_claimed(self):
        self.switch.add_bridge('br-eth1')
        self.agent([details(PORT1, network_type='vlan', seg=100, physnet='physnet1')],
                   mappings={'physnet1': 'br-eth1'})
        bridge = self.switch.bridges()['br-eth1']
        self.assertNotIn(ovs_lib.BRIDGE_MARK, bridge.external_ids)
        self.assertIsNone(bridge.fail_mode)
        # Its own forwarding is the operator's: NaaS adds no NORMAL flow.
        self.assertNotIn((0, 0, ''), self.switch.table('br-eth1'))
        self.assertIn('phy-br-eth1', bridge.ports)

    def test_configurations_tell_the_server_how_to_bind(self):
        driver = self.driver(tunnel_types=('vxlan', 'gre', 'geneve'),
                             mappings={'physnet1': 'br-phys1'})
        conf = driver.configurations()
        self.assertEqual((LOCAL, ['vxlan', 'gre'], {'physnet1': 'br-phys1'}, 'br-tun'),
                         (conf['tunnel_ip'], conf['tunnel_types'], conf['bridge_mappings'],
                          conf['tunnel_bridge']))
        self.assertEqual(constants.AGENT_TYPE_OVS, driver.agent_type)


class TestWire(OVSTestCase):
    def test_vxlan_port_gets_local_vlan_and_tunnels_to_the_other_hosts_only(self):
        self.agent([details(PORT1, remotes=(H2, H3))])
        vif = self.vif(PORT1)
        self.assertEqual(1, vif.tag)
        self.assertEqual({ovs.NET_KEY: NET1, ovs.VLAN_KEY: '1'}, vif.other_config)
        self.assertEqual({
            'vxlan-c0000202': ('vxlan', {'remote_ip': H2, 'local_ip': LOCAL, 'key': 'flow'}),
            'vxlan-c0000203': ('vxlan', {'remote_ip': H3, 'local_ip': LOCAL, 'key': 'flow'}),
        }, self.tunnel_ports())
        tun = self.switch.table('br-tun')
        self.assertEqual('mod_vlan_vid:1,output:%d' % self.ofport('patch-int'),
                         tun[(flows.VXLAN_TUN_TO_LV, 1, 'tun_id=%#x' % 1001)])
        self.assertEqual('strip_vlan,set_tunnel:%#x,%s' % (1001, self.outputs(H2, H3)),
                         self.flood(1))
        for ip in (H2, H3):
            port = self.ofport(flows.tunnel_port_name('vxlan', ip))
            self.assertEqual('resubmit(,%d)' % flows.VXLAN_TUN_TO_LV,
                             tun[(0, 1, 'in_port=%d' % port)])

    def test_two_networks_two_vlans_each_to_its_own_vni(self):
        self.agent([details(PORT1), details(PORT2, NET2, seg=2002, remotes=(H3,))])
        self.assertEqual((1, 2), (self.vif(PORT1).tag, self.vif(PORT2).tag))
        tun = self.switch.table('br-tun')
        patch = self.ofport('patch-int')
        self.assertEqual('mod_vlan_vid:1,output:%d' % patch,
                         tun[(flows.VXLAN_TUN_TO_LV, 1, 'tun_id=0x3e9')])
        self.assertEqual('mod_vlan_vid:2,output:%d' % patch,
                         tun[(flows.VXLAN_TUN_TO_LV, 1, 'tun_id=0x7d2')])
        self.assertEqual('strip_vlan,set_tunnel:0x3e9,' + self.outputs(H2), self.flood(1))
        self.assertEqual('strip_vlan,set_tunnel:0x7d2,' + self.outputs(H3), self.flood(2))

    def test_admin_down_port_is_on_the_dead_vlan_and_dropped(self):
        driver = self.agent([details(PORT1), details(PORT2)])
        drop = (0, 2, 'in_port=%d' % self.ofport(base.vif_name(PORT1)))
        self.assertNotIn(drop, self.switch.table('br-int'))
        driver.wire(details(PORT1, up=False))
        self.assertEqual(flows.DEAD_VLAN, self.vif(PORT1).tag)
        self.assertEqual('drop', self.switch.table('br-int')[drop])
        self.assertEqual('drop', self.switch.table('br-int')[
            (0, 65535, 'vlan_tci=0x0fff/0x1fff')])
        self.assertEqual(1, self.vif(PORT2).tag)
        driver.wire(details(PORT1, up=True))
        self.assertEqual(1, self.vif(PORT1).tag)
        self.assertNotIn(drop, self.switch.table('br-int'))

    def test_vlan_network_translates_local_vlan_to_segment_on_the_physical_bridge(self):
        self.agent([details(PORT1, network_type='vlan', seg=100, physnet='physnet1')],
                   mappings={'physnet1': 'br-phys1'})
        self.assertEqual(1, self.vif(PORT1).tag)
        int_patch, phy_patch = self.ofport('int-br-phys1'), self.ofport('phy-br-phys1')
        self.assertEqual('mod_vlan_vid:1,NORMAL', self.switch.table('br-int')[
            (0, 3, 'in_port=%d,dl_vlan=100' % int_patch)])
        phys = self.switch.table('br-phys1')
        self.assertEqual('mod_vlan_vid:100,NORMAL',
                         phys[(0, 4, 'in_port=%d,dl_vlan=1' % phy_patch)])
        self.assertEqual('drop', phys[(0, 2, 'in_port=%d' % phy_patch)])
        self.assertEqual({}, self.tunnel_ports())
        self.assertIsNone(self.flood(1))

    def test_flat_network_is_untagged_on_the_physical_bridge(self):
        self.agent([details(PORT1, network_type='flat', seg=None, physnet='physnet1')],
                   mappings={'physnet1': 'br-phys1'})
        int_patch, phy_patch = self.ofport('int-br-phys1'), self.ofport('phy-br-phys1')
        self.assertEqual('mod_vlan_vid:1,NORMAL', self.switch.table('br-int')[
            (0, 3, 'in_port=%d,vlan_tci=0x0000/0x1fff' % int_patch)])
        self.assertEqual('strip_vlan,NORMAL', self.switch.table('br-phys1')[
            (0, 4, 'in_port=%d,dl_vlan=1' % phy_patch)])

    def test_gre_network_uses_gre_tunnels_and_table(self):
        self.agent([details(PORT1, network_type='gre', seg=7),
                    details(PORT2, NET2, seg=8, remotes=(H2,))],
                   tunnel_types=('vxlan', 'gre'))
        self.assertEqual({'gre-c0000202', 'vxlan-c0000202'}, set(self.tunnel_ports()))
        self.assertEqual('gre', self.tunnel_ports()['gre-c0000202'][0])
        tun = self.switch.table('br-tun')
        gre_port = self.ofport('gre-c0000202')
        self.assertEqual('resubmit(,%d)' % flows.GRE_TUN_TO_LV,
                         tun[(0, 1, 'in_port=%d' % gre_port)])
        self.assertEqual('mod_vlan_vid:1,output:%d' % self.ofport('patch-int'),
                         tun[(flows.GRE_TUN_TO_LV, 1, 'tun_id=0x7')])
        self.assertEqual('strip_vlan,set_tunnel:0x7,output:%d' % gre_port, self.flood(1))
        self.assertEqual('strip_vlan,set_tunnel:0x8,' + self.outputs(H2), self.flood(2))

    def test_types_the_host_is_not_configured_for_are_refused(self):
        driver = self.agent()
        self.plug(PORT1, PORT2)
        done = len(self.switch.transactions)
        self.assertRaises(ValueError, driver.wire, details(PORT1, network_type='gre'))
        self.assertRaises(ValueError, driver.wire, details(
            PORT2, network_type='vlan', seg=100, physnet='physnet9'))
        self.assertEqual([], self.switch.writes(done))
        self.assertEqual(flows.DEAD_VLAN, self.vif(PORT1).tag)

    def test_a_vif_that_is_not_plugged_is_not_wired(self):
        driver = self.agent()
        self.assertRaises(LookupError, driver.wire, details(PORT1))
        self.switch.absent.add(base.vif_name(PORT2))     # no such device: ofport -1
        self.plug(PORT2)
        self.assertEqual({}, driver.scan_vifs())
        self.assertRaises(LookupError, driver.wire, details(PORT2))

    def test_wiring_again_changes_nothing(self):
        driver = self.agent([details(PORT1)])
        done, bundles = len(self.switch.transactions), len(self.switch.bundles)
        driver.wire(details(PORT1))
        driver.scan_vifs()
        self.assertEqual([], self.switch.writes(done))
        self.assertEqual([], self.switch.bundles[bundles:])

    def test_flows_a_failed_ovs_ofctl_missed_are_installed_at_the_next_change(self):
        driver = self.agent([details(PORT1)])
        self.plug(PORT2)
        self.switch.failing_bundles = 1
        self.assertRaises(ovs_lib.OVSError, driver.wire, details(PORT2, NET2, seg=2002))
        self.assertIsNone(self.flood(2))
        driver.wire(details(PORT2, NET2, seg=2002))
        self.assertEqual('strip_vlan,set_tunnel:0x7d2,' + self.outputs(H2), self.flood(2))


class TestUnwire(OVSTestCase):
    def test_last_port_of_a_network_takes_its_flows_and_unneeded_tunnels(self):
        driver = self.agent([details(PORT1, remotes=(H2, H3)), details(PORT2, remotes=(H2, H3)),
                             details(PORT3, NET2, seg=2002, remotes=(H2,))])
        net2_flows = {k: v for k, v in self.switch.table('br-tun').items()
                      if 'dl_vlan=2' in k[2] or 'tun_id=0x7d2' in k[2]}
        driver.unwire(PORT1)
        self.assertIsNotNone(self.flood(1))
        self.assertEqual({'vxlan-c0000202', 'vxlan-c0000203'}, set(self.tunnel_ports()))
        driver.unwire(PORT2)
        tun = self.switch.table('br-tun')
        self.assertIsNone(self.flood(1))
        self.assertNotIn((flows.VXLAN_TUN_TO_LV, 1, 'tun_id=0x3e9'), tun)
        self.assertEqual({'vxlan-c0000202'}, set(self.tunnel_ports()))
        self.assertEqual(net2_flows, {k: v for k, v in tun.items() if k in net2_flows})
        self.assertEqual(2, len(net2_flows))
        self.assertEqual(2, self.vif(PORT3).tag)
        for port_id in (PORT1, PORT2):
            self.assertEqual(flows.DEAD_VLAN, self.vif(port_id).tag)
            self.assertEqual({}, self.vif(port_id).other_config)

    def test_unwire_of_an_unknown_port_does_nothing(self):
        driver = self.agent([details(PORT1)])
        done, bundles = len(self.switch.transactions), len(self.switch.bundles)
        driver.unwire(PORT2)
        self.assertEqual((done, bundles),
                         (len(self.switch.transactions), len(self.switch.bundles)))


class TestSetEndpoints(OVSTestCase):
    def test_tunnels_and_flooding_follow_the_endpoints(self):
        driver = self.agent([details(PORT1, remotes=(H2,))])
        driver.set_endpoints(NET1, endpoints(H3, H4))
        self.assertEqual({'vxlan-c0000203', 'vxlan-c0000204'}, set(self.tunnel_ports()))
        self.assertEqual('strip_vlan,set_tunnel:0x3e9,' + self.outputs(H3, H4), self.flood(1))
        driver.set_endpoints(NET1, endpoints())
        self.assertEqual({}, self.tunnel_ports())
        self.assertIsNone(self.flood(1))

    def test_endpoints_of_a_network_not_on_this_host_are_ignored(self):
        driver = self.agent()
        driver.set_endpoints(NET2, endpoints(H2))
        self.assertEqual({}, self.tunnel_ports())


class TestRestart(OVSTestCase):
    def test_restart_keeps_vlans_and_flows_in_one_bundle_per_bridge(self):
        first = self.agent([details(PORT1), details(PORT2, NET2, seg=2002, remotes=(H3,))])
        first.unwire(PORT1)              # NET2 stays on VLAN 2, VLAN 1 is free
        before = {name: self.switch.table(name) for name in ('br-int', 'br-tun')}
        done, bundles = len(self.switch.transactions), len(self.switch.bundles)

        second = self.agent([details(PORT2, NET2, seg=2002, remotes=(H3,))])
        self.assertEqual(2, self.vif(PORT2).tag)
        self.assertEqual([], self.switch.writes(done))
        self.assertEqual(before, {name: self.switch.table(name) for name in before})
        applied = self.switch.bundles[bundles:]
        self.assertEqual(['br-int', 'br-tun'], sorted(bridge for bridge, _ in applied))
        for bridge, lines in applied:
            # Each flow is added once with the new cookie (replacing the old
            # one in place); only the old generation is deleted, by cookie.
            adds = [line for line in lines if line.startswith('add ')]
            self.assertEqual(len(before[bridge]), len(adds), bridge)
            self.assertEqual(['delete cookie=%#x/-1' % first.cookie],
                             [line for line in lines if not line.startswith('add ')])
            self.assertEqual({second.cookie},
                             {flow.cookie for flow in self.switch.flows[bridge].values()})

    def test_no_flow_is_touched_before_reconcile(self):
        self.agent([details(PORT1)])
        flows_before = {name: dict(table) for name, table in self.switch.flows.items()}
        bundles = len(self.switch.bundles)
        driver = self.driver()
        self.plug(PORT2)
        driver.scan_vifs()
        self.assertEqual(bundles, len(self.switch.bundles))
        self.assertEqual(flows_before, self.switch.flows)

    def test_reconcile_removes_stale_naas_things_and_never_foreign_ones(self):
        self.agent([details(PORT1), details(PORT2, NET2, seg=2002, remotes=(H3,))])
        self.switch.add_port('br-int', 'eth-admin', tag=7,
                             iface_external_ids={'owner': 'operator'})
        self.switch.add_port('br-tun', 'vxlan-manual', 'vxlan', {'remote_ip': H4})
        old_naas = 'cookie=%#x,table=0,priority=50,in_port=98,actions=NORMAL' % (
            flows.make_cookie(0x42))
        for bridge in ('br-int', 'br-tun'):
            self.switch.add_flow(bridge, FOREIGN_FLOW)
            self.switch.add_flow(bridge, old_naas)

        self.agent([details(PORT1)])             # PORT2 is no longer bound here
        self.assertEqual(1, self.vif(PORT1).tag)
        self.assertEqual(flows.DEAD_VLAN, self.vif(PORT2).tag)
        self.assertEqual({}, self.vif(PORT2).other_config)
        self.assertIsNone(self.flood(2))
        self.assertEqual({'vxlan-c0000202', 'vxlan-manual'}, set(self.tunnel_ports()))
        admin = self.switch.port('eth-admin')
        self.assertEqual((7, {'owner': 'operator'}), (admin.tag, admin.iface.external_ids))
        for bridge in ('br-int', 'br-tun'):
            table = self.switch.flows[bridge]
            self.assertEqual(fake_ovs.Flow(FOREIGN_COOKIE, 'NORMAL'),
                             table[(0, 50, 'in_port=99')], bridge)
            self.assertNotIn((0, 50, 'in_port=98'), table, bridge)

    def test_a_new_port_of_a_known_network_keeps_the_vlan_the_host_has(self):
        first = self.agent([details(PORT1), details(PORT2, NET2, seg=2002)])
        first.unwire(PORT1)
        self.agent([details(PORT2, NET2, seg=2002), details(PORT3, NET2, seg=2002),
                    details(PORT4, NET3, seg=3003)])
        self.assertEqual((2, 2, 1), (self.vif(PORT2).tag, self.vif(PORT3).tag,
                                     self.vif(PORT4).tag))

    def test_a_bridge_mapping_dropped_from_the_config_leaves_no_path_to_it(self):
        vlan_port = details(PORT1, NET1, 'vlan', 100, physnet='physnet1')
        vxlan_port = details(PORT2, NET2, seg=2002)
        self.agent([vlan_port, vxlan_port], mappings={'physnet1': 'br-phys1'})
        self.assertEqual((1, 2), (self.vif(PORT1).tag, self.vif(PORT2).tag))
        self.unplug(PORT1)
        self.agent([vxlan_port])          # restarted without physnet1
        # Either the patch pair is gone, or br-int drops what comes through
        # it and br-phys1 translates no local VLAN any more; else br-int
        # trunks the physical network to its VIFs by VLAN, and br-phys1 still
        # sends local VLAN 1 out as VLAN 100.
        int_patch = self.switch.port('int-br-phys1')
        if int_patch is not None:
            self.assertEqual('drop', self.switch.table('br-int').get(
                (0, 2, 'in_port=%d' % int_patch.iface.ofport)),
                'br-int: %s' % sorted(self.switch.table('br-int').items()))
            stale = {key: flow for key, flow in self.switch.flows['br-phys1'].items()
                     if 'dl_vlan=' in key[2] and flows.is_naas_cookie(flow.cookie)}
            self.assertEqual({}, stale)

    def test_tunnel_ip_dropped_from_the_config_leaves_no_tunnel_into_br_int(self):
        self.agent([details(PORT1, remotes=(H2,))])
        self.unplug(PORT1)
        self.agent(tunnel_ip=None)        # restarted as a host without overlays
        # Either br-tun (or its patch) is gone, or it no longer sends what
        # comes out of VNI 1001 into br-int on local VLAN 1.
        if self.switch.port('patch-int') is not None:
            self.assertEqual({}, {key: flow for key, flow in self.switch.flows['br-tun'].items()
                                  if 'tun_id=' in key[2] and flows.is_naas_cookie(flow.cookie)})

    def test_a_dropped_mapping_takes_its_patches_and_naas_flows_only(self):
        self.switch.add_bridge('br-other')             # never NaaS's
        self.switch.add_flow('br-other', FOREIGN_FLOW)
        self.agent([details(PORT1, NET1, 'vlan', 100, physnet='physnet1'),
                    details(PORT2, NET2, 'vlan', 200, physnet='physnet2')],
                   mappings={'physnet1': 'br-phys1', 'physnet2': 'br-phys2'})
        self.switch.add_port('br-phys1', 'eth1')       # the operator's uplink
        self.switch.add_flow('br-phys1', FOREIGN_FLOW)
        old_int_patch = self.ofport('int-br-phys1')
        self.unplug(PORT1)
        bundles = len(self.switch.bundles)

        self.agent([details(PORT2, NET2, 'vlan', 200, physnet='physnet2')],
                   mappings={'physnet2': 'br-phys2'})
        bridges = self.switch.bridges()
        self.assertEqual({'br-int', 'br-tun', 'br-phys1', 'br-phys2', 'br-other'},
                         set(bridges))
        self.assertEqual({'br-phys1', 'eth1'}, set(bridges['br-phys1'].ports))
        self.assertNotIn('int-br-phys1', bridges['br-int'].ports)
        self.assertEqual({(0, 50, 'in_port=99'): fake_ovs.Flow(FOREIGN_COOKIE, 'NORMAL')},
                         self.switch.flows['br-phys1'])
        self.assertEqual([], [key for key in self.switch.table('br-int')
                              if 'in_port=%d' % old_int_patch in key[2]])
        # The mapping still configured keeps its VLAN and its flows.
        self.assertEqual(2, self.vif(PORT2).tag)
        self.assertEqual('mod_vlan_vid:200,NORMAL', self.switch.table('br-phys2')[
            (0, 4, 'in_port=%d,dl_vlan=2' % self.ofport('phy-br-phys2'))])
        self.assertNotIn('br-other', [bridge for bridge, _ in self.switch.bundles[bundles:]])

    def test_a_dropped_mapping_to_the_operators_bridge_leaves_it_without_naas_flows(self):
        self.switch.add_bridge('br-eth1')
        self.switch.add_port('br-eth1', 'eth1')
        self.switch.add_flow('br-eth1', FOREIGN_FLOW)
        self.agent([details(PORT1, NET1, 'vlan', 100, physnet='physnet1')],
                   mappings={'physnet1': 'br-eth1'})
        self.unplug(PORT1)
        self.switch.failing_bundles = 2      # br-eth1's bundle and br-int's fail...
        driver = self.driver()
        driver.scan_vifs()
        self.assertRaises(ovs_lib.OVSError, driver.reconcile, [])
        # ...after the patches were cut: nothing marks br-eth1 as NaaS's any
        # more, yet the agent's resync (reconcile again) still cleans it.
        self.assertIsNone(self.switch.port('phy-br-eth1'))
        self.assertIsNone(self.switch.port('int-br-eth1'))
        driver.reconcile([])
        self.assertEqual({'br-eth1', 'eth1'}, set(self.switch.bridges()['br-eth1'].ports))
        self.assertEqual({(0, 50, 'in_port=99'): fake_ovs.Flow(FOREIGN_COOKIE, 'NORMAL')},
                         self.switch.flows['br-eth1'])

    def test_flows_of_a_dropped_bridge_that_failed_to_go_go_at_the_next_scan(self):
        self.agent([details(PORT1, NET1, 'vlan', 100, physnet='physnet1')],
                   mappings={'physnet1': 'br-phys1'})
        self.unplug(PORT1)
        driver = self.driver()
        driver.scan_vifs()
        self.switch.failing_bundles = 1      # the bundle to br-phys1 (the first)
        driver.reconcile([])
        self.assertTrue(any(flows.is_naas_cookie(flow.cookie)
                            for flow in self.switch.flows['br-phys1'].values()))
        driver.scan_vifs()
        self.assertEqual({}, self.switch.flows['br-phys1'])

    def test_a_dropped_tunnel_ip_takes_the_tunnels_and_naas_flows_of_br_tun(self):
        self.agent([details(PORT1, remotes=(H2, H3))])
        self.switch.add_port('br-tun', 'vxlan-manual', 'vxlan', {'remote_ip': H4})
        self.switch.add_flow('br-tun', FOREIGN_FLOW)
        self.unplug(PORT1)
        self.agent([details(PORT2, NET2, 'vlan', 200, physnet='physnet1')],
                   tunnel_ip=None, mappings={'physnet1': 'br-phys1'})
        bridges = self.switch.bridges()
        self.assertEqual({'br-tun', 'vxlan-manual'}, set(bridges['br-tun'].ports))
        self.assertNotIn('patch-tun', bridges['br-int'].ports)
        self.assertEqual({(0, 50, 'in_port=99'): fake_ovs.Flow(FOREIGN_COOKIE, 'NORMAL')},
                         self.switch.flows['br-tun'])
        # The freed local VLAN 1 goes to the new network, on br-phys1 only.
        self.assertEqual(1, self.vif(PORT2).tag)


class TestScan(OVSTestCase):
    def test_an_untagged_vif_is_quarantined_on_the_dead_vlan(self):
        driver = self.agent()
        self.switch.add_port('br-int', 'tapnotag', iface_external_ids={'iface-id': PORT1})
        self.assertEqual({PORT1: 'tapnotag'}, driver.scan_vifs())
        self.assertEqual(flows.DEAD_VLAN, self.switch.port('tapnotag').tag)
        self.assertEqual('drop', self.switch.table('br-int')[
            (0, 2, 'in_port=%d' % self.ofport('tapnotag'))])

    def test_a_replugged_vif_gets_its_vlan_back(self):
        driver = self.agent([details(PORT1)])
        self.unplug(PORT1)
        self.plug(PORT1)
        self.assertEqual(flows.DEAD_VLAN, self.vif(PORT1).tag)
        driver.scan_vifs()
        self.assertEqual(1, self.vif(PORT1).tag)
        self.assertEqual({ovs.NET_KEY: NET1, ovs.VLAN_KEY: '1'}, self.vif(PORT1).other_config)

    def test_flows_lost_by_ovs_vswitchd_are_installed_again(self):
        self.patch(ovs, 'CANARY_INTERVAL', 0)
        driver = self.agent([details(PORT1)])
        before = {name: self.switch.table(name) for name in ('br-int', 'br-tun')}
        self.switch.restart_vswitchd()
        driver.scan_vifs()
        self.assertEqual(before, {name: self.switch.table(name) for name in before})


class TestReplicaReads(OVSTestCase):
    def test_the_driver_monitors_only_its_columns_and_counters_their_own(self):
        asked = []
        real = self.switch.get_api
        self.patch(ovs_lib, 'get_api', lambda connection, timeout=10, columns=None: (
            asked.append(columns), real(connection))[1])
        driver = self.agent([details(PORT1)])
        self.assertEqual([ovs_lib.WIRING], asked)
        driver.counters._api()        # what its statistics thread reads through
        self.assertEqual([ovs_lib.WIRING, ovs_lib.STATISTICS], asked)
        self.assertNotIn('statistics', ovs_lib.WIRING['Interface'])

    def test_a_snapshot_is_read_again_only_once_the_replica_changed(self):
        self.driver()
        api = self.switch.api
        api.change_seqno = 1          # an IDL counts the changes it receives
        self.plug(PORT1)
        first = ovs_lib.snapshot(api)
        self.plug(PORT2)              # not counted: the snapshot is kept
        self.assertEqual(set(first['br-int'].ports), set(ovs_lib.snapshot(api)['br-int'].ports))
        api.change_seqno = 2
        self.assertIn(base.vif_name(PORT2), ovs_lib.snapshot(api)['br-int'].ports)
        ports = ovs_lib.bridge_ports(api, 'br-int')
        ports.clear()                 # a caller's copy: the kept snapshot is whole
        self.assertIn(base.vif_name(PORT2), ovs_lib.bridge_ports(api, 'br-int'))


class TestVifEvents(OVSTestCase):
    def test_interface_inserts_deletes_and_ofports_notify_statistics_do_not(self):
        idl = ovs_lib._Idl.__new__(ovs_lib._Idl)     # no OVSDB server behind it
        idl.interface_listeners = []
        notices = []
        ovs_lib.watch_interfaces(types.SimpleNamespace(idl=idl), lambda: notices.append(1))
        interface = types.SimpleNamespace(_table=types.SimpleNamespace(name='Interface'))
        port = types.SimpleNamespace(_table=types.SimpleNamespace(name='Port'))
        idl.notify('create', interface)
        idl.notify('update', interface, types.SimpleNamespace(_data={'statistics': {}}))
        self.assertEqual(1, len(notices))
        idl.notify('update', interface, types.SimpleNamespace(_data={'ofport': []}))
        idl.notify('delete', interface)
        idl.notify('create', port)
        self.assertEqual(3, len(notices))

    def test_a_new_vifs_drop_flow_comes_with_its_wiring_or_at_the_next_scan(self):
        driver = self.agent([details(PORT1)])
        self.plug(PORT2, PORT3)
        bundles = len(self.switch.bundles)
        driver.scan_vifs()
        self.assertEqual([], self.switch.bundles[bundles:])     # a scan alone: nothing
        driver.wire(details(PORT2))
        drop3 = (0, 2, 'in_port=%d' % self.ofport(base.vif_name(PORT3)))
        self.assertEqual('drop', self.switch.table('br-int')[drop3])
        self.assertNotIn((0, 2, 'in_port=%d' % self.ofport(base.vif_name(PORT2))),
                         self.switch.table('br-int'))
        self.plug(PORT4)
        driver.scan_vifs()
        drop4 = (0, 2, 'in_port=%d' % self.ofport(base.vif_name(PORT4)))
        self.assertNotIn(drop4, self.switch.table('br-int'))
        driver.scan_vifs()       # still not wired: the second scan puts it in
        self.assertEqual('drop', self.switch.table('br-int')[drop4])


class TestBatch(OVSTestCase):
    def test_a_batch_is_one_transaction_and_one_bundle_per_bridge(self):
        driver = self.agent()
        self.plug(PORT1, PORT2, PORT3)
        driver.scan_vifs()
        done, bundles = len(self.switch.transactions), len(self.switch.bundles)
        with driver.batch():
            driver.wire(details(PORT1, remotes=(H2,)))
            driver.wire(details(PORT2, NET2, seg=2002, remotes=(H3,)))
            driver.wire(details(PORT3, NET2, seg=2002, up=False, remotes=(H3,)))
            self.assertEqual(done, len(self.switch.transactions))
        self.assertEqual(done + 1, len(self.switch.transactions))
        applied = sorted(bridge for bridge, _ in self.switch.bundles[bundles:])
        self.assertEqual(['br-int', 'br-tun'], applied)
        self.assertEqual((1, 2, flows.DEAD_VLAN),
                         tuple(self.vif(p).tag for p in (PORT1, PORT2, PORT3)))
        self.assertEqual({'vxlan-c0000202', 'vxlan-c0000203'}, set(self.tunnel_ports()))


class TestCleanup(OVSTestCase):
    def test_cleanup_all_removes_naas_bridges_ports_and_flows_only(self):
        self.switch.add_bridge('br-eth1')
        self.switch.add_port('br-eth1', 'eth1')
        self.switch.add_flow('br-eth1', 'cookie=%#x,priority=10,in_port=1,actions=NORMAL'
                             % FOREIGN_COOKIE)
        driver = self.agent([details(PORT1),
                             details(PORT2, NET2, 'vlan', 100, physnet='physnet2')],
                            mappings={'physnet1': 'br-phys1', 'physnet2': 'br-eth1'})
        self.assertIn((0, 4, 'in_port=%d,dl_vlan=2' % self.ofport('phy-br-eth1')),
                      self.switch.table('br-eth1'))
        driver.cleanup_all()
        bridges = self.switch.bridges()
        self.assertEqual({'br-eth1'}, set(bridges))
        self.assertEqual({'br-eth1', 'eth1'}, set(bridges['br-eth1'].ports))
        self.assertEqual({(0, 10, 'in_port=1'): fake_ovs.Flow(FOREIGN_COOKIE, 'NORMAL')},
                         self.switch.flows['br-eth1'])


class FakeVeths:
    """naas.host.vif's veth pairs and naas.host.offload, on a dict."""

    def __init__(self, test):
        self.pairs = {}           # port id -> (host ns, peer ns, ifname, mac, mtu)
        self.broken = set()       # port ids whose peer end is gone: made again
        self.tx_off = []          # [(namespace, ifnames)]
        test.patch(host_vif, 'plug_veth', self.plug_veth)
        test.patch(host_vif, 'unplug_veth', self.unplug_veth)
        test.patch(offload, 'disable_tx_checksum', self.disable_tx_checksum)

    def plug_veth(self, port_id, host_namespace, peer_namespace, ifname, mac=None, mtu=None):
        made = port_id not in self.pairs or port_id in self.broken
        self.broken.discard(port_id)
        self.pairs[port_id] = (host_namespace, peer_namespace, ifname, mac, mtu)
        return made

    def unplug_veth(self, port_id, host_namespace):
        self.pairs.pop(port_id, None)

    def disable_tx_checksum(self, namespace, *ifnames):
        self.tx_off.append((namespace, ifnames))


class TestServicePorts(OVSTestCase):
    DHCP = base.ServicePort(PORT1, 'fa:16:3e:00:00:01', 'qdhcp-n1', 'ns-a1a1a1a1-00', 1450)
    ROUTER = base.ServicePort(PORT2, 'fa:16:3e:00:00:02', 'qrouter-r1', 'qr-a2a2a2a2-00', 1450)

    def setUp(self):
        super().setUp()
        self.veths = FakeVeths(self)

    def test_plugged_in_one_transaction_cut_off_until_wired(self):
        driver = self.agent(datapath_type='netdev', namespace='naas-h1')
        done = len(self.switch.transactions)
        driver.plug_service_ports([self.DHCP, self.ROUTER])
        self.assertEqual(done + 1, len(self.switch.transactions))
        self.assertEqual(('naas-h1', 'qdhcp-n1', 'ns-a1a1a1a1-00', 'fa:16:3e:00:00:01', 1450),
                         self.veths.pairs[PORT1])
        for port in (self.DHCP, self.ROUTER):
            vif = self.vif(port.port_id)
            self.assertEqual(flows.DEAD_VLAN, vif.tag)
            self.assertEqual((port.port_id, port.mac, 1450),
                             (vif.iface.external_ids['iface-id'],
                              vif.iface.external_ids['attached-mac'], vif.iface.mtu_request))
        self.assertEqual([('qdhcp-n1', ('ns-a1a1a1a1-00',)), ('qrouter-r1', ('qr-a2a2a2a2-00',))],
                         self.veths.tx_off)
        self.assertEqual({PORT1: base.vif_name(PORT1), PORT2: base.vif_name(PORT2)},
                         driver.scan_vifs())
        driver.wire(details(PORT1))
        self.assertEqual(1, self.vif(PORT1).tag)

    def test_kernel_datapath_keeps_checksum_offload(self):
        driver = self.agent()
        driver.plug_service_ports([self.DHCP])
        self.assertEqual([], self.veths.tx_off)

    def test_plugging_a_wired_port_again_leaves_it_alone(self):
        driver = self.agent()
        driver.plug_service_ports([self.DHCP])
        driver.wire(details(PORT1))
        done = len(self.switch.transactions)
        driver.plug_service_ports([self.DHCP])
        self.assertEqual([], self.switch.writes(done))
        self.assertEqual(1, self.vif(PORT1).tag)

    def test_a_veth_made_again_gets_a_new_ovs_port_then_its_vlan_back(self):
        driver = self.agent()
        driver.plug_service_ports([self.DHCP])
        driver.wire(details(PORT1))
        old_iface = self.switch.row('Interface', base.vif_name(PORT1))
        self.veths.broken.add(PORT1)
        driver.plug_service_ports([self.DHCP])
        self.assertIsNot(old_iface, self.switch.row('Interface', base.vif_name(PORT1)))
        self.assertEqual(flows.DEAD_VLAN, self.vif(PORT1).tag)
        driver.scan_vifs()
        self.assertEqual(1, self.vif(PORT1).tag)

    def test_unplug_removes_the_ovs_port_and_the_veth(self):
        driver = self.agent()
        driver.plug_service_ports([self.DHCP, self.ROUTER])
        driver.wire(details(PORT1))
        driver.unwire(PORT1)
        driver.unplug_service_port(PORT1)
        driver.unplug_service_port(PORT3)                  # never plugged: fine
        self.assertIsNone(self.vif(PORT1))
        self.assertEqual({PORT2}, set(self.veths.pairs))
        self.assertEqual({PORT2: base.vif_name(PORT2)}, driver.scan_vifs())
