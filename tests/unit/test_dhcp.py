"""DHCP: dnsmasq's files and command line (naas.agent.dhcp), scheduling,
DHCP ports, get_dhcp_networks and the casts (naas.plugins.l2.dhcp) on the
in-process transport."""
import threading

import testtools

from naas.agent import dhcp as agent_dhcp
from naas.rpc import server_api
from tests.fixtures import app

MAC = 'fa:16:3e:00:00:01'


def _network(**extra):
    net = {'id': 'net-1', 'mtu': 1450, 'subnets': [
        {'id': 's4', 'cidr': '10.0.0.0/24', 'ip_version': 4, 'gateway_ip': '10.0.0.1',
         'enable_dhcp': True, 'dns_nameservers': ['10.0.0.53'],
         'host_routes': [{'destination': '10.1.0.0/16', 'nexthop': '10.0.0.254'}],
         'ipv6_address_mode': None, 'ipv6_ra_mode': None},
        {'id': 's6', 'cidr': '2001:db8::/64', 'ip_version': 6, 'gateway_ip': '2001:db8::1',
         'enable_dhcp': True, 'dns_nameservers': ['2001:db8::53'], 'host_routes': [],
         'ipv6_address_mode': 'dhcpv6-stateful', 'ipv6_ra_mode': 'dhcpv6-stateful'},
        {'id': 'sa', 'cidr': '2001:db8:1::/64', 'ip_version': 6, 'gateway_ip': None,
         'enable_dhcp': True, 'dns_nameservers': [], 'host_routes': [],
         'ipv6_address_mode': 'slaac', 'ipv6_ra_mode': 'slaac'},
        {'id': 'sx', 'cidr': '10.9.0.0/24', 'ip_version': 4, 'gateway_ip': None,
         'enable_dhcp': False, 'dns_nameservers': [], 'host_routes': [],
         'ipv6_address_mode': None, 'ipv6_ra_mode': None}],
        'port': {'id': 'dhcp-port', 'mac_address': 'fa:16:3e:00:00:02',
                 'fixed_ips': [{'subnet_id': 's4', 'ip_address': '10.0.0.2'}]},
        'ports': [
            {'id': 'dhcp-port', 'mac_address': 'fa:16:3e:00:00:02',
             'fixed_ips': [{'subnet_id': 's4', 'ip_address': '10.0.0.2'}]},
            {'id': 'vm', 'mac_address': MAC, 'fixed_ips': [
                {'subnet_id': 's4', 'ip_address': '10.0.0.5'},
                {'subnet_id': 's6', 'ip_address': '2001:db8::5'},
                {'subnet_id': 'sa', 'ip_address': '2001:db8:1::f816:3eff:fe00:1'},
                {'subnet_id': 'sx', 'ip_address': '10.9.0.5'}]}]}
    net.update(extra)
    return net


