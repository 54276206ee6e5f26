"""naas-agent's loop on the recording driver (naas.agent.l2.recording), with
a fake server: what the simulated fleet (tools/bench_fleet.py) relies on.

A VIF plugged on the driver is wired at the next poll and reported up; the
network's L2 population entries are read once when its first port is wired
and the server's fdb_update casts are applied at the next pass; the network's last port takes
its entries with it.
"""
import types

import testtools

from naas.agent import agent as agent_mod
from naas.agent.l2 import recording

NET = '11111111-2222-3333-4444-555555555555'
PORT = 'a1a1a1a1-0000-0000-0000-000000000001'
LOCAL, REMOTE = '192.0.2.1', '192.0.2.2'
REMOTE_MAC = 'fa:16:3e:00:00:99'


class FakeServer:
    def __init__(self):
        self.calls = []

    def get_devices_details_list(self, context, devices):
        self.calls.append(('details', devices))
        return [{'device': d, 'port_id': d, 'network_id': NET, 'mac_address': 'fa:16:3e:00:00:01',
                 'admin_state_up': True, 'network_type': 'vxlan', 'segmentation_id': 7,
                 'mtu': 1450, 'fixed_ips': [], 'device_owner': 'compute:nova',
                 'endpoints': [{'host': 'here', 'tunnel_ip': LOCAL},
                               {'host': 'there', 'tunnel_ip': REMOTE}]} for d in devices]

    def get_fdb_entries(self, context, network_ids):
        self.calls.append(('fdb', network_ids))
        return {NET: [[REMOTE, REMOTE_MAC, ['10.0.0.99']]]}

    def update_device_up(self, context, devices):
        self.calls.append(('up', devices))

    def update_device_down(self, context, devices):
        self.calls.append(('down', devices))


class TestAgentOnRecordingDriver(testtools.TestCase):
    def setUp(self):
        super().setUp()
        conf = types.SimpleNamespace(
            host='here', agent=types.SimpleNamespace(
                tunnel_ip=LOCAL, tunnel_types=['vxlan'], enable_dhcp=False, enable_l3=False))
        self.driver = recording.RecordingDriver(conf)
        self.agent = agent_mod.Agent(conf, driver=self.driver)
        self.server = self.agent.server = FakeServer()

    def test_plugged_vif_wired_with_its_entries_then_updates_applied(self):
        self.driver.plug(PORT)
        self.agent.poll_once()
        self.assertIsNotNone(self.driver.wired_at(PORT))
        self.assertEqual({REMOTE}, set(self.driver.programmed()['endpoints'][NET]))
        self.assertIsNotNone(self.driver.fdb_at(NET, REMOTE_MAC))
        self.assertIn(('up', [PORT]), self.server.calls)
        self.assertEqual(1, sum(1 for call in self.server.calls if call[0] == 'fdb'))

        other_mac = 'fa:16:3e:00:00:98'
        self.agent.on_fdb_update(NET, [[REMOTE, other_mac, ['10.0.0.98']]],
                                 [['', REMOTE_MAC, []]])
        self.assertIsNotNone(self.driver.fdb_at(NET, REMOTE_MAC))   # recorded only
        self.agent.poll_once()
        self.assertIsNone(self.driver.fdb_at(NET, REMOTE_MAC))
        self.assertEqual(REMOTE, self.driver.fdb_at(NET, other_mac)[0].tunnel_ip)

        self.driver.unplug(PORT)
        self.agent.poll_once()
        self.assertEqual({'ports': {}, 'endpoints': {}, 'fdb': {}}, self.driver.programmed())
        self.assertIn(('down', [PORT]), self.server.calls)
