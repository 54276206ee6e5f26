"""naas.agent.l2.nft_firewall: the nftables text for given port details and
security group information, and what a call changes on the host.

The host is a fake nft (FakeNft) that keeps the tables' chains, sets and
maps from the commands it is given and lists them as ``nft -j list
ruleset`` would; the dataplane itself is tested in
tests/fullstack/test_security_groups.py.
"""
import json
import re

import testtools

from naas.agent.l2 import nft_firewall as nft
from naas.host import vif

PORT1 = '11111111-aaaa-4000-8000-000000000001'
PORT2 = '22222222-aaaa-4000-8000-000000000002'
NET1 = 'aaaaaaaa-0000-4000-8000-000000000001'
NET2 = 'bbbbbbbb-0000-4000-8000-000000000002'
SG_WEB, SG_DB = 'sg-web', 'sg-db'
MAC1 = 'fa:16:3e:00:00:01'


def details(port_id=PORT1, mac=MAC1, ips=('10.0.0.5',), network_id=NET1, **extra):
    d = {'port_id': port_id, 'network_id': network_id, 'mac_address': mac,
         'fixed_ips': [{'subnet_id': 's', 'ip_address': a} for a in ips],
         'device_owner': 'compute:nova', 'port_security_enabled': True,
         'security_groups': [SG_WEB], 'allowed_address_pairs': []}
    d.update(extra)
    return d


def rule(direction='ingress', ethertype='IPv4', protocol=None, low=None, high=None,
         prefix=None, remote_group=None, address_group=None):
    return {'id': 'r', 'direction': direction, 'ethertype': ethertype, 'protocol': protocol,
            'port_range_min': low, 'port_range_max': high, 'remote_ip_prefix': prefix,
            'remote_group_id': remote_group, 'remote_address_group_id': address_group}


def sg_info(rules, stateful=True, members=None, address_groups=None, group=SG_WEB):
    return {'security_groups': {group: {'stateful': stateful, 'rules': rules}},
            'members': members or {}, 'address_groups': address_groups or {}}


class FakeNft:
    """The nft commands plan() writes, applied to a model of the tables."""

    def __init__(self):
        self.tables = set()
        self.chains = {}      # port chain -> [statements]
        self.sets = {}        # name -> set of elements (text)
        self.maps = {'from_vm': {}, 'to_vm': {}, 'zones': {}}
        self.transactions = []   # the text of each nft -f -
        self.fail_next = False

    def __call__(self, args, text=None):
        if args[:1] == ['-j']:
            return json.dumps(self.ruleset())
        self.transactions.append(text)
        if self.fail_next:
            self.fail_next = False
            raise nft.NftError('nft -f - failed: No such file or directory')
        for line in text.splitlines():
            self.apply(line)
        return ''

    def apply(self, line):
        words = line.split()
        verb, what = words[0], words[1]
        if what == 'table':
            (self.tables.add if verb == 'add' else self.tables.discard)(words[2])
            return
        name = words[4]
        items = re.findall(r'[^{},\s][^{},]*', line.partition('{')[2].rpartition('}')[0])
        items = [i.strip() for i in items]
        if what == 'chain' and name.startswith(('vm-', )):
            if verb == 'delete':
                del self.chains[name]
            else:
                self.chains[name] = [] if verb == 'flush' or name not in self.chains \
                    else self.chains[name]
        elif what == 'rule' and name.startswith('vm-'):
            self.chains[name].append(line.split(name + ' ', 1)[1])
        elif what == 'set' and name.startswith(('sg-', 'ag-', 'stateless')):
            if verb == 'delete':
                del self.sets[name]
            elif verb == 'flush' or name not in self.sets:
                self.sets[name] = set()
        elif what == 'map':
            self.maps.setdefault(name, {})
        elif what == 'element':
            target = self.maps.get(name)
            for item in items:
                key, _, value = item.partition(' : ')
                key = key.strip('"')
                if target is None:
                    (self.sets[name].add if verb == 'add' else self.sets[name].remove)(key)
                elif verb == 'add':
                    target[key] = value
                else:
                    del target[key]

    def ruleset(self):
        out = [{'table': {'family': f, 'name': nft.TABLE}} for f in sorted(self.tables)]
        for name, statements in self.chains.items():
            out.append({'chain': {'family': 'bridge', 'table': nft.TABLE, 'name': name}})
            for s in statements:
                comment = re.search(r'comment "(.*)"', s)
                out.append({'rule': {'family': 'bridge', 'table': nft.TABLE, 'chain': name,
                                     'comment': comment.group(1) if comment else None}})
        for name, elements in self.sets.items():
            out.append({'set': {'family': 'bridge', 'table': nft.TABLE, 'name': name,
                                'elem': sorted(elements)}})
        for name, elements in self.maps.items():
            elem = [[k, {'jump': {'target': v.split()[1]}} if v.startswith('jump') else int(v, 0)]
                    for k, v in elements.items()]
            out.append({'map': {'family': 'inet' if name == 'zones' else 'bridge',
                                'table': nft.TABLE, 'name': name, 'elem': elem}})
        return {'nftables': [{'metainfo': {'json_schema_version': 1}}] + out}


