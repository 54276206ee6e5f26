"""An L2 driver that programs nothing: it records what it would program.

For the simulated fleet (tools/bench_fleet.py: hundreds of real agents on
one machine, each with its own host name and RPC connection) and for tests
of the agent loop without a host.  The "host" is this object: VIFs are
plugged on it by the caller (:meth:`plug`, as the compute library plugs a
tap), and what a real driver would program -- the ports wired, the tunnel
endpoints (flooding list) and the L2 population entries of each network --
is kept in memory with the ``time.monotonic()`` at which each entry was
programmed.  An entry programmed again unchanged keeps its time, as a real
driver leaves what is right alone; so the time answers "since when does
this host forward to that port", which the fleet measures.  The monotonic
clock is the machine's: times compare across processes of one machine.

A VIF plugged or unplugged is told to the agent at once (hooks.VifEvents),
as the real drivers do (Open vSwitch from its OVSDB monitor, Linux bridge
from netlink): the agent scans on the event, not at its next polling
interval, so the fleet's latencies are those of a real host's.

The server binds ports to it as to a Linux bridge host (its agent_type),
with the tunnel address ``[agent] tunnel_ip`` (never used on the wire).
An agent restart keeps the driver (the host's state outlives the agent, as
devices and flows do): give the new Agent the same driver.
"""
import collections
import threading
import time

from naas.agent.l2 import base
from naas.agent.l2 import hooks
from naas.lib import constants

#: What a port was wired with, and since when.
WiredPort = collections.namedtuple('WiredPort', 'network_id admin_state_up mac_address at')

#: The details of a port that make its wiring; a rewire with other values
#: is a change (a new time).
_WIRING_KEYS = ('network_id', 'admin_state_up', 'mac_address', 'network_type',
                'segmentation_id', 'mtu')


def fdb_entry(entry):
    """An FdbEntry from an FdbEntry or the RPC form [tunnel_ip, mac, [ips]]."""
    tunnel_ip, mac_address, ip_addresses = entry
    return hooks.FdbEntry(tunnel_ip, mac_address, tuple(ip_addresses))


