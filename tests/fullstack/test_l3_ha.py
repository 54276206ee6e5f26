"""HA routers (docs/ha.md, naas.plugins.l3.ha, naas.agent.l3.keepalived):
one router on two hosts, keepalived VRRP moving its addresses, gateway and
floating IP with the master.

Two hosts, both L3 agents (``l3_ha = true``, ``max_l3_agents_per_router =
2``, ``ha_vrrp_advert_int`` ADVERT_INT s); the VM sits on the host that is
not the master (the master's host dies in the test; a VM on it would die
too).  Two pings run throughout, every PING_INTERVAL s: the VM to the
outside world (through SNAT) and the outside world to the VM's floating IP.

1. The master's naas-agent alone is SIGKILLed, then started again: no ping
   is lost, keepalived keeps running (same pid) and the master stays where
   it was.
2. The master's host dies: its agent and its keepalived are SIGKILLed and
   its links are cut on the far side (underlay and outside world, in the
   test's namespaces): the other instance takes over within 3 s of pings
   (the longest run of lost replies), reports itself active, and the
   floating IP answers through it.

Linux bridge driver (the VRRP path is the same for Open vSwitch: the HA
network is an ordinary tenant network; one driver keeps the test short).
"""
import os
import signal
import subprocess
import time

import fixtures
import testtools

from tools.harness import fullstack
from tools.harness.servers import wait_for
from tests.fullstack import base
from tests.fullstack import test_l3

ADVERT_INT = 0.5
PING_INTERVAL = 0.2
MAX_LOSS_S = 3.0


def keepalived_pids(ns):
    out = subprocess.run(['ip', 'netns', 'pids', ns], capture_output=True, text=True)
    pids = []
    for pid in out.stdout.split():
        try:
            with open('/proc/%s/comm' % pid) as f:
                if f.read().strip() == 'keepalived':
                    pids.append(int(pid))
        except OSError:
            pass
    return sorted(pids)


