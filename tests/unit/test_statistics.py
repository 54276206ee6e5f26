"""The statistics extension (naas.plugins.statistics): the agents' samples
stored through the plugin's RPC handler, and what the API shows of them
through the real WSGI stack.

Totals only grow: across a VIF re-plug (another ``vif``), a counter reset
(the same ``vif``, lower counters: a driver that lost its counters) and a
port moving host; samples of a port bound elsewhere or older than the
stored one are ignored.  Another project sees 404; a network's figures are
its ports' sums; rates are over the last interval.
"""
import base64
import re
import threading
import time
import uuid

import fixtures
import oslo_messaging as messaging
from prometheus_client import exposition as prometheus_exposition
from prometheus_client import parser as prometheus_parser
from prometheus_client import registry as prometheus_registry
from oslo_messaging.notify import _impl_test as test_notifications
import sqlalchemy as sa
import testtools
import webob

from naas import rpc
from naas.api import metrics
from naas.common import context as naas_context
from naas.conf import CONF
from naas.db import api as db_api
from naas.plugins import manager as plugin_manager
from naas.plugins.statistics import models
from naas.plugins.statistics import port_statistics
from naas.plugins.statistics import samples
from naas.rpc import statistics_api
from tests.fixtures import app
from tests.unit import test_qos

T0 = 1_800_000_000.0


def counters(rx_bytes=0, rx_packets=0, tx_bytes=0, tx_packets=0, rx_dropped=0, tx_dropped=0,
             rx_errors=0, tx_errors=0):
    return {'rx_bytes': rx_bytes, 'rx_packets': rx_packets, 'tx_bytes': tx_bytes,
            'tx_packets': tx_packets, 'rx_dropped': rx_dropped, 'tx_dropped': tx_dropped,
            'rx_errors': rx_errors, 'tx_errors': tx_errors}


def sample(port_id, vif='7', addresses=None, **values):
    return {'port_id': port_id, 'vif': vif, 'counters': counters(**values),
            'addresses': addresses or {}}


class StatisticsTestCase(testtools.TestCase):

    #: The form report() sends the samples in, through the RPC endpoint:
    #: groups by network packed in a string (1.4), compact rows packed (1.3)
    #: or as a list (1.2), dicts naming each port's network (1.1), dicts
    #: without (1.0).
    RPC_VERSION = '1.4'

    def db_url(self):
        """The database of a test (tests.functional.test_statistics_databases:
        a real PostgreSQL's or MariaDB's)."""
        return 'sqlite://'

    def setUp(self):
        super().setUp()
        self.network_of = {}
        self.api = self.useFixture(app.APIFixture(db_url=self.db_url(),
                                                  service_plugins=['statistics'],
                                                  agent_down_time=30))
        self.plugin = plugin_manager.get_manager().services['statistics']
        for host in ('h1', 'h2'):
            test_qos.register_agent(host, [])
        self.network = self.call('POST', '/networks', {'network': {}}, 201)['network']
        self.call('POST', '/subnets', {'subnet': {
            'network_id': self.network['id'], 'ip_version': 4, 'cidr': '10.0.0.0/24'}}, 201)

    def call(self, method, path, body=None, expect=None, project='pa', roles='member'):
        status, data, _ = self.api.call(method, '/v2.0' + path, body, project=project,
                                        roles=roles)
        if expect is not None:
            self.assertEqual(expect, status, data)
        return data

    def port(self, host='h1', network=None, project='pa', **attrs):
        """A port of ``project`` bound to ``host`` (an administrator binds it)."""
        body = dict(attrs, network_id=(network or self.network)['id'], project_id=project)
        if host:
            body['binding:host_id'] = host
        port = self.call('POST', '/ports', {'port': body}, 201, roles='admin')['port']
        self.network_of[port['id']] = port['network_id']
        return port

    def override(self, **options):
        for name, value in options.items():
            CONF.set_override(name, value, group='statistics')
            self.addCleanup(CONF.clear_override, name, group='statistics')

    @property
    def NAME_NETWORKS(self):
        return self.RPC_VERSION != '1.0'

    def report(self, host, collected_at, *samples):
        """Send ``samples`` (dicts of sample()) through the RPC endpoint, in
        the form of RPC_VERSION."""
        if self.NAME_NETWORKS:
            samples = [dict(sample, network_id=self.network_of.get(
                sample['port_id'], self.network['id'])) for sample in samples]
        endpoint = statistics_api.StatisticsEndpoint(self.plugin)
        rows = [statistics_api.compact(sample) for sample in samples]
        if self.RPC_VERSION == '1.4':
            return endpoint.report_statistics(
                {}, host, collected_at, groups=statistics_api.pack(statistics_api.grouped(rows)))
        if self.RPC_VERSION == '1.3':
            return endpoint.report_statistics({}, host, collected_at,
                                              packed=statistics_api.pack(rows))
        if self.RPC_VERSION == '1.2':
            return endpoint.report_statistics({}, host, collected_at, samples=rows)
        return endpoint.report_statistics({}, host, collected_at, ports=list(samples))

    def report_rows(self, host, collected_at, *samples):
        """Send ``samples`` as compact rows, as they are (network_id included)."""
        return self.plugin.report_statistics(host, collected_at, statistics_api.grouped([
            statistics_api.compact(sample) for sample in samples]))

    def stats(self, port_id, **kwargs):
        return self.call('GET', '/port-statistics/' + port_id, None, 200,
                         **kwargs)['port_statistic']

    def count(self, table):
        return db_api.retry(lambda ctx: ctx.connection.execute(
            sa.select(sa.func.count()).select_from(table)).scalar(),
            naas_context.get_admin_context())

    def entries(self, host, network=None):
        """The entries of host's samples row of the network."""
        table = models.port_statistics_samples
        return port_statistics.loads(db_api.retry(lambda ctx: ctx.connection.execute(
            sa.select(table.c.samples).where(
                table.c.host == host,
                table.c.network_id == (network or self.network)['id'])).scalar(),
            naas_context.get_admin_context()))


