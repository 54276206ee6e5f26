"""A fake Open vSwitch for unit tests: an in-memory OVSDB and ovs-ofctl.

The real naas.host.ovs_lib code runs on it; only its two doors to the
outside are replaced (:meth:`FakeSwitch.install`):

* ``ovs_lib.get_api`` returns a :class:`FakeApi`: the tables Open_vSwitch,
  Bridge, Port and Interface as IDL-like rows (attribute columns,
  ``addvalue``/``delvalue``/``delete``, ``txn.insert``), so ovs_lib's op_*
  functions, :func:`~naas.host.ovs_lib.transact`, snapshot(), vifs(),
  plug_vif() work unchanged.  Like ovs-vswitchd after a commit, every
  interface on a bridge then gets an ofport (65534 for the bridge's own
  internal port, else the lowest free one on its bridge; -1 for a device
  listed in ``absent``), and the flows of deleted bridges are gone.  Every
  transaction is recorded with the columns it wrote, and undone if one of
  its ops raises (as OVSDB aborts a transaction).
* ``ovs_lib.OFCtl._run`` (the ``ovs-ofctl`` subprocess) is an ovs-ofctl on
  per-bridge flow tables: ``--bundle add-flows`` with ``add``, ``delete``
  (non-strict: cookie/mask, table, match fields) and ``delete_strict``
  lines, applied all or nothing; ``dump-flows`` printed as ovs-ofctl prints
  it.  An ``add`` replaces the flow with the same table, priority and
  match, as OpenFlow does.  Every bundle is recorded; ``failing_bundles``
  makes the next ones fail.
"""
import collections
import contextlib
import itertools
import threading
import uuid

from naas.host import ovs_lib

LOCAL_OFPORT = 65534
DEFAULT_PRIORITY = 32768
ALL_ONES = (1 << 64) - 1

#: Columns of each table and their empty values; optional scalars are lists
#: (as the IDL reads them: [] or [value]).
SCHEMA = {
    'Open_vSwitch': {'bridges': list},
    'Bridge': {'name': str, 'datapath_type': str, 'fail_mode': list, 'protocols': list,
               'external_ids': dict, 'other_config': dict, 'ports': list},
    'Port': {'name': str, 'interfaces': list, 'tag': list, 'other_config': dict,
             'external_ids': dict, 'qos': list},
    'Interface': {'name': str, 'type': str, 'options': dict, 'external_ids': dict,
                  'ofport': list, 'mtu_request': list},
    'QoS': {'type': str, 'queues': dict, 'other_config': dict, 'external_ids': dict},
    'Queue': {'dscp': list, 'other_config': dict, 'external_ids': dict},
}
OPTIONAL = {'fail_mode', 'tag', 'ofport', 'mtu_request'}

#: One flow: its cookie and actions (the key is (table, priority, match)).
Flow = collections.namedtuple('Flow', 'cookie actions')
#: One OVSDB transaction: the (table, row name, column) it wrote, in order;
#: column is '+' for an insert and '-' for a delete.
Transaction = collections.namedtuple('Transaction', 'writes')


class Rows(dict):
    """A table's rows by uuid; no indexes (ovsdbapp then scans the rows)."""
    indexes = {}


class Table:
    def __init__(self, name):
        self.name = name
        self.rows = Rows()


class Row:
    def __init__(self, db, table):
        object.__setattr__(self, '_db', db)
        object.__setattr__(self, '_table', table)
        object.__setattr__(self, 'uuid', uuid.uuid4())
        for column, empty in SCHEMA[table].items():
            object.__setattr__(self, column, empty())

    def __setattr__(self, column, value):
        if column not in SCHEMA[self._table]:
            raise AttributeError('%s has no column %s' % (self._table, column))
        if column in OPTIONAL and not isinstance(value, list):
            value = [value]
        elif isinstance(value, (dict, list)):
            value = type(value)(value)
        self._db.record(self, column, getattr(self, column))
        object.__setattr__(self, column, value)

    def addvalue(self, column, value):
        if value not in getattr(self, column):
            setattr(self, column, getattr(self, column) + [value])

    def delvalue(self, column, value):
        setattr(self, column, [v for v in getattr(self, column) if v is not value])

    def delete(self):
        self._db.record(self, '-', None)
        del self._db.tables[self._table].rows[self.uuid]

    def __repr__(self):
        return '<%s %s>' % (self._table, getattr(self, 'name', self.uuid))


class FakeTxn:
    def __init__(self, db):
        self.db = db
        self.commands = []
        self.expected_ifaces = set()

    def add(self, command):
        self.commands.append(command)
        return command

    def insert(self, table):
        row = Row(self.db, table.name)
        table.rows[row.uuid] = row
        self.db.record(row, '+', None)
        return row


class FakeConnection:
    def __init__(self):
        self.lock = threading.RLock()
        self.is_running = True


