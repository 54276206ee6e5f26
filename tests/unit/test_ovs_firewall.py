"""The Open vSwitch driver's port filter (naas.agent.l2.ovs_firewall) on a fake OVS.

What an operator reads in ``ovs-ofctl dump-flows br-int`` after the agent
filtered a port: its frames go through the firewall's tables (71-75)
before NORMAL; it sends only from its MAC and addresses (allowed address
pairs and the link-local of its MAC too), answers ARP and ND only for
them, never sends DHCP server replies or RAs; rules become flows (with
conntrack for stateful groups, without for stateless ones), remote groups
conjunctions with one flow per member; the filter is in place while the
VIF is still on the dead VLAN; a port without port security, or a host
without filtered ports, keeps the plain NORMAL pipeline; a restart leaves
the old flows until the filters are known, then swaps generations in one
bundle; a rule or remote member removed cuts the tracked connections it
allowed (and only those: a change that adds cuts nothing).  The dataplane
itself is tested in tests/fullstack/test_security_groups.py.
"""
from naas.agent.l2 import conntrack
from naas.agent.l2 import ovs_firewall as fw
from naas.agent.l2 import ovs_flows as flows
from tests.unit import test_openvswitch as base_test

PORT1, PORT2, PORT3 = base_test.PORT1, base_test.PORT2, base_test.PORT3
NET1 = base_test.NET1
SG1, SG2 = 'sg-1', 'sg-2'
MAC1 = 'fa:16:3e:00:00:a1'
LL1 = 'fe80::f816:3eff:fe00:a1'
FORWARD = 'resubmit(,%d)' % fw.FORWARD
TRACK = 'ct(table=%d,zone=NXM_NX_REG6[0..15])'
COMMIT = 'ct(commit,zone=NXM_NX_REG6[0..15]),'


def details(port_id, groups=(SG1,), ip='10.0.0.5', pairs=(), security=True, **kwargs):
    out = base_test.details(port_id, **kwargs)
    out.update(mac_address='fa:16:3e:00:00:%s' % port_id[:2],
               fixed_ips=[{'subnet_id': 's1', 'ip_address': ip}],
               port_security_enabled=security, allowed_address_pairs=list(pairs))
    if groups is not None:
        out['security_groups'] = list(groups)
    return out


def rule(direction='ingress', protocol=None, low=None, high=None, prefix=None,
         remote_group=None, ethertype='IPv4'):
    return {'id': 'r', 'direction': direction, 'ethertype': ethertype, 'protocol': protocol,
            'port_range_min': low, 'port_range_max': high, 'remote_ip_prefix': prefix,
            'remote_group_id': remote_group, 'remote_address_group_id': None}


def sg_info(rules=(), stateful=True, members=None, group=SG1):
    return {'security_groups': {group: {'stateful': stateful, 'rules': list(rules)}},
            'members': members or {}, 'address_groups': {}}


class FakeConntrack:
    """conntrack.OVSConntrack on a dict: {zone: [Connection]}."""

    def __init__(self, rundir, datapath_type='system'):
        self.zones = {}
        self.dumps = []

    def dump(self, zone):
        self.dumps.append(zone)
        return list(self.zones.get(zone, ()))

    def delete(self, zone, connection):
        self.zones[zone].remove(connection)


def connection(src, dst, protocol=17, sport=4000, dport=5000):
    return conntrack.Connection(4, protocol, src, dst, sport, dport, None, None, None)


class FirewallTestCase(base_test.OVSTestCase):
    def setUp(self):
        super().setUp()
        self.patch(conntrack, 'OVSConntrack', FakeConntrack)

    def filtered(self, *port_details, info=None):
        """An agent's start with nothing, then these ports plugged, filtered
        and wired as Agent._wire does."""
        driver = self.agent()
        self.plug(*[d['port_id'] for d in port_details])
        driver.scan_vifs()
        driver.filter_ports(list(port_details), info or sg_info())
        with driver.batch():
            for d in port_details:
                driver.wire(d)
        return driver

    def of(self, port_id):
        return self.ofport(base_test.base.vif_name(port_id))

    def table(self, number=None):
        flows_ = self.switch.table('br-int')
        return {k: v for k, v in flows_.items() if number is None or k[0] == number}

    def reg(self, port_id):
        return 'reg5=%d' % self.of(port_id)


