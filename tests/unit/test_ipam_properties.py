"""IPAM through the API, as properties over drawn subnets (hypothesis):
allocation pools, fixed IPs and the IPv6 address modes.

For any IPv4 subnet with drawn allocation pools and gateway: a subnet whose
pools hold the gateway is refused; otherwise every port gets one address,
inside a pool, never the gateway, never twice; when the pools are used up
the next port is 409 IpAddressGenerationFailure; freed addresses are given
out again.  A requested fixed IP is given once, then 409.  For IPv6, a port
on a SLAAC or DHCPv6-stateless subnet gets the EUI-64 address of its MAC,
on a DHCPv6-stateful one an address of the pool.

Seeded (derandomize) and bounded (max_examples) so that the module runs in
well under a minute.
"""
import ipaddress

import hypothesis
from hypothesis import strategies as st
import testtools

from naas.db import ipam
from tests.fixtures import app

SETTINGS = hypothesis.settings(
    max_examples=10, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(hypothesis.HealthCheck))


@st.composite
def v4_subnets(draw):
    """(cidr, gateway or None, pools or None for the default ones): a small
    subnet (/27../29), so that its pools can be used up."""
    prefix = draw(st.integers(27, 29))
    base = draw(st.integers(0, 255)) << 8 | draw(st.integers(0, 3)) << 6
    net = ipaddress.ip_network((0x0A000000 | base, prefix), strict=False)
    hosts = [int(a) for a in net.hosts()]
    gateway = draw(st.one_of(st.none(), st.sampled_from(hosts)))
    pools = None
    if draw(st.booleans()):
        cuts = sorted(draw(st.sets(st.sampled_from(hosts), min_size=1, max_size=6)))
        # Consecutive pairs of cut points, each pool [a, b], disjoint.
        pairs = [(cuts[i], cuts[i + 1] if i + 1 < len(cuts) else cuts[i])
                 for i in range(0, len(cuts), 2)]
        pools = [{'start': str(ipaddress.ip_address(a)), 'end': str(ipaddress.ip_address(b))}
                 for a, b in pairs]
    return str(net), None if gateway is None else str(ipaddress.ip_address(gateway)), pools


def in_pools(address, pools):
    value = ipaddress.ip_address(address)
    return any(ipaddress.ip_address(p['start']) <= value <= ipaddress.ip_address(p['end'])
               for p in pools)


class TestIpamProperties(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture())
        self.project = 'ipam-tenant'

    def call(self, method, path, body=None):
        return self.api.call(method, '/v2.0' + path, body, project=self.project)[:2]

    def network(self):
        status, body = self.call('POST', '/networks', {'network': {'name': 'n'}})
        self.assertEqual(201, status, body)
        return body['network']['id']

    def subnet(self, network_id, cidr, gateway=None, pools=None, **extra):
        subnet = dict(network_id=network_id, cidr=cidr,
                      ip_version=ipaddress.ip_network(cidr).version,
                      gateway_ip=gateway, **extra)
        if pools is not None:
            subnet['allocation_pools'] = pools
        return self.call('POST', '/subnets', {'subnet': subnet})

    def port(self, network_id, **extra):
        return self.call('POST', '/ports', {'port': dict(network_id=network_id, **extra)})

    def addresses(self, port):
        return [ip['ip_address'] for ip in port['fixed_ips']]

    @SETTINGS
    @hypothesis.given(v4_subnets(), st.data())
    def test_v4_pools_gateway_exhaustion_and_release(self, drawn, data):
        cidr, gateway, pools = drawn
        network_id = self.network()
        status, body = self.subnet(network_id, cidr, gateway, pools)
        if pools is not None and gateway is not None and in_pools(gateway, pools):
            self.assertEqual(409, status, body)
            self.assertEqual('GatewayConflictWithAllocationPools', body['NeutronError']['type'])
            return
        self.assertEqual(201, status, body)
        subnet = body['subnet']
        pools = subnet['allocation_pools']
        if gateway is not None:
            self.assertFalse(in_pools(gateway, pools), pools)
        size = sum(int(ipaddress.ip_address(p['end'])) - int(ipaddress.ip_address(p['start']))
                   + 1 for p in pools)
        given = {}
        for _ in range(size):
            status, body = self.port(network_id)
            self.assertEqual(201, status, body)
            (address,) = self.addresses(body['port'])
            self.assertTrue(in_pools(address, pools), (address, pools))
            self.assertNotEqual(gateway, address)
            self.assertNotIn(address, given)
            given[address] = body['port']['id']
        status, body = self.port(network_id)
        self.assertEqual(409, status, body)
        self.assertEqual('IpAddressGenerationFailure', body['NeutronError']['type'])
        freed = data.draw(st.sets(st.sampled_from(sorted(given)), min_size=1), label='freed')
        for address in freed:
            self.assertEqual(204, self.call('DELETE', '/ports/' + given.pop(address))[0])
        again = set()
        for _ in freed:
            status, body = self.port(network_id)
            self.assertEqual(201, status, body)
            again.update(self.addresses(body['port']))
        self.assertEqual(freed, again)

    @SETTINGS
    @hypothesis.given(v4_subnets(), st.data())
    def test_requested_fixed_ip_given_once(self, drawn, data):
        cidr, gateway, _ = drawn
        network_id = self.network()
        status, body = self.subnet(network_id, cidr, gateway)
        self.assertEqual(201, status, body)
        subnet_id = body['subnet']['id']
        hosts = [str(a) for a in ipaddress.ip_network(cidr).hosts() if str(a) != gateway]
        wanted = data.draw(st.sampled_from(hosts), label='wanted')
        fixed_ips = [{'subnet_id': subnet_id, 'ip_address': wanted}]
        status, body = self.port(network_id, fixed_ips=fixed_ips)
        self.assertEqual(201, status, body)
        self.assertEqual([wanted], self.addresses(body['port']))
        status, body = self.port(network_id, fixed_ips=fixed_ips)
        self.assertEqual(409, status, body)
        self.assertEqual('IpAddressAlreadyAllocated', body['NeutronError']['type'])
        # The next automatic address is never the one taken.
        status, body = self.port(network_id)
        if status == 201:
            self.assertNotIn(wanted, self.addresses(body['port']))
        else:
            self.assertEqual(409, status, body)

    @SETTINGS
    @hypothesis.given(
        mode=st.sampled_from(['slaac', 'dhcpv6-stateless', 'dhcpv6-stateful']),
        prefix=st.integers(0, 2 ** 16 - 1),
        macs=st.lists(st.integers(1, 2 ** 24 - 1), min_size=1, max_size=4, unique=True))
    def test_v6_address_modes(self, mode, prefix, macs):
        network_id = self.network()
        cidr = '2001:db8:%x::/64' % prefix
        status, body = self.subnet(network_id, cidr, '2001:db8:%x::1' % prefix,
                                   ipv6_ra_mode=mode, ipv6_address_mode=mode)
        self.assertEqual(201, status, body)
        pools = body['subnet']['allocation_pools']
        seen = set()
        for mac in macs:
            mac_address = 'fa:16:3e:%02x:%02x:%02x' % (mac >> 16, mac >> 8 & 255, mac & 255)
            status, body = self.port(network_id, mac_address=mac_address)
            self.assertEqual(201, status, body)
            (address,) = self.addresses(body['port'])
            if mode == 'dhcpv6-stateful':
                self.assertTrue(in_pools(address, pools), (address, pools))
            else:
                self.assertEqual(ipam.eui64(cidr, mac_address), address)
            self.assertNotEqual('2001:db8:%x::1' % prefix, address)
            self.assertNotIn(address, seen)
            seen.add(address)
