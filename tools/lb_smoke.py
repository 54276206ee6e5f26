#!/usr/bin/env python3
"""Linux bridge dataplane smoke test, by hand, on one machine (as root).

    .venv/bin/python tools/lb_smoke.py [--prefix naas-lbs-] [--vifs 200] [--keep]

Builds, all inside namespaces named ``<prefix>*`` (nothing in the root
namespace but this process):

    <prefix>ul   the underlay: bridge br-ul; ul-h1/ul-h2 (192.0.2.0/24
                 underlay) and ph-h1/ph-h2 (physnet1, flat) plugged into it
    <prefix>h1   host 1: ul0 192.0.2.1/24, phys0     (agent: namespace h1)
    <prefix>h2   host 2: ul0 192.0.2.2/24, phys0     (agent: namespace h2)
    <prefix>vm-* VMs booted with naas.cmd.sandbox (naas.compute.vif)

and runs naas-server's API (SQLite, noauth) on 127.0.0.1 and two naas
agents (naas.agent.agent.Agent with the Linux bridge driver, one per host)
in this one process on the in-process ``fake:/`` transport.  Then checks:

1. two VMs on one VXLAN network, on the two hosts, ping each other;
2. a VM on another network (same CIDR!) pings neither;
3. a flat network over physnet1 works across the hosts;
4. admin_state_up false cuts ping, true restores it;
5. an agent restart keeps the host's devices (same ifindexes) and loses
   (almost) no ping; resync timings;
6. ``--vifs N``: N VIFs on one host: time to ACTIVE, and a restart that
   wires them all from scratch (the driver's share timed separately);
7. deleting a port removes its wiring (bridge + VXLAN device when it was
   the last VIF of the network on the host, the other host's flooding
   entry);

and removes everything (``naas-cleanup --namespace-prefix <prefix>``).
The helpers (``Underlay``, ``InProcessCloud``) are meant for reuse.
"""
import argparse
import contextlib
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import types
import wsgiref.simple_server

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from naas.host import ip_lib  # noqa: E402
from naas.host import netns  # noqa: E402
from naas.agent.l2 import base  # noqa: E402
from naas.agent.l2 import linuxbridge  # noqa: E402
from naas.cmd import sandbox  # noqa: E402
from naas.compute import network_info  # noqa: E402
from naas.compute import vif  # noqa: E402

UNDERLAY_NET = '192.0.2.%d'
PHYSNET = 'physnet1'


def log(msg, *args):
    print(time.strftime('%H:%M:%S ') + (msg % args if args else msg), flush=True)


# ---- namespaces: an underlay and hosts on it ---------------------------------

