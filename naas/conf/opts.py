"""Entry point of oslo-config-generator (namespace ``naas``)."""
import itertools

from oslo_log import log as logging

from naas.conf import agent
from naas.conf import bridges
from naas.conf import default
from naas.conf import l2
from naas.conf import l3
from naas.conf import quotas
from naas.conf import statistics
from naas.conf import upgrade_levels

_MODULES = (agent, bridges, default, l2, l3, quotas, statistics, upgrade_levels)


def list_opts():
    return list(itertools.chain.from_iterable(m.list_opts() for m in _MODULES))


def set_defaults():
    logging.set_defaults()