class TestDnsmasqConfig(testtools.TestCase):

    def test_hosts_one_entry_per_address_dhcp_serves(self):
        self.assertEqual(['%s,host-10-0-0-5,10.0.0.5' % MAC,
                          '%s,host-2001-db8--5,[2001:db8::5]' % MAC],
                         agent_dhcp.hosts_lines(_network()))

    def test_options_per_subnet(self):
        self.assertEqual([
            'tag:subnet-s4,option:router,10.0.0.1',
            'tag:subnet-s4,option:dns-server,10.0.0.53',
            'tag:subnet-s4,option:classless-static-route,10.1.0.0/16,10.0.0.254,'
            '0.0.0.0/0,10.0.0.1',
            'tag:subnet-s4,249,10.1.0.0/16,10.0.0.254,0.0.0.0/0,10.0.0.1',
            'tag:subnet-s4,option:mtu,1450',
            'tag:subnet-s6,option6:dns-server,[2001:db8::53]',
        ], agent_dhcp.opts_lines(_network()))

    def test_no_gateway_sends_an_empty_router_option(self):
        net = _network()
        net['subnets'] = [dict(net['subnets'][0], gateway_ip=None, host_routes=[],
                               dns_nameservers=[])]
        self.assertEqual(['tag:subnet-s4,option:router', 'tag:subnet-s4,option:mtu,1450'],
                         agent_dhcp.opts_lines(net))

    def test_command_line(self):
        args = agent_dhcp.dnsmasq_args(_network(), 'ns-dhcp-port', '/s/d', 120)
        for expected in ('--no-hosts', '--no-resolv', '--bind-interfaces',
                         '--interface=ns-dhcp-port', '--except-interface=lo',
                         '--dhcp-hostsfile=/s/d/host', '--dhcp-optsfile=/s/d/opts',
                         '--dhcp-leasefile=/s/d/leases', '--pid-file=/s/d/pid',
                         '--dhcp-authoritative',
                         '--dhcp-range=set:subnet-s4,10.0.0.0,static,255.255.255.0,120s',
                         '--dhcp-range=set:subnet-s6,2001:db8::,static,64,120s',
                         '--dhcp-range=set:subnet-sa,2001:db8:1::,slaac,64,120s',
                         '--enable-ra', '--ra-param=ns-dhcp-port,mtu:1450,10,0'):
            self.assertIn(expected, args)
        self.assertFalse([a for a in args if 'subnet-sx' in a])
        stateless = _network()
        stateless['subnets'][1]['ipv6_address_mode'] = 'dhcpv6-stateless'
        self.assertIn('--dhcp-range=set:subnet-s6,2001:db8::,ra-stateless,64,120s',
                      agent_dhcp.dnsmasq_args(stateless, 'ns-x', '/d', 120))
        v4 = _network()
        v4['subnets'] = v4['subnets'][:1]
        self.assertNotIn('--enable-ra', agent_dhcp.dnsmasq_args(v4, 'ns-x', '/d', 120))

    def test_names(self):
        self.assertEqual('naas-1a2b3-h1-dhcp-0123456789a', agent_dhcp.namespace_name(
            'naas-1a2b3-h1', '0123456789abcdef'))
        self.assertEqual('ns-0123456789a', agent_dhcp.interface_name('0123456789abcdef'))


class _Agent:
    """Records the casts an agent gets."""

    def __init__(self):
        self.changed = []
        self.event = threading.Event()

    def on_dhcp_network_changed(self, network_id):
        self.changed.append(network_id)
        self.event.set()

    def __getattr__(self, name):
        return lambda *a, **k: None


