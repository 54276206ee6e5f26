"""QoS of the Linux bridge driver's VIFs: tc shapers and an nftables table.

What a port's policy (naas.agent.l2.qos_rules.Limits) becomes, on the VIF's
host end ``tap…`` (what leaves the tap goes to the VM; what enters it comes
from the VM):

* bandwidth to the VM (Neutron's ``ingress``): a tbf qdisc as the tap's
  root, handle ``4e51:`` (the NaaS mark): a shaper, which TCP follows
  closely (a policer makes TCP oscillate below the rate);
* bandwidth from the VM (``egress``): this kernel has no tc ``police``
  action (nor cls_matchall), so a policer on the tap's ingress is not
  possible; instead the tap's ingress qdisc redirects every frame (u32
  match-all, ``mirred egress redirect``) to an ifb device ``qos…`` (ifalias
  = the port id) whose root is the same tbf; the ifb hands the frames back
  to the tap's receive path, and the bridge forwards them as usual;
* DSCP marking of what the VM sends and packet rate limits (both
  directions): the bridge-family table ``naas-qos`` of nftables, its own
  (the firewall has its tables): a base chain on the forward hook jumps,
  through the verdict maps ``from-vm`` (iifname) and ``to-vm`` (oifname),
  to the port's chains ``from-<port id>-<digest>`` / ``to-<port id>-<digest>``
  (``ip dscp set``, ``ip6 dscp set``, ``limit rate over N/second burst M
  packets drop``).  The digest is that of the rules, so the chain names say
  what is installed: a restarted agent reads them (one ``nft -j list``)
  and changes only the ports that differ.  Each change is ONE ``nft -f -``
  transaction (new chains, map elements switched, old chains deleted:
  atomic), and a port whose rules are right costs no process at all.

Everything is found again on the host (qdisc handle, ifb names and
aliases, chain names): nothing that matters is kept in the process.
tc goes through netlink (pyroute2, the driver's naas.host.ip_lib handle);
nft through its command, inside ``[agent] namespace``.
"""
import errno
import hashlib
import json
import logging

from naas.agent.l2 import qos_rules
from naas.host import netns
from naas.host import vif as host_vif

LOG = logging.getLogger(__name__)

#: ifb devices: "qos" + the first 11 characters of the port id.
IFB_PREFIX = 'qos'
#: The handle of NaaS's root tbf qdiscs ("NQ:").
TBF_HANDLE = 0x4E510000
INGRESS_HANDLE = 0xFFFF0000
#: tbf queue: what the rate sends in this time, plus the burst.
TBF_LATENCY = '50ms'
#: The u32 filter that redirects a tap's ingress to its ifb.
REDIRECT_PRIO = 1
REDIRECT_CLASSID = 0x10001
ETH_P_ALL = 0x0003
TC_H_ROOT = 0xFFFFFFFF
#: Errors of a tc delete whose object (or device) is not there.
GONE = (errno.ENOENT, errno.EINVAL, errno.ENODEV)

NFT_FAMILY = 'bridge'
NFT_TABLE = 'naas-qos'
FROM_VM_MAP = 'from-vm'
TO_VM_MAP = 'to-vm'
#: ``family table`` as nft commands name it.
NFT_TABLE_REF = '%s %s' % (NFT_FAMILY, NFT_TABLE)
#: The table, its maps and its base chain (made once, at the first need).
NFT_BASE = ''.join(line % {'table': NFT_TABLE_REF} + '\n' for line in (
    'add table %(table)s',
    'add map %(table)s ' + FROM_VM_MAP + ' { type ifname : verdict ; }',
    'add map %(table)s ' + TO_VM_MAP + ' { type ifname : verdict ; }',
    'add chain %(table)s forward { type filter hook forward priority 0 ; policy accept ; }',
    'add rule %(table)s forward iifname vmap @' + FROM_VM_MAP,
    'add rule %(table)s forward oifname vmap @' + TO_VM_MAP))
#: Hex digits of the rules' digest in a port chain's name.
DIGEST_LENGTH = 8


def ifb_name(port_id):
    return (IFB_PREFIX + port_id)[:14]


# ---- what a policy becomes (no I/O) ----------------------------------------

def tbf_parameters(bandwidth):
    """pyroute2 ``tc('replace', 'tbf', ...)`` arguments of a Bandwidth."""
    return {'rate': '%dkbit' % bandwidth.kbps, 'burst': bandwidth.burst_bytes,
            'latency': TBF_LATENCY}


