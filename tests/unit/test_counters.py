"""Port counters without root: the netlink stats decoding, the VM's view,
the addresses counted, the nftables listing and transactions of the Linux
bridge driver, and the agent's statistics pass (batches, failures)."""
import socket
import struct
import threading

import testtools

from naas.agent import agent as agent_mod
from naas.agent.l2 import counters
from naas.agent.l2 import counters_linuxbridge as lbc
from naas.agent.l2 import counters_nft as nft
from naas.agent.l2 import counters_ovs
from naas.agent.l2 import hooks
from naas.host import ip_lib
from naas.rpc import statistics_api

P1 = 'aaaaaaaa-0000-0000-0000-000000000001'
P2 = 'bbbbbbbb-0000-0000-0000-000000000002'
P3 = 'cccccccc-0000-0000-0000-000000000003'
N1 = 'eeeeeeee-0000-0000-0000-00000000000e'


def _newstats(index, stats):
    body = counters._IF_STATS_MSG.pack(0, 0, 0, index, 1)
    if stats:
        body += ip_lib._rtattr(counters.IFLA_STATS_LINK_64,
                               struct.pack('=24Q', *stats, *[0] * 16))
    return body


class TestLinkStats(testtools.TestCase):
    def test_decodes_the_first_eight_counters(self):
        body = _newstats(7, (1, 2, 3, 4, 5, 6, 7, 8))
        self.assertEqual((7, (1, 2, 3, 4, 5, 6, 7, 8)), counters.parse_stats(body, 0, len(body)))

    def test_no_stats_reads_as_zero(self):
        body = _newstats(3, None)
        self.assertEqual((3, (0,) * 8), counters.parse_stats(body, 0, len(body)))

    def test_links_are_named_again_only_when_they_changed(self):
        class Route:
            def __init__(self):
                self.stats = {7: (1, 2, 3, 4, 5, 6, 7, 8), 8: (0,) * 8}
                self.link_dumps = 0

            def dump(self, kind, payload):
                assert kind == counters.RTM_GETSTATS
                out = [_newstats(index, stats) for index, stats in self.stats.items()]
                return [(counters.RTM_NEWSTATS, body, 0, len(body)) for body in out]

            def links(self):
                self.link_dumps += 1
                return [ip_lib.Link(index, 'tap%d' % index, 'veth', 0, 1500, True,
                                    'port-%d' % index, None, None, None, 0)
                        for index in self.stats]
        route = Route()
        reader = counters.LinkCounters.__new__(counters.LinkCounters)
        reader._route, reader._lock, reader._names = route, threading.Lock(), {}
        first = reader.read()
        self.assertEqual([(7, 'tap7', 'port-7', 3), (8, 'tap8', 'port-8', 0)],
                         [(s.index, s.name, s.alias, s.rx_bytes) for s in first])
        reader.read()
        self.assertEqual(1, route.link_dumps)
        route.stats[9] = (0,) * 8               # a VIF plugged
        self.assertEqual(3, len(reader.read()))
        self.assertEqual(2, route.link_dumps)

    def test_the_host_sides_tx_is_what_the_vm_received(self):
        host = counters.LinkStats(7, 'tap', P1, rx_packets=1, tx_packets=2, rx_bytes=10,
                                  tx_bytes=20, rx_errors=3, tx_errors=4, rx_dropped=5,
                                  tx_dropped=6)
        self.assertEqual(hooks.Counters(rx_bytes=20, rx_packets=2, tx_bytes=10, tx_packets=1,
                                        rx_dropped=6, tx_dropped=5, rx_errors=4, tx_errors=3),
                         counters.vm_view(host))