class TestPipeline(FirewallTestCase):
    def test_a_filtered_port_goes_through_the_firewall_tables_then_normal(self):
        self.filtered(details(PORT1))
        table = self.table()
        # (a stateful port: reg7 bit 1 on the way out, bit 3 on the way in)
        self.assertEqual('load:%d->NXM_NX_REG5[],load:1->NXM_NX_REG6[],'
                         'load:1->NXM_NX_REG7[1],resubmit(,71)'
                         % self.of(PORT1), table[(0, 1, 'in_port=%d' % self.of(PORT1))])
        self.assertEqual(FORWARD, table[(0, 0, '')])
        self.assertEqual('NORMAL', table[(fw.FORWARD, 0, '')])
        # Frames for its MAC on its network, from a local port or br-tun.
        mac = details(PORT1)['mac_address']
        to_port = 'load:%d->NXM_NX_REG5[],load:1->NXM_NX_REG7[3],resubmit(,74)' % self.of(PORT1)
        self.assertEqual(to_port, table[(fw.FORWARD, 50, 'reg6=1,dl_dst=%s,'
                                         'vlan_tci=0x0000/0x1000' % mac)])
        self.assertEqual('strip_vlan,load:1->NXM_NX_REG6[],' + to_port, table[(
            fw.FORWARD, 50, 'in_port=%d,dl_vlan=1,dl_dst=%s' % (self.ofport('patch-tun'), mac))])

    def test_without_port_security_or_filtered_ports_the_pipeline_is_normal(self):
        driver = self.filtered(details(PORT1, security=False))
        self.assertEqual('NORMAL', self.table()[(0, 0, '')])
        self.assertEqual({}, {k: v for k, v in self.table().items() if k[0] in fw.TABLES})
        # A filtered port loses its filter when port security goes off.
        driver.filter_ports([details(PORT1)], sg_info())
        self.assertEqual(FORWARD, self.table()[(0, 0, '')])
        driver.filter_ports([details(PORT1, security=False)], sg_info())
        self.assertEqual('NORMAL', self.table()[(0, 0, '')])
        self.assertEqual([], [k for k in self.table() if k[0] in fw.TABLES])

    def test_unfiltered_ports_of_the_network_reach_filtered_ones_through_the_firewall(self):
        self.filtered(details(PORT1), details(PORT2, security=False),
                      details(PORT3, network_id=base_test.NET2, seg=2002, security=False))
        table = self.table(0)
        self.assertEqual('load:1->NXM_NX_REG6[],' + FORWARD,
                         table[(0, 1, 'in_port=%d' % self.of(PORT2))])
        # Another network without filtered ports: the normal path.
        self.assertNotIn((0, 1, 'in_port=%d' % self.of(PORT3)), table)

    def test_filter_is_in_before_the_vif_leaves_the_dead_vlan(self):
        driver = self.agent()
        self.plug(PORT1)
        driver.scan_vifs()
        driver.filter_ports([details(PORT1)], sg_info())
        table = self.table()
        mac = details(PORT1)['mac_address']
        self.assertEqual(flows.DEAD_VLAN, self.vif(PORT1).tag)
        self.assertEqual('drop', table[(0, 2, 'in_port=%d' % self.of(PORT1))])
        # Nothing is delivered to it yet, whatever OVSDB does next.
        self.assertEqual('drop', table[(fw.FORWARD, 50, 'reg6=1,dl_dst=%s,'
                                        'vlan_tci=0x0000/0x1000' % mac)])
        driver.wire(details(PORT1))
        self.assertEqual(1, self.vif(PORT1).tag)
        self.assertNotIn((0, 2, 'in_port=%d' % self.of(PORT1)), self.table())
        self.assertIn('resubmit(,74)', self.table()[(
            fw.FORWARD, 50, 'reg6=1,dl_dst=%s,vlan_tci=0x0000/0x1000' % mac)])

    def test_unfilter_removes_every_flow_of_the_port(self):
        driver = self.filtered(details(PORT1), details(PORT2))
        reg2 = self.reg(PORT2)
        driver.unwire(PORT2)
        driver.unfilter_port(PORT2)
        self.assertEqual([], [k for k in self.table() if reg2 in k[2].split(',')])
        self.assertNotIn((0, 1, 'in_port=%d' % self.of(PORT2)), self.table())
        self.assertIn((0, 1, 'in_port=%d' % self.of(PORT1)), self.table())
        driver.unfilter_port(PORT2)          # missing is fine


