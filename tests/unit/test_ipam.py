"""IPAM (naas.db.ipam) on the free list: default pools, allocation of the
next or a given address, release, EUI-64, pool updates; and allocation
cost that does not depend on how many addresses a subnet has given out
(SQL statements counted at 10 and at 10,000 allocated on a /16), both in
IPAM itself and through the API's port create.
"""
import netaddr
import sqlalchemy as sa
import testtools

from naas.common import exceptions
from naas.db import freelist
from naas.db import ipam
from naas.db import models
from tests.fixtures import app
from tests.unit.test_freelist import StatementCounter


def ip(text):
    return int(netaddr.IPAddress(text))


def subnet(cidr, gateway, pools=None, id='subnet-1', address_mode=None):
    """A subnet dict as IPAM sees it, with its pool created."""
    net = netaddr.IPNetwork(cidr)
    if pools is None:
        pools = ipam.default_pools(cidr, gateway)
    return {'id': id, 'network_id': 'net-1', 'cidr': cidr, 'ip_version': net.version,
            'gateway_ip': gateway, 'ipv6_address_mode': address_mode,
            'allocation_pools': ipam.pools_to_api(pools, net.version)}


class TestDefaultPools(testtools.TestCase):

    def test_ipv4_gateway_first(self):
        self.assertEqual([(ip('10.0.0.2'), ip('10.0.0.254'))],
                         ipam.default_pools('10.0.0.0/24', '10.0.0.1'))

    def test_ipv4_gateway_last(self):
        self.assertEqual([(ip('10.0.0.1'), ip('10.0.0.253'))],
                         ipam.default_pools('10.0.0.0/24', '10.0.0.254'))

    def test_ipv4_gateway_in_the_middle_splits(self):
        self.assertEqual([(ip('10.0.0.1'), ip('10.0.0.99')),
                          (ip('10.0.0.101'), ip('10.0.0.254'))],
                         ipam.default_pools('10.0.0.0/24', '10.0.0.100'))

    def test_ipv4_no_gateway(self):
        self.assertEqual([(ip('10.0.0.1'), ip('10.0.0.254'))],
                         ipam.default_pools('10.0.0.0/24', None))

    def test_ipv4_point_to_point_and_host(self):
        self.assertEqual([(ip('10.0.0.0'), ip('10.0.0.1'))],
                         ipam.default_pools('10.0.0.0/31', None))
        self.assertEqual([(ip('10.0.0.7'), ip('10.0.0.7'))],
                         ipam.default_pools('10.0.0.7/32', None))

    def test_ipv4_slash_30(self):
        self.assertEqual([(ip('10.0.0.2'), ip('10.0.0.2'))],
                         ipam.default_pools('10.0.0.0/30', '10.0.0.1'))

    def test_ipv6_skips_the_subnet_router_anycast_address(self):
        self.assertEqual([(ip('2001:db8::2'), ip('2001:db8::ffff:ffff:ffff:ffff'))],
                         ipam.default_pools('2001:db8::/64', '2001:db8::1'))
        self.assertEqual([(ip('2001:db8::1'), ip('2001:db8::ffff:ffff:ffff:ffff'))],
                         ipam.default_pools('2001:db8::/64', None))

    def test_pools_round_trip_through_the_api_form(self):
        pools = ipam.default_pools('2001:db8::/64', '2001:db8::1')
        api = ipam.pools_to_api(pools, 6)
        self.assertEqual([{'start': '2001:db8::2', 'end': '2001:db8::ffff:ffff:ffff:ffff'}],
                         api)
        self.assertEqual(pools, ipam.pools_from_api(api))