class TestPortStatistics(StatisticsTestCase):

    def test_port_never_reported_has_zero_counters(self):
        port = self.port()
        stats = self.stats(port['id'])
        self.assertIsNone(stats['collected_at'])
        self.assertEqual(counters(), {k: stats[k] for k in counters()})
        self.assertEqual(0.0, stats['rx_bytes_rate'])
        self.assertEqual([], stats['addresses'])
        self.assertEqual({'id': port['id'], 'port_id': port['id'],
                          'network_id': self.network['id'], 'project_id': 'pa',
                          'device_id': '', 'device_owner': ''},
                         {k: stats[k] for k in ('id', 'port_id', 'network_id', 'project_id',
                                                'device_id', 'device_owner')})

    def test_sample_is_shown_with_its_time_and_addresses(self):
        port = self.port()
        ip = port['fixed_ips'][0]['ip_address']
        self.assertEqual(1, self.report('h1', T0, sample(
            port['id'], rx_bytes=1000, rx_packets=10, tx_bytes=500, tx_packets=5, rx_dropped=1,
            tx_dropped=2, rx_errors=3, tx_errors=4,
            addresses={ip: {'rx_bytes': 900, 'rx_packets': 9, 'tx_bytes': 400,
                            'tx_packets': 4}})))
        stats = self.stats(port['id'])
        self.assertEqual(counters(1000, 10, 500, 5, 1, 2, 3, 4),
                         {k: stats[k] for k in counters()})
        self.assertEqual('2027-01-15T08:00:00.000000Z', stats['collected_at'])
        self.assertEqual([{'ip_address': ip, 'rx_bytes': 900, 'rx_packets': 9,
                           'tx_bytes': 400, 'tx_packets': 4}], stats['addresses'])

    def test_rates_over_the_last_interval(self):
        port = self.port()
        self.report('h1', T0, sample(port['id'], rx_bytes=1000, tx_bytes=0, rx_packets=10))
        self.report('h1', T0 + 10, sample(port['id'], rx_bytes=21000, tx_bytes=5000,
                                          rx_packets=110, tx_packets=50))
        stats = self.stats(port['id'])
        self.assertEqual({'rx_bytes_rate': 2000.0, 'tx_bytes_rate': 500.0,
                          'rx_packets_rate': 10.0, 'tx_packets_rate': 5.0},
                         {k: stats[k] for k in ('rx_bytes_rate', 'tx_bytes_rate',
                                                'rx_packets_rate', 'tx_packets_rate')})

    def test_monotonic_across_a_vif_change(self):
        port = self.port()
        self.report('h1', T0, sample(port['id'], vif='7', rx_bytes=5000, tx_packets=40))
        # Plugged again: a new VIF counting from 0, here already past 0.
        self.report('h1', T0 + 10, sample(port['id'], vif='9', rx_bytes=6000, tx_packets=1))
        stats = self.stats(port['id'])
        self.assertEqual((11000, 41), (stats['rx_bytes'], stats['tx_packets']))
        self.assertEqual(600.0, stats['rx_bytes_rate'])
        self.report('h1', T0 + 20, sample(port['id'], vif='9', rx_bytes=7000, tx_packets=2))
        stats = self.stats(port['id'])
        self.assertEqual((12000, 42), (stats['rx_bytes'], stats['tx_packets']))

    def test_monotonic_across_a_counter_reset(self):
        port = self.port()
        ip = port['fixed_ips'][0]['ip_address']
        self.report('h1', T0, sample(port['id'], rx_bytes=5000, tx_bytes=300, addresses={
            ip: {'rx_bytes': 4000, 'rx_packets': 4, 'tx_bytes': 300, 'tx_packets': 3}}))
        # Same VIF, lower counters: they were reset (an address's too).
        self.report('h1', T0 + 10, sample(port['id'], rx_bytes=100, tx_bytes=900, addresses={
            ip: {'rx_bytes': 50, 'rx_packets': 1, 'tx_bytes': 10, 'tx_packets': 1}}))
        stats = self.stats(port['id'])
        self.assertEqual((5100, 1200), (stats['rx_bytes'], stats['tx_bytes']))
        self.assertEqual([{'ip_address': ip, 'rx_bytes': 4050, 'rx_packets': 5,
                           'tx_bytes': 310, 'tx_packets': 4}], stats['addresses'])

    def test_address_counters_survive_a_vif_change(self):
        # The drivers keep an address's counters across re-plugs: a new vif
        # with higher address counters is not a reset of the address.
        port = self.port()
        ip = port['fixed_ips'][0]['ip_address']
        self.report('h1', T0, sample(port['id'], vif='7', rx_bytes=10, addresses={
            ip: {'rx_bytes': 100, 'rx_packets': 1, 'tx_bytes': 0, 'tx_packets': 0}}))
        self.report('h1', T0 + 10, sample(port['id'], vif='8', rx_bytes=5, addresses={
            ip: {'rx_bytes': 150, 'rx_packets': 2, 'tx_bytes': 0, 'tx_packets': 0}}))
        stats = self.stats(port['id'])
        self.assertEqual(15, stats['rx_bytes'])
        self.assertEqual(150, stats['addresses'][0]['rx_bytes'])

    def test_monotonic_across_a_host_move(self):
        port = self.port(host='h1')
        self.report('h1', T0, sample(port['id'], vif='7', rx_bytes=5000))
        self.call('PUT', '/ports/' + port['id'], {'port': {'binding:host_id': 'h2'}}, 200,
                  roles='admin')
        # The old host's late samples: an agent of RPC 1.1 names the port's
        # network, and they count until the new host reports the port (its
        # entry is still in the old host's row); a 1.0 agent's are checked
        # against the binding and ignored.
        late = self.report('h1', T0 + 10, sample(port['id'], vif='7', rx_bytes=9000))
        self.assertEqual(1 if self.NAME_NETWORKS else 0, late)
        # The new host's VIF happens to have the same identity: still a new VIF.
        self.report('h2', T0 + 20, sample(port['id'], vif='7', rx_bytes=6000))
        stats = self.stats(port['id'], roles='admin')
        self.assertEqual(6000 + (9000 if late else 5000), stats['rx_bytes'])
        self.assertEqual('h2', stats['host'])

    def test_unbound_port_and_unknown_port_are_ignored(self):
        unbound = self.port(host=None)
        self.assertEqual(0, self.report('h1', T0, sample(unbound['id'], rx_bytes=1),
                                        sample(str(uuid.uuid4()), rx_bytes=1)))
        self.assertIsNone(self.stats(unbound['id'])['collected_at'])

    def test_older_or_repeated_sample_is_ignored(self):
        port = self.port()
        self.report('h1', T0 + 10, sample(port['id'], rx_bytes=5000))
        self.assertEqual(0, self.report('h1', T0 + 10, sample(port['id'], rx_bytes=5000)))
        self.assertEqual(0, self.report('h1', T0, sample(port['id'], rx_bytes=4000)))
        self.assertEqual(5000, self.stats(port['id'])['rx_bytes'])

    def test_removed_address_is_no_longer_shown(self):
        port = self.port()
        ip = port['fixed_ips'][0]['ip_address']
        zero = {'rx_bytes': 0, 'rx_packets': 0, 'tx_bytes': 0, 'tx_packets': 0}
        self.report('h1', T0, sample(port['id'], addresses={ip: zero, '10.0.0.200': zero}))
        self.assertEqual(2, len(self.stats(port['id'])['addresses']))
        self.report('h1', T0 + 10, sample(port['id'], addresses={ip: zero}))
        self.assertEqual([ip], [a['ip_address'] for a in self.stats(port['id'])['addresses']])

    def test_address_removed_after_intervals_with_the_same_addresses(self):
        """Gone addresses are looked for only when a sample names other
        addresses than the one before: intervals with the same ones keep
        them all, the first without one removes it."""
        port = self.port()
        ip = port['fixed_ips'][0]['ip_address']
        pair = {'rx_bytes': 5, 'rx_packets': 1, 'tx_bytes': 0, 'tx_packets': 0}
        both = {ip: pair, '10.0.0.200': pair}
        for step in range(3):
            self.report('h1', T0 + 10 * step, sample(port['id'], addresses=both))
        self.assertEqual(sorted([ip, '10.0.0.200']),
                         [a['ip_address'] for a in self.stats(port['id'])['addresses']])
        self.report('h1', T0 + 30, sample(port['id'], addresses={'10.0.0.200': pair}))
        self.report('h1', T0 + 40, sample(port['id'], addresses={'10.0.0.200': pair}))
        self.assertEqual(['10.0.0.200'],
                         [a['ip_address'] for a in self.stats(port['id'])['addresses']])

    def test_batch_of_many_ports(self):
        ports = [self.port() for _ in range(3)]
        self.assertEqual(3, self.report('h1', T0, *[
            sample(port['id'], rx_bytes=100 * i) for i, port in enumerate(ports)]))
        listed = self.call('GET', '/port-statistics?network_id=' + self.network['id'], None,
                           200)['port_statistics']
        self.assertEqual(sorted((p['id'], 100 * i) for i, p in enumerate(ports)),
                         sorted((s['port_id'], s['rx_bytes']) for s in listed))

    def test_one_batch_over_several_chunks_applies_each_rule(self):
        """The upserts run per chunk of ports (here 2): in one batch a port
        seen for the first time, a new VIF, a counter reset, an older sample
        than stored, a port of another host and an address dropped each
        give what the rules say."""
        self.useFixture(fixtures.MockPatch('naas.db.common.CHUNK', 2))
        fresh, replugged, reset, late, moved = [self.port() for _ in range(5)]
        other_host = self.port(host='h2')
        ip = reset['fixed_ips'][0]['ip_address']
        address = {'rx_bytes': 70, 'rx_packets': 7, 'tx_bytes': 0, 'tx_packets': 0}
        self.report('h1', T0, *[sample(port['id'], rx_bytes=1000, addresses={ip: address})
                                for port in (replugged, reset, moved)])
        self.report('h1', T0 + 20, sample(late['id'], rx_bytes=500))
        self.call('PUT', '/ports/' + moved['id'], {'port': {'binding:host_id': 'h2'}}, 200,
                  roles='admin')
        # (moved: counted on h1 until h2 reports it, for an agent that
        # names its network; see test_monotonic_across_a_host_move.)
        self.assertEqual(4 if self.NAME_NETWORKS else 3, self.report(
            'h1', T0 + 10, sample(fresh['id'], rx_bytes=40),
            sample(replugged['id'], vif='8', rx_bytes=300),
            sample(reset['id'], rx_bytes=200, addresses={'10.0.0.250': address}),
            sample(late['id'], rx_bytes=9999), sample(moved['id'], rx_bytes=9999),
            sample(other_host['id'], rx_bytes=9999)))
        shown = {port['id']: self.stats(port['id'], roles='admin')
                 for port in (fresh, replugged, reset, late, moved, other_host)}
        self.assertEqual({fresh['id']: (40, 0.0), replugged['id']: (1300, 30.0),
                          reset['id']: (1200, 20.0), late['id']: (500, 0.0),
                          moved['id']: (9999, 899.9) if self.NAME_NETWORKS else (1000, 0.0),
                          other_host['id']: (0, 0.0)},
                         {port_id: (stats['rx_bytes'], stats['rx_bytes_rate'])
                          for port_id, stats in shown.items()})
        self.assertEqual(['10.0.0.250'],
                         [a['ip_address'] for a in shown[reset['id']]['addresses']])
        self.assertEqual([] if self.NAME_NETWORKS else [ip],
                         [a['ip_address'] for a in shown[moved['id']]['addresses']])

    def test_rows_go_with_the_port(self):
        port, other = self.port(), self.port()
        ip = port['fixed_ips'][0]['ip_address']
        self.report('h1', T0, sample(port['id'], rx_bytes=1, addresses={
            ip: {'rx_bytes': 1, 'rx_packets': 1, 'tx_bytes': 0, 'tx_packets': 0}}),
            sample(other['id'], rx_bytes=1))
        self.report('h1', T0 + 10, sample(port['id'], rx_bytes=0, addresses={
            ip: {'rx_bytes': 0, 'rx_packets': 1, 'tx_bytes': 0, 'tx_packets': 0}}))
        self.assertEqual((1, 2), (self.count(models.port_address_statistics_offsets),
                                  len(self.entries('h1'))))
        self.call('DELETE', '/ports/' + port['id'], None, 204)
        self.call('GET', '/port-statistics/' + port['id'], None, 404)
        self.assertEqual([1, 0], [self.count(models.port_statistics_offsets),
                                  self.count(models.port_address_statistics_offsets)])
        # Its entry goes at the next merge of its samples row.
        self.report('h1', T0 + 20, sample(other['id'], rx_bytes=2))
        self.assertEqual([other['id']], list(self.entries('h1')))