class TestAntiSpoofing(FirewallTestCase):
    def test_sends_only_from_its_mac_and_addresses(self):
        pair = {'ip_address': '10.0.0.64/28', 'mac_address': 'fa:16:3e:00:00:99'}
        self.filtered(details(PORT1, ip='10.0.0.5', pairs=[pair]))
        egress = self.table(fw.EGRESS)
        reg, mac = self.reg(PORT1), details(PORT1)['mac_address']
        ll = fw.link_local(mac)
        # IP from its own (MAC, address) pairs is flagged (reg7 bit 0) and
        # judged by EGRESS again: DHCP client, MLD/RS/NS, else the rules
        # (through conntrack if the port is stateful: reg7 bit 1).
        flag = 'load:1->NXM_NX_REG7[0],resubmit(,71)'
        checks = {k[2]: v for k, v in egress.items() if k[1] == fw.SOURCE_CHECK}
        self.assertEqual({
            reg + ',dl_src=%s,ip,nw_src=10.0.0.5,reg7=0/0x1' % mac: flag,
            reg + ',dl_src=%s,ipv6,ipv6_src=%s,reg7=0/0x1' % (mac, ll): flag,
            reg + ',dl_src=fa:16:3e:00:00:99,ip,nw_src=10.0.0.64/28,reg7=0/0x1': flag,
            reg + ',dl_src=%s,icmp6,ipv6_src=::,reg7=0/0x4' % mac:
                'load:1->NXM_NX_REG7[2],resubmit(,71)'}, checks)
        ip_from = {k[2]: v for k, v in egress.items() if k[1] == fw.IP_FROM_OWN}
        self.assertEqual({'reg7=0x1/0x3': 'resubmit(,72)',
                          'reg7=0x3/0x3,ip': TRACK % fw.EGRESS_RULES,
                          'reg7=0x3/0x3,ipv6': TRACK % fw.EGRESS_RULES}, ip_from)
        for icmp_type in fw.ICMPV6_OUT:
            for bit in ('0x1', '0x4'):
                self.assertEqual(FORWARD, egress[(fw.EGRESS, 100, 'reg7=%s/%s,icmp6,icmp_type=%d'
                                                  % (bit, bit, icmp_type))])
        self.assertEqual(FORWARD, egress[(fw.EGRESS, 100, 'reg7=0x1/0x1,udp,tp_src=68,tp_dst=67')])
        arp = {k[2] for k in egress if ',arp' in k[2]}
        self.assertEqual({reg + ',dl_src=%s,arp,arp_spa=10.0.0.5,arp_sha=%s' % (mac, mac),
                          reg + ',dl_src=fa:16:3e:00:00:99,arp,arp_spa=10.0.0.64/28,'
                          'arp_sha=fa:16:3e:00:00:99'}, arp)
        # Neighbour advertisements only for its own addresses; the rest
        # (and anything else from it) is dropped.
        self.assertEqual(FORWARD, egress[(fw.EGRESS, 100, reg + ',dl_src=%s,icmp6,'
                                          'icmp_type=136,icmp_code=0,nd_target=%s' % (mac, ll))])
        self.assertEqual('drop', egress[(fw.EGRESS, 90, 'icmp6,icmp_type=136')])
        self.assertEqual('drop', egress[(fw.EGRESS, 0, '')])

    def test_no_dhcp_server_or_router_advertisement_from_a_vm_but_dhcp_client(self):
        self.filtered(details(PORT1))
        egress = self.table(fw.EGRESS)
        reg, mac = self.reg(PORT1), details(PORT1)['mac_address']
        # (one flow for every filtered port)
        for match in ('udp,tp_src=67', 'udp6,tp_src=547', 'icmp6,icmp_type=134'):
            self.assertEqual('drop', egress[(fw.EGRESS, 90, match)])
        self.assertEqual(FORWARD, egress[(fw.EGRESS, 100, reg + ',dl_src=%s,udp,'
                                          'nw_src=0.0.0.0,tp_src=68,tp_dst=67' % mac)])
        # In: to the port the frame is for (reg5).
        ingress = self.table(fw.INGRESS)
        for match in ('arp', 'udp,tp_src=67,tp_dst=68', 'udp6,tp_src=547,tp_dst=546',
                      'icmp6,icmp_type=134', 'icmp6,icmp_type=135', 'icmp6,icmp_type=136'):
            self.assertEqual('output:NXM_NX_REG5[]', ingress[(fw.INGRESS, 100, match)])

    def test_link_local_of_a_mac(self):
        self.assertEqual(LL1, fw.link_local(MAC1))


