"""The Linux bridge driver's logic, on a fake netlink handle (no root).

What it promises: names fit IFNAMSIZ and carry NaaS prefixes; the flooding
list equals the other endpoints; wiring makes each device once and a second
pass (a restart) changes nothing; admin_state_up False takes the VIF out of
the bridge and down; the last VIF of a network takes its bridge and VXLAN
device with it; reconcile removes only NaaS devices no wanted port needs.
"""
import errno

from pyroute2.netlink import exceptions as netlink_exceptions
import testtools

from naas.host import ip_lib
from naas.agent.l2 import base
from naas.agent.l2 import linuxbridge as lb

NET1 = '11111111-2222-3333-4444-555555555555'
NET2 = '22222222-2222-3333-4444-555555555555'
PORT1 = 'a1a1a1a1-0000-0000-0000-000000000001'
PORT2 = 'a2a2a2a2-0000-0000-0000-000000000002'
PORT3 = 'bbbbbbbb-0000-0000-0000-000000000003'
LOCAL = '192.0.2.1'


def link(index, name, kind=None, master=0, mtu=1500, up=False, alias=None, vxlan=None,
         vlan_id=None, parent=0):
    return ip_lib.Link(index=index, name=name, kind=kind, master=master, mtu=mtu, up=up,
                       alias=alias, address='02:00:00:00:00:%02x' % (index % 256),
                       vxlan=vxlan, vlan_id=vlan_id, parent=parent)


class FakeIP:
    """The part of ip_lib.IPHandle the driver uses, on a dict of Links."""

    def __init__(self, links=()):
        self.links_ = {lk.name: lk for lk in links}
        self.fdb_ = {}
        self.calls = []
        self.next_index = 100

    def _by_index(self, index):
        return next(lk for lk in self.links_.values() if lk.index == index)

    def links(self):
        self.calls.append(('dump',))
        return list(self.links_.values())

    def link(self, name):
        return self.links_.get(name)

    def add_link(self, name, kind, **kw):
        self.calls.append(('add', name, kind))
        self.next_index += 1
        vx = None
        if kind == 'vxlan':
            vx = ip_lib.VxlanInfo(kw['vxlan_id'], kw.get('vxlan_local') or kw['vxlan_local6'],
                                  kw['vxlan_port'],
                                  kw.get('vxlan_link', 0), kw['vxlan_learning'])
        lk = link(self.next_index, name, kind, mtu=kw.get('mtu', 1500), vxlan=vx,
                  vlan_id=kw.get('vlan_id'), parent=kw.get('link', 0))
        self.links_[name] = lk
        return lk

    def set_link(self, index, **kw):
        self.calls.append(('set', self._by_index(index).name, tuple(sorted(kw))))
        lk = self._by_index(index)
        changes = {k: kw[k] for k in ('mtu', 'master') if k in kw}
        if 'state' in kw:
            changes['up'] = kw['state'] == 'up'
        self.links_[lk.name] = lk._replace(**changes)

    def del_link(self, index):
        lk = self._by_index(index)
        self.calls.append(('del', lk.name))
        del self.links_[lk.name]
        for other in list(self.links_.values()):
            if other.master == index:
                self.links_[other.name] = other._replace(master=0)

    def fdb_remotes(self, index):
        return set(self.fdb_.get(index, ()))

    def fdb_append(self, index, dst):
        self.calls.append(('fdb+', dst))
        self.fdb_.setdefault(index, set()).add(dst)

    def fdb_del(self, index, dst):
        self.calls.append(('fdb-', dst))
        self.fdb_.get(index, set()).discard(dst)

    def changes(self):
        return [c for c in self.calls if c[0] != 'dump']


class Conf:
    class agent:
        namespace = 'naas-h1'
        tunnel_ip = LOCAL
        underlay_interface = 'ul0'
        bridge_mappings = {'physnet1': 'phys0'}
        tunnel_types = ['vxlan']
        arp_responder = False


def details(port_id, network_id=NET1, network_type='vxlan', seg=1001, up=True,
            endpoints=None, mtu=1450, physnet=None):
    return {'port_id': port_id, 'network_id': network_id, 'network_type': network_type,
            'segmentation_id': seg, 'admin_state_up': up, 'mtu': mtu,
            'physical_network': physnet,
            'endpoints': endpoints if endpoints is not None else [
                {'host': 'h1', 'tunnel_ip': LOCAL}, {'host': 'h2', 'tunnel_ip': '192.0.2.2'}]}


def tap(index, port_id, **kw):
    return link(index, base.vif_name(port_id), 'veth', alias=port_id, **kw)


