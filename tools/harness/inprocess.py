"""naas-server's API application in the calling process, for the tools that
measure naas's own code without HTTP in between."""


def load_app(db_url, service_plugins, **overrides):
    """(the WSGI application, the engine) on ``db_url`` (its schema brought
    to head), with the default config plus ``service_plugins`` and
    ``overrides`` ({'group.option' or 'option': value})."""
    from naas.conf import CONF
    from naas.db import api as db_api
    from naas.db import migration
    from naas.plugins import manager as plugin_manager

    CONF([], project='naas', default_config_files=[])
    CONF.set_override('service_plugins', list(service_plugins))
    for name, value in overrides.items():
        group, _, option = name.rpartition('.')
        CONF.set_override(option, value, group=group or None)
    engine = db_api.create_engine(db_url)
    db_api.set_engine(engine)
    migration.upgrade('head', engine)
    plugin_manager.reset()
    from naas.api import wsgi
    return wsgi.load_app(), engine
