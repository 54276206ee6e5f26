"""L2 population and fan-out, seen by agent endpoints on the in-process
transport: the real API and plugin make the changes; ten agents report
through the server's RPC endpoint and listen as their hosts, as naas-agent
does.  What each host hears is counted.

A network on 2 of 10 hosts: a port created on one casts port_update to it
and one fdb_update to the other, and nothing to the 8 hosts without ports of
the network.  "Nothing" is checked with a marker cast per host, as in
test_casts (one RPC worker per agent, one queue per host).
"""
import threading
import uuid

import testtools

from naas.rpc import agent_api
from naas.rpc import server_api
from tests.fixtures import app

TIMEOUT = 10
HOSTS = 10


class Host:
    """The agent of one host: records every cast as (method, arguments)."""

    def __init__(self):
        self.casts = []
        self._changed = threading.Condition()

    def _record(self, method, **args):
        with self._changed:
            self.casts.append((method, args))
            self._changed.notify_all()

    def on_port_update(self, port):
        self._record('port_update', port_id=port['id'])

    def on_port_delete(self, port_id):
        self._record('port_delete', port_id=port_id)

    def on_network_update(self, network):
        self._record('network_update', network_id=network['id'])

    def on_network_delete(self, network_id):
        self._record('network_delete', network_id=network_id)

    def on_endpoints_update(self, network_id, endpoints):
        self._record('endpoints_update', network_id=network_id,
                     hosts=sorted(e['host'] for e in endpoints))

    def on_fdb_update(self, network_id, add, remove, endpoints=None):
        self._record('fdb_update', network_id=network_id, add=add, remove=remove,
                     hosts=None if endpoints is None else sorted(e['host'] for e in endpoints))

    def on_dhcp_network_changed(self, network_id):
        self._record('dhcp_network_changed', network_id=network_id)

    def take(self, marker):
        """The casts since the last take, once ``marker`` (a port_delete
        cast after them) has arrived."""
        with self._changed:
            if not self._changed.wait_for(
                    lambda: ('port_delete', {'port_id': marker}) in self.casts, TIMEOUT):
                raise AssertionError('marker never arrived; got %s' % self.casts)
            index = self.casts.index(('port_delete', {'port_id': marker}))
            out, self.casts = self.casts[:index], self.casts[index + 1:]
            return out


class L2PopTestBase(testtools.TestCase):
    overrides = {}

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(agent_down_time=30,
                                                  executor_thread_pool_size=1,
                                                  **self.overrides))
        app.start_rpc_listeners(self)
        # The fake transport's queues outlive a test: host names of its own.
        prefix = 'hv-' + uuid.uuid4().hex[:6] + '-'
        self.names = [prefix + str(i) for i in range(HOSTS)]
        self.tunnel_ips = {name: '192.0.2.%d' % (i + 1) for i, name in enumerate(self.names)}
        self.hosts = {}
        for name in self.names:
            self.hosts[name] = app.serve_agent(
                self, name, Host(), timeout=TIMEOUT, tunnel_ip=self.tunnel_ips[name],
                l2_population=self.l2_population(name))
        self.network = self.call('POST', '/v2.0/networks', {'network': {}}, 201)['network']
        self.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': self.network['id'], 'cidr': '10.0.0.0/24', 'ip_version': 4}}, 201)

    def l2_population(self, host):
        return True

    def call(self, method, path, body=None, expect=None):
        status, data, _ = self.api.call(method, path, body, project='p', roles='admin')
        if expect is not None:
            self.assertEqual(expect, status, data)
        return data

    def create_port(self, host, network=None):
        return self.call('POST', '/v2.0/ports', {'port': {
            'network_id': (network or self.network)['id'],
            'binding:host_id': host}}, 201)['port']

    def casts(self):
        """{host: [casts since the last call]} of every host."""
        marker = 'marker-' + uuid.uuid4().hex
        api = agent_api.AgentNotifyAPI()
        for name in self.names:
            api.port_delete(marker, host=name)
        return {name: self.hosts[name].take(marker) for name in self.names}

    def entry(self, port):
        return [self.tunnel_ips[port['binding:host_id']], port['mac_address'],
                [ip['ip_address'] for ip in port['fixed_ips']]]


