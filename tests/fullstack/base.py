"""The base of the fullstack tests: a RabbitMQ per class, an environment
per test (tools.harness.fullstack.FullstackEnvironment)."""
import json
import os

import fixtures
from oslo_config import cfg
import testtools
import testtools.content

from naas.conf import agent as agent_conf
from tools.harness import fullstack
from tools.harness import servers

TEST_TIMEOUT = int(os.environ.get('NAAS_FULLSTACK_TEST_TIMEOUT', 300))
#: A file that measurements (record()) are appended to, one JSON a line.
RESULTS_ENV = 'NAAS_FULLSTACK_RESULTS'


def driver_conf(namespace, **overrides):
    """The agent's real options (naas.conf.agent) for an L2 driver built
    in a test, its host being ``namespace``: defaults as naas.conf has them,
    ``overrides`` as {option: value} of [agent] or, for ovsdb_connection,
    datapath_type and the bridges, of [ovs]."""
    conf = cfg.ConfigOpts()
    agent_conf.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override('namespace', namespace, group='agent')
    conf.set_override('tunnel_ip', None, group='agent')
    for name, value in overrides.items():
        group = 'agent' if name in conf.agent else 'ovs'
        conf.set_override(name, value, group=group)
    return conf


class FullstackTestCase(testtools.TestCase):
    """Scenario attributes: DRIVER (linuxbridge, openvswitch) and
    NETWORK_TYPE (vxlan, gre, vlan) of tenant networks."""

    DRIVER = 'linuxbridge'
    NETWORK_TYPE = 'vxlan'
    rabbit = None

    @classmethod
    def tearDownClass(cls):
        if cls.rabbit is not None:
            cls.rabbit.cleanUp()
            cls.rabbit = None
        super(FullstackTestCase, cls).tearDownClass()

    def setUp(self):
        super(FullstackTestCase, self).setUp()
        reason = fullstack.missing_requirements(self.DRIVER)
        if reason:
            self.skipTest(reason)
        self.useFixture(fixtures.Timeout(TEST_TIMEOUT, gentle=True))
        cls = type(self)
        if cls.rabbit is None:
            rabbit = servers.RabbitMQServer()
            rabbit.setUp()
            cls.rabbit = rabbit

    def make_env(self, **kwargs):
        kwargs.setdefault('driver', self.DRIVER)
        kwargs.setdefault('network_type', self.NETWORK_TYPE)
        env = fullstack.FullstackEnvironment(self.rabbit, **kwargs)
        self.addOnException(lambda exc_info: self.addDetail(
            'environment logs', testtools.content.text_content(env.logs())))
        return self.useFixture(env)

    def record(self, what, **values):
        """A measurement: a detail of the test, and a line in the file
        named by $NAAS_FULLSTACK_RESULTS if set."""
        values = dict(values, test=self.id(), what=what)
        self.addDetail(what, testtools.content.text_content(
            json.dumps(values, sort_keys=True)))
        path = os.environ.get(RESULTS_ENV)
        if path:
            with open(path, 'a') as f:
                f.write(json.dumps(values, sort_keys=True) + '\n')
