"""The QoS dataplane of both L2 drivers, on fakes (no root, no kernel, no OVS).

What it promises: the burst defaults to 80% of the rate and never drops
below one MTU-sized frame; a policy becomes exactly the tc qdiscs, ifb
device, nftables rules (Linux bridge) or OVSDB QoS rows, meters and flows
(Open vSwitch) it says; setting the same policy again changes nothing (no
process, no netlink change); None removes what was set; reconcile removes
the QoS of ports that are not wanted; both drivers declare the rule types
they realise.
"""
import testtools

from naas.agent.l2 import hooks
from naas.agent.l2 import linuxbridge
from naas.agent.l2 import openvswitch
from naas.agent.l2 import qos_ovs
from naas.agent.l2 import qos_rules
from naas.agent.l2 import qos_tc
from naas.host import ip_lib
from naas.host import ovs_lib

PORT = 'a1a1a1a1-0000-0000-0000-000000000001'
PORT2 = 'b2b2b2b2-0000-0000-0000-000000000002'
TAP = 'tapa1a1a1a1-00'
ALL_TYPES = ('bandwidth_limit', 'dscp_marking', 'packet_rate_limit')


def policy(*rules):
    return {'id': 'policy-1', 'rules': list(rules)}


def bandwidth(direction, max_kbps=10000, max_burst_kbps=0):
    return {'type': 'bandwidth_limit', 'max_kbps': max_kbps,
            'max_burst_kbps': max_burst_kbps, 'direction': direction}


def packet_rate(direction, max_kpps=1, max_burst_kpps=0):
    return {'type': 'packet_rate_limit', 'max_kpps': max_kpps,
            'max_burst_kpps': max_burst_kpps, 'direction': direction}


DSCP_26 = {'type': 'dscp_marking', 'dscp_mark': 26}


class TestRules(testtools.TestCase):

    def test_burst_defaults_to_80_percent_of_the_rate(self):
        limits = qos_rules.limits(policy(bandwidth('egress', 10000)))
        # 8000 kbit = 1,000,000 bytes.
        self.assertEqual(qos_rules.Bandwidth(10000, 1000000), limits.bandwidth['egress'])

    def test_explicit_burst(self):
        limits = qos_rules.limits(policy(bandwidth('ingress', 10000, 800)))
        self.assertEqual(100000, limits.bandwidth['ingress'].burst_bytes)

    def test_burst_never_below_one_frame(self):
        self.assertEqual(1514, qos_rules.limits(policy(bandwidth('egress', 10)))
                         .bandwidth['egress'].burst_bytes)
        self.assertEqual(9014, qos_rules.limits(policy(bandwidth('egress', 10000, 8)),
                                                mtu=9000).bandwidth['egress'].burst_bytes)

    def test_packet_rate_and_dscp(self):
        limits = qos_rules.limits(policy(packet_rate('egress', 2), DSCP_26))
        self.assertEqual(qos_rules.PacketRate(2000, 1600), limits.packet_rate['egress'])
        self.assertEqual(26, limits.dscp)

    def test_none_is_no_limits(self):
        self.assertEqual(qos_rules.NO_LIMITS, qos_rules.limits(None))
        self.assertEqual(qos_rules.NO_LIMITS, qos_rules.limits(policy()))

    def test_rules_that_cannot_be_realised_raise(self):
        for bad in (policy({'type': 'dscp_marking', 'dscp_mark': 7}),
                    policy(bandwidth('egress'), bandwidth('egress', 5)),
                    policy(bandwidth('sideways')),
                    policy(bandwidth('egress', 0)),
                    policy({'type': 'minimum_bandwidth', 'min_kbps': 5})):
            self.assertRaises(ValueError, qos_rules.limits, bad)
        self.assertRaises(ValueError, qos_rules.limits, policy(DSCP_26),
                          supported=('bandwidth_limit',))


class TestDriversDeclare(testtools.TestCase):

    def test_both_drivers_are_qos_drivers_with_every_rule_type(self):
        for driver in (linuxbridge.LinuxBridgeDriver, openvswitch.OpenvSwitchDriver):
            self.assertTrue(issubclass(driver, hooks.QoS))
            self.assertEqual(ALL_TYPES, tuple(sorted(driver.qos_rule_types)))


# ---- Linux bridge ------------------------------------------------------------

