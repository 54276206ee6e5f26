#!/usr/bin/env python3
"""Dataplane smoke test of one L2 driver, by hand, on one machine (as root).

    .venv/bin/python tools/smoke.py [--driver linuxbridge|openvswitch]
                                    [--vifs 100] [--keep]

Builds the fullstack tier's environment (tools.harness.fullstack: a private
RabbitMQ, naas-server, an underlay namespace, two hosts as namespaces with
physnet1 and, for Open vSwitch, a private OVS each, one ``naas-agent``
process per host) and checks what a user would see:

1. VXLAN, flat (physnet1) and, on Open vSwitch, GRE and VLAN (physnet1,
   segmentation 150) networks: a VM on each host of each network, both
   ports ACTIVE, they ping each other; 1 MB of TCP through each tunnel
   type; the compute side's network_info of a VM has the driver's VIF type
   and the port's address;
2. a VM on another VXLAN network with the same CIDR gets no ping and no ARP
   reply, from either host;
3. admin_state_up false cuts a port's ping and the port goes DOWN; true
   restores it;
4. SIGKILL of host 1's agent while pinging through it, and a restart: at
   most one ping lost, the host's devices, OVS ports and flows (cookies and
   counters aside) as they were; Open vSwitch: ovs-vswitchd of host 2
   restarted (its flow tables lost), every network pings again;
5. ``--vifs N``: N VIFs on host 1, half of them plugged while its agent is
   dead: all ACTIVE after the restart, at most one probe ping lost; all
   unplugged: all DOWN;
6. deleting a port takes its wiring away (Linux bridge: the network's
   bridge on the host and the other host's flooding entry; Open vSwitch: a
   dead VLAN tag on the still plugged VIF, and the tunnel port with the
   network's last port) and the VM is unreachable;
7. Open vSwitch: ``naas-cleanup --ovsdb`` on host 2 removes NaaS's
   bridges and leaves the host's own ones (br-phys, br-underlay).

Everything is named ``naas-<5 hex>-*`` and removed at the end (``--keep``
waits for Enter first, to look around).  Exit status 0 when every check
passed, 1 otherwise, 2 when this machine cannot run it.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from naas.agent.l2 import linuxbridge  # noqa: E402
from naas.agent.l2 import ovs_flows  # noqa: E402
from naas.compute import network_info  # noqa: E402
from naas.host import netns  # noqa: E402
from naas.host import ovs_lib  # noqa: E402
from tools.harness import fullstack  # noqa: E402
from tools.harness import ovs_host  # noqa: E402
from tools.harness import servers  # noqa: E402
from tools.harness.log import log  # noqa: E402

PROJECT = 'smoke'
# Network types per driver.  Linux bridge VLANs need the kernel's 8021q
# module, which the CI kernel lacks.  (The environment's tenant networks are
# VLANs on physnet1, so that every host gets physnet1; the smoke test makes
# every network with provider attributes.)
NETWORK_TYPES = {'linuxbridge': ('vxlan', 'flat'),
                 'openvswitch': ('vxlan', 'gre', 'vlan', 'flat')}
TUNNEL_TYPES = {driver: [t for t in types if t in ('vxlan', 'gre')]
                for driver, types in NETWORK_TYPES.items()}
VIF_TYPES = {'linuxbridge': 'bridge', 'openvswitch': 'ovs'}
TCP_BYTES = 1000000


class Checks:
    """PASS/FAIL lines; the failures are counted for the exit status."""

    def __init__(self):
        self.failures = []

    def expect(self, ok, what, *args):
        what = what % args if args else what
        log('%s %s', 'PASS' if ok else 'FAIL', what)
        if not ok:
            self.failures.append(what)
        return ok


def seconds_until(predicate, timeout, interval=0.05):
    """Seconds until ``predicate()`` was true, or None after ``timeout``."""
    started = time.monotonic()
    try:
        servers.wait_for(predicate, timeout, interval)
    except TimeoutError:
        return None
    return time.monotonic() - started


def tcp_transfer(server_vm, client_vm, size=TCP_BYTES):
    """Bytes ``server_vm`` received of ``size`` sent by ``client_vm``."""
    server = netns.popen(server_vm.namespace, [sys.executable, '-c', (
        'import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,'
        'socket.SO_REUSEADDR,1);s.bind(("0.0.0.0",5001));s.listen();'
        's.settimeout(8);c,_=s.accept();c.settimeout(8);n=0\n'
        'while True:\n d=c.recv(65536)\n if not d: break\n n+=len(d)\n'
        'print(n)')], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.3)
    netns.execute(client_vm.namespace, [sys.executable, '-c', (
        'import socket;s=socket.create_connection(("%s",5001),timeout=8);'
        's.sendall(b"x"*%d);s.close()' % (server_vm.ip_address, size))],
        check=False, timeout=20)
    out = server.communicate(timeout=20)[0].strip().splitlines()
    try:
        return int(out[-1])
    except (IndexError, ValueError):
        return -1


def ovs_vif(host, port_id):
    """The name of the OVS port holding ``port_id``'s VIF on ``host``."""
    return host.vsctl('--bare', '--columns=name', 'find', 'Interface',
                      'external_ids:iface-id=%s' % port_id).strip()