class TestEUI64(testtools.TestCase):

    def test_eui64(self):
        self.assertEqual('2001:db8::f816:3eff:fe00:1',
                         ipam.eui64('2001:db8::/64', 'fa:16:3e:00:00:01'))
        self.assertEqual('2001:db8:1:2:f816:3eff:feab:cdef',
                         ipam.eui64('2001:db8:1:2::/64', 'fa:16:3e:ab:cd:ef'))
        # the universal/local bit is flipped: 00:.. becomes 02..
        self.assertEqual('fd00::200:5eff:fe00:5301',
                         ipam.eui64('fd00::/64', '00:00:5e:00:53:01'))

    def test_auto_address_modes(self):
        self.assertTrue(ipam.is_auto_address(subnet('2001:db8::/64', None,
                                                    address_mode='slaac')))
        self.assertTrue(ipam.is_auto_address(subnet('2001:db8::/64', None,
                                                    address_mode='dhcpv6-stateless')))
        self.assertFalse(ipam.is_auto_address(subnet('2001:db8::/64', None,
                                                     address_mode='dhcpv6-stateful')))
        self.assertFalse(ipam.is_auto_address(subnet('10.0.0.0/24', None)))


class IPAMTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # Plain SQLite without foreign keys: allocation rows need no ports.
        self.engine = sa.create_engine('sqlite://', poolclass=sa.pool.StaticPool)
        self.addCleanup(self.engine.dispose)
        models.metadata.create_all(self.engine, tables=[models.ipam_free_ranges,
                                                        models.ip_allocations])
        self.conn = self.engine.connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    def make(self, *args, **kwargs):
        s = subnet(*args, **kwargs)
        ipam.create_subnet_pool(self.conn, s['id'], ipam.subnet_pools(s))
        return s

    def record(self, s, address):
        """What the plugin does after IPAM: the allocation row."""
        self.conn.execute(models.ip_allocations.insert().values(
            subnet_id=s['id'], ip_address=address, port_id='port', network_id='net-1'))