def nft_rules(limits):
    """{'from': [...], 'to': [...]}: the rules of a port's two chains
    (empty lists: the port needs no nftables)."""
    out = {'from': [], 'to': []}
    for direction, side in ((qos_rules.EGRESS, 'from'), (qos_rules.INGRESS, 'to')):
        rate = limits.packet_rate.get(direction)
        if rate is not None:
            out[side].append('limit rate over %d/second burst %d packets drop'
                             % (rate.pps, rate.burst_packets))
    if limits.dscp is not None:
        out['from'] += ['ip dscp set %d' % limits.dscp, 'ip6 dscp set %d' % limits.dscp]
    return out


def nft_digest(rules):
    text = json.dumps(rules, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:DIGEST_LENGTH]


def chain_name(side, port_id, digest):
    return '%s-%s-%s' % (side, port_id, digest)


def parse_chain_name(name):
    """(side, port_id, digest) of a port chain's name, or None."""
    side, _, rest = name.partition('-')
    port_id, _, digest = rest.rpartition('-')
    if side not in ('from', 'to') or not port_id or len(digest) != DIGEST_LENGTH:
        return None
    return side, port_id, digest


def nft_port_script(port_id, old_digest, rules, base=False):
    """The ``nft -f`` text that makes a port's chains ``rules`` (None or
    empty: none), given the digest installed now (None: none)."""
    tap = host_vif.vif_name(port_id)
    new_digest = nft_digest(rules) if rules and any(rules.values()) else None
    lines = [NFT_BASE] if base else []
    if new_digest:
        for side, rule_list in sorted(rules.items()):
            name = chain_name(side, port_id, new_digest)
            lines.append('add chain %s %s\n' % (NFT_TABLE_REF, name))
            lines += ['add rule %s %s %s\n' % (NFT_TABLE_REF, name, rule)
                      for rule in rule_list]
    if old_digest:
        lines += ['delete element %s %s { "%s" }\n' % (NFT_TABLE_REF, map_name, tap)
                  for map_name in (FROM_VM_MAP, TO_VM_MAP)]
    if new_digest:
        lines += ['add element %s %s { "%s" : jump %s }\n' % (
            NFT_TABLE_REF, map_name, tap, chain_name(side, port_id, new_digest))
            for side, map_name in (('from', FROM_VM_MAP), ('to', TO_VM_MAP))]
    if old_digest:
        lines += ['delete chain %s %s\n' % (NFT_TABLE_REF, chain_name(side, port_id, old_digest))
                  for side in ('from', 'to')]
    return ''.join(lines)


# ---- the host ----------------------------------------------------------------

class Nft:
    """nft inside a namespace (None: this process's)."""

    def __init__(self, namespace):
        self.namespace = namespace

    def run(self, script):
        proc = netns.execute(self.namespace, ['nft', '-f', '-'], check=False, input=script)
        if proc.returncode != 0:
            raise RuntimeError('nft failed (exit %d): %s\n%s' % (
                proc.returncode, proc.stderr.strip()[:2000], script[:2000]))

    def port_chains(self):
        """({port_id: digest} of the port chains of the table, whether the
        table exists)."""
        proc = netns.execute(self.namespace, ['nft', '-j', 'list', 'table', NFT_FAMILY,
                                              NFT_TABLE], check=False)
        if proc.returncode != 0:
            return {}, False
        out = {}
        for item in json.loads(proc.stdout).get('nftables', ()):
            chain = item.get('chain')
            parsed = chain and parse_chain_name(chain['name'])
            if parsed:
                out[parsed[1]] = parsed[2]
        return out, True

    def delete_table(self):
        proc = netns.execute(self.namespace, ['nft', 'delete', 'table', NFT_FAMILY,
                                              NFT_TABLE], check=False)
        return proc.returncode == 0