class TestAddresses(testtools.TestCase):
    def test_fixed_ips_and_single_address_pairs(self):
        details = {'port_id': P1, 'mac_address': 'fa:16:3e:00:00:01',
                   'fixed_ips': [{'ip_address': '10.0.0.5'},
                                 {'ip_address': '2001:DB8:0:0::5'}],
                   'allowed_address_pairs': [
                       {'ip_address': '10.0.0.9/32', 'mac_address': 'fa:16:3e:00:00:09'},
                       {'ip_address': '10.1.0.0/24'}, {'ip_address': '10.0.0.10'}]}
        self.assertEqual({'10.0.0.5': 'fa:16:3e:00:00:01', '2001:db8::5': 'fa:16:3e:00:00:01',
                          '10.0.0.9': 'fa:16:3e:00:00:09', '10.0.0.10': 'fa:16:3e:00:00:01'},
                         counters.counted_addresses(details))

    def test_sample_as_a_compact_row(self):
        sample = hooks.PortSample('7', hooks.Counters(*range(8)),
                                  {'10.0.0.5': hooks.AddressCounters(1, 2, 3, 4)})
        row = counters.sample_data(P1, N1, sample)
        self.assertEqual([P1, N1, '7', list(range(8)), {'10.0.0.5': [1, 2, 3, 4]}], row)
        # The order of the RPC's compact rows is the drivers' field order.
        self.assertEqual(statistics_api.COUNTERS, hooks.Counters._fields)
        self.assertEqual(statistics_api.ADDRESS_COUNTERS, hooks.AddressCounters._fields)
        port = statistics_api.expand(row)
        self.assertEqual((P1, N1, '7', 7, 4), (
            port['port_id'], port['network_id'], port['vif'], port['counters']['tx_errors'],
            port['addresses']['10.0.0.5']['tx_packets']))
        self.assertEqual(row, statistics_api.compact(port))


def _element(ifname, address, packets, nbytes):
    """One NFTA_LIST_ELEM as the kernel writes it (counter in NFTA_SET_ELEM_EXPR)."""
    raw = ifname.encode().ljust(nft.IFNAMSIZ, b'\0') + socket.inet_pton(
        socket.AF_INET6 if ':' in address else socket.AF_INET, address)
    key = ip_lib._rtattr(nft.NFTA_SET_ELEM_KEY | 0x8000, ip_lib._rtattr(nft.NFTA_DATA_VALUE, raw))
    counter = (ip_lib._rtattr(nft.NFTA_COUNTER_BYTES, struct.pack('>Q', nbytes))
               + ip_lib._rtattr(nft.NFTA_COUNTER_PACKETS, struct.pack('>Q', packets)))
    expr = ip_lib._rtattr(nft.NFTA_SET_ELEM_EXPR | 0x8000,
                          ip_lib._rtattr(1, b'counter\0')
                          + ip_lib._rtattr(nft.NFTA_EXPR_DATA | 0x8000, counter))
    return ip_lib._rtattr(nft.NFTA_LIST_ELEM | 0x8000, key + expr)


class FakeNft:
    """nft for changes, and the element reader: ``elements`` {set: [(ifname,
    address, packets, bytes)]}, None: no table."""

    def __init__(self, elements=None):
        self.elements = elements
        self.transactions = []

    def __call__(self, args, text=None):
        if args == ['list', 'tables', 'bridge']:
            return 'table bridge naas-stats\n' if self.elements is not None else ''
        if args == ['-f', '-']:
            self.transactions.append(text.splitlines())
            return ''
        raise AssertionError(args)

    def read(self):
        return self.elements


def _counters(fake):
    return lbc.LinuxBridgeCounters(None, None, runner=fake, read_elements=fake.read)