class FakeApi:
    """What ovs_lib uses of an ovsdbapp API object."""

    def __init__(self, db):
        self.db = db
        self.tables = db.tables
        self.idl = self        # idlutils.row_by_value(api.idl, ...) reads .tables
        self.ovsdb_connection = FakeConnection()

    @property
    def _ovs(self):
        return next(iter(self.tables['Open_vSwitch'].rows.values()))

    @contextlib.contextmanager
    def transaction(self, check_error=False, log_errors=True, **kwargs):
        txn = FakeTxn(self.db)
        yield txn
        self.db.commit(txn)


class FakeSwitch:
    """One host's OVS: its OVSDB (``api``) and its ovs-vswitchd's flow tables."""

    def __init__(self, connection='unix:/run/naas-fake/db.sock'):
        self.connection = connection
        self.rundir = ovs_lib.rundir_of(connection)
        self.tables = {name: Table(name) for name in SCHEMA}
        root = Row(self, 'Open_vSwitch')
        self.tables['Open_vSwitch'].rows[root.uuid] = root
        self.api = FakeApi(self)
        self.transactions = []    # [Transaction] committed (failed ones are not)
        self.bundles = []         # [(bridge, [line])] applied
        self.flows = {}           # bridge -> {(table, priority, match): Flow}
        self.absent = set()       # interface names whose device does not exist
        self.failing_bundles = 0  # the next N bundles fail (ovs-ofctl error)
        self._undo = None

    def install(self, test):
        """Make ovs_lib talk to this switch for the rest of ``test``."""
        test.patch(ovs_lib, 'get_api', self.get_api)
        switch = self
        test.patch(ovs_lib.OFCtl, '_run',
                   lambda ofctl, args, input=None: switch.ofctl(ofctl, args, input))

    def get_api(self, connection, timeout=10, columns=None):
        if connection != self.connection:
            raise ovs_lib.OVSError('Could not retrieve schema from %s' % connection)
        return self.api

    # ---- OVSDB -----------------------------------------------------------------

    def record(self, row, column, old):
        if self._undo is None:
            raise AssertionError('%r written outside a transaction' % (row,))
        self._undo.append((row, column, old))

    def commit(self, txn):
        self._undo = []
        try:
            for command in txn.commands:
                command.run_idl(txn)
        except BaseException:
            self._rollback()
            raise
        finally:
            undo, self._undo = self._undo, None
        self.transactions.append(Transaction([
            (row._table, getattr(row, 'name', ''), column) for row, column, _old in undo]))
        self._vswitchd_sync()

    def _rollback(self):
        for row, column, old in reversed(self._undo):
            rows = self.tables[row._table].rows
            if column == '+':
                rows.pop(row.uuid, None)
            elif column == '-':
                rows[row.uuid] = row
            else:
                object.__setattr__(row, column, old)

    def _vswitchd_sync(self):
        """What ovs-vswitchd does after a commit: ofports, flows of gone bridges."""
        for bridge in self.rows('Bridge'):
            used = {p for port in bridge.ports for i in port.interfaces for p in i.ofport}
            for port in bridge.ports:
                for iface in port.interfaces:
                    if iface.ofport:
                        continue
                    if iface.name in self.absent:
                        ofport = -1
                    elif iface.name == bridge.name:
                        ofport = LOCAL_OFPORT
                    else:
                        ofport = next(n for n in itertools.count(1) if n not in used)
                    used.add(ofport)
                    object.__setattr__(iface, 'ofport', [ofport])
        names = {bridge.name for bridge in self.rows('Bridge')}
        for name in list(self.flows):
            if name not in names:
                del self.flows[name]

    def rows(self, table):
        return list(self.tables[table].rows.values())

    def row(self, table, name):
        return next((r for r in self.rows(table) if r.name == name), None)

    def writes(self, since=0):
        """Every (table, row name, column) written by the transactions after
        the first ``since``."""
        return [w for txn in self.transactions[since:] for w in txn.writes]

    def bridges(self):
        return ovs_lib.snapshot(self.api)

    def port(self, name):
        """The ovs_lib.Port of port ``name`` (None if there is none)."""
        for bridge in self.bridges().values():
            if name in bridge.ports:
                return bridge.ports[name]
        return None

    def add_port(self, bridge, name, iface_type='', options=None, external_ids=None,
                 iface_external_ids=None, tag=None):
        """A port someone else made (an operator, nova)."""
        ovs_lib.transact(self.api, [ovs_lib.op_ensure_port(
            bridge, name, iface_type, options, external_ids=external_ids,
            iface_external_ids=iface_external_ids, tag=tag)])

    def add_bridge(self, name, external_ids=None):
        ovs_lib.transact(self.api, [ovs_lib.op_ensure_bridge(name, external_ids=external_ids)])

    # ---- ovs-vswitchd flow tables ---------------------------------------------

    def table(self, bridge):
        """{(table, priority, match): actions} of ``bridge``."""
        return {key: flow.actions for key, flow in self.flows.get(bridge, {}).items()}

    def add_flow(self, bridge, line):
        """A flow someone else installed (``ovs-ofctl add-flow`` syntax)."""
        self._bundle(bridge, ['add ' + line], record=False)

    def restart_vswitchd(self):
        """ovs-vswitchd restarted: the flow tables are empty again."""
        for table in self.flows.values():
            table.clear()

    def ofctl(self, ofctl, args, input=None):
        """``ovs-ofctl <args>`` for OFCtl ``ofctl``."""
        args = list(args)
        if args[:1] == ['-O']:
            args = args[2:]
        if args[:2] == ['--bundle', 'add-flows'] and args[3:] == ['-']:
            lines = [line for line in (input or '').splitlines() if line.strip()]
            self._bundle(self._bridge_of(ofctl, args[2]), lines)
            return ''
        if args[:1] == ['dump-flows'] and len(args) in (2, 3):
            bridge = self._bridge_of(ofctl, args[1])
            return self._dump(bridge, args[2] if len(args) == 3 else '')
        raise ovs_lib.OVSError('fake ovs-ofctl: unsupported %s' % args)

    def _bridge_of(self, ofctl, target):
        prefix, suffix = 'unix:%s/' % self.rundir, '.mgmt'
        if ofctl.rundir != self.rundir or not (target.startswith(prefix)
                                               and target.endswith(suffix)):
            raise ovs_lib.OVSError('%s: not this switch (%s)' % (target, self.rundir))
        bridge = target[len(prefix):-len(suffix)]
        if self.row('Bridge', bridge) is None:
            raise ovs_lib.OVSError('%s is not a bridge or a socket' % target)
        return bridge

    def _bundle(self, bridge, lines, record=True):
        if record and self.failing_bundles:
            self.failing_bundles -= 1
            raise ovs_lib.OVSError('ovs-ofctl: %s: connection refused' % bridge)
        table = dict(self.flows.get(bridge, {}))
        for line in lines:
            command, _, spec = line.strip().partition(' ')
            match = parse_flow(spec)
            if command == 'add':
                if match.cookie_mask is not None:
                    raise ovs_lib.OVSError('add: cookie mask not allowed: %s' % line)
                key = (match.table or 0, _priority(match), match.match)
                table[key] = Flow(match.cookie, match.actions)
            elif command in ('delete', 'delete_strict'):
                strict = command == 'delete_strict'
                for key, flow in list(table.items()):
                    if match.selects(key, flow, strict):
                        del table[key]
            else:
                raise ovs_lib.OVSError('fake ovs-ofctl: unsupported flow mod %s' % line)
        self.flows[bridge] = table
        if record:
            self.bundles.append((bridge, list(lines)))

    def _dump(self, bridge, spec):
        match = parse_flow(spec)
        out = ['NXST_FLOW reply (xid=0x4):']
        for key, flow in sorted(self.flows.get(bridge, {}).items()):
            if not match.selects(key, flow, strict=False):
                continue
            table, priority, fields = key
            out.append(' cookie=%#x, duration=1.000s, table=%d, n_packets=0, n_bytes=0, '
                       'priority=%d%s actions=%s' % (flow.cookie, table, priority,
                                                     ',' + fields if fields else '',
                                                     flow.actions))
        return '\n'.join(out) + '\n'