def link(index, name, kind=None, alias=None, up=True, mtu=1500):
    return ip_lib.Link(index=index, name=name, kind=kind, master=0, mtu=mtu, up=up,
                       alias=alias, address='02:00:00:00:00:01', vxlan=None, vlan_id=None,
                       parent=0)


class FakeIP:
    def __init__(self, *links):
        self.links_ = {lk.name: lk for lk in links}
        self.calls = []

    def links(self):
        return list(self.links_.values())

    def link(self, name):
        return self.links_.get(name)

    def add_link(self, name, kind, **kw):
        self.calls.append(('add', name, kind))
        lk = link(100 + len(self.links_), name, kind, up=False)
        self.links_[name] = lk
        return lk

    def set_link(self, index, **kw):
        self.calls.append(('set', index, kw))
        name = next(n for n, lk in self.links_.items() if lk.index == index)
        self.links_[name] = self.links_[name]._replace(
            up=kw.get('state', 'up') == 'up', alias=kw.get('ifalias', self.links_[name].alias))

    def del_link(self, index):
        self.calls.append(('del', index))
        self.links_ = {n: lk for n, lk in self.links_.items() if lk.index != index}


class FakeTc:
    """Root tbfs and ingress redirects by ifindex."""

    def __init__(self):
        self.roots = {}       # ifindex -> Bandwidth
        self.redirects = {}   # ifindex -> target ifindex
        self.changes = []

    def tbf(self, ifindex):
        bw = self.roots.get(ifindex)
        return qos_tc.expected_tbf(bw) if bw else None

    def set_tbf(self, ifindex, bw):
        self.changes.append(('tbf', ifindex, bw))
        self.roots[ifindex] = bw

    def del_root(self, ifindex):
        self.changes.append(('del-tbf', ifindex))
        self.roots.pop(ifindex, None)

    def redirect_target(self, ifindex):
        return self.redirects.get(ifindex)

    def set_redirect(self, ifindex, target):
        self.changes.append(('redirect', ifindex, target))
        self.redirects[ifindex] = target

    def del_redirect(self, ifindex):
        self.changes.append(('del-redirect', ifindex))
        self.redirects.pop(ifindex, None)

    def tbf_roots(self):
        return set(self.roots)


class FakeNft:
    def __init__(self, chains=None, table=False):
        self.chains, self.table = dict(chains or {}), table
        self.scripts = []

    def run(self, script):
        self.scripts.append(script)

    def port_chains(self):
        return dict(self.chains), self.table

    def delete_table(self):
        self.scripts.append('delete table')


