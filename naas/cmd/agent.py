"""naas-agent: the per-host agent (see naas.agent.agent)."""
import sys

from oslo_log import log as oslo_log

from naas import rpc  # noqa: F401 (registers transport_url)
from naas.agent import agent
from naas.conf import CONF


def main(argv=None):
    oslo_log.register_options(CONF)
    CONF(sys.argv[1:] if argv is None else argv, project='naas')
    oslo_log.setup(CONF, 'naas-agent')
    agent.run_forever(agent.Agent(CONF))
