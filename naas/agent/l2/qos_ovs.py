"""QoS of the Open vSwitch driver's VIFs: OVSDB QoS rows, meters, flows.

What a port's policy (naas.agent.l2.qos_rules.Limits) becomes on br-int
(netdev datapath; VIFs are veth host ends that ovs-vswitchd reads and
writes through AF_PACKET sockets):

* bandwidth to the VM (Neutron's ``ingress``): the Port's ``qos``, a QoS
  row of type linux-htb with one Queue (other_config max-rate, burst in
  bits), as Neutron's OVS agent does: ovs-vswitchd makes it an htb qdisc on
  the VIF, which the frames it sends to the VM go through; a shaper, that
  TCP follows closely.  The rows carry external_ids naas-port-id.
* bandwidth from the VM (``egress``): Interface ingress_policing_rate
  would be the OVS way, but ovs-vswitchd realises it with the tc
  ``police`` action, which this kernel lacks ("adding cls_basic policing
  action failed"); so an OpenFlow meter (kbps, one drop band: the userspace
  datapath has meters) on the VIF's frames;
* packet rate limits: pktps meters, from the VM on its frames, to the VM
  on the frames addressed to its MAC;
* DSCP marking: ``mod_nw_tos`` on the IPv4 and IPv6 frames of the VIF.

Flows (br-int table 0, in the driver's flow table and generation, see
naas.agent.l2.ovs_flows): above every other flow, a frame of a VIF with
QoS is metered / marked, flagged in reg2 (bit 16: from-VM QoS done, bit 17:
to-VM QoS done) and sent through table 0 again, where the flag keeps it
from matching twice: so QoS comes before whatever the table does next
(NORMAL, the dead-VLAN drop, a firewall) and needs to know none of it.
A frame with both a from-VM bandwidth and packet rate meter takes the
second one in table 24 (one meter per flow in OpenFlow 1.3/1.4)::

    table 0  prio 65534 reg2=0/0x10000,in_port=P,ip[v6]
                 [meter:E,]mod_nw_tos:T,load:1->NXM_NX_REG2[16],resubmit(,0 or 24)
             prio 65533 reg2=0/0x10000,in_port=P
                 meter:E,load:1->NXM_NX_REG2[16],resubmit(,0 or 24)
             prio 65532 reg2=0/0x20000,dl_dst=MAC
                 meter:I,load:1->NXM_NX_REG2[17],resubmit(,0)
    table 24 prio 1 in_port=P  meter:EP,resubmit(,0)

Meter ids: a port's base id B (1..65535) is kept in its Port's
other_config naas-qos-meter; its meters are 4B (from-VM kbit/s), 4B+1
(from-VM packets/s) and 4B+2 (to-VM packets/s).  Meters are added or
modified before the flows that use them and deleted after them (one
``ovs-ofctl`` call per meter that changes; a port whose QoS is right costs
none).
"""
import collections
import logging
import re

from ovsdbapp.backend.ovs_idl import idlutils

from naas.agent.l2 import qos_rules
from naas.host import ovs_lib

LOG = logging.getLogger(__name__)

METER_KEY = 'naas-qos-meter'
PORT_ID_KEY = 'naas-port-id'
METER_PROTOCOL = 'OpenFlow13'
MAX_BASE = 65535
FROM_VM_KBPS, FROM_VM_PPS, TO_VM_PPS = 0, 1, 2
QOS_TABLE = 24
FROM_VM_DONE = 0x10000
TO_VM_DONE = 0x20000
PRIO_DSCP, PRIO_FROM_VM, PRIO_TO_VM = 65534, 65533, 65532

#: What this host does for one port: its Limits, meter base, MAC.
PortQoS = collections.namedtuple('PortQoS', 'limits meter_base mac')


