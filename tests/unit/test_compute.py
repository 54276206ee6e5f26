"""naas.compute: network_info's shape and wait_for_vif_plugged's polling,
on a fake API client (no server, no root)."""
import urllib.parse

import testtools

from naas.compute import network_info
from naas.compute import vif

NET = '11111111-2222-3333-4444-555555555555'
SUB4 = 'aaaaaaaa-0000-0000-0000-000000000004'
SUB6 = 'aaaaaaaa-0000-0000-0000-000000000006'
PORT = 'bbbbbbbb-0000-0000-0000-000000000001'


def port(**kw):
    p = {'id': PORT, 'network_id': NET, 'mac_address': 'fa:16:3e:00:00:01',
         'status': 'ACTIVE', 'binding:vif_type': 'bridge',
         'binding:vif_details': {'port_filter': True}, 'binding:vnic_type': 'normal',
         'binding:profile': {}, 'created_at': '2024-01-01T00:00:00Z',
         'fixed_ips': [{'subnet_id': SUB4, 'ip_address': '10.0.0.5'},
                       {'subnet_id': SUB6, 'ip_address': '2001:db8::5'}]}
    p.update(kw)
    return p


NETWORK = {'id': NET, 'name': 'net1', 'mtu': 1450, 'project_id': 'p1',
           'provider:network_type': 'vxlan', 'provider:physical_network': None}
SUBNETS = {
    SUB4: {'id': SUB4, 'cidr': '10.0.0.0/24', 'ip_version': 4, 'gateway_ip': '10.0.0.1',
           'dns_nameservers': ['10.0.0.2'], 'enable_dhcp': True,
           'host_routes': [{'destination': '10.9.0.0/16', 'nexthop': '10.0.0.254'}]},
    SUB6: {'id': SUB6, 'cidr': '2001:db8::/64', 'ip_version': 6, 'gateway_ip': None,
           'dns_nameservers': [], 'host_routes': [], 'ipv6_address_mode': 'slaac'},
}


class FakeAPI(network_info.APIClient):
    """GETs answered from lists; records the paths asked."""

    def __init__(self, ports, statuses=None):
        self.ports = ports
        self.statuses = list(statuses or [])
        self.paths = []

    def get(self, path):
        self.paths.append(path)
        resource, _, query = path.lstrip('/').partition('?')
        q = urllib.parse.parse_qs(query)
        if resource == 'ports':
            if self.statuses:
                status = self.statuses.pop(0)
                return {'ports': [dict(p, status=status) for p in self.ports
                                  if p['id'] in q['id']]}
            return {'ports': [p for p in self.ports
                              if p.get('device_id') in q.get('device_id', [p.get('device_id')])]}
        if resource == 'networks':
            return {'networks': [NETWORK]}
        if resource == 'subnets':
            return {'subnets': [SUBNETS[i] for i in q['id']]}
        raise network_info.APIError(501, 'no floating IPs', 'GET', path)


class TestNetworkInfo(testtools.TestCase):
    def test_nova_shape(self):
        api = FakeAPI([port(device_id='vm1')])
        [v] = network_info.get_network_info(api, 'vm1')
        self.assertEqual((PORT, 'fa:16:3e:00:00:01', 'bridge', 'tapbbbbbbbb-00', True, None),
                         (v['id'], v['address'], v['type'], v['devname'], v['active'],
                          v['ovs_interfaceid']))
        net = v['network']
        self.assertEqual(('brq11111111-22', 'net1', 1450, 'p1', True),
                         (net['bridge'], net['label'], net['meta']['mtu'],
                          net['meta']['tenant_id'], net['meta']['tunneled']))
        s4, s6 = net['subnets']
        self.assertEqual(('10.0.0.0/24', 4, '10.0.0.1', ['10.0.0.2'], ['10.0.0.5']),
                         (s4['cidr'], s4['version'], s4['gateway']['address'],
                          [d['address'] for d in s4['dns']],
                          [i['address'] for i in s4['ips']]))
        self.assertEqual([{'cidr': '10.9.0.0/16', 'meta': {}, 'gateway': {
            'address': '10.0.0.254', 'type': 'gateway', 'version': 4, 'meta': {}}}],
            s4['routes'])
        self.assertEqual(('fixed', []), (s4['ips'][0]['type'], s4['ips'][0]['floating_ips']))
        self.assertEqual((None, ['2001:db8::5'], 6),
                         (s6['gateway'], [i['address'] for i in s6['ips']], s6['version']))
        # ports, networks, subnets, floating IPs: one request each
        self.assertEqual(4, len(api.paths))

    def test_ovs_vif_and_no_ports(self):
        api = FakeAPI([port(device_id='vm1', **{
            'binding:vif_type': 'ovs', 'binding:vif_details': {'bridge_name': 'br-int'}})])
        [v] = network_info.get_network_info(api, 'vm1')
        self.assertEqual((PORT, 'br-int'), (v['ovs_interfaceid'], v['network']['bridge']))
        self.assertEqual([], network_info.get_network_info(api, 'vm2'))

    def test_query_repeats_list_keys(self):
        self.assertEqual('id=a&id=b&fields=status',
                         network_info.query(id=['a', 'b'], fields='status'))


