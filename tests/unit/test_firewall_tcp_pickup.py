"""A TCP segment that conntrack calls new but that opens nothing, in both filters.

Both conntracks pick a TCP connection up mid-stream: a segment without SYN
(or a SYN+ACK) of no tracked connection is "new".  After a rule removal
cut a connection, the server's next segment (a retransmission) would then
be tracked as a connection the server opened, and the client's packets,
its replies, would pass unjudged.  So a stateful port never takes such a
segment as a new connection (the dataplane:
tests/fullstack/test_security_groups.py,
test_tcp_22_from_one_cidr_and_an_established_session).
"""
import testtools

from naas.agent.l2 import nft_firewall
from naas.agent.l2 import ovs_firewall as fw
from tests.unit import test_ovs_firewall as ovs_test


def rendered(stateful):
    firewall = fw.Firewall()
    firewall.set_groups(ovs_test.sg_info([ovs_test.rule()], stateful=stateful))
    firewall.set_port(ovs_test.details(ovs_test.PORT1))
    return firewall.render({ovs_test.PORT1: fw.Binding(5, 1, False)})


class TestOpenvSwitch(testtools.TestCase):
    def test_stateful_rules_tables_drop_new_tcp_without_syn_or_with_ack(self):
        flows = rendered(stateful=True)
        for table in (fw.EGRESS_RULES, fw.INGRESS_RULES):
            for protocol in ('tcp', 'tcp6'):
                for flags in ('-syn', '+ack'):
                    self.assertEqual('drop', flows[(table, fw.CONNTRACK, 'ct_state=+trk+new,%s,'
                                                    'tcp_flags=%s' % (protocol, flags))])
        # Above the rules, which accept new connections.
        self.assertGreater(fw.CONNTRACK, fw.RULE)

    def test_stateless_ports_track_nothing(self):
        self.assertFalse([key for key in rendered(stateful=False) if 'tcp_flags' in key[2]])


class TestLinuxBridge(testtools.TestCase):
    def test_new_tcp_without_syn_or_with_ack_is_marked_invalid(self):
        rule = [line for line in nft_firewall.base_definitions() if 'tcp flags' in line]
        self.assertEqual(['add rule inet %s ct_state ct state new tcp flags & (syn | ack) != syn '
                          'meta mark set meta mark | 0x%08x' % (nft_firewall.TABLE,
                                                                 nft_firewall.MARK_INVALID)], rule)
        # ... which a stateful port's chains drop, both ways.
        drop = 'meta mark & 0x%08x == 0x%08x drop' % (nft_firewall.MARK_INVALID,
                                                      nft_firewall.MARK_INVALID)
        self.assertIn(drop, nft_firewall.ingress_rules({'security_groups': []}, True, []))