def meter_spec(meter_id, limits, kind):
    """The ``ovs-ofctl add-meter`` text of one meter, or None if the port
    needs none of this kind."""
    if kind == FROM_VM_KBPS:
        bw = limits.bandwidth.get(qos_rules.EGRESS)
        if bw is None:
            return None
        burst_kbit = -(-bw.burst_bytes * 8 // 1000)
        return 'meter=%d,kbps,burst,band=type=drop,rate=%d,burst_size=%d' % (
            meter_id, bw.kbps, burst_kbit)
    rate = limits.packet_rate.get(
        qos_rules.EGRESS if kind == FROM_VM_PPS else qos_rules.INGRESS)
    if rate is None:
        return None
    return 'meter=%d,pktps,burst,band=type=drop,rate=%d,burst_size=%d' % (
        meter_id, rate.pps, rate.burst_packets)


def meters(qos):
    """{meter id: spec} that the port QoS ``qos`` (PortQoS) needs."""
    out = {}
    for kind in (FROM_VM_KBPS, FROM_VM_PPS, TO_VM_PPS):
        meter_id = qos.meter_base * 4 + kind
        spec = meter_spec(meter_id, qos.limits, kind)
        if spec:
            out[meter_id] = spec
    return out


def port_flows(ofport, qos):
    """{(table, priority, match): actions} of one port's QoS."""
    limits, base = qos.limits, qos.meter_base
    out = {}
    kbps = qos_rules.EGRESS in limits.bandwidth
    pps = qos_rules.EGRESS in limits.packet_rate
    after = 'load:1->NXM_NX_REG2[16],resubmit(,%d)' % (QOS_TABLE if pps else 0)
    meter = 'meter:%d,' % (base * 4 + FROM_VM_KBPS) if kbps else ''
    own = 'reg2=0/%#x,in_port=%d' % (FROM_VM_DONE, ofport)
    if limits.dscp is not None:
        for proto in ('ip', 'ipv6'):
            out[(0, PRIO_DSCP, '%s,%s' % (own, proto))] = '%smod_nw_tos:%d,%s' % (
                meter, limits.dscp << 2, after)
    if kbps or pps:
        out[(0, PRIO_FROM_VM, own)] = meter + after
    if pps:
        out[(QOS_TABLE, 1, 'in_port=%d' % ofport)] = 'meter:%d,resubmit(,0)' % (
            base * 4 + FROM_VM_PPS)
    if qos_rules.INGRESS in limits.packet_rate and qos.mac:
        out[(0, PRIO_TO_VM, 'reg2=0/%#x,dl_dst=%s' % (TO_VM_DONE, qos.mac))] = (
            'meter:%d,load:1->NXM_NX_REG2[17],resubmit(,0)' % (base * 4 + TO_VM_PPS))
    return out


def htb_settings(limits):
    """(QoS other_config, Queue other_config) of the to-VM bandwidth, or None."""
    bw = limits.bandwidth.get(qos_rules.INGRESS)
    if bw is None:
        return None
    rate = str(bw.kbps * 1000)
    return {'max-rate': rate}, {'max-rate': rate, 'burst': str(bw.burst_bytes * 8)}


def op_set_port_qos(port_name, port_id, settings):
    """The OVSDB op that makes Port ``port_name``'s qos ``settings``
    (htb_settings; None: no QoS): rows that are right are left alone, rows
    replaced are deleted (QoS and Queue are root tables)."""
    def fn(api, txn):
        port = idlutils.row_by_value(api.idl, 'Port', 'name', port_name, None)
        if port is None:
            return
        current = list(port.qos)
        if not current and settings is None:
            return
        if current and settings is not None:
            qos = current[0]
            queues = dict(qos.queues)
            if (qos.type == 'linux-htb' and dict(qos.other_config) == settings[0]
                    and list(queues) == [0] and dict(queues[0].other_config) == settings[1]):
                return
        for qos in current:
            for queue in dict(qos.queues).values():
                queue.delete()
            qos.delete()
        if settings is None:
            port.qos = []
            return
        queue = txn.insert(api.tables['Queue'])
        queue.other_config = settings[1]
        queue.external_ids = {PORT_ID_KEY: port_id}
        qos = txn.insert(api.tables['QoS'])
        qos.type = 'linux-htb'
        qos.other_config = settings[0]
        qos.external_ids = {PORT_ID_KEY: port_id}
        qos.queues = {0: queue}
        port.qos = qos
    return fn


def op_delete_stale(keep):
    """The OVSDB op that deletes the NaaS QoS and Queue rows (external_ids
    naas-port-id) of ports not in ``keep``, and the Ports' references."""
    def fn(api, txn):
        for port in api.tables['Port'].rows.values():
            if any(q.external_ids.get(PORT_ID_KEY) not in (None, *keep) for q in port.qos):
                port.qos = []
        for table in ('QoS', 'Queue'):
            for row in list(api.tables[table].rows.values()):
                if row.external_ids.get(PORT_ID_KEY) not in (None, *keep):
                    row.delete()
    return fn


def has_qos(api, port_name):
    """Whether Port ``port_name`` has a qos (read from the IDL replica)."""
    with api.ovsdb_connection.lock:
        port = idlutils.row_by_value(api.idl, 'Port', 'name', port_name, None)
        return bool(port is not None and list(port.qos))


_METER_LINE = re.compile(r'^meter=(\d+)\s+(kbps|pktps)\b.*\bbands=\s*$')
_BAND_LINE = re.compile(r'^type=drop\s+rate=(\d+)\s+burst_size=(\d+)\s*$')


def parse_meters(text):
    """{meter id: spec} from ``ovs-ofctl dump-meters`` output."""
    out, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        meter = _METER_LINE.match(line)
        if meter:
            current = (int(meter.group(1)), meter.group(2))
            continue
        band = _BAND_LINE.match(line)
        if band and current:
            out[current[0]] = 'meter=%d,%s,burst,band=type=drop,rate=%s,burst_size=%s' % (
                current[0], current[1], band.group(1), band.group(2))
            current = None
    return out


class Meters:
    """The meters of a bridge through ``ovs-ofctl`` (OpenFlow 1.3)."""

    def __init__(self, ofctl, bridge):
        self.ofctl, self.bridge = ofctl, bridge

    def _run(self, *args, input=None):
        return self.ofctl._run(['-O', METER_PROTOCOL] + list(args), input=input)

    def dump(self):
        return parse_meters(self._run('dump-meters', self.ofctl.target(self.bridge)))

    def add(self, spec):
        self._run('add-meter', self.ofctl.target(self.bridge), spec)

    def modify(self, spec):
        self._run('mod-meter', self.ofctl.target(self.bridge), spec)

    def delete(self, meter_id):
        self._run('del-meters', self.ofctl.target(self.bridge), 'meter=%d' % meter_id)

    def delete_all(self):
        self._run('del-meters', self.ofctl.target(self.bridge))


class OvsQoS:
    """The QoS of the ports of one br-int: what :meth:`flows` renders into
    the driver's table, the meters it needs, the OVSDB ops of set_port."""

    RULE_TYPES = (qos_rules.BANDWIDTH_LIMIT, qos_rules.DSCP_MARKING,
                  qos_rules.PACKET_RATE_LIMIT)

    def __init__(self, meters):
        self.meters = meters
        self.ports = {}          # port_id -> PortQoS (policies set here)
        self._installed = None   # {meter id: spec} on the bridge (None: unread)
        self._used = set()       # meter ids the flows last rendered use
        self._sweep = True       # meters of an earlier agent may be left

    def installed(self):
        if self._installed is None:
            self._installed = self.meters.dump()
        return self._installed

    def set_port(self, port_id, vif, policy, api):
        """Record the port's QoS, make its meters; returns the OVSDB ops
        (Port qos, meter base in other_config) for the driver's next flush,
        or None when the port has no QoS and had none (nothing to flush)."""
        limits = qos_rules.limits(policy, mtu=vif.iface.mtu_request if vif and vif.iface
                                  else None, supported=self.RULE_TYPES)
        if vif is None:
            if limits != qos_rules.NO_LIMITS:
                raise LookupError('VIF of port %s is not plugged' % port_id)
            return [] if self.ports.pop(port_id, None) else None
        if (limits == qos_rules.NO_LIMITS and port_id not in self.ports
                and not vif.other_config.get(METER_KEY) and not has_qos(api, vif.name)):
            return None
        ops = [op_set_port_qos(vif.name, port_id, htb_settings(limits))]
        needs_meters = bool(limits.packet_rate) or qos_rules.EGRESS in limits.bandwidth
        if limits == qos_rules.NO_LIMITS or not (needs_meters or limits.dscp is not None):
            self.ports.pop(port_id, None)
            if vif.other_config.get(METER_KEY):
                ops.append(ovs_lib.op_set_port(vif.name, other_config={METER_KEY: None}))
            return ops
        base = self._meter_base(port_id, vif)
        mac = (vif.iface.external_ids or {}).get('attached-mac') if vif.iface else None
        qos = PortQoS(limits, base, mac)
        wanted = meters(qos)
        installed = self.installed() if wanted else {}
        for meter_id, spec in sorted(wanted.items()):
            if installed.get(meter_id) == spec:
                continue
            if meter_id in installed:
                self.meters.modify(spec)
            else:
                self.meters.add(spec)
            installed[meter_id] = spec
        self.ports[port_id] = qos
        if vif.other_config.get(METER_KEY) != str(base):
            ops.append(ovs_lib.op_set_port(vif.name, other_config={METER_KEY: str(base)}))
        return ops

    def _meter_base(self, port_id, vif):
        taken = {q.meter_base for p, q in self.ports.items() if p != port_id}
        try:
            base = int(vif.other_config.get(METER_KEY) or 0)
        except ValueError:
            base = 0
        if 1 <= base <= MAX_BASE and base not in taken:
            return base
        mine = self.ports.get(port_id)
        if mine is not None:
            return mine.meter_base
        for base in range(1, MAX_BASE + 1):
            if base not in taken:
                return base
        raise RuntimeError('no meter id left for port %s' % port_id)

    def restore(self, wanted, vifs, api):
        """At the driver's reconcile (a restart), before its first flows:
        the QoS of the wanted ports (details with ``qos_policy``; ``vifs``:
        {port_id: ovs_lib.Port}), so that the new generation of flows has
        their QoS flows from the start (no moment without them).  Returns
        the OVSDB ops."""
        ops = []
        for d in wanted:
            if not d.get('qos_policy'):
                continue
            try:
                ops += self.set_port(d['port_id'], vifs.get(d['port_id']),
                                     d['qos_policy'], api) or []
            except (ValueError, LookupError, ovs_lib.OVSError) as exc:
                LOG.warning('QoS of port %s not restored: %s', d['port_id'], exc)
        return ops

    def forget(self, keep):
        """Drop the QoS of ports not in ``keep``; re-read the meters."""
        self.ports = {p: q for p, q in self.ports.items() if p in keep}
        self._installed = None
        self._sweep = True

    def flows(self, ofports):
        """{(table, priority, match): actions} of every port with QoS whose
        ofport (``ofports``: {port_id: ofport}) is known."""
        out = {}
        used = set()
        for port_id, qos in sorted(self.ports.items()):
            ofport = ofports.get(port_id)
            if ofport is None or ofport <= 0:
                continue
            out.update(port_flows(ofport, qos))
            used.update(meters(qos))
        self._used = used
        return out

    def delete_unused_meters(self):
        """After the flows are applied: delete the NaaS meters they no
        longer use (every meter of br-int is NaaS's).  Costs nothing while
        no meter was made or may be left from an earlier agent."""
        if self._installed is None and not self._sweep:
            return
        self._sweep = False
        installed = self.installed()
        for meter_id in sorted(set(installed) - self._used):
            self.meters.delete(meter_id)
            del installed[meter_id]

    def cleanup(self):
        self.ports = {}
        self._used = set()
        try:
            self.meters.delete_all()
        except ovs_lib.OVSError as exc:
            LOG.warning('deleting the meters of %s failed: %s', self.meters.bridge, exc)
        self._installed = None
