"""L2 population on the agent without a host: when the agent calls the
driver's hook (naas.agent.l2.hooks.L2Population), and the Open vSwitch
driver's br-tun flows (naas.agent.l2.l2pop_ovs)."""
import contextlib
import threading

import testtools

from naas.agent import agent as agent_mod
from naas.agent.l2 import hooks
from naas.agent.l2 import l2pop_ovs
from naas.agent.l2 import ovs_flows as flows

E = hooks.FdbEntry


class Driver(hooks.L2Population):
    """Wires anything; records the L2 population calls."""

    def __init__(self):
        self.calls = []

    @contextlib.contextmanager
    def batch(self):
        yield

    def wire(self, details):
        pass

    def unwire(self, port_id):
        pass

    def set_endpoints(self, network_id, endpoints):
        self.calls.append(('set_endpoints', network_id, [e['host'] for e in endpoints]))

    def set_fdb(self, network_id, entries):
        self.calls.append(('set_fdb', network_id, list(entries)))

    def update_fdb(self, network_id, add, remove):
        self.calls.append(('update_fdb', network_id, list(add), list(remove)))


class Server:
    def __init__(self, entries):
        self.entries = entries
        self.asked = []

    def get_fdb_entries(self, context, network_ids):
        self.asked.append(network_ids)
        return {n: self.entries.get(n, []) for n in network_ids}

    def update_device_up(self, context, devices):
        pass

    def update_device_down(self, context, devices):
        pass


def _agent(server):
    agent = agent_mod.Agent.__new__(agent_mod.Agent)
    agent.driver = Driver()
    agent.server = server
    for hook in ('port_filter', 'qos', 'counters', 'remotes', 'physical'):
        setattr(agent, hook, None)
    agent.l2pop = agent.driver
    agent.lock = threading.RLock()
    agent.wired, agent.parked = {}, {}
    agent.pending, agent.pending_lock = agent_mod.Pending(), threading.Lock()
    agent.wake = threading.Event()
    return agent


def _port(port_id, network_id, network_type='vxlan'):
    return {'port_id': port_id, 'network_id': network_id, 'network_type': network_type,
            'admin_state_up': True}


