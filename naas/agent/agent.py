"""naas-agent's main loop: one agent per host.

On start it reports, asks the server what this host should have (sync),
reconciles the host with it, and wires every plugged VIF.  Then it polls for
VIFs plugged and unplugged, applies the server's casts (port and network
changes, tunnel endpoints, L2 population entries), and heartbeats.  Threads
only: oslo.messaging's threading executor for the casts, plain threads for
the loops.

One loop does the work (the poll loop, under ``Agent.lock``); a cast
handler only records what the cast asked for (:class:`Pending`) and wakes
the loop, which applies it at its next pass.  So a handler never waits for
the agent's work: with handlers that took the lock, a fleet of simulated
agents in one process (tools/bench_fleet.py) grew thousands of threads, all
waiting for agents busy in RPC calls.  A port deleted by the server is
final (ids are never reused): a delete wins over updates of the same port
recorded in the same pass, whatever order the cast threads ran in.

Full resyncs (the server's whole view for this host, every L2 population
entry read again) happen at start, after a pass that failed, and when
messages may have been lost: the RPC listener connected to a broker again
(naas.rpc.watch_reconnects; on a single broker the agent's queue is not
durable, so casts sent before it is declared again are dropped), or a
heartbeat got through after failing (Neutron's agents resync on the same
sign).

The layers (each imports only those below it): this loop and the services
(naas.agent.dhcp, naas.agent.l3: reconcilers on naas.agent.reconciler) ask
the L2 driver (naas.agent.l2) to plug and wire ports; the driver works on the
host through naas.host.  The services get the driver from here and never
name one.  Optional driver capabilities (naas.agent.l2.hooks: port
filtering, QoS, counters, remote tunnels) are asked for with
``hooks.of(driver, hooks.X)``; each hook's docstring says where in this loop
it is called.
"""
import contextlib
import errno
import logging
import threading
import time

import oslo_messaging as messaging
from stevedore import driver as stevedore_driver

from naas import rpc
from naas.agent import reconciler
from naas.agent.l2 import counters
from naas.agent.l2 import hooks
from naas.conf import CONF
from naas.lib import constants
from naas.rpc import agent_api
from naas.rpc import bridges_api
from naas.rpc import server_api
from naas.rpc import statistics_api

LOG = logging.getLogger(__name__)

#: How long a VIF that is not ours (or failed to wire) is left alone.
PARK_SECONDS = 10


def load_driver(name, conf):
    return stevedore_driver.DriverManager('naas.agent.l2_drivers', name,
                                          invoke_on_load=True,
                                          invoke_args=(conf,)).driver


class Pending:
    """What the server's casts asked for since the agent's loop last took
    it (Agent._take_pending)."""

    def __init__(self):
        self.ports = set()              # port ids to read again
        self.deleted = set()            # port ids the server deleted
        self.networks = set()           # networks whose ports to read again
        self.networks_deleted = set()
        self.endpoints = {}             # network id -> flooding list, last recorded
        self.fdb = []                   # (network id, add, remove, endpoints), as received
        self.groups = False             # security_groups_updated was cast
        self.resync = False             # messages may have been lost