class Underlay:
    """A namespace with a bridge; hosts join it with veth pairs."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.namespace = prefix + 'ul'
        self.hosts = []

    def create(self):
        netns.create(self.namespace)
        netns.bridge(self.namespace, 'br-ul')
        return self

    def add_host(self, index, physnet=True):
        """Namespace ``<prefix>h<index>`` with ul0 (192.0.2.<index>/24) and,
        with ``physnet``, phys0 (no address): both on the underlay bridge."""
        name = '%sh%d' % (self.prefix, index)
        netns.create(name)
        netns.veth('ul0', 'ul-h%d' % index, namespace=name, peer_namespace=self.namespace)
        netns.set_master(self.namespace, 'ul-h%d' % index, 'br-ul')
        netns.add_address(name, 'ul0', UNDERLAY_NET % index + '/24')
        if physnet:
            netns.veth('phys0', 'ph-h%d' % index, namespace=name,
                       peer_namespace=self.namespace)
            netns.set_master(self.namespace, 'ph-h%d' % index, 'br-ul')
        host = types.SimpleNamespace(name=name, namespace=name,
                                     tunnel_ip=UNDERLAY_NET % index, index=index)
        self.hosts.append(host)
        return host

    def delete(self):
        for host in self.hosts:
            netns.delete(host.namespace)
        netns.delete(self.namespace)


# ---- the service and agents, in this process -------------------------------

class _ThreadingWSGIServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def agent_conf(host, polling_interval=0.2, report_interval=5, physnet=True):
    """What naas.agent.agent.Agent and the driver read of a ConfigOpts."""
    return types.SimpleNamespace(host=host.name, agent=types.SimpleNamespace(
        l2_driver='linuxbridge', namespace=host.namespace, tunnel_ip=host.tunnel_ip,
        tunnel_types=['vxlan'], underlay_interface='ul0',
        bridge_mappings={PHYSNET: 'phys0'} if physnet else {},
        polling_interval=polling_interval, report_interval=report_interval))


class InProcessCloud:
    """naas-server's API (wsgiref, threads) + RPC on fake:/ + agents."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.agents = {}

    def start(self):
        from naas import rpc
        from naas.conf import CONF
        from naas.db import api as db_api
        from naas.db import migration
        from naas.plugins import manager as plugin_manager
        CONF([], project='naas', default_config_files=[])
        CONF.set_override('transport_url', 'fake:/')
        CONF.set_override('state_path', self.state_dir)
        CONF.set_override('connection', 'sqlite:///%s/naas.db' % self.state_dir,
                          group='database')
        CONF.set_override('agent_down_time', 30)
        for opt in ('quota_network', 'quota_subnet', 'quota_port'):
            CONF.set_override(opt, -1, group='quotas')
        migration.upgrade('head')
        db_api.dispose_engine()
        from naas.api import wsgi
        app = wsgi.load_app()
        self.rpc_servers = []
        for plugin in plugin_manager.get_manager().plugins():
            self.rpc_servers += plugin.start_rpc_listeners()
        self.httpd = wsgiref.simple_server.make_server(
            '127.0.0.1', 0, app, server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler)
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.rpc = rpc
        return self

    def start_agent(self, host, **kwargs):
        from naas.agent import agent as agent_mod
        conf = agent_conf(host, **kwargs)
        a = agent_mod.Agent(conf, driver=linuxbridge.LinuxBridgeDriver(conf))
        started = time.monotonic()
        a.start()
        a.start_seconds = time.monotonic() - started
        self.agents[host.name] = a
        return a

    def stop_agent(self, host, kill=False):
        a = self.agents.pop(host.name)
        a.stop()
        a.driver.close()

    def stop(self):
        for name in list(self.agents):
            a = self.agents.pop(name)
            a.stop()
            a.driver.close()
        self.httpd.shutdown()
        for s in self.rpc_servers:
            s.stop()
            s.wait()


class ProcessCloud:
    """The real thing: RabbitMQ, naas-server and one naas-agent process per
    host (in the root namespace, ``[agent] namespace`` = the host's), from
    the functional tests' fixtures (tools/harness/servers.py)."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.agents = {}

    def start(self):
        from tools.harness import servers
        self.servers = servers
        self.rabbit = servers.RabbitMQServer()
        self.rabbit.setUp()
        self.server = servers.NaasServer(options={
            'transport_url': self.rabbit.transport_url, 'agent_down_time': 30})
        self.server.setUp()
        self.url = self.server.url
        return self

    def start_agent(self, host, **kwargs):
        conf = agent_conf(host, **kwargs)
        path = os.path.join(self.state_dir, 'agent-%s.conf' % host.name)
        a = conf.agent
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nhost = %s\ntransport_url = %s\n[agent]\n'
                    'l2_driver = linuxbridge\nnamespace = %s\ntunnel_ip = %s\n'
                    'underlay_interface = %s\nbridge_mappings = %s\n'
                    'polling_interval = %s\nreport_interval = 2\n' % (
                        host.name, self.rabbit.transport_url, a.namespace, a.tunnel_ip,
                        a.underlay_interface,
                        ','.join('%s:%s' % kv for kv in a.bridge_mappings.items()),
                        a.polling_interval))
        log_file = open(os.path.join(self.state_dir, 'agent-%s.log' % host.name), 'ab')
        started = time.monotonic()
        proc = subprocess.Popen([self.servers._venv_bin('naas-agent'), '--config-file', path],
                                stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        proc.started = started
        proc.log_file = log_file.name
        self.agents[host.name] = proc
        api = network_info.APIClient(self.url)

        def alive():
            if proc.poll() is not None:
                raise RuntimeError('naas-agent of %s exited; see %s' % (host.name,
                                                                       proc.log_file))
            return any(a['alive'] and a['started_at'] >= since for a in api.get(
                '/agents?' + network_info.query(host=host.name))['agents'])
        since = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 1))
        if until(alive, 60) is None:
            raise RuntimeError('naas-agent of %s did not report; see %s' % (
                host.name, proc.log_file))
        return proc

    def stop_agent(self, host, kill=False):
        proc = self.agents.pop(host.name)
        if kill:
            proc.kill()
        else:
            proc.terminate()
        proc.wait(15)

    def stop(self):
        for name in list(self.agents):
            self.stop_agent(types.SimpleNamespace(name=name))
        self.server.cleanUp()
        self.rabbit.cleanUp()


# ---- checks -----------------------------------------------------------------

def until(predicate, timeout=10.0, interval=0.05):
    """Seconds until ``predicate()`` was true, or None after ``timeout``."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(interval)


