"""alembic environment: runs on the connection naas.db.migration hands in."""
from alembic import context

from naas.db import models
from naas.db import rbac  # noqa: F401 (its table)
from naas.plugins.l2 import models as l2_models  # noqa: F401 (its tables)
from naas.plugins.l3 import models as l3_models  # noqa: F401 (its tables)
from naas.plugins.qos import models as qos_models  # noqa: F401 (its tables)
from naas.plugins.securitygroups import models as sg_models  # noqa: F401 (its tables)

config = context.config


def run_migrations_online():
    connection = config.attributes.get('connection')
    if connection is None:
        from naas.db import api as db_api
        with db_api.get_engine().begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection):
    context.configure(connection=connection, target_metadata=models.metadata,
                      render_as_batch=connection.dialect.name == 'sqlite')
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
