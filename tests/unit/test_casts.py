"""The casts a port's host gets, seen by an agent endpoint on the in-process
transport: the real API and plugin make the changes, an agent reports through
the server RPC endpoint and listens as its host (topic naas-agent), as
naas-agent does.

What an agent must hear: port_update when a port bound to its host is
created or changed, port_delete when it is deleted or moves to another host;
nothing for ports bound nowhere, and nothing from a request that failed (its
transaction rolled back, so the casts queued on it are never sent).

"Nothing" is checked with a marker: the agent's RPC server runs one worker
(executor_thread_pool_size = 1) and the transport keeps one queue per host, so
when a port_delete of a marker cast after the request has been handled, any
cast the request made has been handled before it.
"""
import threading
import uuid

import testtools

from naas.rpc import agent_api
from tests.fixtures import app

TIMEOUT = 10


class RecordingAgent:
    """The agent behind an AgentEndpoint: records the port casts it gets as
    (method, port id), in arrival order."""

    def __init__(self):
        self.casts = []
        self._changed = threading.Condition()

    def _record(self, method, port_id):
        with self._changed:
            self.casts.append((method, port_id))
            self._changed.notify_all()

    def on_port_update(self, port):
        self._record('port_update', port['id'])

    def on_port_delete(self, port_id):
        self._record('port_delete', port_id)

    def __getattr__(self, name):
        if name.startswith('on_'):   # network and endpoint casts: not looked at here
            return lambda *args: None
        raise AttributeError(name)

    def wait_for(self, cast):
        """The casts up to and without ``cast``, once ``cast`` has arrived."""
        with self._changed:
            if not self._changed.wait_for(lambda: cast in self.casts, TIMEOUT):
                raise AssertionError('%s never arrived; got %s' % (cast, self.casts))
            return self.casts[:self.casts.index(cast)]


class TestPortCasts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(agent_down_time=30,
                                                  executor_thread_pool_size=1))
        app.start_rpc_listeners(self)
        # The fake transport's queues outlive a test: a host name of its own.
        self.host = 'hv-' + uuid.uuid4().hex[:8]
        self.agent = app.serve_agent(self, self.host, RecordingAgent(), timeout=TIMEOUT)
        self.network = self.call('POST', '/v2.0/networks', {'network': {}}, 201)['network']

    def call(self, method, path, body=None, expect=None):
        # An administrator of a project: what it creates belongs to that project.
        status, data, _ = self.api.call(method, path, body, project='p', roles='admin')
        if expect is not None:
            self.assertEqual(expect, status, data)
        return data

    def create_port(self, **attrs):
        attrs['network_id'] = self.network['id']
        return self.call('POST', '/v2.0/ports', {'port': attrs}, 201)['port']

    def casts_so_far(self, agent=None, host=None):
        """Every port cast ``agent`` (this test's) got until now."""
        agent, host = agent or self.agent, host or self.host
        marker = 'marker-' + uuid.uuid4().hex
        agent_api.AgentNotifyAPI().port_delete(marker, host=host)
        return agent.wait_for(('port_delete', marker))

    def test_created_bound_port_is_cast_to_its_host(self):
        port = self.create_port(**{'binding:host_id': self.host})
        self.assertEqual('bridge', port['binding:vif_type'])
        self.assertEqual([('port_update', port['id'])], self.casts_so_far())

    def test_updated_port_is_cast_to_its_host(self):
        port = self.create_port(**{'binding:host_id': self.host})
        self.call('PUT', '/v2.0/ports/' + port['id'],
                  {'port': {'admin_state_up': False}}, 200)
        self.assertEqual([('port_update', port['id'])] * 2, self.casts_so_far())

    def test_port_bound_later_is_cast_to_its_host(self):
        port = self.create_port()
        self.call('PUT', '/v2.0/ports/' + port['id'],
                  {'port': {'binding:host_id': self.host}}, 200)
        self.assertEqual([('port_update', port['id'])], self.casts_so_far())

    def test_port_moved_away_is_deleted_on_its_old_host(self):
        other_host = self.host + '-2'
        other_agent = app.serve_agent(self, other_host, RecordingAgent(), timeout=TIMEOUT)
        port = self.create_port(**{'binding:host_id': self.host})
        self.call('PUT', '/v2.0/ports/' + port['id'],
                  {'port': {'binding:host_id': other_host}}, 200)
        self.assertEqual([('port_update', port['id']), ('port_delete', port['id'])],
                         self.casts_so_far())
        self.assertEqual([('port_update', port['id'])],
                         self.casts_so_far(other_agent, other_host))

    def test_deleted_port_is_cast_to_its_host(self):
        port = self.create_port(**{'binding:host_id': self.host})
        self.call('DELETE', '/v2.0/ports/' + port['id'], None, 204)
        self.assertEqual([('port_update', port['id']), ('port_delete', port['id'])],
                         self.casts_so_far())

    def test_port_bound_nowhere_is_cast_nowhere(self):
        port = self.create_port(name='unbound')
        self.call('PUT', '/v2.0/ports/' + port['id'], {'port': {'name': 'renamed'}}, 200)
        self.call('DELETE', '/v2.0/ports/' + port['id'], None, 204)
        self.assertEqual([], self.casts_so_far())

    def test_failed_request_casts_nothing(self):
        # A bulk create is one transaction: the second port's MAC is the
        # first one's, so the request fails after the plugin has made the
        # first port (and queued its cast) and everything rolls back.
        mac = 'fa:16:3e:12:34:56'
        ports = [{'network_id': self.network['id'], 'mac_address': mac,
                  'binding:host_id': self.host}] * 2
        self.call('POST', '/v2.0/ports', {'ports': ports}, 409)
        self.assertEqual([], self.call('GET', '/v2.0/ports?network_id=' + self.network['id'],
                                       None, 200)['ports'])
        self.assertEqual([], self.casts_so_far())