class TestRules(FirewallTestCase):
    def test_every_conntrack_action_has_an_ip_match(self):
        # ovs-vswitchd refuses ct() without an IP ethertype in the match
        # (OFPBAC_MATCH_INCONSISTENT), and then the whole bundle.
        info = sg_info([rule(protocol=6, low=22, high=22), rule('egress')])
        info['security_groups'][SG2] = {'stateful': False, 'rules': [rule(protocol=17)]}
        self.filtered(details(PORT1), details(PORT2, groups=(SG2,)), info=info)
        ip_types = {'ip', 'ipv6', 'tcp', 'udp', 'icmp', 'tcp6', 'udp6', 'icmp6', 'sctp',
                    'sctp6'}
        with_ct = {k: v for k, v in self.table().items() if 'ct(' in v}
        self.assertTrue(with_ct)
        for key in with_ct:
            self.assertTrue(ip_types & set(key[2].split(',')), key)

    def test_stateful_rule_commits_new_connections_and_accepts_replies(self):
        info = sg_info([rule(protocol=6, low=22, high=22, prefix='192.0.2.0/24')])
        self.filtered(details(PORT1), info=info)
        ingress = self.table(fw.INGRESS_RULES)
        reg, out = self.reg(PORT1), 'output:%d' % self.of(PORT1)
        match = ',tcp,tp_dst=22,nw_src=192.0.2.0/24'
        self.assertEqual(COMMIT + out, ingress[(fw.INGRESS_RULES, 50, reg + ',ct_state='
                                                + fw.CT_NEW + match)])
        self.assertEqual(out, ingress[(fw.INGRESS_RULES, 50, reg + ',ct_state=' + fw.CT_EST
                                       + match)])
        self.assertEqual(out, ingress[(fw.INGRESS_RULES, 100,
                                       reg + ',ct_state=+trk+est-rel+rpl')])
        self.assertEqual('drop', ingress[(fw.INGRESS_RULES, 100, reg + ',ct_state=+trk+inv')])
        self.assertEqual('drop', ingress[(fw.INGRESS_RULES, 0, '')])
        # No egress rule: only replies leave.
        egress = self.table(fw.EGRESS_RULES)
        self.assertEqual([], [k for k in egress if k[1] == 50])

    def test_stateless_group_has_no_conntrack(self):
        info = sg_info([rule(protocol=17, low=53, high=53), rule('egress', protocol=17)],
                       stateful=False)
        self.filtered(details(PORT1), info=info)
        table = self.table()
        reg = self.reg(PORT1)
        # No conntrack but the commit of what a stateful local port opens
        # towards it (its replies then pass that port's ingress).
        self.assertEqual({(fw.INGRESS, 81, 'reg7=0/0x8,ct_state=+trk+new-est,ip'),
                          (fw.INGRESS, 81, 'reg7=0/0x8,ct_state=+trk+new-est,ipv6')},
                         {k for k, v in table.items() if 'ct_state' in k[2] or 'ct(' in v})
        self.assertNotIn('REG7[1]', table[(0, 1, 'in_port=%d' % self.of(PORT1))])
        self.assertEqual('output:%d' % self.of(PORT1),
                         table[(fw.INGRESS_RULES, 50, reg + ',udp,tp_dst=53')])
        self.assertEqual(FORWARD, table[(fw.EGRESS_RULES, 50, reg + ',udp')])

    def test_without_groups_anti_spoofing_only_with_empty_groups_base_rules_only(self):
        self.filtered(details(PORT1, groups=None), details(PORT2, groups=()))
        table = self.table()
        reg1, reg2 = self.reg(PORT1), self.reg(PORT2)
        self.assertEqual('output:%d' % self.of(PORT1), table[(fw.INGRESS_RULES, 50, reg1)])
        self.assertEqual(FORWARD, table[(fw.EGRESS_RULES, 50, reg1)])
        self.assertEqual([], [k for k in table if k[0] in (fw.EGRESS_RULES, fw.INGRESS_RULES)
                              and k[1] in (fw.RULE, fw.CONJUNCTION) and reg2 in k[2]])

    def test_port_ranges_become_masks(self):
        self.assertEqual(['22'], fw.port_masks(22, 22))
        self.assertEqual(['0x0400/0xfc00'], fw.port_masks(1024, 2047))
        self.assertEqual(['0x03e8/0xfffe', '1002'], fw.port_masks(1000, 1002))

    def test_remote_group_is_a_conjunction_and_a_member_one_flow(self):
        info = sg_info([rule(protocol=1, remote_group=SG1)],
                       members={SG1: {'IPv4': ['10.0.0.5', '10.0.0.6']}})
        driver = self.filtered(details(PORT1), details(PORT2, ip='10.0.0.6'), info=info)
        ingress = self.table(fw.INGRESS_RULES)
        members = {k[2]: v for k, v in ingress.items() if k[2].startswith('reg6=')}
        self.assertEqual(['reg6=1,ip,nw_src=10.0.0.5', 'reg6=1,ip,nw_src=10.0.0.6'],
                         sorted(members))
        conj_new = ingress[(fw.INGRESS_RULES, 40, self.reg(PORT1) + ',ct_state=%s,icmp'
                            % fw.CT_NEW)]
        self.assertRegex(conj_new, r'^conjunction\(\d+,2/2\)$')
        # A member added on another host: one new flow on br-int, nothing rewritten.
        bundles = len(self.switch.bundles)
        info['members'][SG1]['IPv4'].append('10.0.0.7')
        driver.update_security_groups(info)
        (bridge, lines), = self.switch.bundles[bundles:]
        self.assertEqual('br-int', bridge)
        self.assertEqual(1, len(lines))
        self.assertIn('reg6=1,ip,nw_src=10.0.0.7,actions=conjunction', lines[0])


