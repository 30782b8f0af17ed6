"""Alembic environment: runs against the engine handed over by `services.store.migrate`."""

from alembic import context
from sqlalchemy import func, select

from services.store.models import Base

SCHEMA_LOCK = "minqing:schema"
engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    if connection.dialect.name == "postgresql":
        # Processes that start at once on an older schema (the pages, the routes, the warm-up, the
        # simulator) upgrade it one after the other, each reading the revision after the last has
        # committed: the others find it current.  Without the lock their DDL waited on each other
        # for ever.  SQLite's BEGIN IMMEDIATE does the same, for its busy timeout (services.store.engine).
        connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(SCHEMA_LOCK))))
    context.run_migrations()
