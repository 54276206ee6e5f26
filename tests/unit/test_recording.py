"""The recording L2 driver (naas.agent.l2.recording): what it says is
programmed, and since when.

What it promises: plugged VIFs are what scan_vifs returns; an entry
programmed again unchanged keeps its time, a changed one gets a new time;
the network's last port takes its endpoints and L2 population entries with
it; reconcile keeps only what wanted ports need; L2 population entries of
the host's own tunnel address are ignored, set_fdb replaces and update_fdb
adds, moves and removes
(by MAC).
"""
import types

import testtools

from naas.agent.l2 import hooks
from naas.agent.l2 import recording
from naas.lib import constants

NET1 = '11111111-2222-3333-4444-555555555555'
NET2 = '22222222-2222-3333-4444-555555555555'
LOCAL = '192.0.2.1'
REMOTE = '192.0.2.2'
OTHER = '192.0.2.3'


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def details(port_id, network_id=NET1, admin_state_up=True, mac='fa:16:3e:00:00:01',
            endpoints=()):
    return {'port_id': port_id, 'network_id': network_id, 'admin_state_up': admin_state_up,
            'mac_address': mac, 'network_type': 'vxlan', 'segmentation_id': 10, 'mtu': 1450,
            'endpoints': [{'host': 'h%d' % i, 'tunnel_ip': ip}
                          for i, ip in enumerate(endpoints)]}