class TestAllocate(IPAMTestCase):

    def test_next_free_in_order(self):
        s = self.make('10.0.0.0/29', '10.0.0.1')
        got = [ipam.allocate(self.conn, s) for _ in range(5)]
        self.assertEqual(['10.0.0.%d' % i for i in range(2, 7)], got)
        e = self.assertRaises(exceptions.IpAddressGenerationFailure,
                              ipam.allocate, self.conn, s)
        self.assertEqual(409, e.code)

    def test_ipv6_next_free(self):
        s = self.make('2001:db8::/64', '2001:db8::1', address_mode='dhcpv6-stateful')
        self.assertEqual('2001:db8::2', ipam.allocate(self.conn, s))
        self.assertEqual('2001:db8::3', ipam.allocate(self.conn, s))

    def test_given_address(self):
        s = self.make('10.0.0.0/24', '10.0.0.1')
        self.assertEqual('10.0.0.77', ipam.allocate(self.conn, s, '10.0.0.77'))
        self.record(s, '10.0.0.77')
        self.assertRaises(exceptions.IpAddressAlreadyAllocated,
                          ipam.allocate, self.conn, s, '10.0.0.77')
        # the next free skips around it
        self.assertEqual('10.0.0.2', ipam.allocate(self.conn, s))

    def test_given_address_taken_but_not_recorded_yet(self):
        # Two ports of one bulk request: the second finds it gone from the
        # free list, and the address is in the pools: already allocated.
        s = self.make('10.0.0.0/24', '10.0.0.1')
        ipam.allocate(self.conn, s, '10.0.0.9')
        self.assertRaises(exceptions.IpAddressAlreadyAllocated,
                          ipam.allocate, self.conn, s, '10.0.0.9')

    def test_address_outside_the_pools_but_in_the_cidr(self):
        # e.g. the gateway for a router port: allowed once.
        s = self.make('10.0.0.0/24', '10.0.0.1')
        self.assertEqual('10.0.0.1', ipam.allocate(self.conn, s, '10.0.0.1'))
        self.record(s, '10.0.0.1')
        self.assertRaises(exceptions.IpAddressAlreadyAllocated,
                          ipam.allocate, self.conn, s, '10.0.0.1')

    def test_addresses_not_in_the_subnet(self):
        s = self.make('10.0.0.0/24', '10.0.0.1')
        for bad in ('10.0.0.0', '10.0.0.255', '10.0.1.5', '192.168.0.1', '2001:db8::1'):
            e = self.assertRaises(exceptions.InvalidIpForSubnet,
                                  ipam.allocate, self.conn, s, bad)
            self.assertEqual(400, e.code)
        s6 = self.make('2001:db8::/64', '2001:db8::1', id='subnet-6')
        self.assertRaises(exceptions.InvalidIpForSubnet,
                          ipam.allocate, self.conn, s6, '2001:db8::')
        self.assertRaises(exceptions.InvalidIpForSubnet,
                          ipam.allocate, self.conn, s6, '2001:db8:1::5')

    def test_release_returns_the_address(self):
        s = self.make('10.0.0.0/29', '10.0.0.1')
        got = [ipam.allocate(self.conn, s) for _ in range(5)]
        ipam.release(self.conn, s, got[2])
        self.assertEqual(got[2], ipam.allocate(self.conn, s))
        for address in got:
            ipam.release(self.conn, s, address)
        self.assertEqual([(ip('10.0.0.2'), ip('10.0.0.6'))], self._ranges(s))

    def test_release_outside_the_pools_does_not_grow_them(self):
        s = self.make('10.0.0.0/24', '10.0.0.1')
        ipam.allocate(self.conn, s, '10.0.0.1')
        ipam.release(self.conn, s, '10.0.0.1')
        self.assertEqual(253, freelist.free_count(self.conn, s['id']))
        self.assertEqual([(ip('10.0.0.2'), ip('10.0.0.254'))], self._ranges(s))

    def test_release_twice_is_harmless(self):
        s = self.make('10.0.0.0/24', '10.0.0.1')
        address = ipam.allocate(self.conn, s)
        ipam.release(self.conn, s, address)
        ipam.release(self.conn, s, address)
        self.assertEqual(253, freelist.free_count(self.conn, s['id']))

    def test_update_pools_keeps_allocations(self):
        s = self.make('10.0.0.0/24', '10.0.0.1',
                      pools=[(ip('10.0.0.10'), ip('10.0.0.20'))])
        for address in ('10.0.0.10', '10.0.0.15'):
            self.assertEqual(address, ipam.allocate(self.conn, s, address))
            self.record(s, address)
        new = [(ip('10.0.0.12'), ip('10.0.0.30'))]
        ipam.update_subnet_pools(self.conn, s['id'], ipam.subnet_pools(s), new)
        s['allocation_pools'] = ipam.pools_to_api(new, 4)
        self.assertEqual([(ip('10.0.0.12'), ip('10.0.0.14')),
                          (ip('10.0.0.16'), ip('10.0.0.30'))], self._ranges(s))
        self.assertRaises(exceptions.IpAddressAlreadyAllocated,
                          ipam.allocate, self.conn, s, '10.0.0.15')

    def _ranges(self, s):
        t = models.ipam_free_ranges
        return [(freelist.unkey(r.first), freelist.unkey(r.last))
                for r in self.conn.execute(sa.select(t.c.first, t.c.last)
                                           .where(t.c.pool_id == s['id'])
                                           .order_by(t.c.first))]