# ---------------------------------------------------------------------------

def check_networks(env, checks):
    """1. Two VMs per network type, one on each host: {type: (net, vm1, vm2)}."""
    h1, h2 = env.hosts
    found = {}
    for n, kind in enumerate(NETWORK_TYPES[env.driver], 1):
        attrs = {'provider:network_type': kind}
        if kind in ('vlan', 'flat'):
            attrs['provider:physical_network'] = fullstack.PHYSNET
        if kind == 'vlan':
            attrs['provider:segmentation_id'] = 150
        net, _ = env.create_network(PROJECT, '10.%d.0.0/24' % n,
                                    name='%s-%s' % (env.prefix, kind), **attrs)
        a = env.boot_vm(h1, net, '10.%d.0.11' % n)
        b = env.boot_vm(h2, net, '10.%d.0.12' % n)
        found[kind] = (net, a, b)
        took = seconds_until(lambda: all(env.port_status(vm.port['id']) == 'ACTIVE'
                                         for vm in (a, b)), 30)
        checks.expect(took is not None, '%s: both ports ACTIVE (%.2f s after the plug)',
                      kind, took or -1)
        took = seconds_until(lambda: a.ping(b.ip_address, timeout=1), 15, 0)
        checks.expect(took is not None, '%s (segment %s, MTU %s): %s on %s pings %s on %s '
                      '(%.2f s)', kind, net['provider:segmentation_id'], net['mtu'],
                      a.name, h1.name, b.name, h2.name, took or -1)
        checks.expect(b.ping(a.ip_address, count=3), '%s: and back (3 of 3)', kind)
    for kind in TUNNEL_TYPES[env.driver]:
        net, a, b = found[kind]
        got = tcp_transfer(b, a)
        checks.expect(got == TCP_BYTES, '%s: TCP, %d bytes from %s to %s (received %d)',
                      kind, TCP_BYTES, a.name, b.name, got)
    net, a, b = found['vxlan']
    info = network_info.get_network_info(env.server.url, a.port['device_id'])
    checks.expect(
        len(info) == 1 and info[0]['type'] == VIF_TYPES[env.driver]
        and info[0]['network']['subnets'][0]['ips'][0]['address'] == a.ip_address
        and info[0]['network']['meta']['mtu'] == net['mtu'],
        'network_info of %s: one VIF of type %s with %s, MTU %s', a.name,
        info[0]['type'] if info else None, a.ip_address, net['mtu'])
    return found