class TestRecordingDriver(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.clock = Clock()
        conf = types.SimpleNamespace(agent=types.SimpleNamespace(
            tunnel_ip=LOCAL, tunnel_types=['vxlan']))
        self.driver = recording.RecordingDriver(conf, clock=self.clock)

    def test_reports_a_tunnel_host_with_l2_population(self):
        configurations = self.driver.configurations()
        self.assertEqual(LOCAL, configurations['tunnel_ip'])
        self.assertEqual(['vxlan'], configurations['tunnel_types'])
        self.assertTrue(configurations['l2_population'])
        self.assertEqual(constants.AGENT_TYPE_LINUXBRIDGE, self.driver.agent_type)
        self.assertIsInstance(self.driver, hooks.L2Population)

    def test_plugged_vifs_are_scanned(self):
        self.driver.plug('p1')
        self.driver.plug('p2', 'tap-p2')
        self.driver.unplug('p1')
        self.assertEqual({'p2': 'tap-p2'}, self.driver.scan_vifs())

    def test_plug_and_unplug_wake_the_agent(self):
        """As a real driver's VIF events (hooks.VifEvents): the agent scans
        at once, not at its next polling interval."""
        notices = []
        hooks.of(self.driver, hooks.VifEvents).watch_vifs(lambda: notices.append(
            sorted(self.driver.scan_vifs())))
        self.driver.plug('p1')
        self.driver.unplug('p1')
        self.assertEqual([['p1'], []], notices)     # each after the change

    def test_rewire_unchanged_keeps_the_time_changed_gets_a_new_one(self):
        self.driver.wire(details('p1', endpoints=[LOCAL, REMOTE]))
        self.clock.now = 105.0
        self.driver.wire(details('p1', endpoints=[LOCAL, REMOTE]))
        self.assertEqual(100.0, self.driver.wired_at('p1'))
        self.assertEqual(100.0, self.driver.endpoint_at(NET1, REMOTE))
        self.assertIsNone(self.driver.endpoint_at(NET1, LOCAL))
        self.driver.wire(details('p1', admin_state_up=False, endpoints=[REMOTE, OTHER]))
        self.assertEqual(105.0, self.driver.wired_at('p1'))
        self.assertFalse(self.driver.programmed()['ports']['p1'].admin_state_up)
        self.assertEqual({REMOTE: 100.0, OTHER: 105.0},
                         self.driver.programmed()['endpoints'][NET1])

    def test_set_endpoints_replaces_the_flooding_list(self):
        self.driver.wire(details('p1', endpoints=[REMOTE]))
        self.clock.now = 101.0
        self.driver.set_endpoints(NET1, [{'host': 'x', 'tunnel_ip': OTHER},
                                         {'host': 'me', 'tunnel_ip': LOCAL}])
        self.assertEqual({OTHER: 101.0}, self.driver.programmed()['endpoints'][NET1])

    def test_last_port_of_a_network_takes_its_entries(self):
        self.driver.wire(details('p1', endpoints=[REMOTE]))
        self.driver.wire(details('p2', mac='fa:16:3e:00:00:02', endpoints=[REMOTE]))
        self.driver.set_fdb(NET1, [[REMOTE, 'fa:16:3e:00:00:09', ['10.0.0.9']]])
        self.driver.unwire('p1')
        self.assertIsNotNone(self.driver.fdb_at(NET1, 'fa:16:3e:00:00:09'))
        self.driver.unwire('p2')
        self.assertEqual({'ports': {}, 'endpoints': {}, 'fdb': {}}, self.driver.programmed())
        self.driver.unwire('p2')    # missing is fine

    def test_reconcile_keeps_only_what_wanted_ports_need(self):
        self.driver.wire(details('p1', endpoints=[REMOTE]))
        self.driver.wire(details('p2', network_id=NET2, endpoints=[REMOTE]))
        self.driver.set_fdb(NET2, [[REMOTE, 'fa:16:3e:00:00:09', []]])
        self.clock.now = 200.0
        self.driver.reconcile([details('p1', endpoints=[REMOTE])])
        programmed = self.driver.programmed()
        self.assertEqual(['p1'], list(programmed['ports']))
        self.assertEqual(100.0, programmed['ports']['p1'].at)
        self.assertEqual([NET1], list(programmed['endpoints']))
        self.assertEqual({}, programmed['fdb'])

    def test_set_fdb_replaces_and_ignores_its_own_tunnel(self):
        mac1, mac2 = 'fa:16:3e:00:00:11', 'fa:16:3e:00:00:12'
        self.driver.set_fdb(NET1, [[REMOTE, mac1, ['10.0.0.11']],
                                   hooks.FdbEntry(LOCAL, 'fa:16:3e:00:00:01', ('10.0.0.1',))])
        self.clock.now = 101.0
        self.driver.set_fdb(NET1, [hooks.FdbEntry(REMOTE, mac1, ('10.0.0.11',)),
                                   [OTHER, mac2, []]])
        self.assertEqual((hooks.FdbEntry(REMOTE, mac1, ('10.0.0.11',)), 100.0),
                         self.driver.fdb_at(NET1, mac1))
        self.assertEqual(101.0, self.driver.fdb_at(NET1, mac2)[1])
        self.assertIsNone(self.driver.fdb_at(NET1, 'fa:16:3e:00:00:01'))
        self.driver.set_fdb(NET1, [])
        self.assertEqual({}, self.driver.programmed()['fdb'])

    def test_update_fdb_adds_moves_and_removes(self):
        mac = 'fa:16:3e:00:00:21'
        self.driver.update_fdb(NET1, [[REMOTE, mac, ['10.0.0.21']]], [])
        self.driver.update_fdb(NET1, [[REMOTE, mac, ['10.0.0.21']]], [])   # there: kept
        self.assertEqual(100.0, self.driver.fdb_at(NET1, mac)[1])
        self.clock.now = 102.0
        self.driver.update_fdb(NET1, [[OTHER, mac, ['10.0.0.21']]], [])    # moved
        self.assertEqual((hooks.FdbEntry(OTHER, mac, ('10.0.0.21',)), 102.0),
                         self.driver.fdb_at(NET1, mac))
        # Removed by MAC, whatever tunnel the server names (it sends '').
        self.driver.update_fdb(NET1, [], [['', mac, []]])
        self.assertIsNone(self.driver.fdb_at(NET1, mac))
        self.assertEqual({}, self.driver.programmed()['fdb'])
        self.driver.update_fdb(NET1, [], [['', mac, []]])    # missing is fine
        self.assertEqual(5, self.driver.calls['update_fdb'])