class TestStorage(StatisticsTestCase):
    """The rules of port_statistics.ingest on its tables: one samples row
    per (host, network), offsets written only on an event."""

    def offsets(self, port_id):
        table = models.port_statistics_offsets
        return db_api.retry(lambda ctx: ctx.connection.execute(
            sa.select(table).where(table.c.port_id == port_id)).mappings().first(),
            naas_context.get_admin_context())

    def test_one_row_per_host_and_network(self):
        other_network = self.call('POST', '/networks', {'network': {}}, 201)['network']
        ports = [self.port() for _ in range(3)] + [self.port(network=other_network)]
        self.report('h1', T0, *[sample(port['id'], rx_bytes=1) for port in ports])
        self.assertEqual(2, self.count(models.port_statistics_samples))
        self.assertEqual(sorted(port['id'] for port in ports[:3]), sorted(self.entries('h1')))

    def test_steady_ports_write_no_offsets(self):
        port = self.port()
        self.report('h1', T0, sample(port['id'], rx_bytes=10))
        first = self.offsets(port['id'])
        self.assertEqual(('h1', 0), (first['host'], first['offset_rx_bytes']))
        writes = []

        def watch(conn, cursor, statement, *args):
            if 'offsets' in statement and not statement.startswith('SELECT'):
                writes.append(statement)
        engine = db_api.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', watch)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute', watch)
        for step in range(1, 4):
            self.report('h1', T0 + 10 * step, sample(port['id'], rx_bytes=10 + step))
        self.assertEqual([], writes)
        self.assertEqual(13, self.stats(port['id'])['rx_bytes'])

    def test_vif_restart_grows_the_offset(self):
        port = self.port()
        self.report('h1', T0, sample(port['id'], vif='7', rx_bytes=500, tx_bytes=7))
        self.report('h1', T0 + 10, sample(port['id'], vif='8', rx_bytes=20, tx_bytes=9))
        row = self.offsets(port['id'])
        self.assertEqual((500, 7), (row['offset_rx_bytes'], row['offset_tx_bytes']))
        self.report('h1', T0 + 20, sample(port['id'], vif='8', rx_bytes=30, tx_bytes=9))
        self.assertEqual(500, self.offsets(port['id'])['offset_rx_bytes'])
        self.assertEqual((530, 16), (self.stats(port['id'])['rx_bytes'],
                                     self.stats(port['id'])['tx_bytes']))

    def test_host_move_is_folded_once(self):
        """The old host's last sample counts until the new host reports the
        port; then it is folded into the offsets once: not again when the
        old host reports the port late, nor when the new host reports it
        again, nor when the old host's samples row is merged."""
        port, stays = self.port(host='h1'), self.port(host='h1')
        self.report('h1', T0, sample(port['id'], rx_bytes=5000), sample(stays['id'], rx_bytes=1))
        self.call('PUT', '/ports/' + port['id'], {'port': {'binding:host_id': 'h2'}}, 200,
                  roles='admin')
        self.assertEqual(5000, self.stats(port['id'])['rx_bytes'])
        self.report('h2', T0 + 10, sample(port['id'], rx_bytes=100))
        self.assertEqual(5100, self.stats(port['id'])['rx_bytes'])
        # Its entry moved with it.
        self.assertEqual(([stays['id']], [port['id']]),
                         (list(self.entries('h1')), list(self.entries('h2'))))
        self.assertEqual(0, self.report('h1', T0 + 5, sample(port['id'], rx_bytes=6000)))
        self.assertEqual(0, self.report('h1', T0 + 20, sample(port['id'], rx_bytes=6000)))
        self.report('h1', T0 + 20, sample(stays['id'], rx_bytes=2))
        self.assertEqual([stays['id']], list(self.entries('h1')))
        self.report('h2', T0 + 30, sample(port['id'], rx_bytes=300))
        self.assertEqual(5300, self.stats(port['id'])['rx_bytes'])
        self.assertEqual(('h2', 5000), (self.offsets(port['id'])['host'],
                                        self.offsets(port['id'])['offset_rx_bytes']))

    def test_move_and_back_ignores_the_stale_entry(self):
        """A port moved away and back before the first host's row was
        merged: its entry there is stale, the second host's counts."""
        port = self.port(host='h1')
        self.report('h1', T0, sample(port['id'], rx_bytes=5000))
        for host, at, value in (('h2', T0 + 10, 100), ('h1', T0 + 20, 7)):
            self.call('PUT', '/ports/' + port['id'], {'port': {'binding:host_id': host}}, 200,
                      roles='admin')
            self.report(host, at, sample(port['id'], rx_bytes=value))
        self.assertEqual(5107, self.stats(port['id'])['rx_bytes'])
        self.assertEqual([port['id']], list(self.entries('h1')))

    def test_partial_batches_of_one_interval_merge(self):
        ports = [self.port() for _ in range(4)]
        for step in range(2):
            self.assertEqual(2, self.report('h1', T0 + step, *[
                sample(port['id'], rx_bytes=10 * (step + 1)) for port in ports[:2]]))
            self.assertEqual(2, self.report('h1', T0 + step, *[
                sample(port['id'], rx_bytes=10 * (step + 1)) for port in ports[2:]]))
        self.assertEqual(sorted(port['id'] for port in ports), sorted(self.entries('h1')))
        self.assertEqual([(20, 10.0)] * 4, [
            (self.stats(port['id'])['rx_bytes'], self.stats(port['id'])['rx_bytes_rate'])
            for port in ports])

    def test_late_batch_is_ignored_per_port(self):
        early, late = self.port(), self.port()
        self.report('h1', T0 + 10, sample(early['id'], rx_bytes=100))
        self.assertEqual(1, self.report('h1', T0 + 5, sample(early['id'], rx_bytes=50),
                                        sample(late['id'], rx_bytes=70)))
        self.assertEqual((100, 70), (self.stats(early['id'])['rx_bytes'],
                                     self.stats(late['id'])['rx_bytes']))


