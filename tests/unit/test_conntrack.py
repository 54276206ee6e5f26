"""Which tracked connections a port's rules still allow (naas.agent.l2.conntrack).

After a security group change, a connection to or from a stateful port
that its rules no longer allow is cut (as Neutron deletes the conntrack
entries of a removed rule); one they still allow stays: the rules alone,
then the Linux bridge filter (naas.agent.l2.nft_firewall) on a fake nft
(the OVS one: tests/unit/test_ovs_firewall.py).  Also how the two
connection trackers are read and written: ``ovs-appctl dpctl/*`` lines and
tuples, netlink tuples.
"""
import ipaddress

import testtools

from naas.agent.l2 import conntrack
from naas.agent.l2 import nft_firewall
from tests.unit import test_nft_firewall as nft_test

PORT = [ipaddress.ip_network('10.0.0.5'), ipaddress.ip_network('2001:db8::5')]


def connection(src, dst, protocol=17, sport=4000, dport=5000, version=4, icmp=(None,) * 3):
    return conntrack.Connection(version, protocol, src, dst, sport, dport, *icmp)


def rule(direction='ingress', protocol=None, low=None, high=None, prefix=None,
         remote_group=None, ethertype='IPv4'):
    return {'direction': direction, 'ethertype': ethertype, 'protocol': protocol,
            'port_range_min': low, 'port_range_max': high, 'remote_ip_prefix': prefix,
            'remote_group_id': remote_group, 'remote_address_group_id': None}


class TestAllows(testtools.TestCase):
    def allows(self, rules, connection, members=None):
        return conntrack.allows(PORT, rules, members or {}, {}, connection)

    def test_ingress_rules_judge_what_comes_in(self):
        udp_in = connection('10.0.0.7', '10.0.0.5')
        self.assertTrue(self.allows([rule(protocol=17, low=5000, high=5000)], udp_in))
        self.assertTrue(self.allows([rule(protocol=17, low=4000, high=6000)], udp_in))
        self.assertTrue(self.allows([rule()], udp_in))
        self.assertFalse(self.allows([rule(protocol=17, low=22, high=22)], udp_in))
        self.assertFalse(self.allows([rule(protocol=6)], udp_in))
        self.assertFalse(self.allows([rule('egress')], udp_in))
        self.assertFalse(self.allows([rule(ethertype='IPv6')], udp_in))
        self.assertTrue(self.allows([rule(prefix='10.0.0.0/28')], udp_in))
        self.assertFalse(self.allows([rule(prefix='10.0.0.0/30')], udp_in))
        self.assertTrue(self.allows([rule(remote_group='sg')], udp_in,
                                    {'sg': {'IPv4': ['10.0.0.7']}}))
        self.assertFalse(self.allows([rule(remote_group='sg')], udp_in,
                                     {'sg': {'IPv4': ['10.0.0.8']}}))

    def test_egress_rules_judge_what_goes_out_and_others_are_not_judged(self):
        out = connection('10.0.0.5', '192.0.2.1', protocol=6, dport=443)
        self.assertTrue(self.allows([rule('egress')], out))
        self.assertFalse(self.allows([rule('egress', prefix='10.0.0.0/24')], out))
        self.assertFalse(self.allows([], out))
        self.assertTrue(self.allows([], connection('10.0.0.8', '10.0.0.9')))
        self.assertTrue(conntrack.allows(PORT, None, {}, {}, out), 'no group filtering')

    def test_icmp_type_and_code_and_ipv6(self):
        echo = connection('10.0.0.7', '10.0.0.5', protocol=1, icmp=(8, 0, 9))
        self.assertTrue(self.allows([rule(protocol=1)], echo))
        self.assertTrue(self.allows([rule(protocol=1, low=8, high=0)], echo))
        self.assertFalse(self.allows([rule(protocol=1, low=0)], echo))
        echo6 = connection('2001:db8::7', '2001:db8::5', protocol=58, version=6,
                           icmp=(128, 0, 9))
        self.assertTrue(self.allows([rule(protocol=1, ethertype='IPv6')], echo6))
        self.assertFalse(self.allows([rule(protocol=1)], echo6))


