"""Port counters without root: the netlink stats decoding, the VM's view,
the addresses counted, the nftables listing and transactions of the Linux
bridge driver, and the agent's statistics pass (batches, failures)."""
import json
import struct
import threading

import testtools

from naas.agent import agent as agent_mod
from naas.agent.l2 import counters
from naas.agent.l2 import counters_linuxbridge as lbc
from naas.agent.l2 import hooks
from naas.host import ip_lib

P1 = 'aaaaaaaa-0000-0000-0000-000000000001'
P2 = 'bbbbbbbb-0000-0000-0000-000000000002'


def _newlink(index, name, alias, stats):
    body = ip_lib._IFINFOMSG.pack(0, 1, index, 0, 0)
    body += ip_lib._rtattr(ip_lib.IFLA_IFNAME, name.encode() + b'\0')
    body += ip_lib._rtattr(ip_lib.IFLA_MTU, struct.pack('=I', 1500))
    if alias:
        body += ip_lib._rtattr(ip_lib.IFLA_IFALIAS, alias.encode() + b'\0')
    if stats:
        body += ip_lib._rtattr(counters.IFLA_STATS64, struct.pack('=24Q', *stats, *[0] * 16))
    return body


class TestLinkStats(testtools.TestCase):
    def test_decodes_name_alias_and_the_first_eight_counters(self):
        body = _newlink(7, 'tapaaaaaaaa-00', P1, (1, 2, 3, 4, 5, 6, 7, 8))
        link = counters.parse_link_stats(body, 0, len(body))
        self.assertEqual((7, 'tapaaaaaaaa-00', P1), (link.index, link.name, link.alias))
        self.assertEqual((1, 2, 3, 4, 5, 6, 7, 8),
                         (link.rx_packets, link.tx_packets, link.rx_bytes, link.tx_bytes,
                          link.rx_errors, link.tx_errors, link.rx_dropped, link.tx_dropped))

    def test_no_stats_reads_as_zero(self):
        body = _newlink(3, 'lo', None, None)
        link = counters.parse_link_stats(body, 0, len(body))
        self.assertEqual((None, 0, 0), (link.alias, link.rx_bytes, link.tx_packets))

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

    def test_sample_as_plain_data(self):
        sample = hooks.PortSample('7', hooks.Counters(*range(8)),
                                  {'10.0.0.5': hooks.AddressCounters(1, 2, 3, 4)})
        data = counters.sample_data(P1, sample)
        self.assertEqual({'port_id': P1, 'vif': '7'}, {k: data[k] for k in ('port_id', 'vif')})
        self.assertEqual(7, data['counters']['tx_errors'])
        self.assertEqual({'rx_bytes': 1, 'rx_packets': 2, 'tx_bytes': 3, 'tx_packets': 4},
                         data['addresses']['10.0.0.5'])


def _listing(elements):
    """``nft -j list table`` output: elements {set: [(ifname, addr, pkts, bytes)]}."""
    items = [{'metainfo': {}}, {'table': {'family': 'bridge', 'name': 'naas-stats'}}]
    for name, elems in elements.items():
        items.append({'set': {'family': 'bridge', 'name': name, 'table': 'naas-stats',
                              'elem': [{'elem': {'val': {'concat': [ifname, address]},
                                                 'counter': {'packets': p, 'bytes': b}}}
                                       for ifname, address, p, b in elems]}})
    return json.dumps({'nftables': items})


class FakeNft:
    def __init__(self, listing=None):
        self.listing = listing
        self.transactions = []

    def __call__(self, args, text=None):
        if args == ['list', 'tables', 'bridge']:
            return 'table bridge naas-stats\n' if self.listing is not None else ''
        if args[:3] == ['-j', 'list', 'table']:
            return self.listing
        if args == ['-f', '-']:
            self.transactions.append(text.splitlines())
            return ''
        raise AssertionError(args)


class TestNftListing(testtools.TestCase):
    def test_directions_and_the_ethernet_header(self):
        text = _listing({'tx4': [('tapaaaaaaaa-00', '10.0.0.5', 10, 840)],
                         'rx4': [('tapaaaaaaaa-00', '10.0.0.5', 3, 300)],
                         'rx6': [('tapaaaaaaaa-00', '2001:db8::5', 1, 100)]})
        got = lbc.parse_listing(text)['tapaaaaaaaa-00']
        self.assertEqual(hooks.AddressCounters(rx_bytes=342, rx_packets=3, tx_bytes=980,
                                               tx_packets=10), got['10.0.0.5'])
        self.assertEqual(hooks.AddressCounters(114, 1, 0, 0), got['2001:db8::5'])