class TestPortStatisticsRPC13(TestPortStatistics):
    """The same rules for the samples of an RPC 1.3 agent (compact rows
    packed)."""

    RPC_VERSION = '1.3'


class TestPortStatisticsRPC12(TestPortStatistics):
    """The same rules for the samples of an RPC 1.2 agent (compact rows as
    a list)."""

    RPC_VERSION = '1.2'


class TestPortStatisticsRPC11(TestPortStatistics):
    """The same rules for the samples of an RPC 1.1 agent (dicts)."""

    RPC_VERSION = '1.1'


class TestPortStatisticsRPC10(TestPortStatistics):
    """The same rules for the samples of an RPC 1.0 agent (dicts that name
    no network)."""

    RPC_VERSION = '1.0'


class TestStorageRPC13(TestStorage):

    RPC_VERSION = '1.3'


class TestStorageRPC12(TestStorage):

    RPC_VERSION = '1.2'


class TestStorageRPC11(TestStorage):

    RPC_VERSION = '1.1'


class TestStorageRPC10(TestStorage):

    RPC_VERSION = '1.0'


class TestNamedNetworks(StatisticsTestCase):
    """RPC 1.1: the agent names each port's network; a port with an entry
    in the reporting host's row of that network is stored without a look
    at the ports table, anything else is checked there."""

    def statements(self):
        seen = []

        def watch(conn, cursor, statement, *args):
            seen.append(statement)
        engine = db_api.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', watch)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute', watch)
        return seen

    def test_steady_batch_reads_no_ports(self):
        self.override(notifications=False)   # (they read back what was stored)
        ports = [self.port() for _ in range(3)]
        self.report('h1', T0, *[sample(port['id'], rx_bytes=1) for port in ports])
        seen = self.statements()
        steady = [sample(port['id'], rx_bytes=5) for port in ports]
        self.assertEqual(3, self.report('h1', T0 + 10, *steady))
        self.assertEqual([], [statement for statement in seen
                              if re.search(r'\bports\b', statement)])
        self.assertEqual(['SELECT', 'INSERT'],    # the lock, the write (and SQLite's BEGIN)
                         [statement.split()[0] for statement in seen
                          if not statement.startswith('BEGIN')], seen)
        self.assertEqual([5] * 3, [self.stats(port['id'])['rx_bytes'] for port in ports])

    def test_steady_group_is_stored_by_columns(self):
        """A steady group is stored without the per-port rule; a group with
        one port re-plugged goes through it."""
        self.override(notifications=False)
        ports = [self.port() for _ in range(3)]
        self.report('h1', T0, *[sample(port['id'], rx_bytes=1) for port in ports])
        per_port = self.useFixture(fixtures.MockPatchObject(
            port_statistics, '_apply', side_effect=port_statistics._apply)).mock
        self.assertEqual(3, self.report('h1', T0 + 10, *[sample(port['id'], rx_bytes=5)
                                                         for port in ports]))
        self.assertEqual(0, per_port.call_count)
        self.assertEqual(3, self.report('h1', T0 + 20, *[
            sample(port['id'], rx_bytes=9, vif='8' if port is ports[1] else '7')
            for port in ports]))
        self.assertEqual(1, per_port.call_count)
        self.assertEqual([9, 14, 9], [self.stats(port['id'])['rx_bytes'] for port in ports])

    def test_a_wrong_or_unknown_network_is_checked(self):
        other = self.call('POST', '/networks', {'network': {}}, 201)['network']
        mine, theirs = self.port(), self.port(network=other)
        self.report('h1', T0, sample(mine['id'], rx_bytes=1), sample(theirs['id'], rx_bytes=1))
        # Named wrongly (the other's network, with a row of h1), or a
        # network that does not exist: stored where they belong.
        for at, network_id in ((T0 + 10, other['id']), (T0 + 20, str(uuid.uuid4()))):
            self.assertEqual(1, self.report_rows('h1', at, dict(
                sample(mine['id'], rx_bytes=int(at - T0)), network_id=network_id)))
            self.assertEqual(at - T0, self.stats(mine['id'])['rx_bytes'])
        self.assertEqual([mine['id']], list(self.entries('h1')))
        self.assertEqual([theirs['id']], list(self.entries('h1', other)))
        # A port of another host named with a network it has a row of: ignored.
        elsewhere = self.port(host='h2')
        self.assertEqual(0, self.report_rows('h1', T0 + 30, dict(
            sample(elsewhere['id'], rx_bytes=9), network_id=self.network['id'])))
        self.assertIsNone(self.stats(elsewhere['id'])['collected_at'])

    def test_old_host_counts_until_the_new_host_reports(self):
        """Moved in the API while its VIF still counts on the old host:
        the old host's samples count until the new host reports the port,
        and are folded once then."""
        port = self.port(host='h1')
        self.report('h1', T0, sample(port['id'], rx_bytes=5000))
        self.call('PUT', '/ports/' + port['id'], {'port': {'binding:host_id': 'h2'}}, 200,
                  roles='admin')
        self.assertEqual(1, self.report('h1', T0 + 5, sample(port['id'], rx_bytes=5500)))
        self.assertEqual(5500, self.stats(port['id'])['rx_bytes'])
        self.report('h2', T0 + 10, sample(port['id'], rx_bytes=100))
        self.assertEqual(5600, self.stats(port['id'])['rx_bytes'])
        self.assertEqual(0, self.report('h1', T0 + 15, sample(port['id'], rx_bytes=5900)))
        self.assertEqual(5600, self.stats(port['id'])['rx_bytes'])

    def test_deleted_port_entry_goes_when_no_longer_reported(self):
        gone, stays = self.port(), self.port()
        self.report('h1', T0, sample(gone['id'], rx_bytes=1), sample(stays['id'], rx_bytes=1))
        self.call('DELETE', '/ports/' + gone['id'], None, 204, roles='admin')
        self.report('h1', T0 + 10, sample(gone['id'], rx_bytes=2),
                    sample(stays['id'], rx_bytes=2))
        self.report('h1', T0 + 20, sample(stays['id'], rx_bytes=3))
        self.assertEqual([stays['id']], list(self.entries('h1')))


