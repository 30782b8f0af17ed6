"""Schema versions, managed by Alembic and applied on start (`upgrade_schema`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event

from services.store.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Create the schema or bring it to the newest version (idempotent), in one transaction: a
    migration that fails leaves the database as it was, on both engines."""
    if engine.dialect.name != "sqlite":
        command.upgrade(alembic_config(engine), "head")
        return
    migrating = transactional_sqlite(engine)
    try:
        command.upgrade(alembic_config(migrating), "head")
    finally:
        migrating.dispose()


def transactional_sqlite(engine: Engine) -> Engine:
    """A second engine on the same SQLite file whose transactions also hold DDL: pysqlite on its
    own runs CREATE and DROP outside any transaction, so a failed batch rebuild would leave its
    half-made tables behind (SQLAlchemy's documented recipe for transactional DDL on pysqlite)."""
    migrating = make_engine(engine.url.render_as_string(hide_password=False))
    event.listen(migrating, "connect", _driver_leaves_transactions_alone)
    event.listen(migrating, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
    return migrating


def _driver_leaves_transactions_alone(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.isolation_level = None
