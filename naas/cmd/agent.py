"""naas-agent: the per-host agent (see naas.agent.agent).

The agent runs on native threads, never on eventlet; oslo.messaging still
imports eventlet (through oslo.service), whose green DNS module alone
imports dnspython: EVENTLET_NO_GREENDNS skips it (about 1 s of the agent's
start on a loaded 2-CPU host, which a cold resync waits for)."""
import os
import sys

os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')

from oslo_log import log as oslo_log  # noqa: E402

from naas import rpc  # noqa: F401,E402 (registers transport_url)
from naas.agent import agent  # noqa: E402
from naas.conf import CONF  # noqa: E402


def main(argv=None):
    oslo_log.register_options(CONF)
    CONF(sys.argv[1:] if argv is None else argv, project='naas')
    oslo_log.setup(CONF, 'naas-agent')
    agent.run_forever(agent.Agent(CONF))