class TestNames(testtools.TestCase):
    def test_names_fit_and_are_prefixed(self):
        self.assertEqual('brq11111111-22', lb.bridge_name(NET1))
        self.assertEqual('vxlan-16777215', lb.vxlan_name(16777215))
        self.assertEqual('nvl-4094-eth1', lb.vlan_name('eth1', 4094))
        long_name = lb.vlan_name('enp129s0f1np1', 4094)
        self.assertTrue(long_name.startswith('nvl-4094-'))
        self.assertEqual(15, len(long_name))
        self.assertNotEqual(long_name, lb.vlan_name('enp129s0f0np0', 4094))
        self.assertEqual('tapa1a1a1a1-00', base.vif_name(PORT1))

    def test_naas_device_needs_name_and_kind(self):
        self.assertTrue(lb.is_naas_device(link(1, 'brq123', 'bridge')))
        self.assertFalse(lb.is_naas_device(link(1, 'brq123', 'veth')))
        self.assertFalse(lb.is_naas_device(link(1, 'br0', 'bridge')))
        self.assertTrue(lb.is_naas_device(link(1, 'vxlan-5', 'vxlan')))
        self.assertFalse(lb.is_naas_device(link(1, 'eth0', 'veth')))


class TestFdbDiff(testtools.TestCase):
    def test_adds_new_removes_stale_skips_self_and_blank(self):
        endpoints = [{'host': 'h1', 'tunnel_ip': LOCAL}, {'host': 'h2', 'tunnel_ip': '10.0.0.2'},
                     {'host': 'h3', 'tunnel_ip': '10.0.0.3'}, {'host': 'h4', 'tunnel_ip': ''}]
        self.assertEqual((['10.0.0.3'], ['10.0.0.9']),
                         lb.fdb_diff({'10.0.0.2', '10.0.0.9'}, endpoints, LOCAL))

    def test_addresses_compare_as_the_kernel_writes_them(self):
        self.assertEqual(([], []), lb.fdb_diff({'2001:db8::2'}, [
            {'host': 'h2', 'tunnel_ip': '2001:DB8:0::2'},
            {'host': 'h1', 'tunnel_ip': '2001:db8:0:0::1'}], '2001:db8::1'))

    def test_nothing_to_do(self):
        self.assertEqual(([], []), lb.fdb_diff({'10.0.0.2'}, [
            {'host': 'h2', 'tunnel_ip': '10.0.0.2'}], LOCAL))
        self.assertEqual(([], ['10.0.0.2']), lb.fdb_diff({'10.0.0.2'}, None, LOCAL))


class TestNetworkDevices(testtools.TestCase):
    def test_types(self):
        m = {'physnet1': 'phys0'}
        self.assertEqual({lb.bridge_name(NET1): 'bridge', 'vxlan-7': 'vxlan'},
                         lb.network_devices(details(PORT1, seg=7), m))
        self.assertEqual({lb.bridge_name(NET1): 'bridge'}, lb.network_devices(
            details(PORT1, network_type='flat', seg=None, physnet='physnet1'), m))
        self.assertEqual({lb.bridge_name(NET1): 'bridge', 'nvl-10-phys0': 'vlan'},
                         lb.network_devices(details(PORT1, network_type='vlan', seg=10,
                                                    physnet='physnet1'), m))
        self.assertEqual({lb.bridge_name(NET1): 'bridge'},
                         lb.network_devices(details(PORT1, network_type='local'), m))
        self.assertRaises(ValueError, lb.network_devices,
                          details(PORT1, network_type='flat', physnet='other'), m)
        self.assertRaises(ValueError, lb.network_devices,
                          details(PORT1, network_type='gre'), m)