def expect(ok, what):
    log('%s %s', 'PASS' if ok else 'FAIL', what)
    if not ok:
        expect.failures.append(what)


expect.failures = []


def snapshot(namespace):
    """{name: (index, master)} of the NaaS devices and VIFs of a host."""
    with ip_lib.IPHandle(namespace) as h:
        return {lk.name: (lk.index, lk.master, lk.up) for lk in h.links()
                if linuxbridge.is_naas_device(lk) or lk.name.startswith(base.VIF_PREFIX)}


def fdb_remotes(namespace, vni):
    with ip_lib.IPHandle(namespace) as h:
        vx = h.link(linuxbridge.vxlan_name(vni))
        return sorted(h.fdb_remotes(vx.index)) if vx else None


class Pinger:
    """busybox ping every ``interval`` s in a namespace; stop() -> (sent,
    received, longest run of consecutive losses)."""

    def __init__(self, namespace, address, interval=0.1):
        self.proc = netns.popen(namespace, ['busybox', 'ping', '-i', str(interval), address],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self):
        self.proc.terminate()
        out = self.proc.communicate(timeout=10)[0]
        seqs = sorted(int(line.split('seq=')[1].split()[0])
                      for line in out.splitlines() if 'seq=' in line)
        sent = max(seqs) + 1 if seqs else 0
        worst = max([b - a - 1 for a, b in zip(seqs, seqs[1:])] or [0])
        return sent, len(seqs), worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--prefix', default='naas-lbs-')
    parser.add_argument('--vifs', type=int, default=200)
    parser.add_argument('--keep', action='store_true', help='leave everything in place')
    parser.add_argument('--rabbit', action='store_true',
                        help='RabbitMQ, naas-server and naas-agent processes instead of '
                             'one process on the fake:/ transport')
    args = parser.parse_args(argv)
    if not args.prefix.startswith(netns.PREFIX):
        parser.error('the prefix must start with %s' % netns.PREFIX)
    subprocess.run([sys.executable, '-m', 'naas.cmd.cleanup', '--namespace-prefix',
                    args.prefix], check=True)
    state = tempfile.mkdtemp(prefix='naas-lbs-state-')
    underlay = Underlay(args.prefix).create()
    cloud = None
    try:
        h1, h2 = underlay.add_host(1), underlay.add_host(2)
        cloud = (ProcessCloud if args.rabbit else InProcessCloud)(state).start()
        for host in (h1, h2):
            cloud.start_agent(host)
        log('server %s, agents on %s and %s', cloud.url, h1.name, h2.name)
        run_checks(args, cloud, underlay, h1, h2)
    finally:
        if cloud is not None and not args.keep:
            cloud.stop()
        if not args.keep:
            underlay.delete()
            subprocess.run([sys.executable, '-m', 'naas.cmd.cleanup', '--namespace-prefix',
                            args.prefix, '--verbose'], check=False)
            left = netns.list_namespaces(args.prefix)
            expect(not left, 'nothing left with prefix %s (%s)' % (args.prefix, left))
    if expect.failures:
        log('%d check(s) FAILED: %s', len(expect.failures), expect.failures)
        return 1
    log('all checks passed')
    return 0