class TestNftElements(testtools.TestCase):
    def test_decodes_a_setelem_dump(self):
        body = (nft._NFGENMSG.pack(nft.BRIDGE.nfproto, 0, 0)
                + ip_lib._rtattr(nft.NFTA_SET_ELEM_LIST_TABLE, b'naas-stats\0')
                + ip_lib._rtattr(nft.NFTA_SET_ELEM_LIST_SET, b'tx6\0')
                + ip_lib._rtattr(nft.NFTA_SET_ELEM_LIST_ELEMENTS | 0x8000,
                                 _element('tapaaaaaaaa-00', '10.0.0.5', 10, 840)
                                 + _element('tapbbbbbbbb-00', '2001:db8::5', 1, 2 ** 40)))
        self.assertEqual([('tapaaaaaaaa-00', '10.0.0.5', 10, 840),
                          ('tapbbbbbbbb-00', '2001:db8::5', 1, 2 ** 40)],
                         nft.parse_elements(body, 0, len(body)))

    def test_elements_read_again_at_their_cached_positions(self):
        """The second dump is read through the layouts the first one cached
        (one per element shape); an element of a known length but another
        shape (its counter's attributes swapped) is parsed in full."""
        def dump(*elements):
            return (nft._NFGENMSG.pack(nft.NETDEV.nfproto, 0, 0)
                    + ip_lib._rtattr(nft.NFTA_SET_ELEM_LIST_ELEMENTS | 0x8000,
                                     b''.join(elements)))
        first = dump(_element('tapaaaaaaaa-00', '10.0.0.5', 1, 100),
                     _element('tapbbbbbbbb-00', '2001:db8::5', 2, 200))
        keys, layouts = {}, {}
        self.assertEqual([('tapaaaaaaaa-00', '10.0.0.5', 1, 100),
                          ('tapbbbbbbbb-00', '2001:db8::5', 2, 200)],
                         nft.parse_elements(first, 0, len(first), keys, layouts))
        self.assertEqual(2, len(layouts))
        swapped = _element('tapcccccccc-00', '10.0.0.7', 5, 500)
        bytes_at = swapped.index(struct.pack('>Q', 500)) - 4
        packets_at = swapped.index(struct.pack('>Q', 5)) - 4
        swapped = (swapped[:bytes_at] + swapped[packets_at:packets_at + 12]
                   + swapped[bytes_at:bytes_at + 12] + swapped[packets_at + 12:])
        second = dump(_element('tapaaaaaaaa-00', '10.0.0.5', 3, 2 ** 40),
                      _element('tapbbbbbbbb-00', '2001:db8::5', 4, 400),
                      _element('tapaaaaaaaa-00', '10.0.0.6', 0, 0), swapped)
        self.assertEqual([('tapaaaaaaaa-00', '10.0.0.5', 3, 2 ** 40),
                          ('tapbbbbbbbb-00', '2001:db8::5', 4, 400),
                          ('tapaaaaaaaa-00', '10.0.0.6', 0, 0),
                          ('tapcccccccc-00', '10.0.0.7', 5, 500)],
                         nft.parse_elements(second, 0, len(second), keys, layouts))
        self.assertEqual(nft.parse_elements(second, 0, len(second)),
                         nft.parse_elements(second, 0, len(second), keys, layouts))

    def test_directions_and_the_ethernet_header(self):
        elements = {'tx4': [('tapaaaaaaaa-00', '10.0.0.5', 10, 840)],
                    'rx4': [('tapaaaaaaaa-00', '10.0.0.5', 3, 300)],
                    'rx6': [('tapaaaaaaaa-00', '2001:db8::5', 1, 100)]}
        netdev = nft.address_counters(elements, nft.NETDEV.header_bytes)['tapaaaaaaaa-00']
        self.assertEqual(hooks.AddressCounters(rx_bytes=300, rx_packets=3, tx_bytes=980,
                                               tx_packets=10), netdev['10.0.0.5'])
        got = nft.address_counters(elements, nft.BRIDGE.header_bytes)['tapaaaaaaaa-00']
        self.assertEqual(hooks.AddressCounters(rx_bytes=342, rx_packets=3, tx_bytes=980,
                                               tx_packets=10), got['10.0.0.5'])
        self.assertEqual(hooks.AddressCounters(114, 1, 0, 0), got['2001:db8::5'])


