"""naas-server with two API workers on a real PostgreSQL.

Many clients at once must never get the same address twice, pass a quota,
nor get a 500, and a request that fails half-way must leave nothing behind: the tests look at
the tables with SQL, straight on the database, not through the API.
"""
import collections
import random
import re
import threading

import netaddr

from tools.harness import servers
from tests.functional import base

PROJECT = 'proj-pg'
THREADS = 16
QUOTA_ROUNDS = 4


class TestPostgreSQL(base.PostgreSQLTestCase):

    @classmethod
    def setUpClass(cls):
        super(TestPostgreSQL, cls).setUpClass()
        # Several API workers need a real broker: with the in-process
        # transport naas-server serves with one.
        cls.rabbit = servers.RabbitMQServer()
        try:
            cls.rabbit.setUp()
        except Exception:
            cls.pg.cleanUp()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.rabbit.cleanUp()
        super(TestPostgreSQL, cls).tearDownClass()

    def setUp(self):
        super(TestPostgreSQL, self).setUp()
        self.server = self.start_server(
            db_url=self.db_url, api_workers=2,
            options={'transport_url': self.rabbit.transport_url})
        self.assertEqual(2, self.server.workers)
        self.api = base.Client(self.server.url, project=PROJECT)
        self.addCleanup(self.api.close)
        self.admin = base.Client(self.server.url)
        self.addCleanup(self.admin.close)

    # -- helpers

    def network_with_subnet(self, cidr, **subnet):
        net = self.api.create('network', name='net-' + cidr)
        sub = self.api.create('subnet', network_id=net['id'], ip_version=4,
                              cidr=cidr, **subnet)
        return net, sub

    def create_concurrently(self, resource, bodies, threads=THREADS,
                            project=PROJECT):
        """POST each of ``bodies`` (one ``resource`` each) from ``threads``
        threads, each on a keep-alive connection of its own, half of them
        to each API worker, all starting at once; [(status, body)] in no
        particular order."""
        results = []
        lock = threading.Lock()
        todo = iter(bodies)
        errors = []
        start = threading.Barrier(threads)

        def worker(client):
            try:
                start.wait()
                while True:
                    with lock:
                        body = next(todo, None)
                    if body is None:
                        return
                    result = client.request('POST', '/v2.0/%ss' % resource,
                                            {resource: body})
                    with lock:
                        results.append(result)
            except Exception as e:  # reported below, not lost in a thread
                errors.append(e)
            finally:
                client.close()

        workers = [threading.Thread(target=worker, args=(client,))
                   for client in self.clients_on_both_workers(threads, project)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        self.assertEqual([], errors)
        self.assertEqual(len(bodies), len(results))
        return results

    def clients_on_both_workers(self, count, project):
        """``count`` Clients, connected half to each API worker: which
        worker accepts a connection is the kernel's choice, so a client
        whose first request went to a worker that has its half already
        connects again."""
        clients = []
        per_worker = collections.Counter()
        for attempt in range(50 * count):
            client = base.Client(self.server.url, project=project)
            marker = 'GET /v2.0/networks?name=connect-%d ' % attempt
            client.check('GET', marker.split()[1])
            pids = servers.wait_for(lambda: self.pids_that_served(marker), 10,
                                    0.02, 'the access log of %s' % marker)
            pid = pids.pop()
            if per_worker[pid] < (count + 1) // 2:
                per_worker[pid] += 1
                clients.append(client)
                if len(clients) == count:
                    return clients
            else:
                client.close()
        for client in clients:
            client.close()
        self.fail('could not connect %d clients to both workers: %s'
                  % (count, dict(per_worker)))

    def create_ports_concurrently(self, network_id, count, fixed_ips=None):
        """POST ``count`` ports from THREADS threads at once.

        ``fixed_ips``: a list of ``count`` fixed_ips values, one a port.
        """
        ports = [{'network_id': network_id, 'name': 'c%03d' % i}
                 for i in range(count)]
        for port, ips in zip(ports, fixed_ips or ()):
            port['fixed_ips'] = ips
        return self.create_concurrently('port', ports)

    def pids_that_served(self, request_line):
        """The worker processes whose access log has ``request_line``."""
        with open(self.server.log_file, errors='replace') as f:
            return {m.group(1) for m in re.finditer(
                r'^\S+ \S+ (\d+) INFO naas\.cmd\.server .*"%s'
                % re.escape(request_line), f.read(), re.M)}

    def allocations(self, subnet_id):
        return {r.ip_address: r.port_id for r in self.sql(
            'SELECT ip_address, port_id FROM ip_allocations '
            'WHERE subnet_id = :s', s=subnet_id)}

    def free_ranges(self, subnet_id):
        return [(int(r.first, 16), int(r.last, 16)) for r in self.sql(
            'SELECT first, last FROM ipam_free_ranges WHERE pool_id = :p '
            'ORDER BY first', p=subnet_id)]

    def assert_free_list_consistent(self, subnet):
        """Free ranges + allocations == the allocation pools, no overlap."""
        pools = set()
        for pool in subnet['allocation_pools']:
            pools.update(range(int(netaddr.IPAddress(pool['start'])),
                               int(netaddr.IPAddress(pool['end'])) + 1))
        free = set()
        for first, last in self.free_ranges(subnet['id']):
            span = set(range(first, last + 1))
            self.assertEqual(set(), free & span, 'overlapping free ranges')
            free |= span
        used = {int(netaddr.IPAddress(a))
                for a in self.allocations(subnet['id'])}
        self.assertEqual(set(), free & used, 'allocated addresses are free')
        self.assertEqual(pools, (free | used) & pools,
                         'addresses lost from the pool')
        return free, used

    def assert_clean_results(self, results, subnet):
        """201s with distinct addresses of the subnet, or 409 subnet full;
        never anything else.  Returns the addresses of the 201s."""
        statuses = collections.Counter(status for status, _ in results)
        self.assertEqual(set(), set(statuses) - {201, 409},
                         'unexpected statuses %s: %s' % (dict(statuses), [
                             b for s, b in results if s not in (201, 409)][:3]))
        for status, body in results:
            if status == 409:
                self.assertEqual('IpAddressGenerationFailure',
                                 body['NeutronError']['type'], body)
        ports = [body['port'] for status, body in results if status == 201]
        addresses = [ip['ip_address'] for p in ports for ip in p['fixed_ips']]
        self.assertEqual(len(ports), len(addresses))
        duplicates = [a for a, n in collections.Counter(addresses).items()
                      if n > 1]
        self.assertEqual([], duplicates, 'addresses given twice')
        cidr = netaddr.IPNetwork(subnet['cidr'])
        for a in addresses:
            self.assertIn(netaddr.IPAddress(a), cidr)
            self.assertNotEqual(subnet['gateway_ip'], a)
        # What the clients were told is what the database holds.
        allocations = self.allocations(subnet['id'])
        for p in ports:
            self.assertEqual(p['id'],
                             allocations.get(p['fixed_ips'][0]['ip_address']))
        return set(addresses)

    # -- concurrency

    def test_concurrent_port_creates_on_slash_24(self):
        net, sub = self.network_with_subnet('10.10.0.0/24')
        # Some addresses taken first, so that the free list has several
        # ranges and the allocations run one of them dry on the way.
        taken = ['10.10.0.5', '10.10.0.6', '10.10.0.100', '10.10.0.254']
        for ip in taken:
            self.api.create('port', network_id=net['id'],
                            fixed_ips=[{'ip_address': ip}])
        self.assertEqual([(0x0a0a0002, 0x0a0a0004), (0x0a0a0007, 0x0a0a0063),
                          (0x0a0a0065, 0x0a0a00fd)],
                         self.free_ranges(sub['id']))
        free_before = 253 - len(taken)

        results = self.create_ports_concurrently(net['id'], 200)
        addresses = self.assert_clean_results(results, sub)
        # 249 addresses are free: every request gets one.
        self.assertEqual(200, len(addresses), collections.Counter(
            s for s, _ in results))
        self.assertEqual(set(), addresses & set(taken))
        free, used = self.assert_free_list_consistent(sub)
        self.assertEqual(free_before - 200, len(free))
        self.assertEqual(204, len(used))
        self.assertEqual(204, self.count('ports', 'network_id = :n',
                                         n=net['id']))
        # Both API workers took part (else there was no race to lose).
        self.assertEqual(2, len(self.pids_that_served('POST /v2.0/ports ')),
                         self.server.log_tail(5))

    def test_concurrent_port_creates_on_slash_27(self):
        net, sub = self.network_with_subnet('10.20.0.0/27')
        pool_size = 29  # .2 - .30 (.1 is the gateway)
        results = self.create_ports_concurrently(net['id'], 200)
        addresses = self.assert_clean_results(results, sub)
        self.assertEqual(pool_size, len(addresses))
        self.assertEqual({'10.20.0.%d' % i for i in range(2, 31)}, addresses)
        self.assertEqual(200 - pool_size,
                         sum(1 for s, _ in results if s == 409))
        free, used = self.assert_free_list_consistent(sub)
        self.assertEqual(set(), free)
        self.assertEqual([], self.free_ranges(sub['id']))
        self.assertEqual(pool_size, self.count('ports', 'network_id = :n',
                                               n=net['id']))
        # Once one port goes, its address is the one the next port gets.
        victim = next(b['port'] for s, b in results if s == 201)
        self.api.check('DELETE', '/v2.0/ports/%s' % victim['id'], expect=204)
        port = self.api.create('port', network_id=net['id'])
        self.assertEqual(victim['fixed_ips'][0]['ip_address'],
                         port['fixed_ips'][0]['ip_address'])

    def test_concurrent_port_creates_asking_for_addresses(self):
        net, sub = self.network_with_subnet('10.50.0.0/24')
        # Each asks for an address of its own, in an order that splits
        # ranges that other requests are waiting to take from.
        wanted = ['10.50.0.%d' % i for i in range(2, 254)]
        random.Random(4).shuffle(wanted)
        wanted = wanted[:200]
        results = self.create_ports_concurrently(
            net['id'], len(wanted), [[{'ip_address': a}] for a in wanted])
        statuses = collections.Counter(s for s, _ in results)
        self.assertEqual({201: len(wanted)}, dict(statuses), [
            b for s, b in results if s != 201][:3])
        addresses = self.assert_clean_results(results, sub)
        self.assertEqual(set(wanted), addresses)
        free, used = self.assert_free_list_consistent(sub)
        self.assertEqual(253 - 200, len(free))
        # The addresses left are handed out in order.
        left = sorted(free)
        port = self.api.create('port', network_id=net['id'])
        self.assertEqual(str(netaddr.IPAddress(left[0])),
                         port['fixed_ips'][0]['ip_address'])

    def test_concurrent_deletes_of_the_same_ports(self):
        net, sub = self.network_with_subnet('10.60.0.0/24')
        ports = self.api.check('POST', '/v2.0/ports', {'ports': [
            {'network_id': net['id']} for _ in range(40)]}, expect=201)['ports']
        results = []
        lock = threading.Lock()

        def deleter(order):
            client = base.Client(self.server.url, project=PROJECT)
            try:
                for port in order:
                    status, body = client.request(
                        'DELETE', '/v2.0/ports/%s' % port['id'])
                    with lock:
                        results.append((port['id'], status, body))
            finally:
                client.close()

        # Four clients delete the same ports, two of them backwards.
        threads = [threading.Thread(target=deleter, args=(order,))
                   for order in (ports, ports[::-1]) * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(160, len(results))
        self.assertEqual(set(), {s for _, s, _ in results} - {204, 404},
                         [r for r in results if r[1] not in (204, 404)][:3])
        self.assertEqual(0, self.count('ports'))
        self.assertEqual(0, self.count('ip_allocations'))
        # Every address went back exactly once: the pool is whole again.
        self.assertEqual([(0x0a3c0002, 0x0a3c00fe)],
                         self.free_ranges(sub['id']))

    # -- quotas under concurrent creates

    def assert_quota_holds(self, resource, table, bodies):
        """40 creates of ``resource`` from 8 threads at once against a
        quota of 10: exactly 10 created, 30 OverQuota, 10 rows.  In
        QUOTA_ROUNDS projects one after another, as one round can miss the
        race it is about.  ``bodies(project)``: the 40 request bodies."""
        for round in range(QUOTA_ROUNDS):
            project = 'proj-quota-%d' % round
            self.admin.check('PUT', '/v2.0/quotas/%s' % project,
                             {'quota': {resource: 10}})
            self.assertEqual(0, self.count(table, 'project_id = :p',
                                           p=project))
            results = self.create_concurrently(resource, bodies(project),
                                               threads=8, project=project)
            statuses = collections.Counter(s for s, _ in results)
            self.assertEqual({201: 10, 409: 30}, dict(statuses), [
                b for s, b in results if s not in (201, 409)][:3])
            self.assertEqual({'OverQuota'}, {
                b['NeutronError']['type'] for s, b in results if s == 409})
            self.assertEqual(10, self.count(table, 'project_id = :p',
                                            p=project))
        self.assertEqual(2, len(self.pids_that_served(
            'POST /v2.0/%ss ' % resource)), self.server.log_tail(5))

    def test_concurrent_network_creates_stay_within_quota(self):
        self.assert_quota_holds('network', 'networks', lambda project: [
            {'name': 'q%02d' % i} for i in range(40)])

    def test_concurrent_port_creates_stay_within_quota(self):
        def bodies(project):
            net = self.admin.create('network', name='quota-ports',
                                    project_id=project)
            return [{'network_id': net['id'], 'name': 'q%02d' % i}
                    for i in range(40)]

        self.assert_quota_holds('port', 'ports', bodies)

    # -- the free list itself, two transactions in a set order

    def _while_waiting(self, first, second):
        """Run ``first(conn)`` in a transaction left open, then
        ``second(conn)`` in another thread until it waits for a lock of the
        first, then commit the first; the second's result."""
        result = {}
        with self.engine.connect() as conn1:
            with conn1.begin():
                first(conn1)
                pid = conn1.exec_driver_sql('SELECT pg_backend_pid()').scalar()

                def run():
                    with self.engine.begin() as conn2:
                        result['value'] = second(conn2)

                thread = threading.Thread(target=run)
                thread.start()
                servers.wait_for(lambda: self.sql(
                    'SELECT count(*) FROM pg_stat_activity WHERE '
                    "wait_event_type = 'Lock' AND :pid = ANY("
                    'pg_blocking_pids(pid))', pid=pid)[0][0], 30, 0.05,
                    'the second transaction to wait for the first')
        thread.join(30)
        self.assertIn('value', result)
        return result['value']

    def test_free_list_take_after_a_split_it_waited_for(self):
        from naas.db import freelist
        with self.engine.begin() as conn:
            freelist.create_pool(conn, 'test', [(1, 100)])
        # The first takes 50, splitting [1, 100]; the second, asking for 70,
        # waited on that range and must find 70 in the new upper part.
        self.assertTrue(self._while_waiting(
            lambda conn: self.assertTrue(freelist.take(conn, 'test', 50)),
            lambda conn: freelist.take(conn, 'test', 70)))
        self.assertEqual([(1, 49), (51, 69), (71, 100)],
                         self.free_ranges('test'))

    def test_free_list_take_next_after_a_delete_it_waited_for(self):
        from naas.db import freelist
        with self.engine.begin() as conn:
            freelist.create_pool(conn, 'test', [(5, 5)])

        def first(conn):
            # Takes the last free value and frees another (a port that
            # moves from address 3 to 5).
            self.assertTrue(freelist.take(conn, 'test', 5))
            freelist.give_back(conn, 'test', 3)

        self.assertEqual(3, self._while_waiting(
            first, lambda conn: freelist.take_next(conn, 'test')))
        self.assertEqual([], self.free_ranges('test'))

    # -- a request that fails half-way leaves no rows

    def test_failed_bulk_port_create_leaves_no_rows(self):
        net, sub = self.network_with_subnet('10.30.0.0/24')
        first = self.api.create('port', network_id=net['id'],
                                fixed_ips=[{'ip_address': '10.30.0.10'}])
        ports = self.count('ports')
        allocations = self.sql('SELECT * FROM ip_allocations ORDER BY 1, 2')
        free = self.free_ranges(sub['id'])

        status, body = self.api.request('POST', '/v2.0/ports', {'ports': [
            {'network_id': net['id'], 'name': 'bulk-1'},
            {'network_id': net['id'], 'name': 'bulk-2',
             'fixed_ips': [{'ip_address': '10.30.0.11'}]},
            {'network_id': net['id'], 'name': 'bulk-3',
             'fixed_ips': [{'ip_address': '10.30.0.10'}]}]})
        self.assertEqual(409, status, body)
        self.assertEqual('IpAddressAlreadyAllocated',
                         body['NeutronError']['type'])
        self.assertEqual(ports, self.count('ports'))
        self.assertEqual(0, self.count('ports', "name LIKE 'bulk-%'"))
        self.assertEqual(allocations, self.sql(
            'SELECT * FROM ip_allocations ORDER BY 1, 2'))
        self.assertEqual(free, self.free_ranges(sub['id']))
        # The addresses the failed request had taken are free again.
        port = self.api.create('port', network_id=net['id'])
        self.assertEqual('10.30.0.2', port['fixed_ips'][0]['ip_address'])
        port = self.api.create('port', network_id=net['id'],
                               fixed_ips=[{'ip_address': '10.30.0.11'}])
        self.assertEqual([first['id']], [p['id'] for p in self.api.check(
            'GET', '/v2.0/ports?fixed_ips=ip_address%3D10.30.0.10')['ports']])

    def test_failed_fixed_ips_leave_the_first_address_free(self):
        net, sub = self.network_with_subnet('10.40.0.0/24')
        self.api.create('port', network_id=net['id'],
                        fixed_ips=[{'ip_address': '10.40.0.10'}])
        free = self.free_ranges(sub['id'])

        status, body = self.api.request('POST', '/v2.0/ports', {'port': {
            'network_id': net['id'], 'name': 'half',
            'fixed_ips': [{'subnet_id': sub['id'], 'ip_address': '10.40.0.20'},
                          {'subnet_id': sub['id'],
                           'ip_address': '10.40.0.10'}]}})
        self.assertEqual(409, status, body)
        self.assertEqual('IpAddressAlreadyAllocated',
                         body['NeutronError']['type'])
        self.assertIn('10.40.0.10', body['NeutronError']['message'])
        self.assertEqual(0, self.count('ports', "name = 'half'"))
        self.assertEqual(0, self.count('ip_allocations',
                                       "ip_address = '10.40.0.20'"))
        self.assertEqual(free, self.free_ranges(sub['id']))
        port = self.api.create('port', network_id=net['id'],
                               fixed_ips=[{'ip_address': '10.40.0.20'}])
        self.assertEqual('10.40.0.20', port['fixed_ips'][0]['ip_address'])

        # The same on update: the port keeps what it had.
        status, body = self.api.request(
            'PUT', '/v2.0/ports/%s' % port['id'], {'port': {
                'fixed_ips': [{'ip_address': '10.40.0.21'},
                              {'ip_address': '10.40.0.10'}]}})
        self.assertEqual(409, status, body)
        self.assertEqual({'10.40.0.20': port['id']}, {
            a: p for a, p in self.allocations(sub['id']).items()
            if p == port['id']})
        self.assertEqual(0, self.count('ip_allocations',
                                       "ip_address = '10.40.0.21'"))
        self.assert_free_list_consistent(sub)

    def test_failed_network_create_leaves_no_rows(self):
        networks = self.count('networks')
        segments = self.sql('SELECT * FROM l2_segments ORDER BY 1')
        free = self.sql('SELECT * FROM ipam_free_ranges ORDER BY 1, 2')
        # As admin, a provider network on a physical network naas.conf
        # does not know: the network row is written before the segment is
        # checked, and must go with the failed request.
        status, body = self.admin.request('POST', '/v2.0/networks', {
            'network': {'name': 'bad-provider', 'project_id': PROJECT,
                        'provider:network_type': 'vlan',
                        'provider:physical_network': 'nowhere',
                        'provider:segmentation_id': 42}})
        self.assertEqual(400, status, body)
        self.assertEqual('InvalidInput', body['NeutronError']['type'])
        # (refused by the plugin, after the network row was written)
        self.assertIn('physical_network nowhere unknown',
                      body['NeutronError']['message'])
        # In bulk: a good network, then a bad one.
        status, body = self.admin.request('POST', '/v2.0/networks', {
            'networks': [
                {'name': 'good', 'project_id': PROJECT},
                {'name': 'bad-physnet', 'project_id': PROJECT,
                 'provider:network_type': 'vlan',
                 'provider:physical_network': 'nowhere'}]})
        self.assertEqual(400, status, body)
        self.assertIn('physical_network nowhere unknown',
                      body['NeutronError']['message'])
        self.assertEqual(networks, self.count('networks'))
        self.assertEqual(segments, self.sql(
            'SELECT * FROM l2_segments ORDER BY 1'))
        # Nor did the VNI that "good" took stay taken.
        self.assertEqual(free, self.sql(
            'SELECT * FROM ipam_free_ranges ORDER BY 1, 2'))
        net = self.admin.create('network', name='after', project_id=PROJECT)
        self.assertEqual(networks + 1, self.count('networks'))
        self.assertEqual(('vxlan', 1), (net['provider:network_type'],
                                        net['provider:segmentation_id']))
