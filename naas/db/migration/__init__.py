"""Schema migrations (alembic).  ``naas-db-manage upgrade head`` runs them."""
import os

from alembic import command
from alembic import config as alembic_config

from naas.db import api as db_api

SCRIPT_LOCATION = os.path.join(os.path.dirname(__file__), 'alembic')


def get_config(connection=None):
    config = alembic_config.Config()
    config.set_main_option('script_location', SCRIPT_LOCATION)
    config.attributes['connection'] = connection
    return config


def upgrade(revision='head', engine=None):
    engine = engine or db_api.get_engine()
    with engine.begin() as conn:
        command.upgrade(get_config(conn), revision)


def downgrade(revision, engine=None):
    engine = engine or db_api.get_engine()
    with engine.begin() as conn:
        command.downgrade(get_config(conn), revision)


def current(engine=None):
    from alembic.runtime import migration as runtime
    engine = engine or db_api.get_engine()
    with engine.connect() as conn:
        return runtime.MigrationContext.configure(conn).get_current_revision()
