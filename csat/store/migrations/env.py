"""Alembic environment: runs on the connection handed over by csat.store.engine.upgrade."""

from alembic import context

import csat.store.models  # noqa: F401  (registers the tables)
from sqlmodel import SQLModel

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("csat migrations run through `csat db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