class Agent:
    def __init__(self, conf=CONF, driver=None, transport=None):
        """``transport``: an oslo.messaging transport of this agent's own
        (tools/bench_fleet.py runs many agents in one process); None: the
        process's (naas.rpc.get_transport)."""
        self.conf = conf
        self.host = conf.host
        self.driver = driver or load_driver(conf.agent.l2_driver, conf)
        self.transport = transport
        self.server = server_api.ServerAPI(self.host, transport=transport)
        self.wired = {}          # port_id -> details last wired
        self.pending = Pending()  # recorded by the cast handlers
        self.pending_lock = threading.Lock()   # held only to record or take
        self.port_filter = hooks.of(self.driver, hooks.PortFilter)
        self.qos = hooks.of(self.driver, hooks.QoS)
        self.counters = hooks.of(self.driver, hooks.PortCounters)
        self.remotes = hooks.of(self.driver, hooks.RemoteTunnels)
        self.l2pop = hooks.of(self.driver, hooks.L2Population)
        self.physical = hooks.of(self.driver, hooks.PhysicalBridges)
        self.bridges = None      # BridgesAPI, made on the first status report
        self.statistics = None   # StatisticsAPI, made by the statistics thread
        # Plugged VIFs not to ask about again before a time (port_id ->
        # monotonic deadline): not bound here, or wiring failed.  A
        # port_update cast for one of them clears it at once.
        self.parked = {}
        self.lock = threading.RLock()   # the loop's work
        self.stopped = threading.Event()
        self.wake = threading.Event()   # a cast or a VIF event: pass now
        self.rpc_server = None
        self.start_flag = True
        self.heartbeat_failed = False
        self.dhcp = None
        if conf.agent.enable_dhcp:
            from naas.agent import dhcp
            self.dhcp = dhcp.DhcpManager(conf, self.server, self.driver)
        self.l3 = None
        if conf.agent.enable_l3:
            from naas.agent.l3 import manager as l3_manager
            self.l3 = l3_manager.L3Manager(conf, self.server, self.driver)

    # ---- life cycle --------------------------------------------------------

    def start(self):
        self.driver.setup()
        self._watch_vifs()
        self.report_state()
        target = messaging.Target(topic=rpc.AGENT_TOPIC, server=self.host)
        self.rpc_server = rpc.get_server(target, [agent_api.AgentEndpoint(self)],
                                         transport=self.transport)
        self.rpc_server.start()
        if not rpc.watch_reconnects(self.rpc_server, self.on_reconnected):
            LOG.info('this transport does not tell when it reconnects: casts lost while '
                     'a broker restarts wait for the next resync')
        self.resync()
        if self.dhcp is not None:
            self.dhcp.start()
        if self.l3 is not None:
            self.l3.start()
        self._thread(self._heartbeat_loop, 'heartbeat')
        self._thread(self._poll_loop, 'poll')
        if self.counters is not None:
            self._thread(self._statistics_loop, 'statistics')

    def stop(self):
        self.stopped.set()
        if self.dhcp is not None:
            self.dhcp.stop()
        if self.l3 is not None:
            self.l3.stop()
        if self.rpc_server is not None:
            self.rpc_server.stop()
            self.rpc_server.wait()

    def _thread(self, target, name):
        t = threading.Thread(target=target, name='naas-agent-' + name, daemon=True)
        t.start()
        return t

    def report_state(self):
        state = {'agent_type': self.driver.agent_type, 'binary': 'naas-agent',
                 'topic': rpc.AGENT_TOPIC, 'host': self.host,
                 'start_flag': self.start_flag,
                 'configurations': dict(self.driver.configurations(),
                                        devices=len(self.wired),
                                        dhcp=self.dhcp is not None,
                                        port_filter=self.port_filter is not None,
                                        qos_rule_types=sorted(
                                            self.qos.qos_rule_types if self.qos else ()),
                                        l2_population=self.l2pop is not None,
                                        remote_tunnels=sorted(
                                            self.remotes.remote_tunnel_types
                                            if self.remotes else ()))}
        self.server.report_state({}, state)
        self.start_flag = False

    def _heartbeat_loop(self):
        while not self.stopped.wait(self.conf.agent.report_interval):
            self.heartbeat()

    def heartbeat(self):
        """Report; the first report through after one failed asks for a
        full resync (what was cast meanwhile may be lost)."""
        try:
            self.report_state()
        except Exception:
            LOG.exception('heartbeat failed')
            self.heartbeat_failed = True
            return
        if self.heartbeat_failed:
            self.heartbeat_failed = False
            LOG.warning('heartbeat through again after a failure: full resync')
            self.request_resync()

    def _watch_vifs(self):
        """A driver that says when VIFs come (hooks.VifEvents) has the poll
        loop scan at once, not at its next polling interval."""
        vif_events = hooks.of(self.driver, hooks.VifEvents)
        if vif_events is not None:
            vif_events.watch_vifs(self.wake.set)

    def _poll_loop(self):
        while not self.stopped.is_set():
            self.wake.wait(self.conf.agent.polling_interval)
            self.wake.clear()
            if self.stopped.is_set():
                break
            self.run_pass()

    def run_pass(self):
        """One pass of the loop: a full resync if one is due, else a poll.
        A pass that fails is followed by a full resync, reconciler.RETRY_DELAY
        later."""
        with self.pending_lock:
            full = self.pending.resync
        try:
            if full:
                self.resync()
            else:
                self.poll_once()
        except Exception:
            LOG.exception('%s failed; full resync in %.0f s', 'resync' if full else 'poll',
                          reconciler.RETRY_DELAY)
            self.stopped.wait(reconciler.RETRY_DELAY)
            self.request_resync()

    def request_resync(self):
        """A full resync at the loop's next pass."""
        with self._recording() as pending:
            pending.resync = True

    def on_reconnected(self):
        """The RPC listener is connected to a broker again, its queue
        declared anew (naas.rpc.watch_reconnects; in the listener's thread):
        casts sent while the queue was gone are lost, so the loop and the
        services resync (they read the changes those casts were about)."""
        LOG.warning('RPC listener reconnected: casts may have been lost; full resync')
        self.request_resync()
        for service in (self.dhcp, self.l3):
            if service is not None:
                service.resync()

    # ---- convergence -------------------------------------------------------

    def _take_pending(self):
        with self.pending_lock:
            pending, self.pending = self.pending, Pending()
        return pending

    def resync(self):
        """Make the host match what the server says, keeping what is right.
        What casts recorded so far is read again here; casts that come
        during the resync are applied at the next pass."""
        with self.lock:
            self._take_pending()
            bound = {p['port_id']: p for p in self.server.sync({})['ports']}
            plugged = self.driver.scan_vifs()
            wanted = [bound[p] for p in plugged if p in bound]
            self._reconcile_physical(wanted)
            self.driver.reconcile(wanted)
            # Driver hooks (naas.agent.l2.hooks) reconcile after the driver.
            sg_info = None
            if self.port_filter is not None:
                sg_info = self._sg_info(wanted)
                self.port_filter.reconcile_filters(wanted, sg_info)
            if self.qos is not None:
                self.qos.reconcile_qos(wanted)
            self._reconcile_remotes(wanted)
            self.wired = {}
            self._wire(wanted, sg_info)
            gone = [p for p in bound if p not in plugged]
            if gone:
                self.server.update_device_down({}, gone)

    def poll_once(self):
        with self.lock:
            pending = self.apply_pending()
            plugged = self.driver.scan_vifs()
            now = time.monotonic()
            self.parked = {p: t for p, t in self.parked.items()
                           if p in plugged and t > now and p not in pending.ports}
            added = [p for p in plugged if p not in self.wired and p not in self.parked]
            removed = [p for p in self.wired if p not in plugged]
            changed = sorted(p for p in pending.ports if p in plugged and p not in added)
            left = {self.wired[p]['network_id'] for p in removed}
            with self.driver.batch():
                for port_id in removed:
                    self.driver.unwire(port_id)
                    if self.port_filter is not None:
                        self.port_filter.unfilter_port(port_id)
                    self._uncount(port_id)
                    del self.wired[port_id]
            self._drop_remotes(left)
            self._drop_fdb(left)
            self._drop_physical(left)
            if pending.groups:
                if self.port_filter is not None and self.wired:
                    self.port_filter.update_security_groups(
                        self._sg_info(self.wired.values()))
            if removed:
                self.server.update_device_down({}, removed)
            todo = added + changed
            if todo:
                details = self.server.get_devices_details_list({}, todo)
                for d in details:
                    if d.get('missing'):
                        self.parked[d['device']] = now + PARK_SECONDS
                self._wire([d for d in details if not d.get('missing')])

    def _sg_info(self, details):
        """The server's get_security_group_info for the groups of these
        ports (naas.agent.l2.hooks.PortFilter)."""
        groups = sorted({g for d in details for g in d.get('security_groups', ())})
        return self.server.get_security_group_info({}, groups)

    def _wire(self, details, sg_info=None):
        """Filter (a PortFilter, before the port passes any traffic), wire,
        then set QoS; report the ports up or down.  ``sg_info``: the
        groups of ``details`` if the caller has them already (resync)."""
        if details and self.port_filter is not None:
            try:
                self.port_filter.filter_ports(
                    details, sg_info if sg_info is not None else self._sg_info(details))
            except Exception:
                # Fail closed: the ports stay cut off, and are retried.
                LOG.exception('filtering %d port(s) failed; retrying in %ss',
                              len(details), PARK_SECONDS)
                for d in details:
                    self.parked[d['port_id']] = time.monotonic() + PARK_SECONDS
                return
        present = {d['network_id'] for d in self.wired.values()}
        up, down = [], []
        with self.driver.batch():
            for d in details:
                try:
                    self.driver.wire(d)
                except Exception:
                    LOG.exception('wiring %s failed; retrying in %ss',
                                  d['port_id'], PARK_SECONDS)
                    self.parked[d['port_id']] = time.monotonic() + PARK_SECONDS
                    continue
                self.wired[d['port_id']] = d
                (up if d['admin_state_up'] else down).append(d['port_id'])
        wired = [d for d in details if d['port_id'] in self.wired]
        if self.qos is not None:
            for d in wired:
                try:
                    self.qos.set_port_qos(d['port_id'], d.get('qos_policy'))
                except Exception:
                    LOG.exception('QoS of port %s not set', d['port_id'])
        self._count_addresses(wired)
        self._set_remotes(wired)
        self._set_fdb(wired, present)
        self._set_physical(wired)
        if up:
            self.server.update_device_up({}, up)
        if down:
            self.server.update_device_down({}, down)

    # ---- remote-site bridges (hooks.RemoteTunnels) ----------------------------

    def _set_remotes(self, details):
        """The remote tunnels of the networks of these wired ports, from the
        newest details of each (those without ``remotes``: no bridges
        plugin); each bridge's status goes to the server."""
        if self.remotes is None:
            return
        by_network = {d['network_id']: d['remotes'] for d in details if 'remotes' in d}
        statuses = {}
        for network_id, remotes in sorted(by_network.items()):
            try:
                self.remotes.set_remotes(network_id, remotes)
                status = 'ACTIVE'
            except Exception:
                LOG.exception('remote tunnels of network %s not set', network_id)
                status = 'ERROR'
            statuses.update((r['id'], status) for r in remotes)
        if statuses:
            self._report_bridges(statuses)

    def _drop_remotes(self, network_ids):
        """Remove the remote tunnels of networks this host has no port of
        any more (their bridge went with the last port)."""
        if self.remotes is None:
            return
        present = {d['network_id'] for d in self.wired.values()}
        for network_id in sorted(set(network_ids) - present):
            try:
                self.remotes.set_remotes(network_id, [])
            except Exception:
                LOG.exception('remote tunnels of network %s not removed', network_id)

    def _reconcile_remotes(self, wanted):
        if self.remotes is None:
            return
        by_network = {}
        for d in wanted:
            by_network.setdefault(d['network_id'], d.get('remotes') or [])
        try:
            self.remotes.reconcile_remotes(by_network)
        except Exception:
            LOG.exception('remote tunnels not reconciled')

    def _report_bridges(self, statuses):
        try:
            if self.bridges is None:
                self.bridges = bridges_api.BridgesAPI(self.host)
            self.bridges.update_bridge_status({}, statuses)
        except Exception:
            LOG.exception('status of remote bridges not reported')

    # ---- physical-network bridges (hooks.PhysicalBridges) ----------------------

    def _set_physical(self, details):
        """The joins to physical networks of the networks of these wired
        ports, from the newest details of each (those without
        ``physical_bridges``: no bridges plugin); statuses to the server."""
        if self.physical is None:
            return
        by_network = {d['network_id']: d['physical_bridges'] for d in details
                      if 'physical_bridges' in d}
        statuses = {}
        for network_id, bridges in sorted(by_network.items()):
            try:
                self.physical.set_physical_bridges(network_id, bridges)
                status = 'ACTIVE'
            except Exception:
                LOG.exception('physical bridges of network %s not set', network_id)
                status = 'ERROR'
            statuses.update((b['id'], status) for b in bridges)
        if statuses:
            self._report_bridges(statuses)

    def _drop_physical(self, network_ids):
        """Remove the joins of networks this host has no port of any more."""
        if self.physical is None:
            return
        present = {d['network_id'] for d in self.wired.values()}
        for network_id in sorted(set(network_ids) - present):
            try:
                self.physical.set_physical_bridges(network_id, [])
            except Exception:
                LOG.exception('physical bridges of network %s not removed', network_id)

    def _reconcile_physical(self, wanted):
        """Before the driver's reconcile (hooks.PhysicalBridges)."""
        if self.physical is None:
            return
        by_network = {}
        for d in wanted:
            by_network.setdefault(d['network_id'], d.get('physical_bridges') or [])
        try:
            self.physical.reconcile_physical_bridges(by_network)
        except Exception:
            LOG.exception('physical bridges not reconciled')

    # ---- L2 population (hooks.L2Population) -----------------------------------

    def _set_fdb(self, details, present):
        """The complete entries of the overlay networks of these wired ports
        that were not on this host before (``present``: the networks it had
        ports of; empty at resync): one get_fdb_entries call for all."""
        if self.l2pop is None:
            return
        new = sorted({d['network_id'] for d in details
                      if d.get('network_type') in constants.OVERLAY_NETWORK_TYPES} - present)
        if not new:
            return
        try:
            entries = self.server.get_fdb_entries({}, new)
        except Exception:
            LOG.exception('L2 population entries of %d network(s) not read; they '
                          'flood until the next resync', len(new))
            return
        for network_id in new:
            try:
                self.l2pop.set_fdb(network_id, _fdb_entries(entries.get(network_id, ())))
            except Exception:
                LOG.exception('L2 population entries of network %s not set', network_id)

    def _drop_fdb(self, network_ids):
        """Remove the entries of networks this host has no port of any more."""
        if self.l2pop is None:
            return
        present = {d['network_id'] for d in self.wired.values()}
        for network_id in sorted(set(network_ids) - present):
            try:
                self.l2pop.set_fdb(network_id, [])
            except Exception:
                LOG.exception('L2 population entries of network %s not removed', network_id)

    def _update_fdb(self, network_id, add, remove, endpoints, pending):
        """A port of the network on another host came, moved, changed or
        went (and, with ``endpoints``, the network's hosts changed): only
        for a network with ports here (one wired later gets every entry
        from get_fdb_entries)."""
        if not self._wired_ports_of({network_id}):
            return
        if endpoints is not None:
            self._set_endpoints(network_id, endpoints, pending)
        if self.l2pop is not None:
            self.l2pop.update_fdb(network_id, _fdb_entries(add), _fdb_entries(remove))

    # ---- statistics (hooks.PortCounters) --------------------------------------

    def _count_addresses(self, details):
        """Count the addresses of wired ports; a failure costs statistics,
        never the wiring."""
        if self.counters is None or not details:
            return
        try:
            self.counters.count_addresses(details)
        except Exception:
            LOG.exception('address counters of %d port(s) not set', len(details))

    def _uncount(self, port_id):
        if self.counters is None:
            return
        try:
            self.counters.uncount_port(port_id)
        except Exception:
            LOG.exception('address counters of port %s not removed', port_id)

    def _statistics_loop(self):
        while not self.stopped.wait(self.conf.statistics.report_interval):
            self.report_statistics()

    def report_statistics(self):
        """One pass: the counters of every wired port, cast to the servers
        (in batches: StatisticsAPI.report_statistics).  Never raises (the thread
        logs and goes on at the next interval)."""
        try:
            with self.lock:
                networks = {port_id: details['network_id']
                            for port_id, details in self.wired.items()}
            collected_at = time.time()
            samples = self.counters.port_counters(list(networks))
            ports = [counters.sample_data(port_id, networks[port_id], sample)
                     for port_id, sample in sorted(samples.items())]
            if self.statistics is None:
                self.statistics = statistics_api.StatisticsAPI(self.host)
            self.statistics.report_statistics({}, collected_at, ports)
        except Exception:
            LOG.exception('statistics not reported')

    # ---- casts from the server (naas.rpc.agent_api.AgentEndpoint) ----------
    # Each handler records and returns (module docstring); apply_pending,
    # at the start of the loop's next pass, does what they ask.

    @contextlib.contextmanager
    def _recording(self):
        with self.pending_lock:
            yield self.pending
        self.wake.set()

    def on_port_update(self, port):
        with self._recording() as pending:
            pending.ports.add(port['id'])

    def on_port_delete(self, port_id):
        with self._recording() as pending:
            pending.deleted.add(port_id)

    def on_network_update(self, network):
        with self._recording() as pending:
            pending.networks.add(network['id'])

    def on_network_delete(self, network_id):
        if self.dhcp is not None:
            self.dhcp.network_changed(network_id)
        with self._recording() as pending:
            pending.networks_deleted.add(network_id)

    def on_endpoints_update(self, network_id, endpoints):
        with self._recording() as pending:
            pending.endpoints[network_id] = endpoints

    def on_fdb_update(self, network_id, add, remove, endpoints=None):
        with self._recording() as pending:
            pending.fdb.append((network_id, add, remove, endpoints))

    def on_remote_bridges_updated(self, network_id):
        """The network's remote-site bridges that this host terminates
        changed: the loop re-reads the details of its ports of the network
        (they carry the remotes) and calls set_remotes."""
        self.on_network_update({'id': network_id})

    def on_security_groups_updated(self, security_group_ids):
        """Rules, members or address groups of these groups changed: the
        loop asks the server again for the groups of every wired port (one
        answer, however many casts came meanwhile)."""
        with self._recording() as pending:
            pending.groups = True

    def on_dhcp_network_changed(self, network_id):
        if self.dhcp is not None:
            self.dhcp.network_changed(network_id)

    def apply_pending(self):
        """Take what the casts recorded and do what needs no server call:
        unwire deleted ports (a delete wins over updates of the same port),
        set flooding lists and L2 population entries in the order received.
        Returns the Pending with ``ports``: every port to read again
        (updated, or of a changed network).  Under ``self.lock``."""
        pending = self._take_pending()
        pending.ports -= pending.deleted
        for port_id in sorted(pending.deleted):
            if port_id in self.wired:
                self._unwire_gone(port_id)
        for network_id in sorted(pending.networks_deleted):
            for port_id in self._wired_ports_of({network_id}):
                self._unwire_gone(port_id)
        for network_id, endpoints in sorted(pending.endpoints.items()):
            self._set_endpoints(network_id, endpoints, pending)
        for network_id, add, remove, endpoints in pending.fdb:
            self._update_fdb(network_id, add, remove, endpoints, pending)
        pending.ports.update(self._wired_ports_of(pending.networks))
        return pending

    def _wired_ports_of(self, network_ids):
        """The ids of the wired ports of these networks."""
        return [p for p, d in self.wired.items() if d['network_id'] in network_ids]

    def _set_endpoints(self, network_id, endpoints, pending):
        ports = self._wired_ports_of({network_id})
        if ports:
            self.driver.set_endpoints(network_id, endpoints)
            # Casts are handled by a pool of threads: an older list can be
            # recorded after a newer one.  Read the list again from the
            # server (it comes with a port's details).
            pending.ports.add(ports[0])

    def _unwire_gone(self, port_id):
        """Unwire a port the server deleted; a device that is already gone
        (ENODEV: unplugged meanwhile) is the goal state, not an error."""
        try:
            self.driver.unwire(port_id)
        except OSError as exc:
            if exc.errno != errno.ENODEV:
                raise
            LOG.info('port %s: its device is already gone', port_id)
        if self.port_filter is not None:
            self.port_filter.unfilter_port(port_id)
        self._uncount(port_id)
        network_id = self.wired.pop(port_id)['network_id']
        self._drop_remotes([network_id])
        self._drop_fdb([network_id])
        self._drop_physical([network_id])


def _fdb_entries(entries):
    """FdbEntry tuples from the RPC form [[tunnel_ip, mac, [ips]]]."""
    return [hooks.FdbEntry(tunnel_ip, mac, tuple(ips)) for tunnel_ip, mac, ips in entries]


def run_forever(agent):
    agent.start()
    try:
        while not agent.stopped.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