class TestLinuxBridgeQoS(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ip = FakeIP(link(7, TAP, 'veth', alias=PORT))
        self.tc = FakeTc()
        self.nft = FakeNft()
        self.qos = qos_tc.TcQoS(lambda: self.ip, 'ns', tc=self.tc, nft=self.nft)

    def test_to_the_vm_a_tbf_on_the_tap(self):
        self.qos.set_port_qos(PORT, policy(bandwidth('ingress')))
        self.assertEqual({7: qos_rules.Bandwidth(10000, 1000000)}, self.tc.roots)
        self.assertEqual({}, self.tc.redirects)
        self.assertIsNone(self.ip.link('qosa1a1a1a1-00'))
        self.assertEqual({'rate': '10000kbit', 'burst': 1000000, 'latency': '50ms'},
                         qos_tc.tbf_parameters(self.tc.roots[7]))
        self.assertEqual([], self.nft.scripts)

    def test_from_the_vm_an_ifb_with_a_tbf(self):
        self.qos.set_port_qos(PORT, policy(bandwidth('egress', 5000)))
        ifb = self.ip.link('qosa1a1a1a1-00')
        self.assertEqual(('ifb', PORT, True), (ifb.kind, ifb.alias, ifb.up))
        self.assertEqual({ifb.index: qos_rules.Bandwidth(5000, 500000)}, self.tc.roots)
        self.assertEqual({7: ifb.index}, self.tc.redirects)

    def test_ports_without_qos_cost_no_request_after_the_first_read(self):
        # A restart's resync calls set_port_qos(port, None) for every port:
        # the host's QoS is read once, then such a port asks nothing.
        asked = []
        self.ip.link = lambda name: asked.append(name) or self.ip.links_.get(name)
        self.tc.tbf = lambda ifindex: asked.append(ifindex)
        for _ in range(3):
            self.qos.set_port_qos(PORT, None)
        self.assertEqual([], asked)
        self.assertEqual(([], {}, []), (self.ip.calls, self.tc.roots, self.nft.scripts))

    def test_same_policy_again_changes_nothing(self):
        p = policy(bandwidth('egress'), bandwidth('ingress'), DSCP_26, packet_rate('egress'))
        self.qos.set_port_qos(PORT, p)
        changes, scripts, calls = (list(self.tc.changes), list(self.nft.scripts),
                                   list(self.ip.calls))
        self.qos.set_port_qos(PORT, p)
        self.assertEqual((changes, scripts, calls),
                         (self.tc.changes, self.nft.scripts, self.ip.calls))

    def test_dscp_and_packet_rate_in_one_nft_transaction(self):
        self.qos.set_port_qos(PORT, policy(DSCP_26, packet_rate('egress', 1),
                                           packet_rate('ingress', 2)))
        self.assertEqual(1, len(self.nft.scripts))
        script = self.nft.scripts[0]
        self.assertIn('add table bridge naas-qos\n', script)     # first use: the base
        digest = qos_tc.nft_digest(qos_tc.nft_rules(qos_rules.limits(policy(
            DSCP_26, packet_rate('egress', 1), packet_rate('ingress', 2)))))
        chain_from = 'from-%s-%s' % (PORT, digest)
        chain_to = 'to-%s-%s' % (PORT, digest)
        for line in ('add rule bridge naas-qos %s limit rate over 1000/second burst 800 '
                     'packets drop' % chain_from,
                     'add rule bridge naas-qos %s ip dscp set 26' % chain_from,
                     'add rule bridge naas-qos %s ip6 dscp set 26' % chain_from,
                     'add rule bridge naas-qos %s limit rate over 2000/second burst 1600 '
                     'packets drop' % chain_to,
                     'add element bridge naas-qos from-vm { "%s" : jump %s }' % (TAP, chain_from),
                     'add element bridge naas-qos to-vm { "%s" : jump %s }' % (TAP, chain_to)):
            self.assertIn(line + '\n', script)
        # A change: new chains, the map switched, the old chains deleted.
        self.qos.set_port_qos(PORT, policy({'type': 'dscp_marking', 'dscp_mark': 10}))
        self.assertEqual(2, len(self.nft.scripts))
        script = self.nft.scripts[1]
        self.assertNotIn('add table', script)
        self.assertIn('delete element bridge naas-qos from-vm { "%s" }\n' % TAP, script)
        self.assertIn('delete chain bridge naas-qos %s\n' % chain_from, script)
        self.assertIn('ip dscp set 10\n', script)

    def test_none_removes_everything(self):
        self.qos.set_port_qos(PORT, policy(bandwidth('egress'), bandwidth('ingress'), DSCP_26))
        self.qos.set_port_qos(PORT, None)
        self.assertNotIn(7, self.tc.roots)
        self.assertEqual({}, self.tc.redirects)
        self.assertIsNone(self.ip.link('qosa1a1a1a1-00'))     # its tbf with it
        self.assertIn('delete chain', self.nft.scripts[-1])
        self.assertNotIn('add ', self.nft.scripts[-1])

    def test_no_policy_no_qos_costs_no_process(self):
        self.qos.set_port_qos(PORT, None)
        self.assertEqual(([], [], []), (self.tc.changes, self.nft.scripts, self.ip.calls))

    def test_a_restart_reads_the_chains_and_keeps_them(self):
        p = policy(DSCP_26)
        digest = qos_tc.nft_digest(qos_tc.nft_rules(qos_rules.limits(p)))
        self.nft.chains, self.nft.table = {PORT: digest}, True
        self.qos.set_port_qos(PORT, p)
        self.assertEqual([], self.nft.scripts)

    def test_reconcile_removes_the_qos_of_ports_not_wanted(self):
        self.ip.links_['tapb2b2b2b2-00'] = link(8, 'tapb2b2b2b2-00', 'veth', alias=PORT2)
        both = policy(bandwidth('egress'), bandwidth('ingress'), DSCP_26)
        self.qos.set_port_qos(PORT, both)
        self.qos.set_port_qos(PORT2, both)
        self.nft.chains = dict(self.qos._chains)
        self.qos.reconcile_qos([{'port_id': PORT}])
        self.assertIsNotNone(self.ip.link('qosa1a1a1a1-00'))
        self.assertIsNone(self.ip.link('qosb2b2b2b2-00'))
        self.assertNotIn(8, self.tc.roots)
        self.assertIn(7, self.tc.roots)
        self.assertIn('delete chain bridge naas-qos from-%s-' % PORT2, self.nft.scripts[-1])
        self.assertNotIn(PORT + '-', self.nft.scripts[-1])

    def test_the_ifb_of_an_unplugged_vif_goes_when_another_is_made(self):
        self.ip.links_['qosc3c3c3c3-00'] = link(9, 'qosc3c3c3c3-00', 'ifb',
                                                alias='c3c3c3c3-0000-0000-0000-000000000003')
        self.qos.set_port_qos(PORT, policy(bandwidth('egress')))
        self.assertIsNone(self.ip.link('qosc3c3c3c3-00'))
        self.assertIsNotNone(self.ip.link('qosa1a1a1a1-00'))

    def test_naas_cleanup_knows_the_ifbs(self):
        from naas.cmd import cleanup
        self.assertTrue(cleanup.is_naas_link(link(9, 'qosa1a1a1a1-00', 'ifb', alias=PORT)))
        self.assertFalse(cleanup.is_naas_link(link(9, 'qosa1a1a1a1-00', 'ifb', alias=None)))
        self.assertFalse(cleanup.is_naas_link(link(9, 'ifb0', 'ifb')))

    def test_chain_names_parse_back(self):
        name = qos_tc.chain_name('from', PORT, 'abcdef01')
        self.assertEqual(('from', PORT, 'abcdef01'), qos_tc.parse_chain_name(name))
        self.assertIsNone(qos_tc.parse_chain_name('forward'))


# ---- Open vSwitch ------------------------------------------------------------

class FakeMeters:
    bridge = 'br-int'

    def __init__(self, installed=None):
        self.installed = dict(installed or {})
        self.calls = []

    def dump(self):
        self.calls.append(('dump',))
        return dict(self.installed)

    def add(self, spec):
        self.calls.append(('add', spec))

    def modify(self, spec):
        self.calls.append(('modify', spec))

    def delete(self, meter_id):
        self.calls.append(('delete', meter_id))


def vif(other_config=None, ofport=5, mac='fa:16:3e:00:00:01'):
    iface = ovs_lib.Iface(TAP, '', {}, {'iface-id': PORT, 'attached-mac': mac}, ofport, None)
    return ovs_lib.Port(TAP, 'br-int', 1, dict(other_config or {}), {}, iface)


class TestOvsQoS(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.meters = FakeMeters()
        self.qos = qos_ovs.OvsQoS(self.meters)
        self.patch_has_qos = self.patch(qos_ovs, 'has_qos', lambda api, name: False)

    def test_flows_of_every_rule(self):
        p = policy(bandwidth('egress'), packet_rate('egress'), packet_rate('ingress'), DSCP_26)
        self.qos.set_port(PORT, vif(), p, api=None)
        base = self.qos.ports[PORT].meter_base
        self.assertEqual(1, base)
        own = 'reg2=0/0x10000,in_port=5'
        after = 'load:1->NXM_NX_REG2[16],resubmit(,24)'
        self.assertEqual({
            (0, 65534, own + ',ip'): 'meter:4,mod_nw_tos:104,' + after,
            (0, 65534, own + ',ipv6'): 'meter:4,mod_nw_tos:104,' + after,
            (0, 65533, own): 'meter:4,' + after,
            (24, 1, 'in_port=5'): 'meter:5,resubmit(,0)',
            (0, 65532, 'reg2=0/0x20000,dl_dst=fa:16:3e:00:00:01'):
                'meter:6,load:1->NXM_NX_REG2[17],resubmit(,0)',
        }, self.qos.flows({PORT: 5}))
        self.assertEqual([
            ('dump',),
            ('add', 'meter=4,kbps,burst,band=type=drop,rate=10000,burst_size=8000'),
            ('add', 'meter=5,pktps,burst,band=type=drop,rate=1000,burst_size=800'),
            ('add', 'meter=6,pktps,burst,band=type=drop,rate=1000,burst_size=800'),
        ], self.meters.calls)

    def test_dscp_only_no_meter(self):
        self.qos.set_port(PORT, vif(), policy(DSCP_26), api=None)
        self.assertEqual({
            (0, 65534, 'reg2=0/0x10000,in_port=5,ip'):
                'mod_nw_tos:104,load:1->NXM_NX_REG2[16],resubmit(,0)',
            (0, 65534, 'reg2=0/0x10000,in_port=5,ipv6'):
                'mod_nw_tos:104,load:1->NXM_NX_REG2[16],resubmit(,0)',
        }, self.qos.flows({PORT: 5}))
        self.assertEqual([], self.meters.calls)

    def test_to_the_vm_a_linux_htb_queue(self):
        limits = qos_rules.limits(policy(bandwidth('ingress', 10000)))
        self.assertEqual(({'max-rate': '10000000'},
                          {'max-rate': '10000000', 'burst': '8000000'}),
                         qos_ovs.htb_settings(limits))
        ops = self.qos.set_port(PORT, vif(), policy(bandwidth('ingress')), api=None)
        self.assertEqual(1, len(ops))      # the Port's qos; no meter, no flow
        self.assertEqual({}, self.qos.flows({PORT: 5}))
        self.assertEqual([], self.meters.calls)

    def test_same_policy_again_no_meter_call_and_a_change_modifies(self):
        p = policy(bandwidth('egress'))
        self.qos.set_port(PORT, vif(), p, api=None)
        self.meters.calls = []
        self.qos.set_port(PORT, vif({'naas-qos-meter': '1'}), p, api=None)
        self.assertEqual([], self.meters.calls)
        self.qos.set_port(PORT, vif({'naas-qos-meter': '1'}), policy(bandwidth('egress', 20000)),
                          api=None)
        self.assertEqual([('modify', 'meter=4,kbps,burst,band=type=drop,rate=20000,'
                                     'burst_size=16000')], self.meters.calls)

    def test_a_restart_finds_the_meters(self):
        spec = 'meter=4,kbps,burst,band=type=drop,rate=10000,burst_size=8000'
        self.meters.installed = {4: spec}
        self.qos.set_port(PORT, vif({'naas-qos-meter': '1'}), policy(bandwidth('egress')),
                          api=None)
        self.assertEqual([('dump',)], self.meters.calls)

    def test_none_removes_flows_then_meters(self):
        self.qos.set_port(PORT, vif(), policy(bandwidth('egress')), api=None)
        self.qos.flows({PORT: 5})
        ops = self.qos.set_port(PORT, vif({'naas-qos-meter': '1'}), None, api=None)
        self.assertEqual(2, len(ops))     # the Port's qos cleared, its meter id too
        self.assertEqual({}, self.qos.flows({PORT: 5}))
        self.qos.delete_unused_meters()
        self.assertEqual(('delete', 4), self.meters.calls[-1])

    def test_no_policy_no_qos_nothing_to_flush(self):
        self.assertIsNone(self.qos.set_port(PORT, vif(), None, api=None))
        self.assertEqual([], self.meters.calls)

    def test_meter_ids_of_two_ports_differ(self):
        self.qos.set_port(PORT, vif(), policy(bandwidth('egress')), api=None)
        self.qos.set_port(PORT2, vif({'naas-qos-meter': '1'}), policy(bandwidth('egress')),
                          api=None)
        self.assertEqual({1, 2}, {q.meter_base for q in self.qos.ports.values()})

    def test_a_restart_restores_the_qos_before_the_first_flows(self):
        wanted = [{'port_id': PORT, 'qos_policy': policy(DSCP_26)},
                  {'port_id': PORT2, 'qos_policy': None}]
        ops = self.qos.restore(wanted, {PORT: vif({'naas-qos-meter': '3'})}, api=None)
        self.assertEqual([PORT], list(self.qos.ports))
        self.assertEqual(3, self.qos.ports[PORT].meter_base)
        self.assertEqual(1, len(ops))       # the Port's qos (none); the meter id is kept
        self.assertIn((0, 65534, 'reg2=0/0x10000,in_port=5,ip'), self.qos.flows({PORT: 5}))

    def test_parse_meters(self):
        text = ('OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\n'
                'meter=4 kbps burst bands=\ntype=drop rate=10000 burst_size=8000\n\n'
                'meter=5 pktps burst bands=\ntype=drop rate=1000 burst_size=800\n')
        self.assertEqual({4: 'meter=4,kbps,burst,band=type=drop,rate=10000,burst_size=8000',
                          5: 'meter=5,pktps,burst,band=type=drop,rate=1000,burst_size=800'},
                         qos_ovs.parse_meters(text))
