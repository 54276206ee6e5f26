"""Open vSwitch helpers: OVSDB through ovsdbapp, OpenFlow through ovs-ofctl.

Used by the Open vSwitch driver (naas.agent.l2.openvswitch: bridges, flows,
VIFs and service ports) and by the compute library (naas.compute.vif,
vif_type ``ovs``: :func:`op_plug_vif`, :func:`op_del_port`).

OVSDB: one ovsdbapp connection (an in-process IDL replica, kept current by
a thread of ovsdbapp's) per OVSDB server per process, shared by all threads
(:func:`get_api`).  Reads look at the replica under the connection's lock
and cost no round trip (:func:`snapshot`, :func:`vifs`); writes are
functions of IDL rows run in one OVSDB transaction (:func:`transact`), which
returns once ovs-vswitchd has applied it (ofports are known then).
:func:`watch_interfaces` calls a function at once (on the connection's
thread) when an Interface row comes, goes or gets its ofport, so that the
agent reacts to a plug instead of finding it at its next scan.
ovsdbapp keeps its connection in a class attribute, so every OVSDB server
gets a subclass of its own: two agents in one process (tests) talk to two
OVSDBs.

OpenFlow: :class:`OFCtl` runs ``ovs-ofctl`` on a bridge's management socket
(``<rundir>/<bridge>.mgmt``, rundir: the directory of a ``unix:`` OVSDB
socket), one call per batch of flow changes, as one OpenFlow 1.4 bundle: the
switch applies the whole batch atomically (no packet sees half of it).

JSON: the ``ovs`` package parses OVSDB's JSON-RPC stream in pure Python
unless its C extension (``ovs._json``) was built, which the PyPI wheel does
not have: the first dump of a 500-port host then took 0.3-0.5 s of the
agent's start (cProfile: ovs.json.Parser.feed the largest part of
connecting).  :class:`FastJSONParser` takes its place for the JSON-RPC
stream (the interface ovs.jsonrpc.Connection uses: feed, is_done, finish): it only
finds where a message ends (a regular expression over the structural
characters) and decodes it with the standard library's C decoder.

Marks: bridges NaaS creates carry external_ids ``naas=1`` and
``naas-bridge=<role>`` (naas-cleanup removes bridges with ``naas-*`` keys);
ports it creates carry ``naas-port=<role>``; VIFs carry the Interface
external_ids nova sets (iface-id, attached-mac, iface-status, vm-uuid).
"""
import collections
import json
import logging
import os
import re
import subprocess
import threading

import ovs.json
import ovs.jsonrpc
from ovsdbapp.backend.ovs_idl import command as ovs_command
from ovsdbapp.backend.ovs_idl import connection as ovs_connection
from ovsdbapp.backend.ovs_idl import idlutils
from ovsdbapp.schema.open_vswitch import impl_idl

LOG = logging.getLogger(__name__)

#: The tag of a port that must not talk (Neutron's DEAD_VLAN_TAG).
DEAD_VLAN = 4095
#: OpenFlow versions NaaS bridges speak (1.4: bundles).
PROTOCOLS = ['OpenFlow10', 'OpenFlow13', 'OpenFlow14']
BUNDLE_PROTOCOL = 'OpenFlow14'
DEFAULT_RUNDIR = '/var/run/openvswitch'
#: external_ids keys that mark what NaaS made.
NAAS_MARK = 'naas'
BRIDGE_MARK = 'naas-bridge'
PORT_MARK = 'naas-port'


class FastJSONParser:
    """ovs.json.Parser for one JSON-RPC message (a JSON object or array),
    on the standard library's decoder.  :meth:`feed` takes text up to the
    end of the message and says how much it took; :meth:`finish` gives the
    value, or an error string as ovs.json.Parser does."""

    _STRUCTURE = re.compile(r'["\\{}\[\]]')

    def __init__(self):
        self._chunks = []
        self._depth = 0
        self._in_string = False
        self._skip = 0          # characters of the next chunk an escape covers
        self._done = False

    def feed(self, s):
        if self._done:
            return 0
        skip, depth, in_string = self._skip, self._depth, self._in_string
        for match in self._STRUCTURE.finditer(s):
            pos = match.start()
            if pos < skip:
                continue
            c = s[pos]
            if in_string:
                if c == '\\':
                    skip = pos + 2
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c in '{[':
                depth += 1
            else:
                depth -= 1
                if depth <= 0:
                    self._chunks.append(s[:pos + 1])
                    self._done = True
                    return pos + 1
        self._skip = max(0, skip - len(s))
        self._depth, self._in_string = depth, in_string
        self._chunks.append(s)
        return len(s)

    def is_done(self):
        return self._done

    def finish(self):
        text = ''.join(self._chunks)
        if not self._done:
            return 'unexpected end of input' if text.strip() else 'empty input stream'
        try:
            return json.loads(text)
        except ValueError as exc:
            return 'syntax error: %s' % exc