class Tc:
    """The tc operations NaaS needs, through an naas.host.ip_lib handle."""

    def __init__(self, handle):
        self.handle = handle

    def tbf(self, ifindex):
        """(rate in bytes/s, limit, buffer) of NaaS's root tbf, or None."""
        def _get(ipr):
            for q in ipr.get_qdiscs(index=ifindex):
                if q.get_attr('TCA_KIND') == 'tbf' and q['handle'] == TBF_HANDLE:
                    parms = q.get_nested('TCA_OPTIONS', 'TCA_TBF_PARMS')
                    return parms['rate'], parms['limit'], parms['buffer']
            return None
        return self.handle.call(_get)

    def set_tbf(self, ifindex, bandwidth):
        self.handle.call(lambda ipr: ipr.tc('replace', 'tbf', ifindex, handle=TBF_HANDLE,
                                            **tbf_parameters(bandwidth)))

    def del_root(self, ifindex):
        def _delete(ipr):
            try:
                ipr.tc('del', index=ifindex, handle=TBF_HANDLE, parent=TC_H_ROOT)
            except Exception as exc:
                if getattr(exc, 'code', None) not in GONE:
                    raise
        self.handle.call(_delete)

    def redirect_target(self, ifindex):
        """The ifindex the tap's ingress redirects to (NaaS's filter), or None."""
        def _get(ipr):
            for f in ipr.get_filters(index=ifindex, parent=INGRESS_HANDLE):
                acts = f.get_nested('TCA_OPTIONS', 'TCA_U32_ACT')
                for _name, act in (acts or {}).get('attrs', ()):
                    parms = act.get_nested('TCA_ACT_OPTIONS', 'TCA_MIRRED_PARMS')
                    if parms:
                        return parms['ifindex']
            return None
        try:
            return self.handle.call(_get)
        except Exception:     # no ingress qdisc
            return None

    def set_redirect(self, ifindex, target):
        def _set(ipr):
            self._del_ingress(ipr, ifindex)
            ipr.tc('add', 'ingress', ifindex)
            ipr.tc('add-filter', 'u32', ifindex, parent=INGRESS_HANDLE, prio=REDIRECT_PRIO,
                   protocol=ETH_P_ALL, keys=['0x0/0x0+0'], target=REDIRECT_CLASSID,
                   action={'kind': 'mirred', 'direction': 'egress', 'action': 'redirect',
                           'ifindex': target})
        self.handle.call(_set)

    def del_redirect(self, ifindex):
        self.handle.call(lambda ipr: self._del_ingress(ipr, ifindex))

    @staticmethod
    def _del_ingress(ipr, ifindex):
        try:
            ipr.tc('del', 'ingress', ifindex)
        except Exception as exc:
            if getattr(exc, 'code', None) not in GONE:
                raise

    def tbf_roots(self):
        """{ifindex} of every link with NaaS's root tbf: one dump."""
        return self.handle.call(lambda ipr: {
            q['index'] for q in ipr.get_qdiscs()
            if q.get_attr('TCA_KIND') == 'tbf' and q['handle'] == TBF_HANDLE})


def expected_tbf(bandwidth):
    """(rate, limit, buffer) the kernel reports for a tbf of ``bandwidth``
    (as pyroute2 computes them), to leave a right qdisc alone."""
    from pyroute2.netlink.rtnl.tcmsg import common
    parms = common.get_rate_parameters(dict(tbf_parameters(bandwidth)))
    return parms['rate'], parms['limit'], parms['buffer']