class TestConnectionsCut(FirewallTestCase):
    """PORT1 (10.0.0.5) serves udp/5000 and tcp/22; tracked connections in
    its network's zone (1)."""

    def setUp(self):
        super().setUp()
        self.info = sg_info([rule('egress'), rule(protocol=17, low=5000, high=5000),
                             rule(protocol=6, low=22, high=22, prefix='10.0.0.0/28')])
        self.driver = self.filtered(details(PORT1), info=self.info)
        self.udp = connection('10.0.0.7', '10.0.0.5')
        self.ssh = connection('10.0.0.7', '10.0.0.5', protocol=6, sport=40000, dport=22)
        self.outgoing = connection('10.0.0.5', '192.0.2.1', protocol=6, dport=443)
        self.elsewhere = connection('10.0.0.8', '10.0.0.9')      # not PORT1's
        self.tracked = self.driver.conntrack.zones[1] = [
            self.udp, self.ssh, self.outgoing, self.elsewhere]

    def update(self, rules):
        self.info['security_groups'][SG1]['rules'] = rules
        self.driver.update_security_groups(self.info)

    def test_a_rule_added_or_an_unrelated_one_removed_cuts_nothing(self):
        rules = self.info['security_groups'][SG1]['rules']
        self.update(rules + [rule(protocol=6, low=80, high=80)])
        self.update(rules)          # the tcp/80 rule removed again
        self.assertEqual([self.udp, self.ssh, self.outgoing, self.elsewhere], self.tracked)
        self.assertEqual([1, 1], self.driver.conntrack.dumps)

    def test_removing_the_rule_of_a_connection_cuts_it(self):
        egress, udp, ssh = self.info['security_groups'][SG1]['rules']
        self.update([egress, ssh])
        self.assertEqual([self.ssh, self.outgoing, self.elsewhere], self.tracked)
        # The tcp/22 rule narrowed to a prefix without the client.
        self.update([egress, dict(ssh, remote_ip_prefix='10.0.0.0/30')])
        self.assertEqual([self.outgoing, self.elsewhere], self.tracked)
        # Egress: what PORT1 opened goes with the egress rule.
        self.update([])
        self.assertEqual([self.elsewhere], self.tracked)

    def test_a_remote_group_member_removed_loses_its_connections(self):
        self.info['members'] = {SG2: {'IPv4': ['10.0.0.7']}}
        self.update([rule('egress'), rule(protocol=17, remote_group=SG2)])
        self.assertEqual([self.udp, self.outgoing, self.elsewhere], self.tracked)
        self.info['members'] = {SG2: {'IPv4': []}}
        self.driver.update_security_groups(self.info)
        self.assertEqual([self.outgoing, self.elsewhere], self.tracked)

    def test_a_stateless_port_has_no_connections_to_cut(self):
        self.info['security_groups'][SG1]['stateful'] = False
        self.update([])
        self.assertEqual([], self.driver.conntrack.dumps)


