"""Remote-site bridges on the Open vSwitch driver (hooks.RemoteTunnels).

One tunnel port per remote on the integration bridge, ``rvx-<vni>``: an
Interface of type vxlan with options remote_ip (the remote VTEP), local_ip
(``[agent] tunnel_ip``) and key (the bridge's VNI; NaaS's own tunnels on
br-tun use key=flow, so the two never take each other's packets), and the
Port an access port tagged with the network's local VLAN.  So the flows
that map it into the network are br-int's own NORMAL: a frame from the
remote site enters with the network's local VLAN, is learned and forwarded
(to the network's VIFs, and out of patch-tun to the network's other NaaS
hosts); the network's broadcast, ARP, ND and unknown unicast flood to the
port, which sends them untagged with the bridge's VNI.  With the OVS
firewall, the port is among the unfiltered ports whose frames the firewall
tables forward in the network (driver's ``_firewall_flows``).  Static
remote entries are static entries of br-int's MAC table on the port, in the
network's local VLAN (``ovs-appctl fdb/add``); ovs-vswitchd keeps them in
memory only: the agent's next set_remotes (a restart, a resync) puts them
back.

Ownership: the Port's external_ids naas-port=remote, naas-network-id and
naas-remote-bridge.  Only such ports are changed or deleted; a port that is
right is left as it is (OVSDB writes only what differs), so an agent
restart does not touch the traffic.
"""
import logging
import os
import subprocess
import time

from naas.host import ovs_lib

LOG = logging.getLogger(__name__)

DEVICE_PREFIX = 'rvx-'
ROLE = 'remote'
NET_KEY = 'naas-network-id'
BRIDGE_KEY = 'naas-remote-bridge'
#: Rounds of adding static MAC entries, and the pause between two.
STATIC_ATTEMPTS = 5
STATIC_RETRY_SECONDS = 0.2


def port_name(vni):
    return '%s%d' % (DEVICE_PREFIX, vni)


class OvsRemotes:
    """The remote tunnels of the Open vSwitch driver.  ``api()`` is its
    OVSDB API, ``lvid_of(network_id)`` the network's local VLAN (None: not
    on this host); the driver calls these under its lock."""

    def __init__(self, api, rundir, int_br, tunnel_ip, lvid_of, timeout=30):
        self._api = api
        self.rundir = rundir
        self.int_br = int_br
        self.tunnel_ip = tunnel_ip
        self.lvid_of = lvid_of
        self.timeout = timeout

    @property
    def api(self):
        return self._api()

    def _ports(self):
        """{name: Port} of the remote tunnel ports on br-int."""
        return {name: port for name, port in ovs_lib.bridge_ports(self.api, self.int_br).items()
                if port.external_ids.get(ovs_lib.PORT_MARK) == ROLE}

    def options(self, remote):
        return {'remote_ip': remote['remote_ip'], 'local_ip': self.tunnel_ip,
                'key': str(remote['segmentation_id'])}

    def set_remotes(self, network_id, remotes):
        existing = self._ports()
        wanted = {port_name(r['segmentation_id']): r for r in remotes}
        ops = [ovs_lib.op_del_port(name) for name, port in sorted(existing.items())
               if port.external_ids.get(NET_KEY) == network_id and name not in wanted]
        lvid = self.lvid_of(network_id)
        if wanted and lvid is None:
            raise LookupError('network %s is not on this host' % network_id)
        if wanted and not self.tunnel_ip:
            raise ValueError('remote tunnels need [agent] tunnel_ip')
        for name, remote in sorted(wanted.items()):
            port = existing.get(name)
            if port is not None and port.external_ids.get(NET_KEY) != network_id:
                raise RuntimeError('%s is the tunnel of network %s' % (
                    name, port.external_ids.get(NET_KEY)))
            if port is None:
                LOG.info('creating remote tunnel %s to %s (VNI %s) in local VLAN %s', name,
                         remote['remote_ip'], remote['segmentation_id'], lvid)
            ops.append(ovs_lib.op_ensure_port(
                self.int_br, name, remote['type'], self.options(remote),
                external_ids={ovs_lib.PORT_MARK: ROLE, NET_KEY: network_id,
                              BRIDGE_KEY: remote['id']}, tag=lvid))
        if ops:
            ovs_lib.transact(self.api, ops)
        for name, remote in sorted(wanted.items()):
            self._sync_entries(name, lvid, remote.get('entries') or ())

    def reconcile_remotes(self, wanted):
        keep = {(network_id, port_name(r['segmentation_id']))
                for network_id, remotes in wanted.items() for r in remotes}
        gone = [name for name, port in sorted(self._ports().items())
                if (port.external_ids.get(NET_KEY), name) not in keep]
        if gone:
            LOG.info('deleting remote tunnels %s', gone)
            ovs_lib.transact(self.api, [ovs_lib.op_del_port(name) for name in gone])

    def remove_all(self):
        self.reconcile_remotes({})

    # ---- static MAC entries (ovs-appctl fdb/*) --------------------------------

    def _appctl(self, *args):
        ctl = os.path.join(self.rundir, 'ovs-vswitchd.ctl')
        cmd = ['ovs-appctl', '-t', ctl if os.path.exists(ctl) else 'ovs-vswitchd'] + list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout,
                              env=dict(os.environ, OVS_RUNDIR=self.rundir))
        if proc.returncode != 0:
            raise ovs_lib.OVSError('%s failed: %s' % (' '.join(cmd[3:5]),
                                                      proc.stderr.strip()[:500]))
        return proc.stdout

    def _static_macs(self, ofport, lvid):
        """MACs of br-int's static MAC table entries on ``ofport`` in ``lvid``
        (fdb/show: port, VLAN, MAC, age; 'static' for static entries)."""
        out = set()
        for line in self._appctl('fdb/show', self.int_br).splitlines()[1:]:
            fields = line.split()
            if (len(fields) == 4 and fields[3] == 'static' and fields[0] == str(ofport)
                    and fields[1] == str(lvid)):
                out.add(fields[2])
        return out

    def _sync_entries(self, name, lvid, entries):
        wanted = {e['mac_address'].lower() for e in entries}
        ofport = ovs_lib.ofports(self.api, [name]).get(name, -1)
        if ofport <= 0:
            if wanted:
                raise LookupError('tunnel port %s has no ofport yet' % name)
            return
        # An entry added while ovs-vswitchd is still setting up the new port
        # (after the OVSDB commit) can be lost (seen once in the fullstack
        # test): add until they are there.
        for attempt in range(STATIC_ATTEMPTS):
            have = self._static_macs(ofport, lvid)
            if have == wanted:
                return
            if attempt:
                time.sleep(STATIC_RETRY_SECONDS)
            for mac in sorted(wanted - have):
                self._appctl('fdb/add', self.int_br, name, str(lvid), mac)
            for mac in sorted(have - wanted):
                self._appctl('fdb/del', self.int_br, str(lvid), mac)
        LOG.warning('static MAC entries of %s do not stay: %s', name,
                    sorted(wanted ^ self._static_macs(ofport, lvid)))

    def others(self):
        """[(ofport, lvid)] of the remote tunnel ports: unfiltered ports of
        their networks, for the firewall's forwarding flows."""
        ports = self._ports()
        ofports = ovs_lib.ofports(self.api, list(ports))
        out = []
        for name, port in sorted(ports.items()):
            lvid = self.lvid_of(port.external_ids.get(NET_KEY))
            if lvid is not None and ofports.get(name, -1) > 0:
                out.append((ofports[name], lvid))
        return out
