"""What the fault tests share: a port create/delete load of many clients that
records every request, the checks of the database a fault must not corrupt,
and the figures each test prints.

A fault test runs real servers (tools.harness.servers), puts load on
naas-server, breaks something under it (a process killed, a database or the
broker restarted, an agent stopped), and then asserts what a user would
check: which requests failed and how, whether the stored state is whole
(every port with its addresses, no address both given and free, none lost),
and how long the service was out.
"""
import json
import os
import sys
import threading
import time
import uuid

import fixtures
import netaddr
import sqlalchemy as sa
import testtools
import testtools.content

from naas.db import models
from tools.harness.client import Client

TEST_TIMEOUT = int(os.environ.get('NAAS_FAULT_TEST_TIMEOUT', 240))
#: A file that the figures (figures()) are appended to, one JSON a line.
RESULTS_ENV = 'NAAS_FAULT_RESULTS'
PROJECT = 'fault-project'


class Outcome:
    """One request of the load: when it ran and what it got."""

    __slots__ = ('method', 'start', 'end', 'status', 'body', 'device_id', 'port_id')

    def __init__(self, method, start, end, status, body, device_id, port_id):
        self.method, self.start, self.end = method, start, end
        self.status, self.body = status, body
        self.device_id, self.port_id = device_id, port_id

    @property
    def ok(self):
        return 200 <= self.status < 300

    def describe(self):
        body = self.body.decode('utf-8', 'replace') if isinstance(self.body, bytes) \
            else self.body
        return '%s port %s at %.3f-%.3f -> %s %s' % (
            self.method, self.port_id or self.device_id, self.start, self.end,
            self.status or 'no answer', (body or '')[:300])


class PortChurn:
    """``clients`` threads, each with a connection of its own, creating
    ports on ``network`` and deleting three of four again, until stopped.

    Every request opens a fresh connection, so that no request is ever sent
    twice (the harness client resends once on a kept-alive connection that
    the server closed).  ``outcomes`` holds every request made.
    """

    def __init__(self, url, network, clients=8):
        self.url = url
        self.network = network
        self.clients = clients
        self.outcomes = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        for index in range(self.clients):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(120)
        return self.outcomes

    def _call(self, client, method, path, body, device_id, port_id=None):
        client.close()
        start = time.monotonic()
        response = client.call(method, path, body)
        outcome = Outcome(method, start, time.monotonic(), response.status,
                          response.body, device_id,
                          port_id or response.data.get('port', {}).get('id'))
        with self._lock:
            self.outcomes.append(outcome)
        if response.status == 0:
            time.sleep(0.05)    # the server is down: do not spin
        return outcome

    def _run(self, index):
        client = Client(self.url, PROJECT)
        count = 0
        while not self._stop.is_set():
            device_id = str(uuid.uuid4())
            created = self._call(client, 'POST', '/v2.0/ports', {'port': {
                'network_id': self.network['id'], 'device_id': device_id,
                'device_owner': 'compute:fault'}}, device_id)
            if created.status != 201:
                continue
            count += 1
            if count % 4:
                self._call(client, 'DELETE', '/v2.0/ports/%s' % created.port_id,
                           None, device_id, created.port_id)
        client.close()


def ports_known(outcomes):
    """From the clients' point of view: ({port id: the 201 body's port} of
    ports created and not deleted, {ids deleted (204)}, {device_ids whose
    create got no answer or a 5xx: the port may or may not exist}, {ids
    whose delete got no answer or a 5xx: the port may or may not be gone})."""
    live, deleted, unknown, undecided = {}, set(), set(), set()
    for outcome in sorted(outcomes, key=lambda o: o.start):
        unanswered = outcome.status == 0 or outcome.status >= 500
        if outcome.method == 'POST' and outcome.status == 201:
            live[outcome.port_id] = json.loads(outcome.body)['port']
        elif outcome.method == 'POST' and unanswered:
            unknown.add(outcome.device_id)
        elif outcome.method == 'DELETE' and outcome.status == 204:
            live.pop(outcome.port_id, None)
            deleted.add(outcome.port_id)
        elif outcome.method == 'DELETE' and unanswered:
            live.pop(outcome.port_id, None)
            undecided.add(outcome.port_id)
    return live, deleted, unknown, undecided


def bad_error_bodies(outcomes):
    """The HTTP errors whose body is not a NeutronError JSON."""
    bad = []
    for outcome in outcomes:
        if outcome.status >= 400:
            try:
                error = json.loads(outcome.body)['NeutronError']
                assert error['type'] and error['message']
            except (ValueError, KeyError, TypeError, AssertionError):
                bad.append(outcome)
    return bad


def _expand(first, last):
    return set(range(first, last + 1))