class RecordingDriver(base.L2Driver, hooks.L2Population, hooks.VifEvents):
    agent_type = constants.AGENT_TYPE_LINUXBRIDGE

    def __init__(self, conf, clock=time.monotonic):
        super().__init__(conf)
        self.tunnel_ip = conf.agent.tunnel_ip or None
        self.tunnel_types = list(conf.agent.tunnel_types) if self.tunnel_ip else []
        self.clock = clock
        self._lock = threading.Lock()
        self._vifs = {}         # port_id -> interface name (plugged on the "host")
        self._wiring = {}       # port_id -> the _WIRING_KEYS values last wired
        self._ports = {}        # port_id -> WiredPort
        self._endpoints = {}    # network_id -> {remote tunnel_ip: at}
        self._fdb = {}          # network_id -> {mac: (FdbEntry, at)}
        self._notify = None     # hooks.VifEvents: the agent's
        #: How many times each driver method was called (the fleet's work
        #: per agent).
        self.calls = collections.Counter()

    # ---- the compute side: VIFs plugged on this "host" ------------------------

    def plug(self, port_id, ifname=None):
        with self._lock:
            self._vifs[port_id] = ifname or base.vif_name(port_id)
        self._vifs_changed()

    def unplug(self, port_id):
        with self._lock:
            self._vifs.pop(port_id, None)
        self._vifs_changed()

    # ---- VifEvents ------------------------------------------------------------------

    def watch_vifs(self, notify):
        self._notify = notify

    def _vifs_changed(self):
        if self._notify is not None:
            self._notify()

    # ---- what is programmed ------------------------------------------------------

    def wired_at(self, port_id):
        """Monotonic time the port was wired as it is now, or None."""
        with self._lock:
            wired = self._ports.get(port_id)
            return wired.at if wired else None

    def endpoint_at(self, network_id, tunnel_ip):
        """Monotonic time this host started flooding the network to
        ``tunnel_ip``, or None."""
        with self._lock:
            return self._endpoints.get(network_id, {}).get(tunnel_ip)

    def fdb_at(self, network_id, mac_address):
        """(FdbEntry, monotonic time programmed) of a remote MAC, or None."""
        with self._lock:
            return self._fdb.get(network_id, {}).get(mac_address)

    def programmed(self):
        """Everything programmed, in plain types: {'ports': {port_id:
        WiredPort}, 'endpoints': {network_id: {tunnel_ip: at}}, 'fdb':
        {network_id: {mac: (FdbEntry, at)}}}."""
        with self._lock:
            return {'ports': dict(self._ports),
                    'endpoints': {n: dict(e) for n, e in self._endpoints.items()},
                    'fdb': {n: dict(e) for n, e in self._fdb.items()}}

    # ---- L2Driver ------------------------------------------------------------------

    def configurations(self):
        return {'tunnel_ip': self.tunnel_ip, 'tunnel_types': list(self.tunnel_types),
                'bridge_mappings': {}, 'l2_population': True, 'recording': True}

    def setup(self):
        self.calls['setup'] += 1

    def scan_vifs(self):
        with self._lock:
            return dict(self._vifs)

    def wire(self, details):
        with self._lock:
            self.calls['wire'] += 1
            port_id = details['port_id']
            wiring = tuple(details.get(k) for k in _WIRING_KEYS)
            if self._wiring.get(port_id) != wiring:
                self._wiring[port_id] = wiring
                self._ports[port_id] = WiredPort(details['network_id'],
                                                 bool(details['admin_state_up']),
                                                 details['mac_address'], self.clock())
            if details.get('network_type') in ('vxlan', 'gre'):
                self._set_endpoints(details['network_id'], details.get('endpoints'))

    def unwire(self, port_id):
        with self._lock:
            self.calls['unwire'] += 1
            self._wiring.pop(port_id, None)
            wired = self._ports.pop(port_id, None)
            if wired is not None and not any(
                    p.network_id == wired.network_id for p in self._ports.values()):
                # The network's last port here: its host objects go with it.
                self._endpoints.pop(wired.network_id, None)
                self._fdb.pop(wired.network_id, None)

    def set_endpoints(self, network_id, endpoints):
        with self._lock:
            self.calls['set_endpoints'] += 1
            self._set_endpoints(network_id, endpoints)

    def _set_endpoints(self, network_id, endpoints):
        remote = {e['tunnel_ip'] for e in endpoints or () if e.get('tunnel_ip')}
        remote.discard(self.tunnel_ip)
        current = self._endpoints.get(network_id, {})
        now = self.clock()
        self._endpoints[network_id] = {ip: current.get(ip, now) for ip in remote}

    def reconcile(self, wanted):
        with self._lock:
            self.calls['reconcile'] += 1
            keep = {d['port_id'] for d in wanted}
            networks = {d['network_id'] for d in wanted}
            for port_id in [p for p in self._ports if p not in keep]:
                del self._ports[port_id]
                self._wiring.pop(port_id, None)
            for table in (self._endpoints, self._fdb):
                for network_id in [n for n in table if n not in networks]:
                    del table[network_id]

    def cleanup_all(self):
        with self._lock:
            self._ports.clear()
            self._wiring.clear()
            self._endpoints.clear()
            self._fdb.clear()

    def plug_service_ports(self, ports):
        with self._lock:
            for port in ports:
                self._vifs[port.port_id] = port.ifname
        self._vifs_changed()

    def unplug_service_port(self, port_id):
        self.unplug(port_id)

    # ---- L2Population ------------------------------------------------------------

    def set_fdb(self, network_id, entries):
        with self._lock:
            self.calls['set_fdb'] += 1
            current = self._fdb.get(network_id, {})
            now = self.clock()
            table = {}
            for entry in map(fdb_entry, entries):
                if entry.tunnel_ip == self.tunnel_ip:
                    continue
                old = current.get(entry.mac_address)
                table[entry.mac_address] = old if old and old[0] == entry else (entry, now)
            if table:
                self._fdb[network_id] = table
            else:
                self._fdb.pop(network_id, None)

    def update_fdb(self, network_id, add, remove):
        with self._lock:
            self.calls['update_fdb'] += 1
            table = self._fdb.setdefault(network_id, {})
            for entry in map(fdb_entry, remove):
                # By MAC: the server's removes do not say where it was.
                table.pop(entry.mac_address, None)
            now = self.clock()
            for entry in map(fdb_entry, add):
                if entry.tunnel_ip == self.tunnel_ip:
                    continue
                old = table.get(entry.mac_address)
                if not old or old[0] != entry:
                    table[entry.mac_address] = (entry, now)
            if not table:
                del self._fdb[network_id]
