"""Configuration options: one module per option group.

Each module has ``register_opts(conf)`` and ``list_opts()``; ``naas.conf.opts``
gathers them for oslo-config-generator.  ``CONF`` is the process-wide
ConfigOpts with every NaaS group registered.
"""
from oslo_config import cfg

from naas.conf import agent
from naas.conf import bridges
from naas.conf import default
from naas.conf import l2
from naas.conf import l3
from naas.conf import quotas
from naas.conf import statistics
from naas.conf import upgrade_levels

CONF = cfg.CONF

for _module in (agent, bridges, default, l2, l3, quotas, statistics, upgrade_levels):
    _module.register_opts(CONF)