class TestPortRules(testtools.TestCase):
    def test_link_local_of_a_mac(self):
        self.assertEqual('fe80::f816:3eff:fe00:1', str(nft.link_local(MAC1)))

    def test_anti_spoofing_out_of_the_vm(self):
        d = details(allowed_address_pairs=[{'ip_address': '10.0.9.0/24',
                                            'mac_address': 'fa:16:3e:00:00:99'}],
                    ips=('10.0.0.5', '2001:db8::5'))
        out = nft.egress_rules(d, True, [])
        macs = ('fa:16:3e:00:00:01', 'fa:16:3e:00:00:99')
        self.assertEqual('ether saddr != %s ether saddr != %s drop' % macs, out[0])
        self.assertIn('meta protocol ip ip saddr != 10.0.0.5 ip saddr != 10.0.9.0/24 drop', out)
        self.assertIn('meta protocol arp arp saddr ip != 0.0.0.0 arp saddr ip != 10.0.0.5 '
                      'arp saddr ip != 10.0.9.0/24 drop', out)
        self.assertIn('meta protocol arp arp saddr ether != %s arp saddr ether != %s drop'
                      % macs, out)
        self.assertIn('meta protocol ip6 ip6 saddr != :: ip6 saddr != 2001:db8::5 '
                      'ip6 saddr != fe80::f816:3eff:fe00:1 '
                      'ip6 saddr != fe80::f816:3eff:fe00:99 drop', out)
        # A neighbour advertisement only for its own addresses.
        self.assertIn('icmpv6 type nd-neighbor-advert @th,64,128 != %s @th,64,128 != %s '
                      '@th,64,128 != %s drop' % (
                          '0x20010db8000000000000000000000005',
                          '0xfe80000000000000f8163efffe000001',
                          '0xfe80000000000000f8163efffe000099'), out)
        # DHCP and router advertisement servers dropped, the DHCP client allowed.
        self.assertIn('meta protocol ip udp sport 67 drop', out)
        self.assertIn('meta protocol ip6 udp sport 547 drop', out)
        self.assertIn('icmpv6 type nd-router-advert drop', out)
        self.assertIn('meta protocol ip udp sport 68 udp dport 67 return', out)
        self.assertIn('meta protocol ip6 udp sport 546 udp dport 547 return', out)
        # Spoofing checks come before anything is let through; the router
        # advertisement drop before the ICMPv6 (131-136) let out.
        self.assertLess(out.index('meta protocol ip ip saddr != 10.0.0.5 ip saddr != '
                                  '10.0.9.0/24 drop'),
                        out.index('meta protocol ip udp sport 68 udp dport 67 return'))
        self.assertLess(out.index('icmpv6 type nd-router-advert drop'),
                        out.index('icmpv6 type 131-136 return'))
        self.assertIn('meta protocol != ip meta protocol != ip6 drop', out)

    def test_dhcp_replies_and_nd_into_the_vm(self):
        out = nft.ingress_rules(details(), True, [])
        self.assertIn('meta protocol ip udp sport 67 udp dport 68 return', out)
        self.assertIn('meta protocol ip6 udp sport 547 udp dport 546 return', out)
        self.assertIn('icmpv6 type 130-136 return', out)    # 134: router advertisements

    def test_security_group_rules(self):
        cases = [
            (rule(protocol=6, low=22, high=22, prefix='192.0.2.0/24'),
             'meta protocol ip ip saddr 192.0.2.0/24 meta l4proto 6 th dport 22 return'),
            (rule(protocol=17, low=1000, high=2000),
             'meta protocol ip meta l4proto 17 th dport 1000-2000 return'),
            (rule(direction='egress', prefix='0.0.0.0/0'), 'meta protocol ip return'),
            (rule(protocol=1, low=8, high=0),
             'meta protocol ip meta l4proto 1 icmp type 8 icmp code 0 return'),
            (rule(ethertype='IPv6', protocol=1, low=128),
             'meta protocol ip6 meta l4proto 58 icmpv6 type 128 return'),
            (rule(protocol=112), 'meta protocol ip meta l4proto 112 return'),
            (rule(remote_group=SG_DB),
             'meta protocol ip ip saddr @sg-sg-db-ipv4 return'),
            (rule(direction='egress', ethertype='IPv6', address_group='ag1'),
             'meta protocol ip6 ip6 daddr @ag-ag1-ipv6 return'),
        ]
        for r, want in cases:
            self.assertEqual(want, nft.rule_statement(r)[0])
        # A prefix of the other IP version never matches: no statement.
        self.assertEqual((None, None), nft.rule_statement(rule(prefix='2001:db8::/64')))

    def test_stateful_and_stateless_groups(self):
        rules = [rule(protocol=6, low=22)]
        stateful = nft.ingress_rules(details(), *nft.port_groups(details(), sg_info(rules)))
        self.assertIn('meta mark & 0x02000000 == 0x02000000 return', stateful)
        self.assertIn('meta mark & 0x04000000 == 0x04000000 drop', stateful)
        stateless = nft.ingress_rules(details(), *nft.port_groups(
            details(), sg_info(rules, stateful=False)))
        self.assertFalse([s for s in stateless if 'mark' in s])
        self.assertEqual('meta protocol ip meta l4proto 6 th dport 22 return', stateless[-1])

    def test_which_ports_are_filtered(self):
        self.assertTrue(nft.is_filtered(details()))
        self.assertFalse(nft.is_filtered(details(port_security_enabled=False)))
        # A network service port never: the core plugin says True when the
        # security-group plugin is not loaded.
        self.assertFalse(nft.is_filtered(details(device_owner='network:router_interface')))
        d = details()
        del d['port_security_enabled']
        self.assertTrue(nft.is_filtered(d))

    def test_without_the_security_group_plugin_anti_spoofing_only(self):
        d = details()
        del d['security_groups']
        self.assertEqual('return', nft.egress_rules(d, True, [])[-1])
        self.assertEqual('return', nft.ingress_rules(d, True, [])[-1])
        # No groups at all: the base rules, then the chain's drop.
        d = details(security_groups=[])
        self.assertEqual('meta mark & 0x02000000 == 0x02000000 return',
                         nft.ingress_rules(d, True, [])[-1])

    def test_many_rules_of_one_shape_are_one_statement_with_a_set(self):
        rules = [rule(protocol=6, low=1000 + i, prefix='10.100.%d.%d/32' % (i // 250, i % 250))
                 for i in range(999)] + [rule(protocol=1, prefix='10.80.0.0/22')]
        out = nft.ingress_rules(details(), True, rules)
        self.assertLess(len(out), 12)
        merged = [s for s in out if '. th dport' in s]
        self.assertEqual(1, len(merged))
        self.assertTrue(merged[0].startswith(
            'meta protocol ip meta l4proto 6 ip saddr . th dport { '))
        elements = merged[0].split('{ ')[1].split(' }')[0].split(', ')
        self.assertEqual({'10.100.%d.%d . %d' % (i // 250, i % 250, 1000 + i)
                          for i in range(999)}, set(elements))
        self.assertEqual(999, len(elements))
        # A rule of another shape keeps its own statement.
        self.assertIn('meta protocol ip ip saddr 10.80.0.0/22 meta l4proto 1 return', out)
        # The same rules in another order: the same set.
        self.assertIn(merged[0], nft.ingress_rules(details(), True, list(reversed(rules))))

    def test_addresses_or_ports_alone_merge_and_overlaps_stay_apart(self):
        rules = [rule(protocol=1, prefix='10.%d.0.0/16' % i) for i in range(4)]
        rules += [rule(protocol=17, low=p, high=p + 5) for p in (100, 200, 300, 400)]
        # Networks one in the other and overlapping ports: kept out of the
        # set (the kernel refuses overlapping elements in a concatenated set).
        rules += [rule(protocol=6, low=p, prefix='192.0.2.%d' % (p % 10)) for p in (21, 22, 23)]
        rules += [rule(protocol=6, low=20, high=30, prefix='192.0.2.1'),
                  rule(protocol=6, low=20, high=30, prefix='192.0.2.0/30'),
                  rule(protocol=6, low=40, prefix='192.0.2.0/24'),
                  rule(protocol=6, low=40, prefix='198.51.100.0/24')]
        out = nft.ingress_rules(details(), False, rules)[-7:]
        self.assertEqual([
            'meta protocol ip ip saddr { 10.0.0.0/16, 10.1.0.0/16, 10.2.0.0/16, 10.3.0.0/16 } '
            'meta l4proto 1 return',
            'meta protocol ip meta l4proto 17 th dport { 100-105, 200-205, 300-305, 400-405 } '
            'return',
            'meta protocol ip meta l4proto 6 ip saddr . th dport { 192.0.2.0/24 . 40, '
            '192.0.2.0/30 . 20-30, 198.51.100.0/24 . 40 } return',
            'meta protocol ip ip saddr 192.0.2.1/32 meta l4proto 6 th dport 20-30 return',
            'meta protocol ip ip saddr 192.0.2.1/32 meta l4proto 6 th dport 21 return',
            'meta protocol ip ip saddr 192.0.2.2/32 meta l4proto 6 th dport 22 return',
            'meta protocol ip ip saddr 192.0.2.3/32 meta l4proto 6 th dport 23 return'], out)
        # Three of a shape: one statement each, as written.
        out = nft.ingress_rules(details(), False, rules[:3])
        self.assertEqual('meta protocol ip ip saddr 10.2.0.0/16 meta l4proto 1 return', out[-1])


class TestFirewall(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.host = FakeNft()
        self.fw = self.make()

    def make(self):
        return nft.NftFirewall(None, lambda network_id: 'brq' + network_id[:11],
                               runner=self.host)

    def test_first_filter_is_one_transaction(self):
        info = sg_info([rule(remote_group=SG_WEB), rule(direction='egress')],
                       members={SG_WEB: {'IPv4': ['10.0.0.5', '10.0.0.6'], 'IPv6': []}})
        self.fw.filter_ports([details(), details(PORT2, ips=('10.0.0.6',))], info)
        self.assertEqual(1, len(self.host.transactions))
        text = self.host.transactions[0]
        self.assertIn('add table bridge naas-fw', text)
        self.assertIn('add table inet naas-fw', text)
        self.assertIn('add chain bridge naas-fw vm-out-%s' % PORT1, text)
        self.assertIn('add rule bridge naas-fw vm-in-%s meta protocol ip ip saddr '
                      '@sg-sg-web-ipv4 return' % PORT1, text)
        self.assertEqual({'10.0.0.5', '10.0.0.6'}, self.host.sets['sg-sg-web-ipv4'])
        self.assertEqual('jump vm-out-%s' % PORT1,
                         self.host.maps['from_vm'][vif.vif_name(PORT1)])
        self.assertEqual('jump vm-in-%s' % PORT2, self.host.maps['to_vm'][vif.vif_name(PORT2)])
        self.assertEqual({'brq' + NET1[:11]: '1'}, self.host.maps['zones'])
        self.assertEqual('drop', self.host.chains['vm-in-' + PORT1][-1])
        self.assertEqual('0x%08x' % nft.digest(self.host.chains['vm-in-' + PORT1][:-1]),
                         self.host.maps['in_digests'][vif.vif_name(PORT1)])
        # The same again changes nothing: no transaction.
        self.fw.filter_ports([details(), details(PORT2, ips=('10.0.0.6',))], info)
        self.assertEqual(1, len(self.host.transactions))

    def test_a_new_member_is_one_set_element(self):
        info = sg_info([rule(remote_group=SG_WEB)],
                       members={SG_WEB: {'IPv4': ['10.0.0.5'], 'IPv6': []}})
        self.fw.filter_ports([details()], info)
        info['members'][SG_WEB]['IPv4'].append('10.0.0.7')
        self.fw.update_security_groups(info)
        self.assertEqual('add element bridge naas-fw sg-sg-web-ipv4 { 10.0.0.7 }\n',
                         self.host.transactions[-1])
        info['members'][SG_WEB]['IPv4'].remove('10.0.0.5')
        self.fw.update_security_groups(info)
        self.assertEqual('delete element bridge naas-fw sg-sg-web-ipv4 { 10.0.0.5 }\n',
                         self.host.transactions[-1])

    def test_a_rule_change_rewrites_only_the_chains_it_changes(self):
        self.fw.filter_ports([details()], sg_info([rule(protocol=6, low=22)]))
        self.fw.update_security_groups(sg_info([rule(protocol=6, low=22),
                                                rule(protocol=6, low=80)]))
        text = self.host.transactions[-1]
        self.assertTrue(text.startswith('flush chain bridge naas-fw vm-in-%s\n' % PORT1))
        self.assertNotIn('vm-out-', text)
        self.assertIn('th dport 80 return', text)

    def test_a_port_with_1000_rules_is_a_short_transaction(self):
        rules = [rule(protocol=6, low=1000 + i, prefix='10.100.%d.%d/32' % (i // 250, i % 250))
                 for i in range(1000)]
        self.fw.filter_ports([details()], sg_info(rules))
        self.assertEqual(1, len(self.host.transactions))
        self.assertLess(len(self.host.transactions[0].splitlines()), 80)
        # A second port of the group: its own chains, no rule rendered again.
        rendered = nft._rule_form.cache_info().misses
        self.fw.filter_ports([details(PORT2, ips=('10.0.0.6',))], sg_info(rules))
        self.assertEqual(rendered, nft._rule_form.cache_info().misses)
        self.assertEqual(self.host.chains['vm-in-' + PORT1], self.host.chains['vm-in-' + PORT2])

    def test_restart_keeps_chains_that_are_right(self):
        info = sg_info([rule(protocol=6, low=22)])
        self.fw.filter_ports([details(), details(PORT2)], info)
        chains = dict(self.host.chains)
        again = self.make()
        again.reconcile_filters([details()], info)
        text = self.host.transactions[-1]
        # The base chains are written again (flush and fill, one transaction);
        # PORT1's chains are kept; PORT2's (not wanted) go.
        self.assertIn('flush chain bridge naas-fw forward', text)
        self.assertNotIn('vm-in-%s' % PORT1, text)
        self.assertIn('delete element bridge naas-fw from_vm { "%s" }' % vif.vif_name(PORT2),
                      text)
        self.assertIn('delete chain bridge naas-fw vm-in-%s' % PORT2, text)
        self.assertEqual(chains['vm-in-' + PORT1], self.host.chains['vm-in-' + PORT1])
        self.assertNotIn('vm-in-' + PORT2, self.host.chains)

    def test_unfilter_and_port_security_off_remove_the_chains_and_unused_sets(self):
        info = sg_info([rule(remote_group=SG_DB)], members={SG_DB: {'IPv4': ['10.1.0.1']}})
        self.fw.filter_ports([details(), details(PORT2)], info)
        self.fw.filter_ports([details(PORT2, port_security_enabled=False)], info)
        self.assertNotIn('vm-in-' + PORT2, self.host.chains)
        self.assertIn('sg-sg-db-ipv4', self.host.sets)
        self.fw.unfilter_port(PORT1)
        self.assertEqual({}, self.host.chains)
        self.assertNotIn('sg-sg-db-ipv4', self.host.sets)
        self.assertEqual({}, self.host.maps['from_vm'])
        self.assertEqual({}, self.host.maps['zones'])

    def test_stateless_ports_are_not_tracked(self):
        self.fw.filter_ports([details()], sg_info([rule()], stateful=False))
        self.assertEqual({vif.vif_name(PORT1)}, self.host.sets['stateless_vifs'])
        self.assertEqual({MAC1}, self.host.sets['stateless_macs'])

    def test_a_zone_per_network(self):
        self.fw.filter_ports([details(), details(PORT2, network_id=NET2)], sg_info([]))
        self.assertEqual({'brq' + NET1[:11]: '1', 'brq' + NET2[:11]: '2'},
                         self.host.maps['zones'])

    def test_a_failed_transaction_is_retried_in_full_then_raises(self):
        self.host.fail_next = True
        self.fw.filter_ports([details()], sg_info([]))
        self.assertEqual(2, len(self.host.transactions))
        self.assertIn('vm-in-' + PORT1, self.host.chains)
        self.host.fail_next = True
        self.fw.filter_ports([details(PORT2)], sg_info([]))
        self.assertIn('flush chain bridge naas-fw vm-in-%s' % PORT1, self.host.transactions[-1])

        def broken(args, text=None):
            if args[:1] == ['-j']:
                return '{}'
            raise nft.NftError('nft: no')
        self.fw.runner = broken
        self.assertRaises(nft.NftError, self.fw.filter_ports,
                          [details('33333333-0000-4000-8000-000000000003')], sg_info([]))