class TestWaitForVifPlugged(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.sleeps = []
        self.patch(network_info.time, 'sleep', self.sleeps.append)

    def test_returns_when_active_with_backoff(self):
        api = FakeAPI([port()], statuses=['DOWN', 'DOWN', 'DOWN', 'ACTIVE'])
        self.assertEqual({PORT: 'ACTIVE'}, network_info.wait_for_vif_plugged(api, [PORT]))
        self.assertEqual(3, len(self.sleeps))
        self.assertTrue(self.sleeps[0] < self.sleeps[1] < self.sleeps[2])

    def test_binding_failed_raises_at_once(self):
        api = FakeAPI([port(**{'binding:vif_type': 'binding_failed'})], statuses=['DOWN'])
        self.assertRaises(RuntimeError, network_info.wait_for_vif_plugged, api, [PORT])

    def test_deleted_port(self):
        api = FakeAPI([], statuses=['DOWN'])
        self.assertRaises(LookupError, network_info.wait_for_vif_plugged, api, [PORT])

    def test_timeout(self):
        api = FakeAPI([port()], statuses=['DOWN'] * 10)
        self.assertRaises(TimeoutError, network_info.wait_for_vif_plugged, api, [PORT],
                          timeout=0)


class TestVifFields(testtools.TestCase):
    def test_port_and_network_info_forms(self):
        self.assertEqual('bridge', vif.vif_type(port()))
        self.assertEqual('ovs', vif.vif_type({'type': 'ovs'}))
        self.assertEqual(1450, vif.mtu_of({'network': {'meta': {'mtu': 1450}}}))
        self.assertIsNone(vif.mtu_of(port()))

    def test_unbound_port_is_refused(self):
        self.assertRaises(ValueError, vif.plug, port(**{'binding:vif_type': 'unbound'}),
                          'h1', 'vm1')

    def test_ovs_without_its_library_makes_nothing(self):
        self.patch(vif, '_ovs_lib', self._no_ovs_lib)
        self.patch(vif.host_vif, 'plug_veth', self._no_netlink)
        self.assertRaises(NotImplementedError, vif.plug,
                          port(**{'binding:vif_type': 'ovs'}), 'h1', 'vm1')

    @staticmethod
    def _no_ovs_lib():
        raise NotImplementedError('no ovs_lib')

    @staticmethod
    def _no_netlink(*args, **kwargs):
        raise AssertionError('netlink used before the OVS library was checked')


class TestHostSettings(testtools.TestCase):
    """naas-sandbox and the compute library read the agent's options."""

    def _conf(self, text):
        import os
        import tempfile
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_agent_config_file(self):
        path = self._conf('[agent]\nnamespace = naas-x-h1\n'
                          '[ovs]\novsdb_connection = unix:/run/x/db.sock\n'
                          'integration_bridge = br-x\n')
        self.assertEqual({'host_namespace': 'naas-x-h1',
                          'ovsdb_connection': 'unix:/run/x/db.sock',
                          'integration_bridge': 'br-x'}, vif.host_settings([path]))

    def test_flags_win_and_defaults_are_the_agents(self):
        path = self._conf('[agent]\nnamespace = naas-x-h1\n')
        self.assertEqual({'host_namespace': 'naas-x-h2',
                          'ovsdb_connection': 'unix:/var/run/openvswitch/db.sock',
                          'integration_bridge': 'br-int'},
                         vif.host_settings([path], host_namespace='naas-x-h2',
                                           ovsdb_connection=None))

    def test_sandbox_passes_them_to_plug(self):
        from naas.cmd import sandbox
        path = self._conf('[agent]\nnamespace = naas-x-h1\n'
                          '[ovs]\novsdb_connection = unix:/run/x/db.sock\n')
        seen = {}

        def boot(api, network, host, host_namespace, name, timeout, **kw):
            seen.update(kw, host_namespace=host_namespace)
            return {}
        self.patch(sandbox, 'boot', boot)
        import io
        import sys
        self.patch(sys, 'stdout', io.StringIO())
        self.assertEqual(0, sandbox.main(['--url', 'http://127.0.0.1:1', 'boot', '--network',
                                          'n', '--host', 'h1', '--config-file', path]))
        self.assertEqual('naas-x-h1', seen['host_namespace'])
        self.assertEqual('unix:/run/x/db.sock', seen['ovsdb_connection'])
        self.assertEqual('br-int', seen['integration_bridge'])