class TestNftTransactions(testtools.TestCase):
    def _details(self, port_id, *addresses):
        return {'port_id': port_id, 'mac_address': 'fa:16:3e:00:00:01',
                'fixed_ips': [{'ip_address': a} for a in addresses]}

    def test_first_batch_creates_the_table_in_one_transaction(self):
        nft = FakeNft()
        counter = lbc.LinuxBridgeCounters(None, None, runner=nft)
        counter.count_addresses([self._details(P1, '10.0.0.5', '2001:db8::5'),
                                 self._details(P2, '10.0.0.6')])
        self.assertEqual(1, len(nft.transactions))
        lines = nft.transactions[0]
        self.assertEqual(lbc.base_definitions(), lines[:len(lbc.base_definitions())])
        self.assertIn('add element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.5 }',
                      lines)
        self.assertIn('add element bridge naas-stats rx6 { "tapaaaaaaaa-00" . 2001:db8::5 }',
                      lines)
        self.assertIn('add element bridge naas-stats rx4 { "tapbbbbbbbb-00" . 10.0.0.6 }',
                      lines)

    def test_changes_touch_only_the_addresses_that_changed(self):
        nft = FakeNft(_listing({'tx4': [('tapaaaaaaaa-00', '10.0.0.5', 9, 900),
                                        ('tapaaaaaaaa-00', '10.0.0.7', 1, 100)],
                                'rx4': [('tapaaaaaaaa-00', '10.0.0.5', 9, 900),
                                        ('tapaaaaaaaa-00', '10.0.0.7', 1, 100)]}))
        counter = lbc.LinuxBridgeCounters(None, None, runner=nft)
        counter.count_addresses([self._details(P1, '10.0.0.5', '10.0.0.8')])
        lines = [line for line in nft.transactions[0] if 'element' in line]
        self.assertEqual(
            ['delete element bridge naas-stats rx4 { "tapaaaaaaaa-00" . 10.0.0.7 }',
             'delete element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.7 }',
             'add element bridge naas-stats rx4 { "tapaaaaaaaa-00" . 10.0.0.8 }',
             'add element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.8 }'], lines)
        counter.count_addresses([self._details(P1, '10.0.0.5', '10.0.0.8')])
        self.assertEqual(1, len(nft.transactions), 'nothing changed: no transaction')
        counter.uncount_port(P1)
        self.assertEqual(2, len([line for line in nft.transactions[1] if 'delete' in line]))

    def test_a_failed_transaction_reads_the_table_again(self):
        nft = FakeNft()
        counter = lbc.LinuxBridgeCounters(None, None, runner=nft)

        def fail(args, text=None):
            if args == ['-f', '-']:
                raise RuntimeError('nft failed')
            return nft(args, text)
        counter.runner = fail
        self.assertRaises(RuntimeError, counter.count_addresses, [self._details(P1, '10.0.0.5')])
        counter.runner = nft
        counter.count_addresses([self._details(P1, '10.0.0.5')])
        self.assertIn('add table bridge naas-stats', nft.transactions[0])


class FakeDump:
    def __init__(self, links):
        self.links_now = links

    def links(self):
        return self.links_now


def _link(index, port_id, **stats):
    values = dict.fromkeys(('rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes', 'rx_errors',
                            'tx_errors', 'rx_dropped', 'tx_dropped'), 0)
    values.update(stats)
    return counters.LinkStats(index, 'tap' + port_id[:11], port_id, **values)


class TestLinuxBridgePass(testtools.TestCase):
    def test_one_dump_one_listing_and_a_replug_resets_the_addresses(self):
        nft = FakeNft(_listing({'tx4': [('tapaaaaaaaa-00', '10.0.0.5', 2, 200)],
                                'rx4': [('tapaaaaaaaa-00', '10.0.0.5', 1, 100)]}))
        counter = lbc.LinuxBridgeCounters(None, None, runner=nft)
        counter._dump = FakeDump([_link(7, P1, tx_bytes=500, tx_packets=5),
                                  _link(8, P2), counters.LinkStats(1, 'lo', None, *[0] * 8),
                                  counters.LinkStats(9, 'tapother', P2, *[0] * 8)])
        samples = counter.port_counters([P1, 'cccccccc-not-plugged'])
        self.assertEqual([P1], list(samples))
        self.assertEqual('7', samples[P1].vif)
        self.assertEqual((500, 5), (samples[P1].counters.rx_bytes,
                                    samples[P1].counters.rx_packets))
        self.assertEqual(hooks.AddressCounters(114, 1, 228, 2), samples[P1].addresses['10.0.0.5'])
        self.assertEqual([], nft.transactions)
        counter._dump = FakeDump([_link(11, P1)])       # plugged again
        samples = counter.port_counters([P1])
        self.assertEqual(('11', {}), (samples[P1].vif, samples[P1].addresses))
        self.assertEqual(
            ['delete element bridge naas-stats rx4 { "tapaaaaaaaa-00" . 10.0.0.5 }',
             'delete element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.5 }',
             'add element bridge naas-stats rx4 { "tapaaaaaaaa-00" . 10.0.0.5 }',
             'add element bridge naas-stats tx4 { "tapaaaaaaaa-00" . 10.0.0.5 }'],
            nft.transactions[0])


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

    def report_statistics(self, context, collected_at, ports):
        self.casts.append((collected_at, ports))


def _agent(driver, wired=()):
    agent = agent_mod.Agent.__new__(agent_mod.Agent)
    agent.driver = driver
    agent.counters = hooks.of(driver, hooks.PortCounters)
    agent.port_filter = agent.qos = None
    agent.lock = threading.RLock()
    agent.wired = {p: {'port_id': p} for p in wired}
    agent.statistics = FakeStatisticsAPI()
    return agent


class TestAgentStatistics(testtools.TestCase):
    def test_wired_ports_in_batches_with_one_collection_time(self):
        ports = ['port-%04d' % i for i in range(1201)]
        agent = _agent(CountingDriver(), ports)
        agent.report_statistics()
        self.assertEqual([sorted(ports)], agent.driver.asked)
        self.assertEqual([500, 500, 201], [len(p) for _, p in agent.statistics.casts])
        self.assertEqual(1, len({at for at, _ in agent.statistics.casts}))
        sent = [port['port_id'] for _, batch in agent.statistics.casts for port in batch]
        self.assertEqual(sorted(ports), sent)
        self.assertEqual(1, agent.statistics.casts[0][1][0]['counters']['rx_bytes'])

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