class TestNftTransactions(testtools.TestCase):
    def _details(self, port_id, *addresses):
        return {'port_id': port_id, 'mac_address': 'fa:16:3e:00:00:01',
                'fixed_ips': [{'ip_address': a} for a in addresses]}

    def test_first_batch_creates_the_table_in_one_transaction(self):
        fake = FakeNft()
        counter = _counters(fake)
        counter.count_addresses([self._details(P1, '10.0.0.5', '2001:db8::5'),
                                 self._details(P2, '10.0.0.6')])
        self.assertEqual(1, len(fake.transactions))
        lines = fake.transactions[0]
        base = nft.base_definitions(nft.BRIDGE)
        self.assertEqual(base, lines[:len(base)])
        self.assertIn('add element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.5 }',
                      lines)
        self.assertIn('add element bridge naas-stats rx6 { "tapaaaaaaaa-00" . 2001:db8::5 }',
                      lines)
        self.assertIn('add element bridge naas-stats rx4 { "tapbbbbbbbb-00" . 10.0.0.6 }',
                      lines)

    def test_changes_touch_only_the_addresses_that_changed(self):
        fake = FakeNft({'tx4': [('tapaaaaaaaa-00', '10.0.0.5', 9, 900),
                               ('tapaaaaaaaa-00', '10.0.0.7', 1, 100)],
                       'rx4': [('tapaaaaaaaa-00', '10.0.0.5', 9, 900),
                               ('tapaaaaaaaa-00', '10.0.0.7', 1, 100)]})
        counter = _counters(fake)
        counter.count_addresses([self._details(P1, '10.0.0.5', '10.0.0.8')])
        lines = [line for line in fake.transactions[0] if 'element' in line]
        self.assertEqual(
            ['delete element bridge naas-stats rx4 { "tapaaaaaaaa-00" . 10.0.0.7 }',
             'delete element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.7 }',
             'add element bridge naas-stats rx4 { "tapaaaaaaaa-00" . 10.0.0.8 }',
             'add element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.8 }'], lines)
        counter.count_addresses([self._details(P1, '10.0.0.5', '10.0.0.8')])
        self.assertEqual(1, len(fake.transactions), 'nothing changed: no transaction')
        counter.uncount_port(P1)
        self.assertEqual(2, len([line for line in fake.transactions[1] if 'delete' in line]))

    def test_a_failed_transaction_reads_the_table_again(self):
        fake = FakeNft()
        counter = _counters(fake)

        def fail(args, text=None):
            if args == ['-f', '-']:
                raise RuntimeError('nft failed')
            return fake(args, text)
        counter.addresses.runner = fail
        self.assertRaises(RuntimeError, counter.count_addresses, [self._details(P1, '10.0.0.5')])
        counter.addresses.runner = fake
        counter.count_addresses([self._details(P1, '10.0.0.5')])
        self.assertIn('add table bridge naas-stats', fake.transactions[0])


class FakeDump:
    def __init__(self, links):
        self.links_now = links

    def read(self):
        return self.links_now


def _link(index, port_id, **stats):
    values = dict.fromkeys(('rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes', 'rx_errors',
                            'tx_errors', 'rx_dropped', 'tx_dropped'), 0)
    values.update(stats)
    return counters.LinkStats(index, 'tap' + port_id[:11], port_id, **values)


class TestLinuxBridgePass(testtools.TestCase):
    def test_one_dump_one_listing_and_a_replug_resets_the_addresses(self):
        fake = FakeNft({'tx4': [('tapaaaaaaaa-00', '10.0.0.5', 2, 200)],
                       'rx4': [('tapaaaaaaaa-00', '10.0.0.5', 1, 100)]})
        counter = _counters(fake)
        counter._dump = FakeDump([_link(7, P1, tx_bytes=500, tx_packets=5),
                                  _link(8, P2), counters.LinkStats(1, 'lo', None, *[0] * 8),
                                  counters.LinkStats(9, 'tapother', P2, *[0] * 8)])
        samples = counter.port_counters([P1, 'cccccccc-not-plugged'])
        self.assertEqual([P1], list(samples))
        self.assertEqual('7', samples[P1].vif)
        self.assertEqual((500, 5), (samples[P1].counters.rx_bytes,
                                    samples[P1].counters.rx_packets))
        self.assertEqual(hooks.AddressCounters(114, 1, 228, 2), samples[P1].addresses['10.0.0.5'])
        self.assertEqual([], fake.transactions)
        counter._dump = FakeDump([_link(11, P1)])       # plugged again
        samples = counter.port_counters([P1])
        self.assertEqual(('11', {}), (samples[P1].vif, samples[P1].addresses))
        self.assertEqual(
            ['delete element bridge naas-stats rx4 { "tapaaaaaaaa-00" . 10.0.0.5 }',
             'delete element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.5 }',
             'add element bridge naas-stats rx4 { "tapaaaaaaaa-00" . 10.0.0.5 }',
             'add element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.5 }'],
            fake.transactions[0])


class CountingDriver(hooks.PortCounters):
    def __init__(self, fail=False):
        self.fail = fail
        self.asked = []
        self.counted = []
        self.uncounted = []

    def port_counters(self, port_ids):
        self.asked.append(sorted(port_ids))
        if self.fail:
            raise OSError('netlink went away')
        return {p: hooks.PortSample('1', hooks.Counters(*[1] * 8), {}) for p in port_ids}

    def count_addresses(self, details):
        self.counted.append([d['port_id'] for d in details])
        if self.fail:
            raise RuntimeError('nft failed')

    def uncount_port(self, port_id):
        self.uncounted.append(port_id)


