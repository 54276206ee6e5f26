"""The topology page (/topology/, naas.api.topology) in a real headless
Chromium (Debian's chromium and chromium-driver, through selenium): it
draws two networks, the router between them and four VMs on two hosts,
each in the host its port is bound to, as the noauth administrator and as
the owning project (a second project sees none of it); after pings across
the router it shows non-zero traffic per port and per network; the test
saves a screenshot and prints where.

The server loads the router and statistics service plugins, the agents
report statistics every second.  The traffic part needs the
``port-statistics`` extension listed; without it the page must say so,
and that part is skipped.  The browser: tools.harness.browser.
"""
import importlib.util
import os
import tempfile

import testtools.content

from tests.fullstack import base
from tools.harness import browser as harness_browser
from tools.harness.servers import wait_for

TENANT_A = 'tenant-a'
TENANT_B = 'tenant-b'
#: Where screenshots go (else the system's temporary directory).
ARTIFACTS_ENV = 'NAAS_ARTIFACTS'
STATISTICS_ALIAS = 'port-statistics'
#: The page's polling interval in this test, in seconds.
POLL = 1
#: Rate samples each pinging port's chart shows before the screenshot.
CHARTED = 3


class TestTopologyPage(base.FullstackTestCase):

    def setUp(self):
        super().setUp()
        reason = harness_browser.missing_requirements()
        if reason:
            self.skipTest(reason)

    def network(self, env, client, cidr):
        net = client.create('network', name='%s-%s' % (env.prefix, cidr.split('.')[2]))
        subnet = client.create('subnet', network_id=net['id'], ip_version=4, cidr=cidr,
                               enable_dhcp=False)
        env.cidr_of[subnet['id']] = cidr
        return net, subnet

    def test_page_draws_topology_and_traffic(self):
        plugins = 'router'
        if importlib.util.find_spec('naas.plugins.statistics.plugin') is not None:
            plugins += ',statistics'
        env = self.make_env(
            server_options={'DEFAULT': {'service_plugins': plugins}},
            agent_options={'agent': {'enable_l3': True},
                           'statistics': {'report_interval': 1}})
        h1, h2 = env.hosts
        a = env.client(TENANT_A)
        net1, sub1 = self.network(env, a, '10.40.1.0/24')
        net2, sub2 = self.network(env, a, '10.40.2.0/24')
        router = a.create('router', name='%s-router' % env.prefix)
        for subnet in (sub1, sub2):
            a.request('PUT', '/v2.0/routers/%s/add_router_interface' % router['id'],
                      {'subnet_id': subnet['id']}, expect=200)
        vms = {}
        for host, net, subnet, address in ((h1, net1, sub1, '10.40.1.10'),
                                           (h1, net2, sub2, '10.40.2.10'),
                                           (h2, net1, sub1, '10.40.1.20'),
                                           (h2, net2, sub2, '10.40.2.20')):
            vm = env.boot_vm(host, net, address)
            vm.exec(['ip', 'route', 'replace', 'default', 'via', subnet['gateway_ip']])
            vms[address] = vm
        for vm in vms.values():
            env.wait_port_status(vm.port['id'])
        wait_for(lambda: all(p['status'] == 'ACTIVE' for p in
                             env.api.list('port', device_id=router['id'])),
                 30, 0.1, 'router ports ACTIVE')
        listed = {e['alias'] for e in env.api.list('extension')}

        browser = self.useFixture(harness_browser.Browser())
        page = '%s/topology/?interval=%d' % (env.server.url, POLL)
        browser.driver.get(page)
        self.addOnException(lambda exc_info: self.addDetail('page state', testtools.content
                            .text_content(str(browser.attribute('body', 'data-state')) + ' ' +
                                          browser.query('#state')[0].text)))

        def drawn(expected_ports):
            """Every network, the router, its links and ``expected_ports``
            (port id -> host) drawn, ports ACTIVE in their host's group."""
            if not all(browser.query('g.network[data-network-id="%s"]' % n['id'])
                       for n in (net1, net2)):
                return False
            if not browser.query('g.router[data-router-id="%s"]' % router['id']):
                return False
            links = {line.get_attribute('data-network-id') for line in browser.query(
                'line.router-link[data-router-id="%s"]' % router['id'])}
            if links != {net1['id'], net2['id']}:
                return False
            for port_id, host in expected_ports.items():
                selector = 'g.host[data-host="%s"] g.port[data-port-id="%s"]' % (host, port_id)
                if browser.attribute(selector, 'data-status') != 'ACTIVE':
                    return False
            return True

        # The noauth administrator: every port in the group of its host.
        port_hosts = {vm.port['id']: vm.host.name for vm in vms.values()}
        browser.wait(lambda _: drawn(port_hosts), 30, 'topology as the administrator')
        for subnet in (sub1, sub2):
            self.assertEqual(1, len(browser.query('tspan[data-subnet-id="%s"]' % subnet['id'])))
        for vm in vms.values():
            self.assertEqual(vm.port['network_id'], browser.attribute(
                'g.port[data-port-id="%s"]' % vm.port['id'], 'data-network-id'))
            self.assertTrue(browser.query('line.port-link[data-port-id="%s"]' % vm.port['id']))

        # The owning project (noauth: X-Project-Id from the page's form) sees
        # the same; another project sees nothing of it.
        def as_project(project):
            field = browser.query('#credential')[0]
            field.clear()
            field.send_keys(project)
            browser.query('#use')[0].click()
        as_project(TENANT_B)
        browser.wait(lambda _: (browser.query('text.empty') and
                                not browser.query('g.port')), 15, 'nothing for tenant B')
        as_project(TENANT_A)
        browser.wait(lambda _: drawn({}) and len(browser.query('g.port')) == len(vms), 15,
                     'topology as tenant A')
        # Back to the administrator, who sees the hosts.
        browser.query('#forget')[0].click()
        browser.wait(lambda _: drawn(port_hosts), 15, 'topology as the administrator again')

        # Traffic: pings across the router both ways, from both hosts.
        if STATISTICS_ALIAS not in listed:
            self.assertTrue(browser.query('#note')[0].is_displayed())
            self.assertIn(STATISTICS_ALIAS, browser.query('#note')[0].text)
            self.assertFalse(browser.query('.traffic'))
            self.save_screenshot(env, browser)
            self.skipTest('the server does not list the %s extension (statistics plugin '
                          'not loaded): traffic not checked' % STATISTICS_ALIAS)
        pingers = [vms['10.40.1.10'].start_ping('10.40.2.20'),
                   vms['10.40.2.10'].start_ping('10.40.1.20')]
        for pinger in pingers:
            self.addCleanup(pinger.stop)

        def counted(selector):
            values = [browser.attribute(selector, name) for name in
                      ('data-rx-bytes', 'data-tx-bytes')]
            return all(value and int(value) > 0 for value in values)

        pinging = [vms[address].port['id'] for address in ('10.40.1.10', '10.40.2.10')]
        browser.wait(lambda _: all(counted('g.port[data-port-id="%s"]' % port_id)
                                   for port_id in pinging + [vms['10.40.2.20'].port['id']])
                     and all(counted('g.network[data-network-id="%s"]' % n['id'])
                             for n in (net1, net2)), 30, 'traffic counted')
        # A few more samples: each pinging port's chart has both lines and
        # a non-zero rate.
        browser.wait(lambda _: all(
            len(browser.query('g.port[data-port-id="%s"] polyline' % port_id)) == 2 and
            int(browser.attribute('g.port[data-port-id="%s"] .traffic' % port_id,
                                  'data-samples') or 0) >= CHARTED and
            float(browser.attribute('g.port[data-port-id="%s"]' % port_id, 'data-tx-rate')
                  or 0) > 0 for port_id in pinging), 30, 'rates charted')
        self.assertFalse(browser.query('#note')[0].is_displayed())
        self.save_screenshot(env, browser)

    def save_screenshot(self, env, browser):
        directory = os.environ.get(ARTIFACTS_ENV) or tempfile.gettempdir()
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, 'topology-%s.png' % env.prefix)
        browser.screenshot(path)
        self.addDetail('screenshot', testtools.content.text_content(path))
        print('topology page screenshot: %s' % path)
        return path