def check_isolation(env, checks, vxlan):
    """2. Same CIDR on another VXLAN network: nothing gets through."""
    net, a, b = vxlan
    other_net, _ = env.create_network(PROJECT, '10.1.0.0/24', name=env.prefix + '-other',
                                      **{'provider:network_type': 'vxlan'})
    x = env.boot_vm(env.hosts[1], other_net, '10.1.0.13')
    env.wait_port_status(x.port['id'])
    checks.expect(not a.ping(x.ip_address, count=2, timeout=1),
                  'isolation: no ping from vxlan (h1) to the other network (h2)')
    checks.expect(not a.arping(x.ip_address, count=2),
                  'isolation: no ARP reply from the other network across hosts')
    checks.expect(not b.ping(x.ip_address, count=2, timeout=1),
                  'isolation: no ping on the same host (h2)')
    checks.expect(not b.arping(x.ip_address, count=2),
                  'isolation: no ARP reply on the same host')
    checks.expect(not x.ping(b.ip_address, count=2, timeout=1) and a.ping(b.ip_address),
                  'isolation: the other network cannot reach vxlan; vxlan still pings')


def check_admin_state(env, checks, vxlan):
    """3. admin_state_up false, then true."""
    net, a, b = vxlan
    env.api.update('port', b.port['id'], admin_state_up=False)
    took = seconds_until(lambda: not a.ping(b.ip_address, timeout=1), 10, 0)
    checks.expect(took is not None, 'admin_state_up false cuts the ping (%.2f s)', took or -1)
    checks.expect(seconds_until(lambda: env.port_status(b.port['id']) == 'DOWN', 10)
                  is not None, 'the port is DOWN')
    env.api.update('port', b.port['id'], admin_state_up=True)
    took = seconds_until(lambda: a.ping(b.ip_address, timeout=1), 10, 0)
    checks.expect(took is not None, 'admin_state_up true restores it (%.2f s)', took or -1)
    env.wait_port_status(b.port['id'])


def check_restart(env, checks, networks):
    """4. SIGKILL of host 1's agent while pinging, restart; OVS: ovs-vswitchd."""
    h1, h2 = env.hosts
    agent = env.agents[0]
    net, a, b = networks['vxlan']
    before = h1.snapshot()
    pinger = a.start_ping(b.ip_address, interval=0.1)
    time.sleep(1)
    agent.kill()
    time.sleep(1)
    agent.start()
    env.wait_agents_alive([h1])
    after = seconds_until(lambda: h1.snapshot() == before, 15, 0.2)
    time.sleep(2)
    ping = pinger.stop()
    checks.expect(ping['sent'] > 30 and ping['received'] >= ping['sent'] - 1,
                  'SIGKILL and restart of the agent of %s: %d of %d pings answered',
                  h1.name, ping['received'], ping['sent'])
    diff = sorted(set(before.items()) ^ set(h1.snapshot().items()), key=str)
    checks.expect(after is not None, 'the restart left the devices%s of %s as they were '
                  '(%d objects)%s', ', OVS ports and flows' if h1.ovs else '', h1.name,
                  len(before), ': %s' % diff[:6] if diff else '')
    for kind, (net, a, b) in networks.items():
        checks.expect(a.ping(b.ip_address), '%s still pings after the restart', kind)
    if h2.ovs is None:
        return
    h2.ovs.restart_vswitchd()
    restarted = time.monotonic()
    for kind, (net, a, b) in networks.items():
        took = seconds_until(lambda: a.ping(b.ip_address, timeout=1), 20, 0)
        checks.expect(took is not None, '%s pings again %.2f s after ovs-vswitchd of %s '
                      'restarted', kind, time.monotonic() - restarted, h2.name)


