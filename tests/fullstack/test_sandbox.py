"""naas-sandbox, the real command, on hosts built as namespaces: it takes the
host's settings from the host agent's configuration file (``--config-file``:
[agent] namespace, [ovs] ovsdb_connection), boots a VM on each of two hosts,
the VMs ping each other, and ``delete`` removes everything it made."""
import json
import subprocess

from naas.host import netns
from naas.host import vif as host_vif
from tools.harness import servers
from tools.harness.servers import wait_for
from tests.fullstack import base

TENANT = 'tenant-sandbox'


class _SandboxTests(object):

    def sandbox(self, env, *args):
        """``naas-sandbox`` with ``args``; its JSON output."""
        cmd = [servers._venv_bin('naas-sandbox'), '--url', env.server.url,
               '--namespace-prefix', env.prefix + '-sb-'] + list(args)
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            self.fail('%s: exit %d\n%s%s\n%s' % (' '.join(cmd), proc.returncode, proc.stdout,
                                                proc.stderr, env.logs()))
        return json.loads(proc.stdout)

    def test_boot_ping_and_delete(self):
        env = self.make_env()
        net, _subnet = env.create_network(TENANT, '10.70.0.0/24')
        vms = []
        for agent in env.agents:
            vm = self.sandbox(env, 'boot', '--network', net['id'], '--host', agent.host.name,
                              '--config-file', agent.config_file)
            vms.append((agent, vm))
        for agent, vm in vms:
            port = env.api.show('port', vm['port_id'])
            self.assertEqual('ACTIVE', port['status'])
            self.assertEqual(agent.host.name, port['binding:host_id'])
            self.assertIsNotNone(netns.link(agent.host.namespace,
                                            host_vif.vif_name(vm['port_id'])))
            if agent.host.ovs is not None:
                self.assertIn(host_vif.vif_name(vm['port_id']),
                              agent.host.vsctl('list-ports', 'br-int').split())
        (_, a), (_, b) = vms
        for src, dst in ((a, b), (b, a)):
            try:
                wait_for(lambda: netns.ping(src['namespace'], dst['ip']), 15, 0.1,
                         '%s to ping %s' % (src['namespace'], dst['ip']))
            except TimeoutError as exc:
                self.fail('%s\n%s' % (exc, env.logs()))
        for agent, vm in vms:
            out = self.sandbox(env, 'delete', '--instance', vm['instance_id'],
                               '--config-file', agent.config_file)
            self.assertEqual([vm['port_id']], out['ports'])
            self.assertFalse(netns.exists(vm['namespace']))
            self.assertIsNone(netns.link(agent.host.namespace,
                                         host_vif.vif_name(vm['port_id'])))
            if agent.host.ovs is not None:
                self.assertNotIn(host_vif.vif_name(vm['port_id']),
                                 agent.host.vsctl('list-ports', 'br-int').split())
            status, _ = env.api.request('GET', '/v2.0/ports/%s' % vm['port_id'])
            self.assertEqual(404, status)


class TestSandboxOpenvSwitch(_SandboxTests, base.FullstackTestCase):
    DRIVER = 'openvswitch'


class TestSandboxLinuxBridge(_SandboxTests, base.FullstackTestCase):
    DRIVER = 'linuxbridge'
