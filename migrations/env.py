"""Alembic environment: runs the migrations on the connection handed over by :func:`migrations.upgrade`.

Alembic executes this file; nothing imports it. The migrations belong to the application, so
autogenerate compares the store with every table it declares: the library's and the service's.
"""

from alembic import context

import api.console.tables  # noqa: F401  - console_sessions (0008)
import api.kit.tables  # noqa: F401  - api_keys, idempotency records (0004)
from credit.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER constraints in place
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