class TestTrackers(testtools.TestCase):
    def test_dump_conntrack_lines_and_flush_tuples(self):
        udp = conntrack.parse_ovs_connection(
            'udp,orig=(src=10.0.0.7,dst=10.0.0.5,sport=4000,dport=5000),'
            'reply=(src=10.0.0.5,dst=10.0.0.7,sport=5000,dport=4000),zone=1')
        self.assertEqual(connection('10.0.0.7', '10.0.0.5'), udp)
        self.assertEqual('ct_nw_src=10.0.0.7,ct_nw_dst=10.0.0.5,ct_nw_proto=17,'
                         'ct_tp_src=4000,ct_tp_dst=5000', udp.ovs_tuple())
        icmp = conntrack.parse_ovs_connection(
            'icmp,orig=(src=10.0.0.7,dst=10.0.0.5,id=9,type=8,code=0),'
            'reply=(src=10.0.0.5,dst=10.0.0.7,id=9,type=0,code=0),zone=1')
        self.assertEqual('ct_nw_src=10.0.0.7,ct_nw_dst=10.0.0.5,ct_nw_proto=1,'
                         'icmp_id=9,icmp_type=8,icmp_code=0', icmp.ovs_tuple())
        tcp6 = conntrack.parse_ovs_connection(
            'tcp,orig=(src=2001:db8::7,dst=2001:db8::5,sport=40000,dport=22),'
            'reply=(src=2001:db8::5,dst=2001:db8::7,sport=22,dport=40000),zone=1,'
            'protoinfo=(state=ESTABLISHED)')
        self.assertEqual((6, 6, 22), (tcp6.version, tcp6.protocol, tcp6.dport))
        self.assertTrue(tcp6.ovs_tuple().startswith('ct_ipv6_src=2001:db8::7,'))
        self.assertIsNone(conntrack.parse_ovs_connection(''))

    def test_cut_deletes_what_a_judge_refuses(self):
        kept, refused = connection('10.0.0.7', '10.0.0.5'), connection('10.0.0.8', '10.0.0.5')
        deleted = []

        class Tracker:
            def dump(self, zone):
                return [kept, refused] if zone == 3 else []

            def delete(self, zone, connection):
                deleted.append((zone, connection))
        self.assertEqual(1, conntrack.cut(Tracker(), 3, [lambda c: True,
                                                          lambda c: c.src != '10.0.0.8']))
        self.assertEqual([(3, refused)], deleted)


class FakeTracker:
    """A connection tracker on a dict: {zone: [Connection]}."""

    def __init__(self):
        self.zones = {}
        self.dumps = []

    def dump(self, zone):
        self.dumps.append(zone)
        return list(self.zones.get(zone, ()))

    def delete(self, zone, connection):
        self.zones[zone].remove(connection)


class TestLinuxBridgeCut(testtools.TestCase):
    """PORT1 (10.0.0.5) serves udp/5000 and tcp/22 in zone 1 (NET1's bridge)."""

    def setUp(self):
        super().setUp()
        self.tracker = FakeTracker()
        self.fw = nft_firewall.NftFirewall(None, lambda network_id: 'brq' + network_id[:11],
                                           runner=nft_test.FakeNft(), tracker=self.tracker)
        self.rules = [nft_test.rule('egress'), nft_test.rule(protocol=17, low=5000, high=5000),
                      nft_test.rule(protocol=6, low=22, high=22, prefix='10.0.0.0/28')]
        self.info = nft_test.sg_info(list(self.rules))
        self.fw.filter_ports([nft_test.details()], self.info)
        self.udp = connection('10.0.0.7', '10.0.0.5')
        self.ssh = connection('10.0.0.7', '10.0.0.5', protocol=6, sport=40000, dport=22)
        self.elsewhere = connection('10.0.0.8', '10.0.0.9')
        self.tracked = self.tracker.zones[1] = [self.udp, self.ssh, self.elsewhere]

    def update(self, rules):
        self.info['security_groups'][nft_test.SG_WEB]['rules'] = rules
        self.fw.update_security_groups(self.info)

    def test_a_rule_added_or_an_unrelated_one_removed_cuts_nothing(self):
        self.update(self.rules + [nft_test.rule(protocol=6, low=80, high=80)])
        self.update(self.rules)
        self.assertEqual([self.udp, self.ssh, self.elsewhere], self.tracked)

    def test_removing_the_rule_of_a_connection_cuts_it(self):
        egress, udp, ssh = self.rules
        self.update([egress, ssh])
        self.assertEqual([self.ssh, self.elsewhere], self.tracked)
        self.update([egress])
        self.assertEqual([self.elsewhere], self.tracked)
        self.assertEqual([1, 1], self.tracker.dumps)

    def test_a_remote_group_member_removed_loses_its_connections(self):
        self.info['members'] = {'sg-peers': {'IPv4': ['10.0.0.7'], 'IPv6': []}}
        self.update([nft_test.rule(protocol=17, remote_group='sg-peers')])
        self.assertEqual([self.udp, self.elsewhere], self.tracked)
        self.info['members']['sg-peers']['IPv4'] = []
        self.fw.update_security_groups(self.info)
        self.assertEqual([self.elsewhere], self.tracked)

    def test_without_a_tracker_a_fake_nft_touches_no_conntrack(self):
        fw = nft_firewall.NftFirewall(None, str, runner=nft_test.FakeNft())
        self.assertIsNone(fw.tracker)