def check_store(db_url, subnet, outcomes):
    """The database after the fault, against the subnet's pools and what the
    clients were told.  Returns the figures; every one but ``ports``,
    ``allocations`` and ``unanswered_creates_stored`` must be 0."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    ports, allocations, free = (models.ports, models.ip_allocations,
                                models.ipam_free_ranges)
    try:
        with engine.connect() as conn:
            port_rows = {row.id: row for row in conn.execute(sa.select(
                ports.c.id, ports.c.device_id, ports.c.fixed_ips))}
            allocation_rows = list(conn.execute(sa.select(
                allocations.c.port_id, allocations.c.ip_address,
                allocations.c.subnet_id)))
            free_rows = list(conn.execute(sa.select(free.c.first, free.c.last).where(
                free.c.pool_id == subnet['id'])))
    finally:
        engine.dispose()
    by_port = {}
    for row in allocation_rows:
        by_port.setdefault(row.port_id, set()).add(row.ip_address)
    allocated = [int(netaddr.IPAddress(row.ip_address)) for row in allocation_rows
                 if row.subnet_id == subnet['id']]
    free_values = []
    for row in free_rows:
        free_values += range(int(row.first, 16), int(row.last, 16) + 1)
    pool = set()
    for allocation_pool in subnet['allocation_pools']:
        pool |= _expand(int(netaddr.IPAddress(allocation_pool['start'])),
                        int(netaddr.IPAddress(allocation_pool['end'])))
    live, deleted, unknown, undecided = ports_known(outcomes)
    stored_fixed_ips = {
        port_id: {ip['ip_address'] for ip in json.loads(row.fixed_ips)}
        for port_id, row in port_rows.items()}
    figures = {
        'ports': len(port_rows),
        'allocations': len(allocation_rows),
        # Half-written rows.
        'ports_without_allocation': sum(1 for p in port_rows if p not in by_port),
        'allocations_without_port': sum(1 for p in by_port if p not in port_rows),
        'fixed_ips_not_allocations': sum(
            1 for p, ips in stored_fixed_ips.items() if ips != by_port.get(p, set())),
        # Addresses.
        'duplicate_addresses': (len(allocated) - len(set(allocated))
                                + len(free_values) - len(set(free_values))
                                + len(set(allocated) & set(free_values))),
        'lost_addresses': len(pool - set(allocated) - set(free_values)),
        # Against what the clients were told.
        'acknowledged_creates_missing': sum(
            1 for p, port in live.items()
            if stored_fixed_ips.get(p) != {ip['ip_address'] for ip in port['fixed_ips']}),
        'acknowledged_deletes_present': sum(1 for p in deleted if p in port_rows),
        'stored_ports_never_requested': sum(
            1 for p, row in port_rows.items()
            if p not in live and p not in undecided and row.device_id not in unknown),
        # A delete cut by the fault may have committed (the worker died
        # after the commit, before its answer): either way is right.
        'unanswered_deletes_done': sum(1 for p in undecided if p not in port_rows),
        'unanswered_creates_stored': sum(
            1 for p, row in port_rows.items() if p not in live and row.device_id in unknown),
    }
    return figures


INFORMATIONAL = ('ports', 'allocations', 'unanswered_creates_stored',
                 'unanswered_deletes_done')


class FaultTestCase(testtools.TestCase):
    """A test case whose servers (databases, the broker) are started once
    for its class by :meth:`class_server` and stopped after its last test."""

    _class_servers = None

    @classmethod
    def tearDownClass(cls):
        for server in reversed(cls.__dict__.get('_class_servers') or []):
            server.cleanUp()
        cls._class_servers = None
        super(FaultTestCase, cls).tearDownClass()

    def setUp(self):
        super(FaultTestCase, self).setUp()
        self.useFixture(fixtures.Timeout(TEST_TIMEOUT, gentle=True))

    def class_server(self, fixture_class):
        """The running ``fixture_class`` server of this test's class."""
        cls = type(self)
        if cls.__dict__.get('_class_servers') is None:
            cls._class_servers = []
        for server in cls._class_servers:
            if type(server) is fixture_class:
                return server
        server = fixture_class()
        server.setUp()
        cls._class_servers.append(server)
        return server

    def figures(self, what, **values):
        """Print a fault's figures, keep them as a detail of the test, and
        append them to the file named by $NAAS_FAULT_RESULTS if set."""
        values = dict(values, test=self.id().rsplit('.', 2)[-2:], what=what)
        line = json.dumps(values, sort_keys=True)
        print('FAULT FIGURES %s' % line, file=sys.stderr, flush=True)
        self.addDetail(what, testtools.content.text_content(line))
        path = os.environ.get(RESULTS_ENV)
        if path:
            with open(path, 'a') as f:
                f.write(line + '\n')

    def assertStoreWhole(self, store):
        broken = {key: value for key, value in store.items()
                  if key not in INFORMATIONAL and value}
        self.assertEqual({}, broken, 'the stored state after the fault: %s' % store)

    def make_network(self, url, cidr='10.90.0.0/22'):
        admin = Client(url, PROJECT, roles='admin')
        self.addCleanup(admin.close)
        network = admin.create('network', name='fault')
        subnet = admin.create('subnet', network_id=network['id'], ip_version=4,
                              cidr=cidr, enable_dhcp=False)
        return network, subnet