class FlowSpec(collections.namedtuple(
        'FlowSpec', 'cookie cookie_mask table priority match actions')):
    """A parsed ``ovs-ofctl`` flow: match is the fields in the order given."""

    def selects(self, key, flow, strict):
        table, priority, fields = key
        if self.table is not None and self.table != table:
            return False
        mask = ALL_ONES if self.cookie_mask is None else self.cookie_mask
        if self.cookie_mask is not None or strict:
            if flow.cookie & mask != self.cookie & mask:
                return False
        if strict:
            return priority == _priority(self) and fields == self.match
        wanted = set(filter(None, self.match.split(',')))
        return wanted <= set(filter(None, fields.split(',')))


def _priority(spec):
    return DEFAULT_PRIORITY if spec.priority is None else spec.priority


def parse_flow(spec):
    """'cookie=0x1/-1,table=0,priority=2,in_port=3,actions=drop' -> FlowSpec."""
    head, _, actions = spec.partition('actions=')
    cookie, cookie_mask, table, priority, match = 0, None, None, None, []
    for field in filter(None, (f.strip() for f in head.split(','))):
        name, _, value = field.partition('=')
        if name == 'cookie':
            value, _, mask = value.partition('/')
            cookie = int(value, 0)
            if mask:
                cookie_mask = ALL_ONES if mask == '-1' else int(mask, 0)
        elif name == 'table':
            table = int(value)
        elif name == 'priority':
            priority = int(value)
        else:
            match.append(field)
    return FlowSpec(cookie, cookie_mask, table, priority, ','.join(match), actions.strip())