class FakeStatisticsAPI:
    def __init__(self):
        self.casts = []

    def report_statistics(self, context, collected_at, samples):
        self.casts.append((collected_at, samples))


def _agent(driver, wired=()):
    agent = agent_mod.Agent.__new__(agent_mod.Agent)
    agent.driver = driver
    agent.counters = hooks.of(driver, hooks.PortCounters)
    agent.port_filter = agent.qos = None
    agent.lock = threading.RLock()
    agent.wired = {p: {'port_id': p, 'network_id': N1} for p in wired}
    agent.statistics = FakeStatisticsAPI()
    return agent


class TestAgentStatistics(testtools.TestCase):
    def test_wired_ports_reported_with_one_collection_time(self):
        """Every wired port's sample goes to StatisticsAPI in one call, with
        one collection time (the client casts them in batches:
        tests.unit.test_statistics.TestRPC)."""
        ports = ['port-%04d' % i for i in range(1201)]
        agent = _agent(CountingDriver(), ports)
        agent.report_statistics()
        self.assertEqual([sorted(ports)], agent.driver.asked)
        [(collected_at, rows)] = agent.statistics.casts
        self.assertEqual(sorted(ports), [row[0] for row in rows])
        self.assertEqual(1, rows[0][3][0])     # rx_bytes
        self.assertEqual({N1}, {row[1] for row in rows})

    def test_a_failed_pass_is_logged_not_raised(self):
        agent = _agent(CountingDriver(fail=True), ['p1'])
        agent.report_statistics()
        self.assertEqual([], agent.statistics.casts)

    def test_addresses_counted_after_wiring_and_uncounted_after_unwiring(self):
        driver = CountingDriver(fail=True)
        agent = _agent(driver)
        agent._count_addresses([{'port_id': 'p1'}, {'port_id': 'p2'}])   # logged, not raised
        agent._count_addresses([])
        agent._uncount('p1')
        self.assertEqual(([['p1', 'p2']], ['p1']), (driver.counted, driver.uncounted))


# ---- Open vSwitch ---------------------------------------------------------------

class Atom:
    def __init__(self, value):
        self.value = value


class Datum:
    """python-ovs's Datum as the replica holds it: {Atom: Atom or None}."""

    def __init__(self, value):
        if isinstance(value, dict):
            self.values = {Atom(k): Atom(v) for k, v in value.items()}
        else:
            self.values = {Atom(v): None for v in value}


class Row:
    def __init__(self, name, port_id, ofport, ifindex, **stats):
        self._data = {'name': Datum([name]),
                      'external_ids': Datum({'iface-id': port_id} if port_id else {}),
                      'ofport': Datum([ofport]), 'ifindex': Datum([ifindex]),
                      'statistics': Datum(stats)}

    def plug_again(self, ofport):
        self._data['ofport'] = Datum([ofport])


class FakeOvsdb:
    def __init__(self, *rows):
        self.ovsdb_connection = type('Connection', (), {'lock': threading.Lock()})()
        self.tables = {'Interface': type('Table', (), {'rows': dict(enumerate(rows))})()}