class TestColumns(testtools.TestCase):
    """samples.advanced (a steady group, a column at a time) gives the row
    that the per-port rule (port_statistics._apply) gives, for random rows
    and next samples of every kind; where the group is not steady, the
    rule's row differs from what advanced would give or steady says no."""

    def random_entries(self, rng, port_ids, at):
        entries = {}
        for port_id in port_ids:
            choices = ['10.0.0.%d' % i for i in range(5)] + ['fd00::%x' % i for i in range(3)]
            ips = rng.sample(choices, rng.randint(0, 3))
            entries[port_id] = (str(rng.randint(1, 3)), at - rng.choice([0, 0, 0, 1.5]),
                                tuple(rng.randint(0, 10 ** rng.randint(1, 12))
                                      for _ in range(8)),
                                tuple(rng.random() * 1000 for _ in range(4)),
                                {ip: tuple(rng.randint(0, 10 ** 9) for _ in range(4))
                                 for ip in ips})
        return entries

    def next_group(self, rng, entries, network_id):
        """The next samples of the entries' ports: all grown, or one port
        re-plugged, reset or with another address."""
        rows = []
        kind = rng.choice(['steady'] * 3 + ['vif', 'lower', 'address'])
        changed = rng.choice(sorted(entries))
        for port_id, (vif, at, raw, rates, addresses) in sorted(entries.items()):
            raw = [value + rng.randint(0, 10 ** 6) for value in raw]
            addresses = {ip: [value + rng.randint(0, 1000) for value in values]
                         for ip, values in addresses.items()}
            if port_id != changed:
                pass
            elif kind == 'vif':
                vif = vif + '0'
            elif kind == 'lower':
                raw[rng.randrange(8)] = 0
            elif kind == 'address':
                addresses['10.9.9.9'] = [1, 2, 3, 4]
            rows.append([port_id, network_id, vif, raw, addresses])
        [group] = statistics_api.grouped(rows)
        return group

    def per_port(self, row, group, collected_at):
        entries = samples.entries(row)
        by_port = samples.group_samples(group)
        out = [], [], [], []
        port_statistics._apply('h1', collected_at, by_port, dict.fromkeys(by_port, 'n1'),
                               {}, {'n1': entries}, {}, {}, *out)
        return samples.from_entries(entries), out

    def test_advanced_is_the_per_port_rule(self):
        import random
        rng = random.Random(20261202)
        steady = changed = 0
        for case in range(300):
            at = T0 + case
            port_ids = ['port-%03d' % i for i in rng.sample(range(100), rng.randint(1, 20))]
            row = samples.from_entries(self.random_entries(rng, port_ids, at))
            row = samples.parse(samples.dumps(row))      # as stored
            group = self.next_group(rng, samples.entries(row), 'n1')
            group = samples.parse(samples.dumps(group))
            collected_at = at + rng.choice([10.0] * 4 + [0.0, -1.0])
            expected, (first, grown, address_grown, address_gone) = self.per_port(
                row, group, collected_at)
            if samples.steady(row, group, collected_at):
                steady += 1
                self.assertEqual(expected, samples.advanced(row, group, collected_at))
                self.assertEqual(([], [], [], []), (first, grown, address_grown, address_gone))
            else:
                changed += 1
        self.assertGreater(min(steady, changed), 50)

    def test_a_batch_is_steady_when_each_group_is(self):
        import random
        rng = random.Random(20261203)
        outcomes = set()
        for case in range(200):
            at = T0 + case
            rows, groups = [], []
            for network in range(rng.randint(1, 4)):
                port_ids = ['port-%d-%03d' % (network, i)
                            for i in rng.sample(range(100), rng.randint(1, 8))]
                rows.append(samples.from_entries(self.random_entries(rng, port_ids, at)))
                groups.append(self.next_group(rng, samples.entries(rows[-1]), 'n%d' % network))
            collected_at = at + rng.choice([10.0] * 6 + [0.0, -1.0])
            each = all(samples.steady(row, group, collected_at)
                       for row, group in zip(rows, groups))
            self.assertEqual(each, samples.all_steady(rows, groups, collected_at))
            outcomes.add(each)
        self.assertEqual({True, False}, outcomes)

    def test_entries_and_columns_round_trip(self):
        import random
        rng = random.Random(7)
        for size in (1, 2, 17):
            entries = self.random_entries(rng, ['p%d' % i for i in range(size)], T0)
            row = samples.from_entries(entries)
            self.assertEqual(entries, samples.entries(samples.parse(samples.dumps(row))))
        self.assertEqual({}, samples.entries(None))


class TestMigration(testtools.TestCase):
    """Migration 0016 carries the rows of 0010-0015 over: the same totals,
    and the next sample compared with the last one; and back."""

    def test_rows_of_0015_are_carried_over(self):
        from naas.db import migration
        tmp = self.useFixture(fixtures.TempDir())
        engine = sa.create_engine('sqlite:///%s/naas.sqlite' % tmp.path)
        self.addCleanup(engine.dispose)
        migration.upgrade('0015_statistics_storage', engine)
        now = '2026-11-30T00:00:00Z'
        base = {'project_id': 'p', 'name': '', 'description': '', 'created_at': now,
                'updated_at': now, 'revision_number': 0, 'tags': '[]', 'status': 'ACTIVE',
                'admin_state_up': True}
        with engine.begin() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            conn.execute(meta.tables['networks'].insert(), [dict(
                base, id='n1', shared=False, router_external=False, mtu=1450,
                port_security_enabled=True, availability_zone_hints='[]')])
            conn.execute(meta.tables['ports'].insert(), [dict(
                base, id=port_id, network_id='n1', mac_address='fa:16:3e:00:00:0%d' % i,
                device_id='', device_owner='', port_security_enabled=True, dns_name='',
                security_groups='[]', allowed_address_pairs='[]', binding_host_id='h1',
                binding_vnic_type='normal', binding_vif_type='ovs',
                binding_vif_details='{}', binding_profile='{}', fixed_ips='[]')
                for i, port_id in enumerate(('p1', 'p2'))])
            zero = {p + name: 0 for p in ('raw_', 'offset_') for name in counters()}
            conn.execute(meta.tables['port_statistics'].insert(), [dict(
                zero, port_id='p1', host='h1', vif='7', collected_at=T0, raw_rx_bytes=100,
                offset_rx_bytes=40, rx_bytes_rate=1.5, tx_bytes_rate=0.0,
                rx_packets_rate=0.0, tx_packets_rate=0.0, addresses='10.0.0.5')])
            conn.execute(meta.tables['port_address_statistics'].insert(), [dict(
                port_id='p1', ip_address='10.0.0.5', collected_at=T0, raw_rx_bytes=9,
                raw_rx_packets=1, raw_tx_bytes=0, raw_tx_packets=0, offset_rx_bytes=3,
                offset_rx_packets=0, offset_tx_bytes=0, offset_tx_packets=0)])
        migration.upgrade('head', engine)
        with engine.begin() as conn:
            self.assertEqual({'p1': ('7', T0, (100,) + (0,) * 7, (1.5, 0.0, 0.0, 0.0),
                                     {'10.0.0.5': (9, 1, 0, 0)})},
                             port_statistics.loads(conn.execute(sa.text(
                                 "SELECT samples FROM port_statistics_samples "
                                 "WHERE host = 'h1' AND network_id = 'n1'")).scalar()))
            self.assertEqual([('p1', 'h1', 40)], conn.execute(sa.text(
                'SELECT port_id, host, offset_rx_bytes FROM port_statistics_offsets')).all())
            self.assertEqual([('p1', '10.0.0.5', 3)], conn.execute(sa.text(
                'SELECT port_id, ip_address, offset_rx_bytes '
                'FROM port_address_statistics_offsets')).all())
            # The next sample of the same VIF continues from the last.
            port_statistics.ingest(conn, 'h1', T0 + 10, statistics_api.grouped([
                statistics_api.compact(dict(sample(
                    'p1', rx_bytes=150, addresses={'10.0.0.5': {
                        'rx_bytes': 9, 'rx_packets': 1, 'tx_bytes': 0, 'tx_packets': 0}}),
                    network_id='n1'))]))
            self.assertEqual(190, port_statistics.network_sums(conn, ['n1'])['n1'][2][0])
        migration.downgrade('0015_statistics_storage', engine)
        with engine.begin() as conn:
            self.assertEqual([('p1', 150, 40, 5.0)], conn.execute(sa.text(
                'SELECT port_id, raw_rx_bytes, offset_rx_bytes, rx_bytes_rate '
                'FROM port_statistics')).all())
            self.assertEqual([('10.0.0.5', 9, 3)], conn.execute(sa.text(
                'SELECT ip_address, raw_rx_bytes, offset_rx_bytes '
                'FROM port_address_statistics')).all())

    def test_rows_of_0016_in_columns_and_back(self):
        """Migration 0017: 0016's entries become columns with the same
        values (an empty row: none), and the downgrade gives them back."""
        import json
        from naas.db import migration
        tmp = self.useFixture(fixtures.TempDir())
        engine = sa.create_engine('sqlite:///%s/naas.sqlite' % tmp.path)
        self.addCleanup(engine.dispose)
        migration.upgrade('0016_statistics_samples', engine)
        entries = {
            'p2': ['8', T0 + 1, list(range(10, 18)), [0.5, 1.0, 1.5, 2.0],
                   {'fd00::5': [5, 6, 7, 8], '10.0.0.5': [1, 2, 3, 4]}],
            'p1': ['7', T0, [2 ** 62] + [0] * 7, [0.0] * 4, {}]}
        with engine.begin() as conn:
            conn.execute(sa.text("PRAGMA foreign_keys = OFF"))
            conn.execute(sa.text(
                "INSERT INTO port_statistics_samples (host, network_id, samples) "
                "VALUES ('h1', 'n1', :full), ('h1', 'n2', '{}')"), {'full': json.dumps(entries)})
        migration.upgrade('0017_statistics_columns', engine)
        with engine.begin() as conn:
            rows = dict(conn.execute(sa.text(
                'SELECT network_id, samples FROM port_statistics_samples')).all())
        self.assertEqual([['p1', 'p2'], ['7', '8'], [T0, T0 + 1],
                          [[2 ** 62, 10]] + [[0, 10 + i] for i in range(1, 8)],
                          [[0.0, 0.5], [0.0, 1.0], [0.0, 1.5], [0.0, 2.0]],
                          [[], ['10.0.0.5', 'fd00::5']], [[1, 5], [2, 6], [3, 7], [4, 8]]],
                         samples.parse(rows['n1']))
        self.assertIsNone(samples.parse(rows['n2']))
        self.assertEqual({'p1': ('7', T0, (2 ** 62,) + (0,) * 7, (0.0,) * 4, {}),
                          'p2': ('8', T0 + 1, tuple(range(10, 18)), (0.5, 1.0, 1.5, 2.0),
                                 {'10.0.0.5': (1, 2, 3, 4), 'fd00::5': (5, 6, 7, 8)})},
                         port_statistics.loads(rows['n1']))
        migration.downgrade('0016_statistics_samples', engine)
        with engine.begin() as conn:
            rows = dict(conn.execute(sa.text(
                'SELECT network_id, samples FROM port_statistics_samples')).all())
        self.assertEqual((entries, {}), (json.loads(rows['n1']), json.loads(rows['n2'])))


