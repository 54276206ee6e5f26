"""naas-db-manage: create or upgrade the NaaS database schema.

    naas-db-manage --config-file /etc/naas/naas.conf upgrade head
    naas-db-manage --config-file /etc/naas/naas.conf current
"""
import sys

from oslo_config import cfg

from naas.conf import CONF
from naas.db import migration


def _upgrade():
    migration.upgrade(CONF.command.revision)
    print('upgraded to %s' % migration.current())


def _downgrade():
    migration.downgrade(CONF.command.revision)
    print('downgraded to %s' % migration.current())


def _current():
    print(migration.current())


def _add_commands(subparsers):
    for name, func, has_revision in (('upgrade', _upgrade, True),
                                     ('downgrade', _downgrade, True),
                                     ('current', _current, False)):
        parser = subparsers.add_parser(name)
        parser.set_defaults(func=func)
        if has_revision:
            parser.add_argument('revision', nargs='?', default='head')


def main(argv=None):
    CONF.register_cli_opt(cfg.SubCommandOpt('command', handler=_add_commands))
    CONF(sys.argv[1:] if argv is None else argv, project='naas')
    import os
    if not CONF.database.connection:
        os.makedirs(CONF.state_path, exist_ok=True)
    CONF.command.func()