def run_checks(args, cloud, underlay, h1, h2):
    api = network_info.APIClient(cloud.url)
    net1 = api.post('/networks', {'network': {'name': 'net1'}})['network']
    api.post('/subnets', {'subnet': {'network_id': net1['id'], 'ip_version': 4,
                                     'cidr': '10.1.0.0/24', 'name': 'sub1'}})
    net2 = api.post('/networks', {'network': {'name': 'net2'}})['network']
    api.post('/subnets', {'subnet': {'network_id': net2['id'], 'ip_version': 4,
                                     'cidr': '10.1.0.0/24', 'allocation_pools': [
                                         {'start': '10.1.0.100', 'end': '10.1.0.200'}]}})
    flat = api.post('/networks', {'network': {
        'name': 'flat', 'provider:network_type': 'flat',
        'provider:physical_network': PHYSNET}})['network']
    api.post('/subnets', {'subnet': {'network_id': flat['id'], 'ip_version': 4,
                                     'cidr': '10.3.0.0/24'}})
    log('net1 vxlan %s mtu %s, net2 vxlan %s, flat on %s', net1['provider:segmentation_id'],
        net1['mtu'], net2['provider:segmentation_id'], PHYSNET)

    def boot(net, host, name):
        started = time.monotonic()
        vm = sandbox.boot(api, net['id'], host.name, host.namespace, name=name,
                          namespace_prefix=args.prefix + 'vm-')
        vm['boot_seconds'] = time.monotonic() - started
        log('booted %s on %s: %s %s in %.2fs (ACTIVE)', name, host.name, vm['ip'],
            vm['namespace'], vm['boot_seconds'])
        return vm

    vm1 = boot(net1, h1, 'vm1')
    vm2 = boot(net1, h2, 'vm2')
    vm3 = boot(net2, h2, 'vm3')

    # 1. one network, two hosts, VXLAN
    t = until(lambda: netns.ping(vm1['namespace'], vm2['ip']), 10)
    expect(t is not None, 'vm1 (h1) pings vm2 (h2) over VXLAN (first answer after %.2fs)'
           % (t or -1))
    expect(netns.ping(vm2['namespace'], vm1['ip'], count=3), 'vm2 pings vm1')
    expect(fdb_remotes(h1.namespace, net1['provider:segmentation_id']) == [h2.tunnel_ip],
           'h1 floods net1 to h2 only: %s' % fdb_remotes(h1.namespace,
                                                         net1['provider:segmentation_id']))
    info = network_info.get_network_info(cloud.url, vm1['instance_id'])
    expect(len(info) == 1 and info[0]['type'] == 'bridge'
           and info[0]['network']['subnets'][0]['ips'][0]['address'] == vm1['ip']
           and info[0]['network']['meta']['mtu'] == net1['mtu'],
           'network_info of vm1: type %s, ip %s, mtu %s' % (
               info[0]['type'], info[0]['network']['subnets'][0]['ips'][0]['address'],
               info[0]['network']['meta']['mtu']))

    # 2. isolation
    expect(not netns.ping(vm3['namespace'], vm1['ip'], count=2),
           'vm3 (net2, same CIDR) cannot ping vm1 (net1, other host)')
    expect(not netns.ping(vm3['namespace'], vm2['ip'], count=2),
           'vm3 (net2) cannot ping vm2 (net1, same host)')

    # 3. flat
    vm4 = boot(flat, h1, 'vm4')
    vm5 = boot(flat, h2, 'vm5')
    t = until(lambda: netns.ping(vm4['namespace'], vm5['ip']), 10)
    expect(t is not None, 'flat network: vm4 (h1) pings vm5 (h2) over physnet1')
    expect(not netns.ping(vm4['namespace'], vm1['ip'], count=1),
           'flat vm4 cannot reach net1 vm1')

    # 4. admin_state_up
    started = time.monotonic()
    api.put('/ports/%s' % vm2['port_id'], {'port': {'admin_state_up': False}})
    t = until(lambda: not netns.ping(vm1['namespace'], vm2['ip'], timeout=1), 10)
    expect(t is not None, 'admin_state_up false cuts vm1 -> vm2 (%.2fs)'
           % (time.monotonic() - started))
    tap = netns.link(h2.namespace, base.vif_name(vm2['port_id']))
    expect(tap.master == 0 and not tap.up, 'vm2 tap out of the bridge and down')
    status = api.get('/ports/%s' % vm2['port_id'])['port']['status']
    expect(status == 'DOWN', 'vm2 port DOWN (%s)' % status)
    started = time.monotonic()
    api.put('/ports/%s' % vm2['port_id'], {'port': {'admin_state_up': True}})
    t = until(lambda: netns.ping(vm1['namespace'], vm2['ip']), 10)
    expect(t is not None, 'admin_state_up true restores it (%.2fs)'
           % (time.monotonic() - started))
    network_info.wait_for_vif_plugged(cloud.url, [vm2['port_id']], timeout=10)

    # 5. restart without flap: the agent is killed (a crash) and started again
    before = snapshot(h1.namespace)
    pinger = Pinger(vm1['namespace'], vm2['ip'])
    time.sleep(1)
    cloud.stop_agent(h1, kill=True)
    time.sleep(0.5)
    cloud.start_agent(h1)
    probe = boot(net1, h1, 'probe')      # ACTIVE: the new agent is at work
    sent, received, worst = pinger.stop()
    sandbox.delete(api, probe['instance_id'], host_namespace=h1.namespace,
                   namespace_prefix=args.prefix + 'vm-')
    until(lambda: snapshot(h1.namespace) == before, 5)
    after = snapshot(h1.namespace)
    expect(before == after, 'kill -9 and restart of h1\'s agent kept every device and VIF '
           'as it was (%d objects, same ifindex/master/state)' % len(before))
    expect(worst == 0 and received >= sent - 1,
           'pings vm1 -> vm2 across the restart: %d sent, %d answered, longest gap %d'
           % (sent, received, worst))

    # 6. many VIFs
    if args.vifs:
        many_vifs(args, cloud, api, h1, net1)

    # 7. deleting ports removes the wiring
    api.delete('/ports/%s' % vm2['port_id'])
    brq, vx = (linuxbridge.bridge_name(net1['id']),
               linuxbridge.vxlan_name(net1['provider:segmentation_id']))
    t = until(lambda: brq not in snapshot(h2.namespace), 5)
    expect(t is not None, 'port deleted: %s and %s gone from h2 (%.2fs)'
           % (brq, vx, t or -1))
    tap = netns.link(h2.namespace, base.vif_name(vm2['port_id']))
    expect(tap is not None and tap.master == 0 and not tap.up,
           'the orphan VIF (VM still plugged) is out of every bridge and down')
    t = until(lambda: fdb_remotes(h1.namespace, net1['provider:segmentation_id']) == [], 5)
    expect(t is not None, 'h1 no longer floods net1 to h2')
    expect(not netns.ping(vm1['namespace'], vm2['ip'], count=1), 'vm1 no longer reaches vm2')
    sandbox.delete(api, vm2['instance_id'], host_namespace=h2.namespace,
                   namespace_prefix=args.prefix + 'vm-')
    for vm, host in ((vm1, h1), (vm3, h2), (vm4, h1), (vm5, h2)):
        sandbox.delete(api, vm['instance_id'], host_namespace=host.namespace,
                       namespace_prefix=args.prefix + 'vm-')
    t = until(lambda: not any(lk for lk in snapshot(h1.namespace)
                              if lk.startswith(linuxbridge.BRIDGE_PREFIX))
              and not snapshot(h2.namespace), 5)
    expect(t is not None, 'every sandbox deleted: no bridge, VXLAN device or VIF left on '
           'the hosts (h1 %s, h2 %s)' % (sorted(snapshot(h1.namespace))[:5],
                                        sorted(snapshot(h2.namespace))[:5]))