class TestDriver(testtools.TestCase):
    def make(self, *links):
        ip = FakeIP([link(1, 'lo', up=True), link(2, 'ul0', 'veth', up=True),
                     link(3, 'phys0', 'veth', up=True)] + list(links))
        driver = lb.LinuxBridgeDriver(Conf)
        driver._ip = ip
        driver.firewall.runner = lambda args, text=None: '{}'   # no nft on the test host
        driver.counters.addresses.runner = driver.firewall.runner
        return driver, ip

    def test_configurations_report_vxlan_only(self):
        driver, _ = self.make()
        conf = driver.configurations()
        self.assertEqual((LOCAL, ['vxlan'], {'physnet1': 'phys0'}),
                         (conf['tunnel_ip'], conf['tunnel_types'], conf['bridge_mappings']))
        self.assertEqual('NaaS Linux bridge agent', driver.agent_type)

    def test_scan_finds_vifs_by_name_and_alias(self):
        driver, _ = self.make(tap(10, PORT1), link(11, 'tapother', 'veth', alias='x'),
                              link(12, base.vif_name(PORT2), 'veth', alias=PORT3))
        self.assertEqual({PORT1: base.vif_name(PORT1)}, driver.scan_vifs())

    def test_wire_builds_once_then_changes_nothing(self):
        driver, ip = self.make(tap(10, PORT1), tap(11, PORT2))
        driver.scan_vifs()
        driver.wire(details(PORT1))
        driver.wire(details(PORT2))
        br, vx = ip.links_[lb.bridge_name(NET1)], ip.links_['vxlan-1001']
        self.assertEqual(ip_lib.VxlanInfo(1001, LOCAL, 4789, 2, 0), vx.vxlan)
        self.assertEqual((br.index, 1450, True), (vx.master, vx.mtu, vx.up))
        for port in (PORT1, PORT2):
            t = ip.links_[base.vif_name(port)]
            self.assertEqual((br.index, 1450, True), (t.master, t.mtu, t.up))
        self.assertEqual({'192.0.2.2'}, ip.fdb_remotes(vx.index))
        self.assertEqual(1, sum(1 for c in ip.calls if c[:2] == ('set', base.vif_name(PORT1))))
        self.assertEqual(2, sum(1 for c in ip.calls if c[0] == 'add'))
        # A restart: another driver, the same host: no change at all.
        again = lb.LinuxBridgeDriver(Conf)
        again._ip = ip
        ip.calls = []
        wanted = [details(PORT1), details(PORT2)]
        again.scan_vifs()
        again.reconcile(wanted)
        for d in wanted:
            again.wire(d)
        self.assertEqual([], ip.changes())

    def test_admin_down_and_up(self):
        driver, ip = self.make(tap(10, PORT1))
        driver.scan_vifs()
        driver.wire(details(PORT1))
        driver.wire(details(PORT1, up=False))
        t = ip.links_[base.vif_name(PORT1)]
        self.assertEqual((0, False), (t.master, t.up))
        self.assertIn(lb.bridge_name(NET1), ip.links_)
        driver.wire(details(PORT1, up=True))
        t = ip.links_[base.vif_name(PORT1)]
        self.assertEqual((ip.links_[lb.bridge_name(NET1)].index, True), (t.master, t.up))

    def test_last_vif_takes_the_network_with_it(self):
        driver, ip = self.make(tap(10, PORT1), tap(11, PORT2))
        driver.scan_vifs()
        driver.wire(details(PORT1))
        driver.wire(details(PORT2))
        driver.unwire(PORT1)
        self.assertIn('vxlan-1001', ip.links_)
        del ip.links_[base.vif_name(PORT2)]       # unplugged: the veth is gone
        driver.unwire(PORT2)
        self.assertNotIn('vxlan-1001', ip.links_)
        self.assertNotIn(lb.bridge_name(NET1), ip.links_)
        t = ip.links_[base.vif_name(PORT1)]        # still plugged: cut off
        self.assertEqual((0, False), (t.master, t.up))

    def test_vif_unplugged_during_unwire_still_takes_the_network(self):
        # As nova deletes an instance: the port's delete reaches the agent
        # while the VIF goes; the detach finds no device (ENODEV).
        driver, ip = self.make(tap(10, PORT1))
        driver.scan_vifs()
        driver.wire(details(PORT1))
        set_link = ip.set_link

        def vanished(index, **kw):
            if ip._by_index(index).name == base.vif_name(PORT1):
                del ip.links_[base.vif_name(PORT1)]
                raise netlink_exceptions.NetlinkError(errno.ENODEV, 'No such device')
            return set_link(index, **kw)
        ip.set_link = vanished
        driver.unwire(PORT1)
        self.assertNotIn('vxlan-1001', ip.links_)
        self.assertNotIn(lb.bridge_name(NET1), ip.links_)

    def test_service_ports_are_veths_of_the_agents_host(self):
        driver, _ = self.make()
        calls = []
        self.patch(lb.host_vif, 'plug_veth', lambda *a: calls.append(('plug',) + a))
        self.patch(lb.host_vif, 'unplug_veth', lambda *a: calls.append(('unplug',) + a))
        driver.plug_service_ports([
            base.ServicePort(PORT1, 'fa:16:3e:00:00:01', 'ns-dhcp', 'ns-a1a1a1a1-00', 1450),
            base.ServicePort(PORT2, 'fa:16:3e:00:00:02', 'ns-router', 'qr-b2b2b2b2-00', None)])
        driver.unplug_service_port(PORT1)
        self.assertEqual([
            ('plug', PORT1, driver.namespace, 'ns-dhcp', 'ns-a1a1a1a1-00', 'fa:16:3e:00:00:01',
             1450),
            ('plug', PORT2, driver.namespace, 'ns-router', 'qr-b2b2b2b2-00',
             'fa:16:3e:00:00:02', None),
            ('unplug', PORT1, driver.namespace)], calls)

    def test_set_endpoints(self):
        driver, ip = self.make(tap(10, PORT1))
        driver.scan_vifs()
        driver.wire(details(PORT1))
        vx = ip.links_['vxlan-1001']
        driver.set_endpoints(NET1, [{'host': 'h1', 'tunnel_ip': LOCAL},
                                    {'host': 'h3', 'tunnel_ip': '192.0.2.3'}])
        self.assertEqual({'192.0.2.3'}, ip.fdb_remotes(vx.index))
        driver.set_endpoints(NET2, [{'host': 'h3', 'tunnel_ip': '192.0.2.3'}])  # not here

    def test_reconcile_removes_only_unneeded_naas_devices(self):
        driver, ip = self.make(
            tap(10, PORT1, master=20, up=True), tap(11, PORT3, master=20, up=True),
            link(20, lb.bridge_name(NET1), 'bridge', up=True),
            link(21, 'vxlan-1001', 'vxlan', master=20,
                 vxlan=ip_lib.VxlanInfo(1001, LOCAL, 4789, 2, 0)),
            link(30, lb.bridge_name(NET2), 'bridge'),
            link(31, 'vxlan-9', 'vxlan', master=30),
            link(40, 'br-other', 'bridge'), link(41, 'vxlan0', 'vxlan'))
        driver.scan_vifs()
        driver.reconcile([details(PORT1)])
        changes = ip.changes()
        self.assertEqual(('set', base.vif_name(PORT3), ('master', 'state')), changes[0])
        self.assertEqual({('del', 'vxlan-9'), ('del', lb.bridge_name(NET2))},
                         set(changes[1:]))
        self.assertEqual(3, len(changes))
        self.assertIn('br-other', ip.links_)
        self.assertIn('vxlan0', ip.links_)

    def test_wrong_vxlan_is_recreated(self):
        driver, ip = self.make(
            tap(10, PORT1), link(20, lb.bridge_name(NET1), 'bridge', up=True),
            link(21, 'vxlan-1001', 'vxlan', master=20, mtu=1450, up=True,
                 vxlan=ip_lib.VxlanInfo(1001, '192.0.2.99', 4789, 2, 0)))
        driver.scan_vifs()
        driver.wire(details(PORT1))
        self.assertEqual(LOCAL, ip.links_['vxlan-1001'].vxlan.local)
        self.assertIn(('del', 'vxlan-1001'), ip.calls)

    def test_flat_puts_the_physical_interface_in_the_bridge(self):
        driver, ip = self.make(tap(10, PORT1))
        driver.scan_vifs()
        driver.wire(details(PORT1, network_type='flat', seg=None, physnet='physnet1'))
        self.assertEqual(ip.links_[lb.bridge_name(NET1)].index, ip.links_['phys0'].master)
        driver.unwire(PORT1)
        self.assertNotIn(lb.bridge_name(NET1), ip.links_)
        self.assertIn('phys0', ip.links_)

    def test_flat_refuses_an_interface_in_a_foreign_bridge(self):
        driver, ip = self.make(tap(10, PORT1), link(50, 'br-ex', 'bridge'))
        ip.links_['phys0'] = ip.links_['phys0']._replace(master=50)
        driver.scan_vifs()
        self.assertRaises(RuntimeError, driver.wire,
                          details(PORT1, network_type='flat', seg=None, physnet='physnet1'))

    def test_cleanup_all(self):
        driver, ip = self.make(link(20, 'brqx', 'bridge'), link(21, 'vxlan-3', 'vxlan'),
                               link(22, 'br0', 'bridge'))
        driver.cleanup_all()
        self.assertEqual(['br0', 'lo', 'phys0', 'ul0'], sorted(ip.links_))


class TestReconcilePlan(testtools.TestCase):
    def test_plan(self):
        links = [tap(10, PORT1, master=20), tap(11, PORT2, master=20), tap(12, PORT3),
                 link(20, lb.bridge_name(NET1), 'bridge'),
                 link(21, 'vxlan-5', 'vxlan', master=20), link(22, 'vxlan-6', 'vxlan')]
        delete, release = lb.reconcile_plan(links, [details(PORT1, seg=5)], {})
        self.assertEqual(['vxlan-6'], [lk.name for lk in delete])
        self.assertEqual([base.vif_name(PORT2)], [lk.name for lk in release])