class TestFanOut(L2PopTestBase):

    def setUp(self):
        super().setUp()
        self.h0, self.h1 = self.names[:2]
        self.first = [self.create_port(self.h0), self.create_port(self.h1)]
        self.casts()

    def test_port_create_casts_to_the_hosts_of_its_network_only(self):
        port = self.create_port(self.h0)
        casts = self.casts()
        self.assertEqual([('port_update', {'port_id': port['id']})], casts[self.h0])
        self.assertEqual([('fdb_update', {'network_id': self.network['id'],
                                          'add': [self.entry(port)], 'remove': [],
                                          'hosts': None})], casts[self.h1])
        for name in self.names[2:]:
            self.assertEqual([], casts[name], name)

    def test_first_port_of_a_host_brings_the_flooding_list_along(self):
        h2 = self.names[2]
        port = self.create_port(h2)
        casts = self.casts()
        self.assertEqual([('port_update', {'port_id': port['id']})], casts[h2])
        for name in (self.h0, self.h1):
            self.assertEqual([('fdb_update', {'network_id': self.network['id'],
                                              'add': [self.entry(port)], 'remove': [],
                                              'hosts': sorted([self.h0, self.h1, h2])})],
                             casts[name])
        # Messages per port create: the hosts of its network.
        self.assertEqual(3, sum(len(c) for c in casts.values()))

    def test_port_delete_removes_its_entry_on_the_other_hosts(self):
        port = self.create_port(self.h0)
        self.casts()
        self.call('DELETE', '/v2.0/ports/' + port['id'], None, 204)
        casts = self.casts()
        self.assertEqual([('port_delete', {'port_id': port['id']})], casts[self.h0])
        [(method, args)] = casts[self.h1]
        self.assertEqual(('fdb_update', [], None), (method, args['add'], args['hosts']))
        self.assertEqual([port['mac_address']], [e[1] for e in args['remove']])
        self.assertEqual(2, sum(len(c) for c in casts.values()))

    def test_last_port_of_a_host_leaves_the_flooding_list(self):
        self.call('DELETE', '/v2.0/ports/' + self.first[0]['id'], None, 204)
        casts = self.casts()
        [(method, args)] = casts[self.h1]
        self.assertEqual(('fdb_update', [self.h1]), (method, args['hosts']))

    def test_port_moved_to_another_host(self):
        port = self.create_port(self.h0)
        self.casts()
        self.call('PUT', '/v2.0/ports/' + port['id'],
                  {'port': {'binding:host_id': self.h1}}, 200)
        casts = self.casts()
        self.assertEqual([('port_delete', {'port_id': port['id']})], casts[self.h0][:1])
        # h0 keeps a port of the network: it learns where the MAC went.
        self.assertEqual('fdb_update', casts[self.h0][1][0])
        self.assertEqual([[self.tunnel_ips[self.h1], port['mac_address'],
                           [ip['ip_address'] for ip in port['fixed_ips']]]],
                         casts[self.h0][1][1]['add'])
        self.assertEqual([('port_update', {'port_id': port['id']})], casts[self.h1])

    def test_bulk_create_is_one_fdb_update_per_host(self):
        ports = self.call('POST', '/v2.0/ports', {'ports': [
            {'network_id': self.network['id'], 'binding:host_id': self.h0}] * 5},
            201)['ports']
        casts = self.casts()
        self.assertEqual(5, len(casts[self.h0]))
        [(method, args)] = casts[self.h1]
        self.assertEqual('fdb_update', method)
        self.assertEqual(sorted(p['mac_address'] for p in ports),
                         sorted(e[1] for e in args['add']))

    def test_network_update_goes_to_its_hosts_only(self):
        self.call('PUT', '/v2.0/networks/' + self.network['id'],
                  {'network': {'admin_state_up': False}}, 200)
        casts = self.casts()
        for name in (self.h0, self.h1):
            self.assertIn(('network_update', {'network_id': self.network['id']}),
                          casts[name])
        for name in self.names[2:]:
            self.assertEqual([], casts[name], name)

    def test_a_network_without_tunnels_casts_to_the_port_host_only(self):
        net = self.call('POST', '/v2.0/networks', {'network': {
            'provider:network_type': 'local'}}, 201)['network']
        self.create_port(self.h0, net)
        self.create_port(self.h1, net)
        self.casts()
        h2 = self.names[2]
        port = self.create_port(h2, net)
        casts = self.casts()
        self.assertEqual([('port_update', {'port_id': port['id']})], casts[h2])
        self.assertEqual(1, sum(len(c) for c in casts.values()))

    def test_get_fdb_entries_lists_the_ports_of_other_hosts(self):
        client = server_api.ServerAPI(self.h0, timeout=TIMEOUT)
        other = self.call('POST', '/v2.0/networks', {'network': {}}, 201)['network']
        entries = client.get_fdb_entries({}, [self.network['id'], other['id']])
        self.assertEqual({self.network['id']: [self.entry(self.first[1])], other['id']: []},
                         entries)


class TestAgentsWithoutL2Population(L2PopTestBase):
    """Hosts 0 and 1 run agents that do not report l2_population."""

    def l2_population(self, host):
        return host not in self.names[:2]

    def test_they_get_the_flooding_list_and_no_entries(self):
        h0, h1, h2 = self.names[:3]
        self.create_port(h0)
        self.create_port(h2)
        self.casts()
        port = self.create_port(h1)
        casts = self.casts()
        self.assertEqual([('endpoints_update', {'network_id': self.network['id'],
                                                'hosts': sorted([h0, h1, h2])})], casts[h0])
        self.assertEqual(['fdb_update'], [m for m, _ in casts[h2]])
        self.create_port(h1)
        casts = self.casts()
        self.assertEqual([], casts[h0])      # the same hosts: nothing to tell
        self.assertEqual(['fdb_update'], [m for m, _ in casts[h2]])
        self.assertTrue(port)


class TestVersionCap(L2PopTestBase):
    """[upgrade_levels] agent = 1.3: agents older than L2 population."""
    overrides = {'upgrade_levels.agent': '1.3'}

    def test_no_entries_and_the_flooding_list_as_endpoints_update(self):
        h0, h1, h2 = self.names[:3]
        self.create_port(h0)
        self.create_port(h1)
        self.casts()
        self.create_port(h0)
        casts = self.casts()
        self.assertEqual([], casts[h1])      # no fdb_update under the cap
        self.create_port(h2)
        casts = self.casts()
        for name in (h0, h1):
            self.assertEqual([('endpoints_update', {'network_id': self.network['id'],
                                                    'hosts': sorted([h0, h1, h2])})],
                             casts[name])