class TestDhcpScheduling(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(agent_down_time=30))
        app.start_rpc_listeners(self)
        self.agents = {}

    def report(self, host, dhcp=True):
        agent = self.agents[host] = _Agent()
        return app.serve_agent(self, host, agent, dhcp=dhcp,
                               tunnel_ip='192.0.2.%d' % len(self.agents))

    def call(self, method, path, body=None, expect=None):
        # An administrator of a project: what it creates belongs to that project.
        status, data, _ = self.api.call(method, path, body, project='p', roles='admin')
        if expect is not None:
            self.assertEqual(expect, status, data)
        return data

    def network(self, cidr='10.7.0.0/24', **subnet):
        net = self.call('POST', '/v2.0/networks', {'network': {}}, 201)['network']
        body = dict({'network_id': net['id'], 'ip_version': 4, 'cidr': cidr}, **subnet)
        sub = self.call('POST', '/v2.0/subnets', {'subnet': body}, 201)['subnet']
        return net, sub

    def dhcp_ports(self, net):
        return self.call('GET', '/v2.0/ports?device_owner=network:dhcp&network_id='
                         + net['id'])['ports']

    def test_networks_go_to_dhcp_agents_least_loaded_first(self):
        self.report('hv1')
        self.report('hv2')
        self.report('hv3', dhcp=False)
        net1, _ = self.network()
        net2, _ = self.network()
        served = {h: [n['id'] for n in server_api.ServerAPI(h, timeout=10)
                      .get_dhcp_networks({})] for h in ('hv1', 'hv2', 'hv3')}
        self.assertEqual({'hv1': [net1['id']], 'hv2': [net2['id']], 'hv3': []}, served)
        # No DHCP-enabled subnet: not scheduled.
        net3, _ = self.network(enable_dhcp=False)
        self.assertEqual([], server_api.ServerAPI('hv1', timeout=10).get_dhcp_networks(
            {}, network_ids=[net3['id']]))

    def test_dhcp_port_and_network_contents(self):
        self.report('hv1')
        net, sub = self.network(gateway_ip='10.7.0.1', dns_nameservers=['10.7.0.53'])
        self.assertEqual([], self.dhcp_ports(net))   # made when the agent asks
        client = server_api.ServerAPI('hv1', timeout=10)
        [served] = client.get_dhcp_networks({})
        [port] = self.dhcp_ports(net)
        self.assertEqual(('network:dhcp', 'dhcp-hv1', 'hv1', 'bridge'),
                         (port['device_owner'], port['device_id'],
                          port['binding:host_id'], port['binding:vif_type']))
        self.assertEqual([sub['id']], [ip['subnet_id'] for ip in port['fixed_ips']])
        self.assertEqual(port['id'], served['port']['id'])
        self.assertEqual(net['mtu'], served['mtu'])
        [s] = served['subnets']
        self.assertEqual(('10.7.0.0/24', '10.7.0.1', ['10.7.0.53'], True),
                         (s['cidr'], s['gateway_ip'], s['dns_nameservers'], s['enable_dhcp']))
        self.assertEqual([port['id']], [p['id'] for p in served['ports']])
        # Asked again: the same port.
        client.get_dhcp_networks({})
        self.assertEqual([port['id']], [p['id'] for p in self.dhcp_ports(net)])
        # A port on the network: in the next answer, and a cast to hv1.
        agent = self.agents['hv1']
        agent.event.clear()
        vm = self.call('POST', '/v2.0/ports', {'port': {'network_id': net['id']}},
                       201)['port']
        self.assertTrue(agent.event.wait(10))
        self.assertIn(net['id'], agent.changed)
        [served] = client.get_dhcp_networks({}, network_ids=[net['id']])
        self.assertEqual({port['id']: port['mac_address'], vm['id']: vm['mac_address']},
                         {p['id']: p['mac_address'] for p in served['ports']})
        # DHCP disabled: no DHCP port, not served, a cast to say so.
        agent.event.clear()
        self.call('PUT', '/v2.0/subnets/' + sub['id'],
                  {'subnet': {'enable_dhcp': False}}, 200)
        self.assertEqual([], self.dhcp_ports(net))
        self.assertTrue(agent.event.wait(10))
        self.assertEqual([], client.get_dhcp_networks({}))
        # Enabled again: served again, with a new DHCP port.
        self.call('PUT', '/v2.0/subnets/' + sub['id'],
                  {'subnet': {'enable_dhcp': True}}, 200)
        [served] = client.get_dhcp_networks({})
        self.assertEqual(1, len(self.dhcp_ports(net)))
        # The network can be deleted with its DHCP port on it.
        self.call('DELETE', '/v2.0/ports/' + vm['id'], None, 204)
        self.call('DELETE', '/v2.0/networks/' + net['id'], None, 204)
        self.assertEqual([], client.get_dhcp_networks({}))

    def test_unscheduled_network_goes_to_the_first_agent_that_syncs(self):
        net, sub = self.network()
        self.report('hv1')
        [served] = server_api.ServerAPI('hv1', timeout=10).get_dhcp_networks({})
        self.assertEqual(net['id'], served['id'])

    def test_new_dhcp_subnet_gets_an_address_on_the_dhcp_port(self):
        self.report('hv1')
        net, sub = self.network()
        client = server_api.ServerAPI('hv1', timeout=10)
        client.get_dhcp_networks({})
        sub2 = self.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': net['id'], 'ip_version': 4, 'cidr': '10.8.0.0/24'}},
            201)['subnet']
        [served] = client.get_dhcp_networks({})
        self.assertEqual({sub['id'], sub2['id']},
                         {ip['subnet_id'] for ip in served['port']['fixed_ips']})