class TestOvsPass(testtools.TestCase):
    def _counter(self, nft_fake, *rows):
        api = FakeOvsdb(*rows)
        return api, counters_ovs.OvsCounters(lambda: api, None, runner=nft_fake,
                                             read_elements=nft_fake.read)

    def test_first_count_makes_the_vifs_chains_in_the_same_transaction(self):
        nft_fake = FakeNft()
        _api, counter = self._counter(nft_fake)
        counter.count_addresses([{'port_id': P1, 'mac_address': 'fa:16:3e:00:00:01',
                                  'fixed_ips': [{'ip_address': '10.0.0.5'}]}])
        lines = nft_fake.transactions[0]
        self.assertIn('add table netdev naas-stats', lines)
        self.assertIn('add chain netdev naas-stats in-tapaaaaaaaa-00 { type filter hook ingress '
                      'device "tapaaaaaaaa-00" priority 0 ; policy accept ; }', lines)
        self.assertIn('add rule netdev naas-stats out-tapaaaaaaaa-00 oifname . ip daddr @rx4',
                      lines)
        self.assertIn('add element netdev naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.5 }', lines)
        counter.uncount_port(P1)
        self.assertIn('delete chain netdev naas-stats in-tapaaaaaaaa-00', nft_fake.transactions[1])

    def test_a_pass_reads_ovsdb_and_the_elements_once(self):
        nft_fake = FakeNft({'tx4': [('tapaaaaaaaa-00', '10.0.0.5', 3, 252)],
                            'rx4': [('tapaaaaaaaa-00', '10.0.0.5', 2, 196)]})
        api, counter = self._counter(
            nft_fake, Row('tapaaaaaaaa-00', P1, 5, 17, rx_bytes=294, rx_packets=3,
                          tx_bytes=500, tx_packets=5, rx_dropped=1),
            Row('tapbbbbbbbb-00', P2, -1, 18), Row('patch-tun', None, 1, 0))
        samples = counter.port_counters([P1, P2])
        self.assertEqual([P1], list(samples))
        sample = samples[P1]
        self.assertEqual('5/17', sample.vif)
        self.assertEqual((500, 5, 294, 3, 1), (sample.counters.rx_bytes, sample.counters.rx_packets,
                                               sample.counters.tx_bytes, sample.counters.tx_packets,
                                               sample.counters.tx_dropped))
        self.assertEqual({'10.0.0.5': hooks.AddressCounters(196, 2, 294, 3)}, sample.addresses)
        self.assertEqual([], nft_fake.transactions)
        api.tables['Interface'].rows[0].plug_again(6)
        sample = counter.port_counters([P1])[P1]
        self.assertEqual(('6/17', {}), (sample.vif, sample.addresses))
        lines = nft_fake.transactions[0]
        self.assertLess(lines.index('delete chain netdev naas-stats in-tapaaaaaaaa-00'),
                        lines.index('add element netdev naas-stats tx4 '
                                    '{ "tapaaaaaaaa-00" . 10.0.0.5 }'))

    def test_the_next_pass_sees_what_the_replica_replaced(self):
        """Columns kept from one pass to the next are decoded again once the
        replica replaced them (new statistics, another port's iface-id, a
        row gone)."""
        api, counter = self._counter(FakeNft(), Row('tapaaaaaaaa-00', P1, 5, 17, rx_bytes=1),
                                     Row('tapbbbbbbbb-00', P2, 6, 18, rx_bytes=2))
        known = {}
        first = counters_ovs.interface_counters(api, {P1, P2}, known)
        self.assertEqual({P1: 1, P2: 2}, {p: link.rx_bytes for p, (_vif, link) in first.items()})
        rows = api.tables['Interface'].rows
        rows[0]._data['statistics'] = Datum({'rx_bytes': 10})
        rows[1]._data['external_ids'] = Datum({'iface-id': P3})
        again = counters_ovs.interface_counters(api, {P1, P2, P3}, known)
        self.assertEqual({P1: ('5/17', 10), P3: ('6/18', 2)},
                         {p: (vif, link.rx_bytes) for p, (vif, link) in again.items()})
        del rows[1]
        counters_ovs.interface_counters(api, {P1, P2, P3}, known)
        self.assertEqual([0], list(known))


class TestNftTableFirst(testtools.TestCase):
    def test_a_pass_before_any_count_does_not_skip_the_table(self):
        fake = FakeNft()                    # no table yet
        counter = _counters(fake)
        counter._dump = FakeDump([_link(7, P1)])
        self.assertEqual({}, counter.port_counters([P1])[P1].addresses)
        counter.count_addresses([{'port_id': P1, 'mac_address': 'fa:16:3e:00:00:01',
                                  'fixed_ips': [{'ip_address': '10.0.0.5'}]}])
        self.assertIn('add table bridge naas-stats', fake.transactions[0])
        counter.count_addresses([{'port_id': P2, 'mac_address': 'fa:16:3e:00:00:02',
                                  'fixed_ips': [{'ip_address': '10.0.0.6'}]}])
        self.assertNotIn('add table bridge naas-stats', fake.transactions[1])