def _use_fast_json_parser():
    """Make ovs.jsonrpc's connections parse with :class:`FastJSONParser`
    unless the ``ovs`` package has its C parser.  A connection makes its
    parser in recv() when it has none (after each message); this gives it
    ours first.  ovs.json.Parser itself is left alone (its methods name
    their class through the module)."""
    if ovs.json.PARSER == ovs.json.PARSER_C:
        return
    connection = ovs.jsonrpc.Connection
    if getattr(connection.recv, 'naas_fast_json', False):
        return
    recv = connection.recv

    def fast_recv(self):
        if self.parser is None:
            self.parser = FastJSONParser()
        return recv(self)

    fast_recv.naas_fast_json = True
    connection.recv = fast_recv


_use_fast_json_parser()

Iface = collections.namedtuple(
    'Iface', 'name type options external_ids ofport mtu_request')
Port = collections.namedtuple(
    'Port', 'name bridge tag other_config external_ids iface')
Bridge = collections.namedtuple(
    'Bridge', 'name datapath_type fail_mode protocols external_ids ports')


class OVSError(Exception):
    pass


# ---- connections -----------------------------------------------------------

_APIS = {}
_APIS_LOCK = threading.Lock()


class _Idl(ovs_connection.OvsdbIdl):
    """The IDL replica; tells its interface listeners (functions of no
    argument, see :func:`watch_interfaces`) when an Interface row is
    inserted or deleted or its ofport changes (not at every statistics
    refresh)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.interface_listeners = []

    def cooperative_yield(self):
        """No sleep(0) per row: ovsdbapp's gives other threads the GIL at
        every row of an update, so a first dump of 1000 rows waits up to
        1000 thread switches (native threads preempt each other anyway)."""

    def notify(self, event, row, updates=None):
        if not self.interface_listeners or row._table.name != 'Interface':
            return
        if event == 'update' and 'ofport' not in getattr(updates, '_data', {}):
            return
        for listener in list(self.interface_listeners):
            try:
                listener()
            except Exception:
                LOG.exception('interface listener %r failed', listener)


#: The columns the Open vSwitch driver reads and writes (wiring: bridges,
#: ports, VIFs, tags, QoS rows; Open_vSwitch's cfg counters let a
#: transaction wait for ovs-vswitchd).  An IDL that monitors only these
#: receives a first dump a fraction of the whole database's (no Interface
#: statistics, status, link state..., all parsed in pure Python when the
#: ovs package's C JSON parser is not built), and no update when
#: ovs-vswitchd refreshes statistics (every 5 s, every interface).
WIRING = {
    'Open_vSwitch': ('bridges', 'cur_cfg', 'next_cfg'),
    'Bridge': ('name', 'ports', 'datapath_type', 'fail_mode', 'protocols', 'external_ids',
               'other_config'),
    'Port': ('name', 'interfaces', 'tag', 'other_config', 'external_ids', 'qos'),
    'Interface': ('name', 'type', 'options', 'external_ids', 'ofport', 'mtu_request'),
    'QoS': ('type', 'other_config', 'external_ids', 'queues'),
    'Queue': ('other_config', 'external_ids'),
}
#: The columns of naas.agent.l2.counters_ovs (read only): a connection of
#: their own, opened by the statistics thread after the agent's resync.
STATISTICS = {
    'Interface': ('name', 'external_ids', 'ofport', 'ifindex', 'statistics'),
}


def get_api(connection, timeout=10, columns=None):
    """The ovsdbapp API of the OVSDB at ``connection`` (e.g.
    ``unix:/run/naas/h1/db.sock``), connected on first use and shared.
    ``columns``: {table: column names} to monitor (:data:`WIRING`,
    :data:`STATISTICS`), one connection per set; None: the whole
    database."""
    key = (connection, None if columns is None else tuple(sorted(columns.items())))
    with _APIS_LOCK:
        api = _APIS.get(key)
        if api is not None and api.ovsdb_connection.is_running:
            return api
        helper = idlutils.get_schema_helper(connection, 'Open_vSwitch')
        if columns is None:
            helper.register_all()
        else:
            for table, names in columns.items():
                helper.register_columns(table, list(names))
        # Not _Idl.from_server: it registers every table of a given helper.
        idl = _Idl(connection, helper)
        conn = ovs_connection.Connection(idl, timeout)
        # ovsdbapp keeps the connection on the class: a class per connection.
        cls = type('NaasOvsdbIdl', (impl_idl.OvsdbIdl,), {'_ovsdb_connection': None})
        api = cls(conn)
        _APIS[key] = api
        LOG.debug('connected to OVSDB %s (%s)', connection,
                  'tables %s' % ', '.join(sorted(columns)) if columns else 'all tables')
        return api


def close(connection=None):
    """Stop the connection to one OVSDB server (or to all of them)."""
    with _APIS_LOCK:
        keys = [key for key in _APIS if connection in (None, key[0])]
        for key in keys:
            api = _APIS.pop(key)
            try:
                api.ovsdb_connection.stop(timeout=5)
            except Exception:
                LOG.debug('stopping OVSDB connection %s failed', key[0], exc_info=True)


def watch_interfaces(api, listener):
    """Call ``listener()`` (on the OVSDB connection's thread: it must only
    take note, e.g. set an Event) whenever an Interface row of ``api``'s
    OVSDB is inserted or deleted or gets another ofport.  An API without
    row notices (the unit tests' fake) is left alone."""
    listeners = getattr(api.idl, 'interface_listeners', None)
    if listeners is not None and listener not in listeners:
        listeners.append(listener)


def rundir_of(connection):
    """Where ovs-vswitchd keeps its sockets: beside a unix: OVSDB socket."""
    if connection.startswith('unix:'):
        return os.path.dirname(connection[len('unix:'):])
    return os.environ.get('OVS_RUNDIR', DEFAULT_RUNDIR)


# ---- reading ---------------------------------------------------------------

def _one(value, default=None):
    """The value of an optional OVSDB column (a list of 0 or 1 items)."""
    if isinstance(value, list):
        return value[0] if value else default
    return default if value is None else value


def _iface(row):
    return Iface(row.name, row.type, dict(row.options), dict(row.external_ids),
                 _one(row.ofport, -1), _one(row.mtu_request))


def _port(row, bridge):
    ifaces = list(row.interfaces)
    return Port(row.name, bridge, _one(row.tag), dict(row.other_config),
                dict(row.external_ids), _iface(ifaces[0]) if len(ifaces) == 1 else None)


def snapshot(api, bridges=None):
    """{name: Bridge} of the bridges (``bridges``: only these), with their
    ports ({name: Port}), read from the IDL replica.  The result is kept
    until the replica changes (its change_seqno): a resync reads the same
    500 ports several times, and decoding IDL rows is slow.  Callers must
    not modify it."""
    with api.ovsdb_connection.lock:
        seqno = getattr(api.idl, 'change_seqno', None)
        kept = getattr(api, '_naas_snapshot', None)
        if seqno is not None and kept is not None and kept[0] == seqno:
            out = kept[1]
        else:
            out = {}
            for br in api.tables['Bridge'].rows.values():
                ports = {p.name: _port(p, br.name) for p in br.ports}
                out[br.name] = Bridge(br.name, br.datapath_type, _one(br.fail_mode),
                                      list(br.protocols), dict(br.external_ids), ports)
            if seqno is not None:
                api._naas_snapshot = (seqno, out)
    if bridges is None:
        return dict(out)
    return {name: bridge for name, bridge in out.items() if name in bridges}


def bridge_ports(api, bridge):
    br = snapshot(api, [bridge]).get(bridge)
    return dict(br.ports) if br else {}


def vifs(api, bridge):
    """{port id: Port} of the ports of ``bridge`` whose interface has an
    external_ids iface-id (the VIFs), plugged or not (see Iface.ofport)."""
    out = {}
    for port in bridge_ports(api, bridge).values():
        if port.iface is not None and port.iface.external_ids.get('iface-id'):
            out[port.iface.external_ids['iface-id']] = port
    return out


def ofports(api, names):
    """{interface name: ofport} (-1: none yet / failed) of ``names``."""
    out = {}
    with api.ovsdb_connection.lock:
        idx = api.tables['Interface'].rows
        for row in idx.values():
            if row.name in names:
                out[row.name] = _one(row.ofport, -1)
    return out


# ---- writing ---------------------------------------------------------------

class _Apply(ovs_command.BaseCommand):
    """An ovsdbapp command that runs ``fn(api, txn)`` on the IDL rows."""

    def __init__(self, api, fn):
        super().__init__(api)
        self.fn = fn

    def run_idl(self, txn):
        self.result = self.fn(self.api, txn)


def transact(api, ops, timeout=None):
    """Run ``ops`` (functions ``fn(api, txn)``, see the op_* helpers) in one
    OVSDB transaction; returns once ovs-vswitchd has applied it."""
    ops = [op for op in ops if op is not None]
    if not ops:
        return
    kwargs = {'timeout': timeout} if timeout else {}
    with api.transaction(check_error=True, **kwargs) as txn:
        for op in ops:
            txn.add(_Apply(api, op))


def _row(api, table, name):
    return idlutils.row_by_value(api.idl, table, 'name', name, None)


def op_ensure_bridge(name, datapath_type=None, external_ids=None, fail_mode=None,
                     protocols=None, other_config=None):
    """Create bridge ``name`` if missing; set the given columns where they
    differ (a bridge that is right is not written: nothing flaps)."""
    def fn(api, txn):
        br = _row(api, 'Bridge', name)
        if br is None:
            br = txn.insert(api.tables['Bridge'])
            br.name = name
            api._ovs.addvalue('bridges', br)
            port = txn.insert(api.tables['Port'])
            port.name = name
            iface = txn.insert(api.tables['Interface'])
            iface.name = name
            iface.type = 'internal'
            port.interfaces = [iface]
            br.ports = [port]
            txn.expected_ifaces.add(iface.uuid)
            if datapath_type:
                br.datapath_type = datapath_type
            if fail_mode:
                br.fail_mode = fail_mode
            if external_ids:
                br.external_ids = dict(external_ids)
            if other_config:
                br.other_config = dict(other_config)
            LOG.info('creating OVS bridge %s', name)
            return br.uuid
        if datapath_type and br.datapath_type != datapath_type:
            br.datapath_type = datapath_type
        if fail_mode and _one(br.fail_mode) != fail_mode:
            br.fail_mode = fail_mode
        if protocols:
            # Empty means every version up to 1.5 (OVS's default): fine.
            current = list(br.protocols)
            if current and any(p not in current for p in protocols):
                br.protocols = sorted(set(current) | set(protocols))
        _merge(br, 'external_ids', external_ids)
        _merge(br, 'other_config', other_config)
        return br.uuid
    return fn


def op_del_bridge(name):
    def fn(api, txn):
        br = _row(api, 'Bridge', name)
        if br is None:
            return
        for port in br.ports:
            for iface in port.interfaces:
                iface.delete()
            port.delete()
        api._ovs.delvalue('bridges', br)
        br.delete()
        LOG.info('deleted OVS bridge %s', name)
    return fn


def op_ensure_port(bridge, name, iface_type='', options=None, external_ids=None,
                   iface_external_ids=None, tag=None, other_config=None,
                   mtu_request=None):
    """Port ``name`` (with one interface of the same name) on ``bridge``,
    with these columns (None: leave alone; maps are merged, a key whose
    value is None is removed); moved to ``bridge`` if it is on another one.
    Nothing is written where the row is already right."""
    def fn(api, txn):
        target = _row(api, 'Bridge', bridge)
        if target is None:
            raise OVSError('no bridge %s' % bridge)
        port = _row(api, 'Port', name)
        if port is None:
            port = txn.insert(api.tables['Port'])
            port.name = name
            iface = txn.insert(api.tables['Interface'])
            iface.name = name
            if iface_type:
                iface.type = iface_type
            if options:
                iface.options = dict(options)
            if iface_external_ids:
                iface.external_ids = {k: v for k, v in iface_external_ids.items()
                                      if v is not None}
            if mtu_request is not None:
                iface.mtu_request = mtu_request
            port.interfaces = [iface]
            if external_ids:
                port.external_ids = {k: v for k, v in external_ids.items() if v is not None}
            if other_config:
                port.other_config = {k: v for k, v in other_config.items() if v is not None}
            if tag is not None:
                port.tag = tag
            target.addvalue('ports', port)
            txn.expected_ifaces.add(iface.uuid)
            return port.uuid
        if port not in target.ports:
            for b in _bridges_of(api, port):
                b.delvalue('ports', port)
            target.addvalue('ports', port)
        iface = list(port.interfaces)[0]
        if iface.type != iface_type:
            iface.type = iface_type
        if options is not None and dict(iface.options) != options:
            iface.options = options
        _merge(iface, 'external_ids', iface_external_ids)
        _merge(port, 'external_ids', external_ids)
        _merge(port, 'other_config', other_config)
        if tag is not None and _one(port.tag) != tag:
            port.tag = tag
        if mtu_request is not None and _one(iface.mtu_request) != mtu_request:
            iface.mtu_request = mtu_request
        return port.uuid
    return fn


def _bridges_of(api, port):
    return [b for b in api.tables['Bridge'].rows.values() if port in b.ports]


def _merge(row, column, wanted):
    if wanted is None:
        return
    current = dict(getattr(row, column))
    new = dict(current)
    for k, v in wanted.items():
        if v is None:
            new.pop(k, None)
        else:
            new[k] = v
    if new != current:
        setattr(row, column, new)


def op_set_port(name, tag=None, clear_tag=False, other_config=None):
    """Set a port's tag (``clear_tag``: remove it) and merge ``other_config``
    (a key with value None is removed).  A missing port is ignored."""
    def fn(api, txn):
        port = _row(api, 'Port', name)
        if port is None:
            return
        if clear_tag and port.tag:
            port.tag = []
        elif tag is not None and _one(port.tag) != tag:
            port.tag = tag
        _merge(port, 'other_config', other_config)
    return fn


def op_del_port(name):
    def fn(api, txn):
        port = _row(api, 'Port', name)
        if port is None:
            return
        for b in _bridges_of(api, port):
            b.delvalue('ports', port)
        for iface in port.interfaces:
            iface.delete()
        port.delete()
    return fn


def patch_ops(bridge_a, port_a, bridge_b, port_b, external_ids=None):
    """The two ops of a patch pair: ``port_a`` on ``bridge_a`` <->
    ``port_b`` on ``bridge_b``."""
    return [op_ensure_port(bridge_a, port_a, 'patch', {'peer': port_b},
                           external_ids=external_ids),
            op_ensure_port(bridge_b, port_b, 'patch', {'peer': port_a},
                           external_ids=external_ids)]


# ---- VIFs -------------------------------------------------------------------

def vif_external_ids(port_id, mac):
    """The Interface external_ids nova sets on a VIF (iface-id, attached-mac,
    iface-status): the Open vSwitch driver finds VIFs by iface-id."""
    ext = {'iface-id': port_id, 'iface-status': 'active'}
    if mac:
        ext['attached-mac'] = mac
    return ext


def op_plug_vif(bridge, ifname, port_id, mac, mtu=None):
    """Add the VIF ``ifname`` (a host-side device that exists) to ``bridge``
    the way nova does (:func:`vif_external_ids`).  A new port gets the dead
    VLAN tag (4095): it cannot talk, nor see other ports' traffic, until the
    agent wires it; a port already there gets its external_ids set again
    (its tag is left alone)."""
    def fn(api, txn):
        new = _row(api, 'Port', ifname) is None
        return op_ensure_port(bridge, ifname, iface_external_ids=vif_external_ids(port_id, mac),
                              tag=DEAD_VLAN if new else None,
                              mtu_request=mtu or None)(api, txn)
    return fn


# ---- OpenFlow --------------------------------------------------------------

class OFCtl:
    """``ovs-ofctl`` on the bridges of one ovs-vswitchd (its rundir)."""

    def __init__(self, rundir, timeout=30):
        self.rundir = rundir
        self.timeout = timeout

    def target(self, bridge):
        return 'unix:%s/%s.mgmt' % (self.rundir, bridge)

    def _run(self, args, input=None):
        cmd = ['ovs-ofctl'] + args
        proc = subprocess.run(cmd, input=(input or '').encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=self.timeout)
        if proc.returncode != 0:
            raise OVSError('%s failed (exit %d): %s' % (
                ' '.join(cmd[:4]), proc.returncode,
                proc.stderr.decode(errors='replace').strip()[:2000]))
        return proc.stdout.decode(errors='replace')

    def bundle(self, bridge, lines):
        """Apply flow mods (``add ...``, ``delete ...``, ``delete_strict
        ...`` lines) to ``bridge`` atomically, in one call."""
        if not lines:
            return
        self._run(['-O', BUNDLE_PROTOCOL, '--bundle', 'add-flows',
                   self.target(bridge), '-'], input='\n'.join(lines) + '\n')

    def dump_flows(self, bridge, match=None):
        """The flows of ``bridge`` as ovs-ofctl prints them."""
        args = ['-O', BUNDLE_PROTOCOL, 'dump-flows', self.target(bridge)]
        if match:
            args.append(match)
        out = self._run(args)
        return [line.strip() for line in out.splitlines()
                if line.strip() and not line.startswith('OFPST_FLOW')
                and not line.startswith('NXST_FLOW')]

    def cookies(self, bridge, cookie, mask):
        """The cookies of the flows whose cookie matches cookie/mask."""
        found = set()
        for line in self.dump_flows(bridge, 'cookie=%#x/%#x' % (cookie, mask)):
            head = line.split(',', 1)[0].strip()
            if head.startswith('cookie='):
                found.add(int(head[len('cookie='):], 16))
        return found