class TestAgentCalls(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = Server({'n1': [['192.0.2.2', 'fa:16:3e:00:00:02', ['10.0.0.2']]]})
        self.agent = _agent(self.server)
        self.calls = self.agent.driver.calls

    def test_first_port_of_a_network_gets_its_entries_in_one_call(self):
        self.agent._wire([_port('p1', 'n1'), _port('p2', 'n1'), _port('p3', 'n2'),
                          _port('p4', 'flat', 'flat')])
        self.assertEqual([['n1', 'n2']], self.server.asked)
        self.assertEqual([('set_fdb', 'n1', [E('192.0.2.2', 'fa:16:3e:00:00:02', ('10.0.0.2',))]),
                          ('set_fdb', 'n2', [])], self.calls)
        self.agent._wire([_port('p5', 'n1')])     # not the first: nothing asked
        self.assertEqual(1, len(self.server.asked))

    def test_fdb_update_only_for_networks_with_ports_here(self):
        self.agent.on_fdb_update('n1', [['192.0.2.3', 'fa:16:3e:00:00:03', []]], [])
        self.agent.apply_pending()
        self.assertEqual([], self.calls)
        self.agent._wire([_port('p1', 'n1')])
        del self.calls[:]
        self.agent.on_fdb_update('n1', [['192.0.2.3', 'fa:16:3e:00:00:03', ['10.0.0.3']]],
                                 [['', 'fa:16:3e:00:00:02', ['10.0.0.2']]],
                                 [{'host': 'a', 'tunnel_ip': '192.0.2.3'}])
        self.agent.apply_pending()
        self.assertEqual([
            ('set_endpoints', 'n1', ['a']),
            ('update_fdb', 'n1', [E('192.0.2.3', 'fa:16:3e:00:00:03', ('10.0.0.3',))],
             [E('', 'fa:16:3e:00:00:02', ('10.0.0.2',))])], self.calls)

    def test_last_port_of_a_network_clears_its_entries(self):
        self.agent._wire([_port('p1', 'n1'), _port('p2', 'n1')])
        del self.calls[:]
        self.agent.on_port_delete('p1')
        self.agent.apply_pending()
        self.assertEqual([], self.calls)
        self.agent.on_port_delete('p2')
        self.agent.apply_pending()
        self.assertEqual([('set_fdb', 'n1', [])], self.calls)


LAYOUT = flows.Layout(int_br='br-int', tun_br='br-tun', patch_int_ofport=1,
                      tunnels={('vxlan', '192.0.2.2'): 5}, physnets={}, dead_ofports=())
NET = flows.Net('n1', 7, 'vxlan', None, 1001, ('192.0.2.2', '192.0.2.3'))


class TestOvsFlows(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.l2pop = l2pop_ovs.OvsL2Pop('192.0.2.1', arp_responder=True)

    def test_unicast_and_arp_responder_flows(self):
        self.assertTrue(self.l2pop.set_fdb('n1', [
            E('192.0.2.2', 'FA:16:3E:00:00:02', ('10.0.0.2', 'fd00::2')),
            E('192.0.2.3', 'fa:16:3e:00:00:03', ('10.0.0.3',)),      # no tunnel port yet
            E('192.0.2.1', 'fa:16:3e:00:00:01', ('10.0.0.1',))]))    # this host's: ignored
        table = self.l2pop.flows(LAYOUT, [NET])
        self.assertEqual('strip_vlan,set_tunnel:0x3e9,output:5',
                         table[(flows.UCAST_TO_TUN, 2, 'dl_vlan=7,dl_dst=fa:16:3e:00:00:02')])
        self.assertNotIn((flows.UCAST_TO_TUN, 2, 'dl_vlan=7,dl_dst=fa:16:3e:00:00:03'), table)
        responders = sorted(k[2] for k in table if k[0] == flows.ARP_RESPONDER and k[1] == 1)
        self.assertEqual(['dl_vlan=7,arp,arp_tpa=10.0.0.2', 'dl_vlan=7,arp,arp_tpa=10.0.0.3'],
                         responders)
        reply = table[(flows.ARP_RESPONDER, 1, 'dl_vlan=7,arp,arp_tpa=10.0.0.2')]
        self.assertIn('mod_dl_src:fa:16:3e:00:00:02', reply)
        self.assertIn('load:0xa000002->NXM_OF_ARP_SPA[]', reply)
        self.assertEqual('resubmit(,%d)' % flows.FLOOD_TO_TUN,
                         table[(flows.UCAST_TO_TUN, 0, '')])
        self.assertEqual('resubmit(,%d)' % flows.ARP_RESPONDER,
                         table[(0, 2, 'in_port=1,arp,arp_op=1')])

    def test_update_replaces_by_mac_and_says_whether_flows_change(self):
        self.l2pop.set_fdb('n1', [E('192.0.2.2', 'fa:16:3e:00:00:02', ('10.0.0.2',))])
        self.assertFalse(self.l2pop.set_fdb(
            'n1', [E('192.0.2.2', 'fa:16:3e:00:00:02', ('10.0.0.2',))]))
        self.assertTrue(self.l2pop.update_fdb(
            'n1', [E('192.0.2.3', 'fa:16:3e:00:00:02', ('10.0.0.9',))], []))
        self.assertEqual({'fa:16:3e:00:00:02': E('192.0.2.3', 'fa:16:3e:00:00:02',
                                                 ('10.0.0.9',))}, self.l2pop.entries['n1'])
        self.assertTrue(self.l2pop.update_fdb('n1', [], [E('', 'FA:16:3E:00:00:02', ())]))
        self.assertEqual({}, self.l2pop.entries)
        self.assertEqual({}, {k: v for k, v in self.l2pop.flows(LAYOUT, [NET]).items()
                              if k[1] > 0 and k[0] != 0})