def check_many_vifs(env, checks, vxlan, count):
    """5. ``count`` VIFs on host 1, half plugged while its agent is dead."""
    h1 = env.hosts[0]
    agent = env.agents[0]
    net, a, b = vxlan
    started = time.monotonic()
    ports = env.create_ports(net, h1, count)
    log('%d ports created in %.1f s', count, time.monotonic() - started)
    warm, cold = ports[:count // 2], ports[count // 2:]
    before = env.count_ports(h1)
    started = time.monotonic()
    vms = env.plug_many(h1, net, warm)
    took = seconds_until(lambda: env.count_ports(h1) == before + len(warm), 120)
    checks.expect(took is not None, '%d VIFs plugged and ACTIVE in %.2f s', len(warm),
                  time.monotonic() - started)
    pinger = a.start_ping(b.ip_address, interval=0.1)
    time.sleep(1)
    agent.kill()
    vms += env.plug_many(h1, net, cold)
    time.sleep(1)
    checks.expect(env.port_status(cold[0]['id']) == 'DOWN',
                  'a VIF plugged while the agent is dead stays DOWN')
    restart_at = pinger.elapsed()
    started = agent.start()
    took = seconds_until(lambda: env.count_ports(h1) == before + count, 120)
    checks.expect(took is not None, 'restart: all %d VIFs (%d plugged while the agent was '
                  'dead) ACTIVE %.2f s after the agent process started', count, len(cold),
                  time.monotonic() - started)
    time.sleep(2)
    ping = pinger.stop()
    answered = set(pinger.replies())
    lost = [seq * pinger.interval for seq in range(ping['sent']) if seq not in answered]
    # On a netdev OVS, plugging many ports at once stalls the datapath for
    # a moment: what counts is what the agent's restart costs.
    lost_after = [at for at in lost if at >= restart_at]
    checks.expect(len(lost_after) <= 1, 'restart with %d VIFs: %d of %d probe pings '
                  'answered; lost after the agent started: %d (%d before, while the VIFs '
                  'were plugged)', count, ping['received'], ping['sent'], len(lost_after),
                  len(lost) - len(lost_after))
    started = time.monotonic()
    if h1.ovs is not None:
        # One OVSDB transaction: one by one would take minutes on netdev.
        api = ovs_lib.get_api(h1.ovs.db_connection)
        ovs_lib.transact(api, [ovs_lib.op_del_port(ovs_vif(h1, p['id'])) for p in ports])
    else:
        for vm in vms:
            vm.unplug()
    took = seconds_until(lambda: env.count_ports(h1, 'DOWN') >= count, 60, 0.1)
    checks.expect(took is not None, '%d VIFs unplugged: all DOWN %.2f s later', count,
                  time.monotonic() - started)
    for port in ports:
        env.api.delete('port', port['id'])


def check_delete(env, checks, networks):
    """6. A deleted port's wiring goes; the VM is unreachable."""
    h1, h2 = env.hosts
    if h1.ovs is None:
        # The only port of the VXLAN network on host 2.
        net, a, b = networks['vxlan']
        vxlan = linuxbridge.vxlan_name(net['provider:segmentation_id'])

        def floods_to_h2():
            return any(key.startswith('fdb ') and vxlan in key and h2.tunnel_ip in key
                       for key in h1.snapshot())
        checks.expect(floods_to_h2(), '%s floods the network to %s', h1.name, h2.name)
        env.api.delete('port', b.port['id'])
        bridge = linuxbridge.bridge_name(net['id'])
        took = seconds_until(lambda: bridge not in h2.links(), 10)
        checks.expect(took is not None, 'last port of the network on %s deleted: %s gone '
                      '(%.2f s)', h2.name, bridge, took or -1)
        checks.expect(seconds_until(lambda: not floods_to_h2(), 10) is not None,
                      '%s no longer floods the network to %s', h1.name, h2.name)
        checks.expect(not a.ping(b.ip_address, count=2, timeout=1),
                      'and the deleted port is unreachable')
        return
    # The only port of the GRE network on host 1.
    net, a, b = networks['gre']
    tunnel = ovs_flows.tunnel_port_name('gre', h2.tunnel_ip)
    checks.expect(tunnel in h1.vsctl('list-ports', 'br-tun').split(),
                  '%s has a GRE tunnel port to %s', h1.name, h2.name)
    vif = ovs_vif(h1, a.port['id'])
    env.api.delete('port', a.port['id'])
    took = seconds_until(lambda: h1.vsctl('get', 'Port', vif, 'tag').strip()
                         == str(ovs_lib.DEAD_VLAN), 10)
    checks.expect(took is not None, 'deleted port: dead VLAN on its (still plugged) VIF')
    took = seconds_until(lambda: tunnel not in h1.vsctl('list-ports', 'br-tun').split(), 10)
    checks.expect(took is not None, 'last port of the GRE network on %s: the GRE tunnel '
                  'port is gone', h1.name)
    checks.expect(not b.ping(a.ip_address, count=2, timeout=1),
                  'and the deleted port is unreachable')


def check_ovs_cleanup(env, checks):
    """7. naas-cleanup on host 2's OVSDB (its agent stopped)."""
    h2 = env.hosts[1]
    env.agents[1].stop()
    subprocess.run([servers._venv_bin('naas-cleanup'), '--namespace-prefix',
                    env.prefix + '-none-', '--no-root', '--ovsdb', h2.ovs.db_connection],
                   check=True, capture_output=True, timeout=120)
    bridges = sorted(h2.vsctl('list-br').split())
    checks.expect(bridges == sorted([fullstack.PHYS_BRIDGE, ovs_host.UNDERLAY_BRIDGE]),
                  'naas-cleanup --ovsdb: only the host\'s own bridges are left: %s', bridges)
    ports = h2.vsctl('list-ports', fullstack.PHYS_BRIDGE).split()
    checks.expect(ports == [fullstack.PHYS_IF], 'and %s has only its own port: %s',
                  fullstack.PHYS_BRIDGE, ports)


def run_checks(env, checks, args):
    networks = check_networks(env, checks)
    check_isolation(env, checks, networks['vxlan'])
    check_admin_state(env, checks, networks['vxlan'])
    check_restart(env, checks, networks)
    if args.vifs:
        check_many_vifs(env, checks, networks['vxlan'], args.vifs)
    check_delete(env, checks, networks)
    if env.driver == 'openvswitch':
        check_ovs_cleanup(env, checks)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--driver', default='linuxbridge', choices=sorted(NETWORK_TYPES))
    parser.add_argument('--vifs', type=int, default=100,
                        help='VIFs on one host for the restart check (0: skip)')
    parser.add_argument('--keep', action='store_true',
                        help='wait for Enter before removing everything')
    args = parser.parse_args(argv)
    reason = fullstack.missing_requirements(args.driver)
    if reason:
        print('smoke: %s' % reason, file=sys.stderr)
        return 2
    checks = Checks()
    started = time.monotonic()
    rabbit = servers.RabbitMQServer()
    rabbit.setUp()
    try:
        env = fullstack.FullstackEnvironment(
            rabbit, driver=args.driver, network_type='vlan',
            agent_options={'agent': {'tunnel_types': TUNNEL_TYPES[args.driver]}})
        env.setUp()
        try:
            log('environment %s up in %.1f s: %s agents on %s', env.prefix,
                time.monotonic() - started, args.driver,
                ', '.join(h.name for h in env.hosts))
            run_checks(env, checks, args)
        except Exception as exc:
            log('%s\n%s', exc, env.logs())
            checks.failures.append('exception: %s' % exc)
        finally:
            if args.keep:
                input('kept %s (server %s); press Enter to remove it ' % (
                    env.prefix, env.server.url))
            env.cleanUp()
    finally:
        rabbit.cleanUp()
    checks.expect(not netns.list_namespaces(env.prefix), 'nothing left named %s*', env.prefix)
    log('%d failure(s) in %.0f s%s', len(checks.failures), time.monotonic() - started,
        ': %s' % checks.failures if checks.failures else '')
    return 1 if checks.failures else 0


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