class TestAllocationCost(IPAMTestCase):
    """Statements per allocation at 10 and at 10,000 allocated, on a /16."""

    def setUp(self):
        super().setUp()
        self.counter = StatementCounter(self.engine)
        self.addCleanup(self.counter.close)

    def statements(self, func, *args):
        with self.counter.counting() as n:
            func(*args)
        return n()

    def test_allocation_cost_does_not_grow(self):
        s = self.make('10.1.0.0/16', '10.1.0.1')
        for _ in range(10):
            ipam.allocate(self.conn, s)
        for address in ('10.1.0.2', '10.1.0.3'):
            self.record(s, address)
        early = self.costs(s, taken='10.1.0.3', free='10.1.200.7')
        # 10,000 allocated: what 10,000 allocations leave behind (rows in
        # ip_allocations, the rest of the pool free), written in bulk to
        # keep the test fast.
        self.conn.execute(models.ip_allocations.delete())
        self.conn.execute(models.ip_allocations.insert(), [
            {'subnet_id': s['id'], 'ip_address': str(netaddr.IPAddress(v)),
             'port_id': 'port-%d' % v, 'network_id': 'net-1'}
            for v in range(ip('10.1.0.2'), ip('10.1.0.2') + 10000)])
        freelist.delete_pool(self.conn, s['id'])
        freelist.create_pool(self.conn, s['id'],
                             [(ip('10.1.0.2') + 10000, ip('10.1.255.254'))])
        self.assertEqual(65533 - 10000, freelist.free_count(self.conn, s['id']))
        late = self.costs(s, taken='10.1.30.3', free='10.1.201.9')
        self.assertEqual(early, late)
        self.assertLessEqual(max(early.values()), 4, early)

    def costs(self, s, taken, free):
        """Statements of: next free, a given free address, a taken one
        (refused), a gateway-like address outside the pools, release."""
        out = {'next': self.statements(ipam.allocate, self.conn, s),
               'given': self.statements(ipam.allocate, self.conn, s, free)}
        with self.counter.counting() as n:
            self.assertRaises(exceptions.IpAddressAlreadyAllocated,
                              ipam.allocate, self.conn, s, taken)
        out['taken'] = n()
        out['outside'] = self.statements(ipam.allocate, self.conn, s, '10.1.0.1')
        out['release'] = self.statements(ipam.release, self.conn, s, free)
        return out

    def test_no_statement_scans_a_table(self):
        # Each statement of an allocation finds its rows by an index
        # (SQLite's plan says SEARCH), none reads a whole table (SCAN).
        s = self.make('10.1.0.0/16', '10.1.0.1')
        for address in ('10.1.0.2', '10.1.0.3'):
            self.assertEqual(address, ipam.allocate(self.conn, s))
            self.record(s, address)
        start = len(self.counter.statements)
        ipam.allocate(self.conn, s)
        ipam.allocate(self.conn, s, '10.1.7.7')
        ipam.allocate(self.conn, s, '10.1.0.1')
        self.assertRaises(exceptions.IpAddressAlreadyAllocated,
                          ipam.allocate, self.conn, s, '10.1.0.3')
        ipam.release(self.conn, s, '10.1.7.7')
        statements = self.counter.statements[start:]
        self.assertGreater(len(statements), 5)
        raw = self.conn.connection.dbapi_connection
        for statement, params in statements:
            plan = [row[-1] for row in
                    raw.execute('EXPLAIN QUERY PLAN ' + statement, params)]
            self.assertFalse([p for p in plan if p.startswith('SCAN')],
                             '%s: %s' % (statement, plan))

    def test_ipv6_allocation_cost_does_not_grow(self):
        s = self.make('2001:db8::/64', '2001:db8::1', address_mode='dhcpv6-stateful')
        for _ in range(10):
            ipam.allocate(self.conn, s)
        early = self.statements(ipam.allocate, self.conn, s)
        for _ in range(1000):
            ipam.allocate(self.conn, s)
        self.assertEqual(early, self.statements(ipam.allocate, self.conn, s))


class TestPortCreateCost(testtools.TestCase):
    """Through the API: the SQL of one port create does not grow with the
    ports (and addresses) the network already has."""

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture())
        from naas.db import api as db_api
        self.counter = StatementCounter(db_api.get_engine())
        self.addCleanup(self.counter.close)

    def create_port(self, net_id):
        status, body, _ = self.api.call('POST', '/v2.0/ports',
                                        {'port': {'network_id': net_id}}, project='p')
        self.assertEqual(201, status, body)
        return body['port']

    def port_cost(self, net_id):
        with self.counter.counting() as n:
            port = self.create_port(net_id)
        self.assertEqual(1, len(port['fixed_ips']))
        return n()

    def test_port_create_cost_does_not_grow(self):
        status, body, _ = self.api.call('POST', '/v2.0/networks',
                                        {'network': {'name': 'n'}}, project='p')
        net_id = body['network']['id']
        status, body, _ = self.api.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': net_id, 'ip_version': 4, 'cidr': '10.2.0.0/16'}}, project='p')
        self.assertEqual(201, status, body)
        for _ in range(10):
            self.create_port(net_id)
        early = self.port_cost(net_id)
        for _ in range(150):
            self.create_port(net_id)
        late = self.port_cost(net_id)
        self.assertEqual(early, late)