def many_vifs(args, cloud, api, host, net):
    n = args.vifs
    vmns = netns.create(args.prefix + 'vm-many')
    started = time.monotonic()
    ports = api.post('/ports', {'ports': [
        {'network_id': net['id'], 'binding:host_id': host.name, 'device_id': 'many',
         'device_owner': 'compute:sandbox'} for _ in range(n)]})['ports']
    log('%d ports created in %.2fs', n, time.monotonic() - started)
    started = time.monotonic()
    for i, port in enumerate(ports):
        vif.plug(port, host.namespace, vmns, ifname='e%d' % i, mtu=net['mtu'])
    plugged = time.monotonic()
    network_info.wait_for_vif_plugged(cloud.url, [p['id'] for p in ports], timeout=60)
    log('%d VIFs plugged in %.2fs; all ACTIVE %.2fs after the last plug (agent poll '
        'loop)', n, plugged - started, time.monotonic() - plugged)
    in_process = isinstance(cloud, InProcessCloud)
    taps = [base.vif_name(p['id']) for p in ports]

    def all_wired():
        links = snapshot(host.namespace)
        return all(links.get(t, (0, 0))[1] for t in taps)

    # Restart with everything in place: resync changes nothing on the host.
    before = snapshot(host.namespace)
    cloud.stop_agent(host)
    cloud.start_agent(host)
    time.sleep(1 if in_process else 4)
    expect(snapshot(host.namespace) == before,
           'restart with every VIF wired changed nothing on the host (%d devices and VIFs)'
           % len(before))
    # From scratch: the host lost every NaaS device (bridges, VXLAN): the
    # agent's restart wires every VIF again.
    cloud.stop_agent(host)
    with ip_lib.IPHandle(host.namespace) as h:
        for lk in h.links():
            if linuxbridge.is_naas_device(lk):
                h.del_link(lk.index)
    started = time.monotonic()
    cloud.start_agent(host)
    t = until(all_wired, 30, interval=0.01)
    expect(t is not None, 'restart from scratch wired all %d VIFs %.3fs after the agent '
           'was started (%s)' % (n, time.monotonic() - started,
                                 'in-process: report, sync RPC, reconcile, wire, device_up'
                                 if in_process else 'a new naas-agent process: Python '
                                 'start-up and imports, RabbitMQ connection, RPC, wiring'))
    if in_process:
        a = cloud.agents[host.name]
        details = a.server.sync({})['ports']
        t0 = time.monotonic()
        with a.lock:
            vifs = a.driver.scan_vifs()
        log('scan_vifs (%d VIFs, one dump): %.1f ms', len(vifs),
            (time.monotonic() - t0) * 1000)
        wanted = [p for p in details if p['port_id'] in vifs]
        t0 = time.monotonic()
        with a.lock:
            a.driver.scan_vifs()
            a.driver.reconcile(wanted)
            for d in wanted:
                a.driver.wire(d)
        log('driver resync with nothing to change (%d VIFs): %.1f ms', len(wanted),
            (time.monotonic() - t0) * 1000)
        cloud.stop_agent(host)
        with ip_lib.IPHandle(host.namespace) as h:
            for lk in h.links():
                if linuxbridge.is_naas_device(lk):
                    h.del_link(lk.index)
        drv = linuxbridge.LinuxBridgeDriver(agent_conf(host))
        t0 = time.monotonic()
        drv.scan_vifs()
        drv.reconcile(wanted)
        for d in wanted:
            drv.wire(d)
        log('driver alone, from scratch: scan + reconcile + wire %d VIFs: %.1f ms',
            len(wanted), (time.monotonic() - t0) * 1000)
        drv.close()
        cloud.start_agent(host)
    # Unplug them all: the agent unwires; ports DOWN.
    started = time.monotonic()
    with netns.handle(host.namespace) as h:
        for p in ports:
            lk = h.link(base.vif_name(p['id']))
            h.del_link(lk.index)
    unplugged = time.monotonic()

    def all_down():
        rows = api.get('/ports?' + network_info.query(device_id='many', fields='status'))
        return all(p['status'] == 'DOWN' for p in rows['ports'])
    t = until(all_down, 20)
    expect(t is not None, '%d VIFs unplugged in %.2fs (kernel veth deletion); all ports '
           'DOWN %.2fs later' % (n, unplugged - started, t or -1))
    for p in ports:
        api.delete('/ports/%s' % p['id'])
    netns.delete(vmns)


if __name__ == '__main__':
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
