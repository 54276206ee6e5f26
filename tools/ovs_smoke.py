#!/usr/bin/env python3
"""Open vSwitch dataplane smoke test, by hand, on one machine (as root).

    .venv/bin/python tools/ovs_smoke.py [--prefix naas-ovs-] [--in-process]
                                        [--vifs 200] [--keep] [--cleanup]

Builds, all inside namespaces named ``<prefix>*`` (nothing in the root
namespace but processes):

    <prefix>ul    the underlay: Linux bridge br-ul; ul-hN (192.0.2.0/24) and
                  ph-hN (physnet1, VLAN trunk / flat) plugged into it
    <prefix>hN    host N: a private ovsdb-server + ovs-vswitchd (netdev) in
                  it, files in <state>/hN; ul0 in br-underlay with
                  192.0.2.N/24 on br-underlay; phys0 in br-phys
                  (tools.harness.ovs_host)
    <prefix>vm-*  VMs plugged by naas.compute.vif (vif_type ovs ->
                  naas.host.ovs_lib.add_vif_port), TX checksum off

Default: RabbitMQ, naas-server and one naas-agent process per host (in the
root namespace, [ovs] ovsdb_connection = unix:<state>/hN/db.sock), from
tools/harness/servers.py.  ``--in-process``: the API, the RPC server and
two agents in this process on the in-process fake:/ transport (no kill
test then: an agent is stopped and a new one started).  Checks:

1. VXLAN, GRE, VLAN (physnet1, segmentation 150) and flat networks: a VM
   on each host of each network, they ping each other (and TCP through
   VXLAN);
2. a VM on another VXLAN network with the same CIDR gets no ping and no
   ARP reply, from either host;
3. admin_state_up false cuts a port's ping, true restores it;
4. SIGKILL of host 1's agent while pinging through it, restart: at most
   one ping lost, OVSDB (tags) and the flow tables (cookies aside) as before;
   ovs-vswitchd of host 2 restarted (flow tables lost): the agent installs
   them again;
5. ``--vifs N``: N VIFs on host 1: time until all are ACTIVE, then a
   SIGKILL + restart that reconciles them all (the agent logs the
   driver's time);
6. a port's delete removes its tag; the last port of a network takes the
   network's flows and, with it, the tunnel port away;
7. cleanup_all removes NaaS's bridges and leaves the host's own ones as
   they were.

Everything is removed at the end (``--keep`` leaves it up; ``--cleanup``
only removes what a previous run with this prefix left).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from naas.host import netns  # noqa: E402
from naas.agent.l2 import base  # noqa: E402
from naas.agent.l2 import ovs_flows  # noqa: E402
from tools.harness import ovs_host  # noqa: E402
from naas.host import ovs_lib  # noqa: E402
from naas.compute import network_info  # noqa: E402
from naas.compute import vif  # noqa: E402

PHYSNET = 'physnet1'
PHYS_BRIDGE = 'br-phys'
UNDERLAY = '192.0.2.%d'


def log(msg, *args):
    print(time.strftime('%H:%M:%S ') + (msg % args if args else msg), flush=True)


# ---- hosts -------------------------------------------------------------------

class Lab:
    """The underlay namespace and the host namespaces with their OVS."""

    def __init__(self, prefix, state_dir):
        self.prefix = prefix
        self.state_dir = state_dir
        self.underlay = prefix + 'ul'
        self.hosts = []

    def create(self, n_hosts=2):
        netns.create(self.underlay)
        netns.bridge(self.underlay, 'br-ul')
        for i in range(1, n_hosts + 1):
            self.hosts.append(self.add_host(i))
        return self

    def add_host(self, i):
        name = '%sh%d' % (self.prefix, i)
        netns.create(name)
        for ifname, peer in (('ul0', 'ul-h%d' % i), ('phys0', 'ph-h%d' % i)):
            netns.veth(ifname, peer, namespace=name, peer_namespace=self.underlay)
            netns.set_master(self.underlay, peer, 'br-ul')
        ovs = ovs_host.PrivateOVS(os.path.join(self.state_dir, 'h%d' % i), name).start()
        ovs.attach_underlay('ul0', UNDERLAY % i + '/24')
        ovs.add_physical_bridge(PHYS_BRIDGE, 'phys0')
        return types.SimpleNamespace(name=name, namespace=name, index=i,
                                     tunnel_ip=UNDERLAY % i, ovs=ovs)

    def delete(self):
        for host in self.hosts:
            host.ovs.stop()
        cleanup(self.prefix)


def cleanup(prefix):
    """Every namespace ``<prefix>*`` (with the OVS and pings inside)."""
    for name in netns.list_namespaces(prefix):
        netns.delete(name)


def agent_settings(host, transport_url, polling_interval=0.2, report_interval=2):
    return {
        'DEFAULT': {'host': host.name, 'transport_url': transport_url},
        'agent': {'l2_driver': 'openvswitch', 'namespace': host.namespace,
                  'tunnel_ip': host.tunnel_ip, 'tunnel_types': 'vxlan,gre',
                  'bridge_mappings': '%s:%s' % (PHYSNET, PHYS_BRIDGE),
                  'polling_interval': polling_interval,
                  'report_interval': report_interval},
        'ovs': {'ovsdb_connection': host.ovs.db_connection, 'datapath_type': 'netdev'},
    }


def conf_object(settings):
    """A ConfigOpts of its own for an agent in this process (every option
    of naas.conf, so that new options keep their defaults)."""
    from oslo_config import cfg
    from naas.conf import agent as agent_opts
    from naas.conf import default as default_opts
    conf = cfg.ConfigOpts()
    default_opts.register_opts(conf)
    agent_opts.register_opts(conf)
    conf([], project='naas', default_config_files=[])
    conf.set_override('host', settings['DEFAULT']['host'])
    for group in ('agent', 'ovs'):
        for name, value in settings[group].items():
            if name == 'tunnel_types':
                value = value.split(',')
            elif name == 'bridge_mappings':
                value = dict([value.split(':')])
            conf.set_override(name, value, group=group)
    return conf


SERVER_L2 = {'tenant_network_types': 'vxlan', 'vni_ranges': '1000:1999',
             'tunnel_id_ranges': '1000:1999',
             'network_vlan_ranges': '%s:100:199' % PHYSNET}


class ProcessCloud:
    """RabbitMQ + naas-server + one naas-agent process per host."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.agents = {}

    def start(self):
        from tools.harness import servers
        self.servers = servers
        started = time.monotonic()
        self.rabbit = servers.RabbitMQServer()
        self.rabbit.setUp()
        self.server = servers.NaasServer(options={
            'transport_url': self.rabbit.transport_url, 'agent_down_time': 30,
            'l2': SERVER_L2})
        self.server.setUp()
        self.url = self.server.url
        log('RabbitMQ and naas-server up in %.1f s', time.monotonic() - started)
        return self

    def start_agent(self, host):
        settings = agent_settings(host, self.rabbit.transport_url)
        path = os.path.join(self.state_dir, 'agent-%s.conf' % host.name)
        with open(path, 'w') as f:
            for section, values in settings.items():
                f.write('[%s]\n' % section)
                f.writelines('%s = %s\n' % kv for kv in values.items())
        log_path = os.path.join(self.state_dir, 'agent-%s.log' % host.name)
        with open(log_path, 'ab') as log_file:
            proc = subprocess.Popen([self.servers._venv_bin('naas-agent'),
                                     '--config-file', path],
                                    stdout=log_file, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        proc.log_path = log_path
        self.agents[host.name] = proc
        return proc

    def stop_agent(self, host, kill=False):
        proc = self.agents.pop(host.name)
        if kill:
            proc.kill()
        else:
            proc.terminate()
        proc.wait(15)

    def agent_log(self, host):
        path = os.path.join(self.state_dir, 'agent-%s.log' % host.name)
        with open(path, errors='replace') as f:
            return f.read()

    def stop(self):
        for name in list(self.agents):
            self.stop_agent(types.SimpleNamespace(name=name))
        self.server.cleanUp()
        self.rabbit.cleanUp()


class InProcessCloud:
    """naas-server's API (wsgiref, threads) + RPC on fake:/ + agents."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.agents = {}

    def start(self):
        import socketserver
        import wsgiref.simple_server
        from naas import rpc  # noqa: F401 (transport_url)
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
        for opt, value in SERVER_L2.items():
            CONF.set_override(opt, value.split(','), group='l2')
        migration.upgrade('head')
        db_api.dispose_engine()
        from naas.api import wsgi
        app = wsgi.load_app()
        self.rpc_servers = []
        for plugin in plugin_manager.get_manager().plugins():
            self.rpc_servers += plugin.start_rpc_listeners()

        class Server(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
            daemon_threads = True

        class Quiet(wsgiref.simple_server.WSGIRequestHandler):
            def log_message(self, *args):
                pass
        self.httpd = wsgiref.simple_server.make_server('127.0.0.1', 0, app,
                                                       server_class=Server,
                                                       handler_class=Quiet)
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def start_agent(self, host):
        from naas.agent import agent as agent_mod
        from naas.agent.l2 import openvswitch
        conf = conf_object(agent_settings(host, 'fake:/'))
        a = agent_mod.Agent(conf, driver=openvswitch.OpenvSwitchDriver(conf))
        a.start()
        self.agents[host.name] = a
        return a

    def stop_agent(self, host, kill=False):
        self.agents.pop(host.name).stop()

    def agent_log(self, host):
        return ''

    def stop(self):
        for name in list(self.agents):
            self.agents.pop(name).stop()
        self.httpd.shutdown()
        for s in self.rpc_servers:
            s.stop()
            s.wait()


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


FAILURES = []


def expect(ok, what):
    log('%s %s', 'PASS' if ok else 'FAIL', what)
    if not ok:
        FAILURES.append(what)
    return ok


def ping(vm, address, count=1, timeout=1):
    return netns.ping(vm, address, count=count, timeout=timeout)


def arping(vm, address, count=2):
    out = netns.execute(vm, ['busybox', 'arping', '-f', '-c', str(count), '-w',
                             str(count + 1), '-I', 'eth0', address], check=False)
    return out.returncode == 0


def tcp_transfer(server_vm, client_vm, address, size=1000000):
    """Bytes the server VM received of ``size`` sent by the client VM."""
    srv = netns.popen(server_vm, [sys.executable, '-c', (
        'import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,'
        'socket.SO_REUSEADDR,1);s.bind(("0.0.0.0",5001));s.listen();'
        's.settimeout(8);c,_=s.accept();c.settimeout(8);n=0\n'
        'while True:\n d=c.recv(65536)\n if not d: break\n n+=len(d)\n'
        'print(n)')], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.3)
    netns.execute(client_vm, [sys.executable, '-c', (
        'import socket;s=socket.create_connection(("%s",5001),timeout=8);'
        's.sendall(b"x"*%d);s.close()' % (address, size))], check=False, timeout=20)
    out = srv.communicate(timeout=20)[0].strip().splitlines()
    try:
        return int(out[-1])
    except (IndexError, ValueError):
        return -1


class Pinger:
    """busybox ping every ``interval`` s; stop() -> (sent, received, worst gap)."""

    def __init__(self, namespace, address, interval=0.1):
        self.interval = interval
        self.started = time.monotonic()
        self.proc = netns.popen(namespace, ['busybox', 'ping', '-i', str(interval), address],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def elapsed(self):
        return round(time.monotonic() - self.started, 2)

    def stop(self, detail=False):
        """(sent, received, longest gap[, send times of the lost ones])."""
        self.proc.terminate()
        out = self.proc.communicate(timeout=10)[0]
        seqs = sorted(int(line.split('seq=')[1].split()[0])
                      for line in out.splitlines() if 'seq=' in line)
        sent = max(seqs) + 1 if seqs else 0
        worst = max([b - a - 1 for a, b in zip(seqs, seqs[1:])] or [0])
        if not detail:
            return sent, len(seqs), worst
        got = set(seqs)
        lost_at = [round(i * self.interval, 1) for i in range(sent) if i not in got]
        return sent, len(seqs), worst, lost_at


_NOISE = re.compile(r'\b(cookie|duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]*,?\s*')


def host_state(host):
    """OVSDB ports (tag, naas other_config) and flows without cookies and counters."""
    state = {}
    for br in host.ovs.vsctl('list-br').split():
        for line in host.ovs.dump_flows(br):
            state['flow %s %s' % (br, _NOISE.sub('', line).strip())] = ''
    api = ovs_lib.get_api(host.ovs.db_connection)
    for br in ovs_lib.snapshot(api).values():
        for name, port in br.ports.items():
            state['port %s %s' % (br.name, name)] = (port.tag, tuple(sorted(
                (k, v) for k, v in port.other_config.items() if k.startswith('naas'))))
    return state


def cookies(host):
    """The NaaS flow cookies on the host's bridges."""
    found = set()
    for br in ('br-int', 'br-tun', PHYS_BRIDGE):
        for line in host.ovs.dump_flows(br, 'cookie=%#x/%#x' % (
                ovs_flows.COOKIE_MARK, ovs_flows.COOKIE_MASK)):
            found.add(line.split(',', 1)[0])
    return found


class Env:
    """The API, the hosts and the VMs of a run."""

    def __init__(self, cloud, lab, prefix):
        self.cloud, self.lab, self.prefix = cloud, lab, prefix
        self.api = network_info.APIClient(cloud.url, headers={
            'X-Project-Id': 'smoke', 'X-Roles': 'admin'})
        self.vms = []

    def network(self, name, cidr, **provider):
        body = {'name': self.prefix + name, 'project_id': 'smoke'}
        body.update(provider)
        net = self.api.post('/networks', {'network': body})['network']
        self.api.post('/subnets', {'subnet': {
            'network_id': net['id'], 'cidr': cidr, 'ip_version': 4,
            'enable_dhcp': False, 'gateway_ip': None, 'project_id': 'smoke'}})
        return net

    def port(self, net, host, ip=None, **attrs):
        body = {'network_id': net['id'], 'project_id': 'smoke',
                'device_owner': 'compute:nova', 'device_id': str(uuid.uuid4()),
                'binding:host_id': host.name}
        if ip:
            body['fixed_ips'] = [{'ip_address': ip}]
        body.update(attrs)
        return self.api.post('/ports', {'port': body})['port']

    def boot(self, net, host, ip, name):
        port = self.port(net, host, ip)
        if port['binding:vif_type'] != 'ovs':
            raise RuntimeError('port bound as %s' % port['binding:vif_type'])
        vm = self.prefix + 'vm-' + name
        netns.create(vm)
        vif.plug(port, host.namespace, vm, mtu=net['mtu'],
                 ovsdb_connection=host.ovs.db_connection)
        ovs_host.disable_tx_offload(vm, 'eth0')
        netns.add_address(vm, 'eth0', ip + '/24')
        netns.execute(vm, ['sysctl', '-qw', 'net.ipv4.neigh.eth0.retrans_time_ms=100'],
                      check=False)
        self.vms.append(vm)
        return types.SimpleNamespace(ns=vm, port=port, ip=ip, host=host)

    def status(self, port_id):
        return self.api.get('/ports/%s' % port_id)['port']['status']

    def wait_active(self, *vms, timeout=20):
        return until(lambda: all(self.status(v.port['id']) == 'ACTIVE' for v in vms),
                     timeout, 0.05)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--prefix', default='naas-ovs-')
    parser.add_argument('--in-process', action='store_true')
    parser.add_argument('--vifs', type=int, default=200)
    parser.add_argument('--vif-networks', type=int, default=1,
                        help='spread the --vifs VIFs over this many VXLAN networks')
    parser.add_argument('--keep', action='store_true')
    parser.add_argument('--cleanup', action='store_true')
    args = parser.parse_args(argv)
    if not args.prefix.startswith(netns.PREFIX):
        parser.error('the prefix must start with %s' % netns.PREFIX)
    if os.geteuid() != 0:
        parser.error('run as root (namespaces)')
    cleanup(args.prefix)
    if args.cleanup:
        return 0
    missing = ovs_host.missing_binaries()
    if missing:
        parser.error('missing %s (apt-get install openvswitch-switch)' % missing)
    state_dir = tempfile.mkdtemp(prefix=args.prefix)
    lab = Lab(args.prefix, state_dir)
    cloud = (InProcessCloud if args.in_process else ProcessCloud)(state_dir)
    try:
        t0 = time.monotonic()
        lab.create()
        log('hosts with private OVS up in %.1f s (%s)', time.monotonic() - t0, state_dir)
        cloud.start()
        for host in lab.hosts:
            cloud.start_agent(host)
        env = Env(cloud, lab, args.prefix)
        until(lambda: len([a for a in env.api.get('/agents')['agents'] if a['alive']])
              >= len(lab.hosts), 60, 0.2)
        run_checks(args, env, lab.hosts)
    except Exception:
        import traceback
        traceback.print_exc()
        FAILURES.append('exception')
    finally:
        for host in lab.hosts:
            try:
                text = cloud.agent_log(host)
            except OSError:
                continue
            bad = [line for line in text.splitlines()
                   if ' ERROR ' in line or ' WARNING ' in line or 'Traceback' in line]
            log('agent log of %s: %d warning/error lines%s', host.name, len(bad),
                ''.join('\n    ' + line[:300] for line in bad[-15:]))
        if args.keep:
            log('kept: %s and namespaces %s*', state_dir, args.prefix)
        else:
            try:
                cloud.stop()
            except Exception as exc:
                log('stopping the cloud: %s', exc)
            lab.delete()
            ovs_lib.close()
            shutil.rmtree(state_dir, ignore_errors=True)
            left = netns.list_namespaces(args.prefix)
            expect(not left, 'nothing left behind (%s)' % left)
    log('%d failure(s)%s', len(FAILURES), ': %s' % FAILURES if FAILURES else '')
    return 1 if FAILURES else 0


def run_checks(args, env, hosts):
    h1, h2 = hosts
    # 1. connectivity per network type.
    nets = {
        'vxlan': env.network('vx', '10.1.0.0/24', **{'provider:network_type': 'vxlan'}),
        'gre': env.network('gre', '10.2.0.0/24', **{'provider:network_type': 'gre'}),
        'vlan': env.network('vlan', '10.3.0.0/24', **{
            'provider:network_type': 'vlan', 'provider:physical_network': PHYSNET,
            'provider:segmentation_id': 150}),
        'flat': env.network('flat', '10.4.0.0/24', **{
            'provider:network_type': 'flat', 'provider:physical_network': PHYSNET}),
    }
    vms = {}
    for kind, net in nets.items():
        n = {'vxlan': 1, 'gre': 2, 'vlan': 3, 'flat': 4}[kind]
        a = env.boot(net, h1, '10.%d.0.11' % n, kind + '1')
        b = env.boot(net, h2, '10.%d.0.12' % n, kind + '2')
        vms[kind] = (a, b)
        took = env.wait_active(a, b)
        expect(took is not None, '%s ports ACTIVE (%.2f s after plug)' % (kind, took or -1))
        took = until(lambda: ping(a.ns, b.ip), 15, 0)
        expect(took is not None, '%s (seg %s, mtu %s): %s on %s pings %s on %s '
               '(%.2f s)' % (kind, net['provider:segmentation_id'], net['mtu'], a.ns,
                             h1.name, b.ns, h2.name, took or -1))
        expect(ping(b.ns, a.ip, count=3), '%s: and back (3/3)' % kind)
    a, b = vms['vxlan']
    got = tcp_transfer(b.ns, a.ns, b.ip)
    expect(got == 1000000, 'vxlan: TCP 1 MB from %s to %s (received %d)' % (a.ns, b.ns, got))
    a, b = vms['gre']
    got = tcp_transfer(b.ns, a.ns, b.ip)
    expect(got == 1000000, 'gre: TCP 1 MB (received %d)' % got)

    # 2. isolation: another VXLAN network, same CIDR.
    other = env.network('vx-other', '10.1.0.0/24', **{'provider:network_type': 'vxlan'})
    x = env.boot(other, h2, '10.1.0.13', 'other')
    env.wait_active(x)
    a, b = vms['vxlan']
    expect(not ping(a.ns, x.ip, count=2), 'isolation: no ping from vxlan (h1) to other (h2)')
    expect(not arping(a.ns, x.ip), 'isolation: no ARP reply from other across hosts')
    expect(not ping(b.ns, x.ip, count=2), 'isolation: no ping on the same host (h2)')
    expect(not arping(b.ns, x.ip), 'isolation: no ARP reply on the same host')
    expect(not ping(x.ns, b.ip, count=2) and ping(a.ns, b.ip),
           'isolation: other cannot reach vxlan; vxlan still fine')

    # 3. admin_state_up.
    env.api.put('/ports/%s' % b.port['id'], {'port': {'admin_state_up': False}})
    took = until(lambda: not ping(a.ns, b.ip), 10, 0)
    expect(took is not None, 'admin_state_up false cuts ping (%.2f s)' % (took or -1))
    expect(until(lambda: env.status(b.port['id']) == 'DOWN', 10) is not None,
           'the port is DOWN')
    env.api.put('/ports/%s' % b.port['id'], {'port': {'admin_state_up': True}})
    took = until(lambda: ping(a.ns, b.ip), 10, 0)
    expect(took is not None, 'admin_state_up true restores it (%.2f s)' % (took or -1))

    # 4. SIGKILL while pinging, restart.
    for kind in ('vxlan', 'vlan'):
        a, b = vms[kind]
        before = host_state(h1)
        cookies_before = cookies(h1)
        pinger = Pinger(a.ns, b.ip, 0.1)
        time.sleep(1)
        env.cloud.stop_agent(h1, kill=True)
        time.sleep(1)
        started = time.monotonic()
        env.cloud.start_agent(h1)
        took = until(lambda: cookies(h1).isdisjoint(cookies_before), 30, 0.1)
        log('restarted agent of %s: new flow generation in %.2f s', h1.name,
            (time.monotonic() - started) if took is not None else -1)
        time.sleep(2)
        sent, received, worst = pinger.stop()
        expect(sent > 30 and worst <= 1, '%s: SIGKILL + restart of the agent: %d/%d '
               'pings answered, longest gap %d' % (kind, received, sent, worst))
        after = host_state(h1)
        diff = sorted(set(before.items()) ^ set(after.items()), key=str)
        expect(not diff, '%s: OVSDB and flows (cookies aside) unchanged by the restart%s'
               % (kind, ': %s' % diff[:6] if diff else ''))
    for kind, (a, b) in vms.items():
        expect(ping(a.ns, b.ip), '%s still pings after the restarts' % kind)

    # 4b. ovs-vswitchd restarts (its flow tables are lost): the agent notices
    # (canary flow) and installs them again.
    h2.ovs.restart_vswitchd()
    restarted = time.monotonic()
    for kind, (a, b) in vms.items():
        took = until(lambda: ping(a.ns, b.ip), 20, 0)
        expect(took is not None, '%s pings again %.2f s after ovs-vswitchd of %s '
               'restarted' % (kind, time.monotonic() - restarted, h2.name))

    # 5. many VIFs.
    if args.vifs:
        many_vifs(args, env, h1, nets['vxlan'], vms['vxlan'])

    # 6. deletes.
    a, b = vms['gre']
    tun_ports = h1.ovs.vsctl('list-ports', 'br-tun').split()
    expect('gre-c0000202' in tun_ports, 'h1 has a GRE tunnel port to h2')
    env.api.delete('/ports/%s' % a.port['id'])
    vm_tap = base.vif_name(a.port['id'])
    gone = until(lambda: h1.ovs.vsctl('get', 'Port', vm_tap, 'tag').strip() == '4095', 10)
    expect(gone is not None, 'deleted port: dead VLAN on its (still plugged) VIF')
    gone = until(lambda: 'gre-c0000202' not in h1.ovs.vsctl('list-ports', 'br-tun').split()
                 and not [f for f in h1.ovs.dump_flows('br-tun', 'table=3')
                          if 'tun_id' in f], 10)
    expect(gone is not None, 'last port of the GRE network on h1: its flows and the '
           'GRE tunnel port are gone')
    expect(not ping(b.ns, a.ip, count=2), 'and the deleted port is unreachable')

    # 7. cleanup_all on host 2 (agent stopped): NaaS's bridges go, the host's
    # own bridges stay with their own flows only.
    from naas.agent.l2 import openvswitch
    env.cloud.stop_agent(h2)
    driver = openvswitch.OpenvSwitchDriver(conf_object(agent_settings(h2, 'fake:/')))
    driver.cleanup_all()
    bridges = sorted(h2.ovs.vsctl('list-br').split())
    expect(bridges == [PHYS_BRIDGE, ovs_host.UNDERLAY_BRIDGE],
           'cleanup_all: only the host\'s own bridges are left: %s' % bridges)
    phys = h2.ovs.dump_flows(PHYS_BRIDGE)
    expect(h2.ovs.vsctl('list-ports', PHYS_BRIDGE).split() == ['phys0']
           and len(phys) == 1 and 'actions=NORMAL' in phys[0] and 'cookie=0x0' in phys[0],
           'cleanup_all: %s back to its port and its NORMAL flow: %s' % (PHYS_BRIDGE, phys))


def many_vifs(args, env, host, net, probe):
    """N ports bound to ``host``; their VIFs (veth host ends, VM ends in
    one namespace) plugged in one OVSDB transaction per batch: half of them
    (warm), then the agent is killed, the other half (cold) is plugged, and
    the agent started again, all while ``probe`` (a VM pair across ``host``)
    pings every 0.1 s."""
    n = args.vifs
    bulk = env.prefix + 'bulk'
    netns.create(bulk)
    t0 = time.monotonic()
    nets = [net] + [env.network('many%d' % i, '10.200.%d.0/24' % i, **{
        'provider:network_type': 'vxlan'}) for i in range(1, args.vif_networks)]
    ports = [env.port(nets[i % len(nets)], host) for i in range(n)]
    log('%d ports on %d networks created through the API in %.1f s', n, len(nets),
        time.monotonic() - t0)
    batch = ''.join('link add %s type veth peer name v%d netns %s\nlink set %s up\n'
                    % (base.vif_name(p['id']), i, bulk, base.vif_name(p['id']))
                    for i, p in enumerate(ports))
    netns.execute(host.namespace, ['ip', '-batch', '-'], input=batch)
    api = ovs_lib.get_api(host.ovs.db_connection)
    warm, cold = ports[:n // 2], ports[n // 2:]

    def plug(some):
        t0 = time.monotonic()
        ovs_lib.transact(api, [ovs_lib.op_ensure_port(
            'br-int', base.vif_name(p['id']), tag=ovs_lib.DEAD_VLAN,
            iface_external_ids={'iface-id': p['id'], 'attached-mac': p['mac_address'],
                                'iface-status': 'active'}) for p in some])
        log('%d VIFs plugged (one OVSDB transaction) in %.2f s', len(some),
            time.monotonic() - t0)

    def active(some):
        ids = {p['id'] for p in some}
        rows = env.api.get('/ports?' + network_info.query(
            **{'binding:host_id': host.name, 'status': 'ACTIVE', 'fields': 'id'}))['ports']
        return ids <= {r['id'] for r in rows}

    plug(warm)
    plugged = time.monotonic()
    took = until(lambda: active(warm), 120, 0.05)
    expect(took is not None, '%d VIFs wired and ACTIVE %.2f s after the plug'
           % (len(warm), time.monotonic() - plugged if took is not None else -1))
    # Kill the agent, plug the others, start it: the probe keeps pinging.
    a, b = probe
    pinger = Pinger(a.ns, b.ip, 0.1)
    time.sleep(1)
    events = {'kill': pinger.elapsed()}
    env.cloud.stop_agent(host, kill=True)
    offset = len(env.cloud.agent_log(host))
    events['plugging'] = pinger.elapsed()
    plug(cold)
    events['plugged'] = pinger.elapsed()
    time.sleep(1)
    expect(not active(cold[:1]), 'no cold VIF is ACTIVE with the agent dead')
    events['start'] = pinger.elapsed()
    started = time.monotonic()
    env.cloud.start_agent(host)
    took = until(lambda: active(ports), 120, 0.05)
    events['converged'] = pinger.elapsed()
    expect(took is not None, 'restart: all %d VIFs (%d plugged while the agent was dead) '
           'ACTIVE %.2f s after the agent process started'
           % (n, len(cold), time.monotonic() - started))
    pattern = re.compile(r'reconciled: (\d+) ports, (\d+) networks, flow cookie \S+ in '
                         r'([\d.]+) s')
    found = pattern.findall(env.cloud.agent_log(host)[offset:])
    if found:
        log('restart: the driver reconciled %s ports of %s networks in %s s',
            *found[-1])
    time.sleep(2)
    sent, received, worst, lost_at = pinger.stop(detail=True)
    log('probe pings: %d/%d answered; lost at %s s; events %s', received, sent,
        lost_at, events)
    after_start = [t for t in lost_at if t >= events['start']]
    expect(worst <= 1 and len(after_start) <= 1,
           'restart with %d VIFs: at most one probe ping lost after the agent started '
           '(%d lost then, longest gap %d)' % (n, len(after_start), worst))
    tags = {}
    for one in nets:
        tags[one['id']] = {int(t) for t in host.ovs.vsctl(
            '--bare', '--columns=tag', 'find', 'Port',
            'other_config:naas-network-id=%s' % one['id']).split()}
    vlans = [t for one in tags.values() for t in one]
    expect(all(len(t) == 1 for t in tags.values()) and len(set(vlans)) == len(vlans)
           and 4095 not in vlans, 'each of the %d networks has one local VLAN of its own'
           % len(nets))
    # Unplug them all: the agent notices and unwires.
    t0 = time.monotonic()
    ovs_lib.transact(api, [ovs_lib.op_del_port(base.vif_name(p['id'])) for p in ports])
    log('%d VIFs unplugged (one OVSDB transaction) in %.2f s', n, time.monotonic() - t0)
    ids = {p['id'] for p in ports}

    def all_down():
        rows = env.api.get('/ports?' + network_info.query(
            **{'binding:host_id': host.name, 'status': 'DOWN', 'fields': 'id'}))['ports']
        return ids <= {r['id'] for r in rows}
    took = until(all_down, 60, 0.1)
    expect(took is not None, '%d VIFs unplugged: all DOWN %.2f s after the unplug'
           % (n, time.monotonic() - t0))
    netns.delete(bulk)
    for p in ports:
        env.api.delete('/ports/%s' % p['id'])
    for one in nets[1:]:
        env.api.delete('/networks/%s' % one['id'])


if __name__ == '__main__':
    sys.exit(main())
