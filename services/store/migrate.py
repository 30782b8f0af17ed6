"""Schema versions, managed by Alembic and applied on start (`upgrade_schema`)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Alembic runs its commands through one process-wide context (alembic.context): two threads of a
# process (a page's first run, a route's first request, the warm-up) must not run one at once.
# Between processes the engines' own locks order them (migrations/env.py).
_UPGRADING = threading.Lock()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Create the schema or bring it to the newest version (idempotent), in one transaction: a
    migration that fails leaves the database as it was, on both engines (on SQLite too: the
    engine begins its transactions itself, so DDL is transactional, see `services.store.engine`)."""
    with _UPGRADING:
        command.upgrade(alembic_config(engine), "head")


@functools.cache
def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "the migrations directory has a head"
    return head


def stored_revision(connection: Connection) -> str | None:
    """The schema revision the database is at; None before the first migration."""
    return MigrationContext.configure(connection).get_current_revision()