class TcQoS:
    """set_port_qos / reconcile_qos / cleanup of naas.agent.l2.hooks.QoS for
    the Linux bridge driver.  ``ip`` is a callable giving the driver's
    naas.host.ip_lib handle (its netlink thread lives in the host's
    namespace), ``namespace`` the host's namespace (for nft)."""

    RULE_TYPES = (qos_rules.BANDWIDTH_LIMIT, qos_rules.DSCP_MARKING,
                  qos_rules.PACKET_RATE_LIMIT)

    def __init__(self, ip, namespace, tc=None, nft=None):
        self._ip = ip
        self.tc = tc
        self.nft = nft or Nft(namespace)
        self._chains = None      # {port_id: digest} in the nft table (None: unread)
        self._table = False
        # Ports with any QoS on this host (None: unread).  A port without a
        # policy that has none costs no netlink request: most ports, and
        # every port of a restart's resync.
        self._with_qos = None

    def _tc(self):
        return self.tc or Tc(self._ip())

    def _nft_state(self):
        if self._chains is None:
            self._chains, self._table = self.nft.port_chains()
        return self._chains

    def _ports_with_qos(self):
        """The ports with a tbf on their VIF, an ifb or nft chains here, read
        once (one link dump, one qdisc dump, the nft table)."""
        if self._with_qos is None:
            links = self._ip().links()
            taps = {lk.index: lk.alias for lk in links
                    if lk.name.startswith(host_vif.VIF_PREFIX)}
            ports = {lk.alias for lk in links
                     if lk.kind == 'ifb' and lk.name.startswith(IFB_PREFIX)}
            ports.update(taps[i] for i in self._tc().tbf_roots() if i in taps)
            ports.update(self._nft_state())
            self._with_qos = {p for p in ports if p}
        return self._with_qos

    def set_port_qos(self, port_id, policy):
        has_rules = bool(policy and policy.get('rules'))
        with_qos = self._ports_with_qos()
        if not has_rules and port_id not in with_qos:
            return
        tap = self._ip().link(host_vif.vif_name(port_id))
        if tap is None:
            if has_rules:
                raise LookupError('VIF of port %s is not plugged' % port_id)
            return
        limits = qos_rules.limits(policy, mtu=tap.mtu, supported=self.RULE_TYPES)
        tc = self._tc()
        self._shape(tc, tap.index, limits.bandwidth.get(qos_rules.INGRESS))
        self._shape_from_vm(tc, port_id, tap, limits.bandwidth.get(qos_rules.EGRESS))
        self._set_nft(port_id, nft_rules(limits))
        if limits == qos_rules.NO_LIMITS:
            with_qos.discard(port_id)
        else:
            with_qos.add(port_id)

    def _shape(self, tc, ifindex, bandwidth):
        current = tc.tbf(ifindex)
        if bandwidth is None:
            if current is not None:
                tc.del_root(ifindex)
        elif current != expected_tbf(bandwidth):
            LOG.info('ifindex %d: shaping to %d kbit/s, burst %d bytes', ifindex,
                     bandwidth.kbps, bandwidth.burst_bytes)
            tc.set_tbf(ifindex, bandwidth)

    def _shape_from_vm(self, tc, port_id, tap, bandwidth):
        ip = self._ip()
        name = ifb_name(port_id)
        ifb = ip.link(name)
        if bandwidth is None:
            if tc.redirect_target(tap.index) is not None:
                tc.del_redirect(tap.index)
            if ifb is not None:
                ip.del_link(ifb.index)
            return
        if ifb is not None and ifb.kind != 'ifb':
            raise RuntimeError('%s exists and is not an ifb device' % name)
        if ifb is None:
            self._sweep_ifbs(ip)
            ifb = ip.add_link(name, 'ifb')
        if not ifb.up or ifb.alias != port_id:
            ip.set_link(ifb.index, state='up', ifalias=port_id)
        self._shape(tc, ifb.index, bandwidth)
        if tc.redirect_target(tap.index) != ifb.index:
            tc.set_redirect(tap.index, ifb.index)

    @staticmethod
    def _sweep_ifbs(ip):
        """Delete the ifbs whose VIF is gone (unplugged: the agent does not
        call the QoS hook then); done when an ifb is made, and at reconcile."""
        links = ip.links()
        taps = {lk.name for lk in links if lk.name.startswith(host_vif.VIF_PREFIX)}
        for lk in links:
            if (lk.kind == 'ifb' and lk.name.startswith(IFB_PREFIX) and lk.alias
                    and host_vif.vif_name(lk.alias) not in taps):
                LOG.info('deleting %s: the VIF of port %s is gone', lk.name, lk.alias)
                ip.del_link(lk.index)

    def _set_nft(self, port_id, rules):
        chains = self._nft_state()
        old = chains.get(port_id)
        new = nft_digest(rules) if any(rules.values()) else None
        if old == new:
            return
        self.nft.run(nft_port_script(port_id, old, rules, base=new and not self._table))
        self._table = self._table or bool(new)
        if new:
            chains[port_id] = new
        else:
            chains.pop(port_id, None)

    def reconcile_qos(self, wanted):
        """Remove the QoS of every port not in ``wanted``: ifbs, NaaS tbfs on
        taps of other ports, nft chains; re-read the nft table."""
        keep = {d['port_id'] for d in wanted}
        ip = self._ip()
        links = ip.links()
        taps = {lk.index: lk for lk in links if lk.name.startswith(host_vif.VIF_PREFIX)}
        for lk in links:
            if lk.kind == 'ifb' and lk.name.startswith(IFB_PREFIX) and lk.alias not in keep:
                LOG.info('deleting %s: port %s has no QoS here', lk.name, lk.alias)
                ip.del_link(lk.index)
        tc = self._tc()
        for ifindex in tc.tbf_roots():
            tap = taps.get(ifindex)
            if tap is not None and tap.alias not in keep:
                tc.del_root(ifindex)
                tc.del_redirect(ifindex)
        self._chains = None
        chains = self._nft_state()
        script = ''.join(nft_port_script(p, d, None) for p, d in sorted(chains.items())
                         if p not in keep)
        if script:
            self.nft.run(script)
            for p in [p for p in chains if p not in keep]:
                del chains[p]
        self._with_qos = None

    def cleanup(self):
        """Remove the ifbs and the nft table (taps go with their VIFs)."""
        ip = self._ip()
        for lk in ip.links():
            if lk.kind == 'ifb' and lk.name.startswith(IFB_PREFIX):
                ip.del_link(lk.index)
        self.nft.delete_table()
        self._chains, self._table, self._with_qos = {}, False, set()