class TestRPC(StatisticsTestCase):

    def test_agent_cast_is_stored(self):
        """StatisticsAPI's cast reaches the plugin's listener (in-process
        transport) and is stored."""
        port = self.port()
        stored = threading.Event()
        handler = self.plugin.report_statistics

        def report_statistics(*args):
            # (The test's in-memory database is one connection: the API is
            # read once the listener's transaction is over.)
            try:
                return handler(*args)
            finally:
                stored.set()

        self.plugin.report_statistics = report_statistics
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        for server in self.plugin.start_rpc_listeners():
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)
        statistics_api.StatisticsAPI('h1').report_statistics({}, T0, [statistics_api.compact(
            dict(sample(port['id'], rx_bytes=42), network_id=self.network['id']))])
        self.assertTrue(stored.wait(10), 'the cast did not reach the plugin')
        self.assertEqual(42, self.stats(port['id'])['rx_bytes'])

    def capped(self, version):
        """A StatisticsAPI capped at ``version`` whose casts are handed to
        the endpoint at once; returns it and [(version, arguments)] sent."""
        CONF.set_override('statistics', version, group='upgrade_levels')
        self.addCleanup(CONF.clear_override, 'statistics', group='upgrade_levels')
        sent = []
        api = statistics_api.StatisticsAPI('h1')
        prepare = api.client.prepare
        endpoint = statistics_api.StatisticsEndpoint(self.plugin)

        def record(**kwargs):
            cctxt = prepare(**kwargs)

            def cast(ctxt, method, **args):
                sent.append((kwargs['version'], args))
                return endpoint.report_statistics(ctxt, **args)
            cctxt.cast = cast
            return cctxt
        api.client.prepare = record
        return api, sent

    def test_agent_capped_at_older_versions_is_stored(self):
        """[upgrade_levels] statistics = 1.3, 1.2, 1.1 or 1.0 (new agents,
        servers not yet upgraded): the compact rows go packed (1.3), as a
        list (1.2), as 1.1's dicts, or 1.0's without their network_id, and
        are stored; uncapped they go as groups, packed (1.4)."""
        port = self.port()
        for step, version in enumerate(('1.4', '1.3', '1.2', '1.1', '1.0')):
            api, sent = self.capped(version)
            value = 42 + step
            port_sample = dict(sample(port['id'], rx_bytes=value), network_id=self.network['id'])
            row = statistics_api.compact(port_sample)
            api.report_statistics({}, T0 + step, [row])
            args = {'host': 'h1', 'collected_at': T0 + step}
            if version == '1.4':
                args['groups'] = statistics_api.pack(statistics_api.grouped([row]))
                self.assertEqual([[self.network['id'], [port['id']], ['7'],
                                   [[value]] + [[0]] * 7, [[]], [[]] * 4]],
                                 statistics_api.unpack(args['groups']))
            elif version == '1.3':
                args['packed'] = statistics_api.pack([row])
                self.assertEqual([row], statistics_api.unpack(args['packed']))
            elif version == '1.2':
                args['samples'] = [row]
            else:
                if version == '1.0':
                    del port_sample['network_id']
                args['ports'] = [port_sample]
            self.assertEqual([(version, args)], sent)
            self.assertEqual(value, self.stats(port['id'])['rx_bytes'])

    def test_casts_hold_whole_groups_of_about_a_batch(self):
        """1.4 casts groups (one per network) of at most BATCH ports in all,
        never a group split (a larger group goes alone); capped, the rows go
        in slices of BATCH."""
        networks = [self.network] + [self.call('POST', '/networks', {'network': {}},
                                               201)['network'] for _ in range(4)]
        sizes = [3, 3, 1, 6, 1]
        self.useFixture(fixtures.MockPatchObject(statistics_api, 'BATCH', 5))
        rows = [statistics_api.compact(dict(sample(self.port(network=network)['id'],
                                                   rx_bytes=1),
                                            network_id=network['id']))
                for network, size in zip(networks, sizes) for _ in range(size)]
        api, sent = self.capped('1.4')
        api.report_statistics({}, T0, rows)
        self.assertEqual([[3], [3, 1], [6], [1]],
                         [[len(group[1]) for group in statistics_api.unpack(args['groups'])]
                          for _, args in sent])
        self.assertEqual(sorted(row[0] for row in rows), sorted(
            port_id for _, args in sent for group in statistics_api.unpack(args['groups'])
            for port_id in group[1]))
        api, sent = self.capped('1.3')
        api.report_statistics({}, T0 + 1, rows)
        self.assertEqual([5, 5, 4], [len(statistics_api.unpack(args['packed']))
                                     for _, args in sent])
        self.assertEqual([1] * len(rows), [self.stats(row[0])['rx_bytes'] for row in rows])

    def test_batches_stored_at_once_are_bounded(self):
        """[statistics] ingest_concurrency batches are stored at once, however
        many casts the RPC server's threads hand over together."""
        self.addCleanup(CONF.clear_override, 'ingest_concurrency', group='statistics')
        for bound in (2, 1):
            CONF.set_override('ingest_concurrency', bound, group='statistics')
            plugin = type(self.plugin)()
            inside, most, changed = [0], [0], threading.Condition()

            def retry(func, context, bound=bound):
                # Each stays until ``bound`` are inside (however slowly the
                # threads start), then a little longer: without the bound
                # the others would come in meanwhile.
                with changed:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                    changed.notify_all()
                    changed.wait_for(lambda: inside[0] >= bound, timeout=5)
                time.sleep(0.05)
                with changed:
                    inside[0] -= 1
                return 0, []
            self.useFixture(fixtures.MockPatchObject(db_api, 'retry', retry))
            threads = [threading.Thread(target=plugin.report_statistics, args=('h1', T0, []))
                       for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual(bound, most[0])

    def test_packed_that_is_not_rows_is_ignored(self):
        """A 1.3 cast whose string is not base64 of a JSON list stores
        nothing and raises nothing (the cast is logged and dropped)."""
        port = self.port()
        endpoint = statistics_api.StatisticsEndpoint(self.plugin)
        for packed in ('not base64!', base64.b64encode(b'{"a": 1}').decode(),
                       base64.b64encode(b'[1, 2').decode(), base64.b64encode(b'"x"').decode(),
                       base64.b64encode(b'["abcde", [1]]').decode(), 7):
            self.assertEqual(0, endpoint.report_statistics({}, 'h1', T0, packed=packed),
                             packed)
            self.assertEqual(0, endpoint.report_statistics({}, 'h1', T0, groups=packed),
                             packed)
        self.assertIsNone(self.stats(port['id'])['collected_at'])

    def test_row_of_another_shape_is_not_stored(self):
        port = self.port()
        endpoint = statistics_api.StatisticsEndpoint(self.plugin)
        row = statistics_api.compact(dict(sample(port['id'], rx_bytes=5),
                                          network_id=self.network['id']))
        short = row[:3] + [row[3][:7], {}]
        bad_address = row[:4] + [{'10.0.0.9': [1, 2, 3]}]
        not_an_id = [7] + row[1:]
        not_a_count = row[:3] + [['5'] + row[3][1:], {}]
        address_not_a_count = row[:4] + [{'10.0.0.9': [1, 2, 3, None]}]
        self.assertEqual(0, endpoint.report_statistics({}, 'h1', T0, samples=[
            short, bad_address, not_an_id, not_a_count, address_not_a_count]))
        self.assertEqual(1, endpoint.report_statistics({}, 'h1', T0, samples=[row]))
        self.assertEqual(5, self.stats(port['id'])['rx_bytes'])

    def test_group_of_another_shape_is_not_stored(self):
        """A 1.4 group that is not of grouped()'s shape stores nothing (the
        others of the cast are stored)."""
        port = self.port()
        endpoint = statistics_api.StatisticsEndpoint(self.plugin)
        [group] = statistics_api.grouped([statistics_api.compact(dict(
            sample(port['id'], rx_bytes=5, addresses={'10.0.0.9': counters(rx_bytes=2)}),
            network_id=self.network['id']))])
        network, ids, vifs, raw, ips, address_raw = group
        bad = [
            [network, [], [], [[]] * 8, [], [[]] * 4],                # no port
            [7, ids, vifs, raw, ips, address_raw],                    # network
            [network, [1], vifs, raw, ips, address_raw],              # port id
            [network, ids * 2, vifs * 2, [c * 2 for c in raw], ips * 2,
             [c * 2 for c in address_raw]],                           # a port twice
            [network, ids, [], raw, ips, address_raw],                # vifs
            [network, ids, vifs, raw[:7], ips, address_raw],          # counters
            [network, ids, vifs, [['5']] + raw[1:], ips, address_raw],
            [network, ids, vifs, [[5.5]] + raw[1:], ips, address_raw],
            [network, ids, vifs, [[5, 6]] + raw[1:], ips, address_raw],
            [network, ids, vifs, raw, [['10.0.0.9', '10.0.0.8']], address_raw],
            [network, ids, vifs, raw, [[9]], address_raw],            # address
            [network, ids, vifs, raw, ['10.0.0.9'], address_raw],
            [network, ids, vifs, raw, ips, address_raw[:3]],
            [network, ids, vifs, raw, ips, [[None]] + address_raw[1:]],
            [network, ids, vifs, raw, ips], 'group', None, {}]
        self.assertEqual(0, endpoint.report_statistics(
            {}, 'h1', T0, groups=statistics_api.pack(bad)))
        self.assertIsNone(self.stats(port['id'])['collected_at'])
        self.assertEqual(1, endpoint.report_statistics(
            {}, 'h1', T0, groups=statistics_api.pack(bad + [group])))
        self.assertEqual((5, [2]), (self.stats(port['id'])['rx_bytes'], [
            address['rx_bytes'] for address in self.stats(port['id'])['addresses']]))


class TestVisibility(StatisticsTestCase):

    def test_other_project_gets_404(self):
        port = self.port()
        self.report('h1', T0, sample(port['id'], rx_bytes=1))
        self.call('GET', '/port-statistics/' + port['id'], None, 404, project='pb')
        self.call('GET', '/network-statistics/' + self.network['id'], None, 404, project='pb')
        self.assertEqual([], self.call('GET', '/port-statistics', None, 200,
                                       project='pb')['port_statistics'])
        self.assertEqual([], self.call('GET', '/network-statistics', None, 200,
                                       project='pb')['network_statistics'])

    def test_admin_sees_all_and_the_host(self):
        port = self.port()
        self.assertNotIn('host', self.stats(port['id']))
        self.assertEqual('h1', self.stats(port['id'], project='pb', roles='admin')['host'])

    def test_shared_network(self):
        """A project sees its own port on another's shared network, not the
        network's sums; the network's owner sees every port on it."""
        shared = self.call('POST', '/networks', {'network': {'shared': True}}, 201,
                           roles='admin')['network']
        self.call('POST', '/subnets', {'subnet': {
            'network_id': shared['id'], 'ip_version': 4, 'cidr': '10.1.0.0/24'}}, 201)
        theirs = self.port(network=shared, project='pb')
        self.stats(theirs['id'], project='pb')
        self.call('GET', '/network-statistics/' + shared['id'], None, 404, project='pb')
        self.stats(theirs['id'], project='pa')
        self.call('GET', '/network-statistics/' + shared['id'], None, 200, project='pa')


class TestNetworkStatistics(StatisticsTestCase):

    def test_sums_over_all_ports(self):
        vm = self.port(device_owner='compute:nova')
        dhcp = self.port(device_owner='network:dhcp', project='pa')
        unreported = self.port()
        self.report('h1', T0, sample(vm['id'], rx_bytes=100, tx_packets=1),
                    sample(dhcp['id'], rx_bytes=10, tx_packets=2, rx_errors=1))
        self.report('h1', T0 + 10, sample(vm['id'], rx_bytes=1100, tx_packets=1),
                    sample(dhcp['id'], rx_bytes=110, tx_packets=2, rx_errors=1))
        stats = self.call('GET', '/network-statistics/' + self.network['id'], None,
                          200)['network_statistic']
        self.assertEqual(dict(counters(rx_bytes=1210, tx_packets=3, rx_errors=1),
                              port_count=3, rx_bytes_rate=110.0, network_id=self.network['id'],
                              project_id='pa', collected_at='2027-01-15T08:00:10.000000Z'),
                         {k: stats[k] for k in list(counters()) + [
                             'port_count', 'rx_bytes_rate', 'network_id', 'project_id',
                             'collected_at']})
        device_owners = {s['port_id']: s['device_owner'] for s in self.call(
            'GET', '/port-statistics', None, 200)['port_statistics']}
        self.assertEqual({vm['id']: 'compute:nova', dhcp['id']: 'network:dhcp',
                          unreported['id']: ''}, device_owners)

    def test_entries_of_ports_gone_or_moved_left_out(self):
        """A deleted port's entry stays in its row until the row's next
        merge, and a moved port's in its old host's row until the new host
        reports it: the sums count a port once, on the host it is counted
        on, and never a deleted one."""
        gone, moved, stays = self.port(), self.port(), self.port()
        self.report('h1', T0, sample(gone['id'], rx_bytes=1000),
                    sample(moved['id'], rx_bytes=200), sample(stays['id'], rx_bytes=30))
        self.call('DELETE', '/ports/' + gone['id'], None, 204, roles='admin')
        self.call('PUT', '/ports/' + moved['id'], {'port': {'binding:host_id': 'h2'}}, 200,
                  roles='admin')
        self.assertIn(gone['id'], self.entries('h1'))

        def network_rx_bytes():
            return self.call('GET', '/network-statistics/' + self.network['id'], None,
                             200)['network_statistic']['rx_bytes']
        self.assertEqual(230, network_rx_bytes())
        self.report('h2', T0 + 10, sample(moved['id'], rx_bytes=4))
        self.assertEqual(234, network_rx_bytes())

    def test_network_without_ports(self):
        empty = self.call('POST', '/networks', {'network': {}}, 201)['network']
        stats = self.call('GET', '/network-statistics/' + empty['id'], None,
                          200)['network_statistic']
        self.assertEqual((0, 0, None), (stats['port_count'], stats['rx_bytes'],
                                        stats['collected_at']))

    def test_list_filters_and_pages(self):
        other = self.call('POST', '/networks', {'network': {}}, 201)['network']
        listed = self.call('GET', '/network-statistics?network_id=' + other['id'], None,
                           200)['network_statistics']
        self.assertEqual([other['id']], [n['id'] for n in listed])
        page = self.call('GET', '/network-statistics?limit=1', None, 200)
        self.assertEqual(1, len(page['network_statistics']))
        self.assertEqual('next', page['network_statistics_links'][0]['rel'])


class TestReadOnly(StatisticsTestCase):

    def test_no_writes(self):
        port = self.port()
        self.call('POST', '/port-statistics', {'port_statistic': {}}, 405)
        self.call('PUT', '/port-statistics/' + port['id'], {'port_statistic': {}}, 405)
        self.call('DELETE', '/network-statistics/' + self.network['id'], None, 405)

    def test_not_served_without_the_plugin(self):
        api = self.useFixture(app.APIFixture())
        status, _, _ = api.call('GET', '/v2.0/port-statistics', project='pa', roles='member')
        self.assertEqual(501, status)


class TestNotifications(StatisticsTestCase):

    def setUp(self):
        super().setUp()
        messaging.get_notification_transport(CONF)  # registers its options
        CONF.set_override('driver', ['test'], group='oslo_messaging_notifications')
        self.addCleanup(CONF.clear_override, 'driver', group='oslo_messaging_notifications')
        test_notifications.reset()
        self.addCleanup(test_notifications.reset)

    def test_batch_is_notified_with_ceilometer_meter_names(self):
        port = self.port()
        ip = port['fixed_ips'][0]['ip_address']
        self.report('h1', T0, sample(port['id'], rx_bytes=100, tx_packets=2, rx_dropped=1,
                                     addresses={ip: {'rx_bytes': 90, 'rx_packets': 1,
                                                     'tx_bytes': 0, 'tx_packets': 0}}))
        self.report('h1', T0 + 10, sample(port['id'], rx_bytes=300, tx_packets=4, rx_dropped=1))
        self.assertEqual(2, len(test_notifications.NOTIFICATIONS))
        _, message, priority, _ = test_notifications.NOTIFICATIONS[0]
        self.assertEqual(('INFO', 'port.statistics'), (priority, message['event_type']))
        first = message['payload']
        self.assertEqual(('h1', '2027-01-15T08:00:00.000000Z'),
                         (first['host'], first['collected_at']))
        self.assertEqual({'port_id': port['id'], 'network_id': self.network['id'],
                          'project_id': 'pa', 'device_id': '',
                          'network.incoming.bytes': 100, 'network.incoming.packets': 0,
                          'network.outgoing.bytes': 0, 'network.outgoing.packets': 2,
                          'network.incoming.packets.drop': 1,
                          'network.outgoing.packets.drop': 0,
                          'network.incoming.packets.error': 0,
                          'network.outgoing.packets.error': 0,
                          'network.incoming.bytes.rate': 0.0,
                          'network.outgoing.bytes.rate': 0.0,
                          'network.incoming.packets.rate': 0.0,
                          'network.outgoing.packets.rate': 0.0,
                          'addresses': [{'ip_address': ip, 'network.incoming.bytes': 90,
                                         'network.incoming.packets': 1,
                                         'network.outgoing.bytes': 0,
                                         'network.outgoing.packets': 0}]},
                         first['ports'][0])
        second = test_notifications.NOTIFICATIONS[1][1]['payload']['ports'][0]
        self.assertEqual((300, 20.0, 0.2), (second['network.incoming.bytes'],
                                            second['network.incoming.bytes.rate'],
                                            second['network.outgoing.packets.rate']))

    def test_option_turns_them_off(self):
        self.override(notifications=False)
        port = self.port()
        self.report('h1', T0, sample(port['id'], rx_bytes=100))
        self.assertEqual([], test_notifications.NOTIFICATIONS)

    def test_nothing_stored_nothing_sent(self):
        self.report('h1', T0, sample(str(uuid.uuid4()), rx_bytes=100))
        self.assertEqual([], test_notifications.NOTIFICATIONS)


class TestPrometheus(StatisticsTestCase):

    def scrape(self, remote_addr='127.0.0.1', path='/metrics', method='GET'):
        request = webob.Request.blank(path, method=method)
        request.remote_addr = remote_addr
        return request.get_response(self.api.app)

    def series(self, response):
        """{(metric, frozenset of labels): value} of a text exposition."""
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in prometheus_parser.text_string_to_metric_families(response.text)
                for s in family.samples}

    def test_port_and_network_series(self):
        vm = self.port(device_owner='compute:nova')
        dhcp = self.port(device_owner='network:dhcp')
        self.port()  # never reported: counted on the network, no series
        self.report('h1', T0, sample(vm['id'], rx_bytes=100, tx_errors=2),
                    sample(dhcp['id'], rx_bytes=10))
        response = self.scrape()
        self.assertEqual(200, response.status_int)
        self.assertTrue(response.content_type.startswith('text/plain'))
        series = self.series(response)
        net = self.network['id']
        vm_labels = frozenset({'port_id': vm['id'], 'network_id': net, 'project_id': 'pa',
                               'device_owner': 'compute:nova'}.items())
        net_labels = frozenset({'network_id': net, 'project_id': 'pa'}.items())
        self.assertEqual(100, series['naas_port_rx_bytes_total', vm_labels])
        self.assertEqual(2, series['naas_port_tx_errors_total', vm_labels])
        self.assertEqual(110, series['naas_network_rx_bytes_total', net_labels])
        self.assertEqual(3, series['naas_network_ports', net_labels])
        self.assertEqual(T0, series['naas_network_collected_timestamp_seconds', net_labels])
        self.assertEqual(2, len([key for key in series if key[0] == 'naas_port_rx_bytes_total']))

    def test_render_agrees_with_prometheus_client(self):
        port = self.port(device_owner='compute:nova')
        self.report('h1', T0, sample(port['id'], rx_bytes=2 ** 40, tx_packets=3))
        plugin = self.plugin
        registry = prometheus_registry.CollectorRegistry(auto_describe=False)
        registry.register(metrics.StatisticsCollector(plugin.metric_rows, 10))
        reference = prometheus_exposition.generate_latest(registry).decode()
        mine = self.scrape().text
        self.assertEqual(
            {(s.name, frozenset(s.labels.items()), s.value)
             for f in prometheus_parser.text_string_to_metric_families(reference)
             for s in f.samples},
            {(s.name, frozenset(s.labels.items()), s.value)
             for f in prometheus_parser.text_string_to_metric_families(mine)
             for s in f.samples})
        self.assertEqual([line for line in reference.splitlines() if line.startswith('#')],
                         [line for line in mine.splitlines() if line.startswith('#')])

    def test_cardinality_bound(self):
        self.override(prometheus_max_ports=1)
        first, second = self.port(), self.port()
        self.report('h1', T0, sample(first['id'], rx_bytes=1), sample(second['id'], rx_bytes=2))
        series = self.series(self.scrape())
        self.assertEqual([], [key for key in series if key[0].startswith('naas_port_')])
        net_labels = frozenset({'network_id': self.network['id'], 'project_id': 'pa'}.items())
        self.assertEqual(3, series['naas_network_rx_bytes_total', net_labels])

    def test_only_allowed_clients(self):
        self.assertEqual(403, self.scrape('192.0.2.10').status_int)
        self.assertEqual(200, self.scrape('::1').status_int)
        self.override(prometheus_allowed_cidrs=['192.0.2.0/24'])
        self.assertEqual(200, self.scrape('192.0.2.10').status_int)
        self.assertEqual(403, self.scrape('127.0.0.1').status_int)

    def test_disabled_or_not_loaded_is_404(self):
        self.assertEqual(405, self.scrape(method='POST').status_int)
        self.override(prometheus_enabled=False)
        self.assertEqual(404, self.scrape().status_int)
        api = self.useFixture(app.APIFixture())
        request = webob.Request.blank('/metrics')
        request.remote_addr = '127.0.0.1'
        self.assertEqual(404, request.get_response(api.app).status_int)