class TestRestart(FirewallTestCase):
    def test_restart_keeps_the_old_flows_until_the_filters_are_known(self):
        info = sg_info([rule(protocol=6, low=22, high=22)])
        first = self.filtered(details(PORT1), details(PORT2, security=False), info=info)
        before = self.table()
        bundles = len(self.switch.bundles)
        second = self.driver()
        second.scan_vifs()
        wanted = [details(PORT1), details(PORT2, security=False)]
        second.reconcile(wanted)
        # The server's answer has not come yet: nothing is touched.
        self.assertEqual(bundles, len(self.switch.bundles))
        second.reconcile_filters(wanted, info)
        self.assertEqual(before, self.table())
        # One bundle per bridge: the new generation in, the old one out.
        applied = dict(self.switch.bundles[bundles:])
        self.assertEqual(['br-int', 'br-tun'], sorted(applied))
        self.assertEqual(len(self.switch.bundles) - bundles, len(applied))
        self.assertIn('delete cookie=%#x/-1' % first.cookie, applied['br-int'])
        self.assertEqual({second.cookie}, {flow.cookie for flow in
                                           self.switch.flows['br-int'].values()})

    def test_a_port_gone_during_the_restart_loses_its_filter(self):
        self.filtered(details(PORT1), details(PORT2))
        reg2 = self.reg(PORT2)
        second = self.driver()
        second.scan_vifs()
        second.reconcile([details(PORT1)])
        second.reconcile_filters([details(PORT1)], sg_info())
        self.assertEqual([], [k for k in self.table() if reg2 in k[2].split(',')])
        self.assertTrue(any(self.reg(PORT1) in k[2] for k in self.table()))
        self.assertTrue(all(flows.is_naas_cookie(f.cookie)
                            for f in self.switch.flows['br-int'].values()))

    def test_a_restart_whose_filters_come_by_filter_ports_ends_the_wait(self):
        # The server did not answer between reconcile and reconcile_filters
        # (the agent's resync failed); the poll loop then filters every port.
        self.filtered(details(PORT1), details(PORT2))
        bundles = len(self.switch.bundles)
        second = self.driver()
        second.scan_vifs()
        second.reconcile([details(PORT1), details(PORT2)])
        second.filter_ports([details(PORT1)], sg_info())
        self.assertEqual(bundles, len(self.switch.bundles), 'PORT2 has no filter yet')
        second.filter_ports([details(PORT2)], sg_info())
        self.assertEqual({second.cookie}, {flow.cookie for flow in
                                           self.switch.flows['br-int'].values()})
        self.assertIn((0, 1, 'in_port=%d' % self.of(PORT2)), self.table())


class TestWhichPorts(FirewallTestCase):
    def test_network_service_ports_are_never_filtered(self):
        # Without the security group plugin the core plugin says
        # port_security_enabled for every port, DHCP and routers too.
        dhcp = dict(details(PORT1, groups=None), device_owner='network:dhcp')
        router = dict(details(PORT2, groups=None), device_owner='network:router_interface')
        self.filtered(dhcp, router)
        self.assertEqual('NORMAL', self.table()[(0, 0, '')])
        self.assertEqual([], [k for k in self.table() if k[0] in fw.TABLES])
        self.assertTrue(fw.is_filtered(details(PORT3)))
        self.assertFalse(fw.is_filtered(details(PORT3, security=False)))