class TestL3HALinuxBridge(base.FullstackTestCase):
    DRIVER = 'linuxbridge'
    NETWORK_TYPE = 'vxlan'
    external = test_l3._L3Tests.external
    network = test_l3._L3Tests.network
    add_interface = test_l3._L3Tests.add_interface
    wait_router_ports = test_l3._L3Tests.wait_router_ports
    assertPings = test_l3._L3Tests.assertPings

    def make_ha_env(self):
        self.state = self.useFixture(fixtures.TempDir()).path
        env = self.make_env(
            server_options={'DEFAULT': {'service_plugins': 'router', 'l3_ha': True,
                                        'max_l3_agents_per_router': 2}},
            agent_options={'DEFAULT': {'state_path': self.state,
                                       'ha_vrrp_advert_int': ADVERT_INT},
                           'agent': {'enable_l3': True, 'bridge_mappings': '%s:%s' % (
                               test_l3.EXT_PHYSNET, test_l3.EXT_IF)}})
        test_l3._L3Tests._wait_l3_agents(self, env)
        return env

    def router_dump(self, env, router_id):
        """The router's namespaces as the hosts have them (a failure's
        detail): addresses, routes, keepalived's configuration and state."""
        out = []
        for host in env.hosts:
            ns = '%s-router-%s' % (host.namespace, router_id[:11])
            out.append('--- %s' % ns)
            for cmd in (['ip', '-br', 'addr'], ['ip', 'route'], ['nft', 'list', 'ruleset']):
                out.append(subprocess.run(['ip', 'netns', 'exec', ns] + cmd,
                                          capture_output=True, text=True).stdout)
            out.append('keepalived pids %s' % keepalived_pids(ns))
            try:
                with open(os.path.join(self.state, 'ha_confs', ns, 'transitions')) as f:
                    out.append('transitions:\n' + f.read())
            except OSError:
                pass
        return '\n'.join(out)

    def ha_states(self, env, router_id):
        return {a['host']: a['ha_state'] for a in env.api.request(
            'GET', '/v2.0/routers/%s/l3-agents' % router_id, expect=200)[1]['agents']}

    def master(self, env, router_id):
        states = self.ha_states(env, router_id)
        active = [h for h, s in states.items() if s == 'active']
        return active[0] if len(active) == 1 and len(states) == 2 else None

    def test_master_dies_and_agent_restarts(self):
        env = self.make_ha_env()
        outside, ext, _ = self.external(env)
        a = env.client(test_l3.TENANT_A)
        net, sub = self.network(env, test_l3.TENANT_A, '10.72.0.0/24')
        router = a.create('router', name='ha')
        self.addOnException(lambda exc_info: self.addDetail(
            'router namespaces', testtools.content.text_content(
                self.router_dump(env, router['id']))))
        self.assertTrue(env.api.get('/v2.0/routers/' + router['id'])['router']['ha'])
        self.add_interface(a, router, sub)
        a.update('router', router['id'], external_gateway_info={'network_id': ext['id']})
        master_name = wait_for(lambda: self.master(env, router['id']), 30, 0.2,
                               'an active instance of the HA router')
        master = next(h for h in env.hosts if h.name == master_name)
        backup = next(h for h in env.hosts if h is not master)
        vm = env.boot_vm(backup, net, '10.72.0.10')
        vm.exec(['ip', 'route', 'replace', 'default', 'via', sub['gateway_ip']])
        env.wait_port_status(vm.port['id'])
        fip = a.create('floatingip', floating_network_id=ext['id'], port_id=vm.port['id'])
        address = fip['floating_ip_address']
        self.wait_router_ports(env, router['id'])
        self.assertPings(env, outside.namespace, address)
        self.assertTrue(vm.can_ping(test_l3.EXT_GATEWAY, timeout=20))
        ns = '%s-router-%s' % (master.namespace, router['id'][:11])
        pids = keepalived_pids(ns)
        self.assertEqual(2, len(pids), pids)    # keepalived and its VRRP child

        # 1. The master's agent is SIGKILLed, then started again: no loss.
        inbound = fullstack.Pinger(test_l3._NS(outside.namespace), address, PING_INTERVAL)
        outbound = fullstack.Pinger(vm, test_l3.EXT_GATEWAY, PING_INTERVAL)
        self.addCleanup(inbound.stop)
        self.addCleanup(outbound.stop)
        wait_for(lambda: inbound.replies() and outbound.replies(), 10, 0.1, 'first replies')
        agent = env.agents[env.hosts.index(master)]
        agent.kill()
        time.sleep(1.0)
        agent.start()
        env.wait_agents_alive([master])
        test_l3._L3Tests._wait_l3_agents(self, env)
        time.sleep(2.0)     # its start-up sync has run over the live router
        for pinger in (inbound, outbound):
            sent = len(pinger.replies())
            wait_for(lambda: len(pinger.replies()) > sent + 2, 5, 0.1, 'pings go on')
        restart = {'inbound': inbound.stop(), 'outbound': outbound.stop()}
        for name, pings in restart.items():
            # The issue allows 3 s; keepalived outliving the agent keeps it
            # to at most one ping: CI saw one inbound ping lost at the kill
            # in 2 of 8 runs (cause not found; the dataplane is the kernel's
            # and keepalived's, the agent holds nothing of it).
            self.assertLessEqual(pings['lost'], 1, (name, pings))
        self.assertEqual(pids, keepalived_pids(ns))
        self.assertEqual(master.name, self.master(env, router['id']))

        # 2. The master's host dies: agent and keepalived SIGKILLed, links cut.
        inbound = fullstack.Pinger(test_l3._NS(outside.namespace), address, PING_INTERVAL)
        outbound = fullstack.Pinger(vm, test_l3.EXT_GATEWAY, PING_INTERVAL)
        self.addCleanup(inbound.stop)
        self.addCleanup(outbound.stop)
        wait_for(lambda: inbound.replies() and outbound.replies(), 10, 0.1, 'first replies')
        agent.kill()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        fullstack.ip('link', 'set', 'h%d' % master.index, 'down', ns=env.underlay.namespace)
        fullstack.ip('link', 'set', 'x%d' % master.index, 'down', ns=outside.namespace)
        t0 = time.monotonic()
        wait_for(lambda: self.ha_states(env, router['id']).get(backup.name) == 'active',
                 15, 0.1, '%s active' % backup.name)
        reported_s = time.monotonic() - t0
        first_after = int((time.monotonic() - inbound.started) / PING_INTERVAL)
        for pinger in (inbound, outbound):
            wait_for(lambda: pinger.replies()[-1:] > [first_after], 10, 0.1,
                     'answers again through %s' % backup.name)
        time.sleep(1.0)
        death = {'inbound': inbound.stop(), 'outbound': outbound.stop()}
        for name, pings in death.items():
            self.assertGreater(pings['gap'], 0, (name, pings))    # the death cut it
            self.assertLessEqual(pings['gap'] * PING_INTERVAL, MAX_LOSS_S, (name, pings))
        ports = env.api.list('port', device_id=router['id'])
        self.assertEqual({backup.name}, {p['binding:host_id'] for p in ports
                                         if p['device_owner'] != 'network:router_ha_interface'})
        self.record('ha_l3_vrrp', advert_int=ADVERT_INT, ping_interval=PING_INTERVAL,
                    restart_lost=restart['inbound']['lost'] + restart['outbound']['lost'],
                    inbound_gap=death['inbound']['gap'], outbound_gap=death['outbound']['gap'],
                    outage_s=round(max(death[k]['gap'] for k in death) * PING_INTERVAL, 1),
                    active_reported_s=round(reported_s, 2))
