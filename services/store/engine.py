"""Engine and session factory: created once per process by the composition root.

Transactions.  `session_factory()` is a read session, `session_factory.begin()` a write
transaction (and so is `engine.begin()`).  On SQLite a write transaction starts with
``BEGIN IMMEDIATE``: it takes the one write lock before its first read, so a writer waits (up to
the busy timeout) for the previous one instead of failing with "database is locked" when a
deferred transaction that has already read tries to write after another writer committed.
Reads start a deferred ``BEGIN``: in WAL mode they never wait for a writer.  Consequently a write
transaction must not open a second write transaction of its own on SQLite (it would wait for
itself): record what happened after the first one has ended.  PostgreSQL keeps its default
(READ COMMITTED); races there are settled by row locks, keys and version checks in the services.

Errors.  Every error of the database driver leaves the store as a `services.errors.StoreError`
with a Chinese message (logged here without the row values a driver quotes): `StoreUnavailableError` when the database
cannot be reached or stays busy, `StoreConflictError` when a key or constraint refused a write.
Pages and the command line show the message; the log keeps the details.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc, func, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from services.errors import StoreConflictError, StoreError, StoreUnavailableError
from services.store import visit_latest, visit_months  # noqa: F401  (their flush hooks keep the visit rollups current)
from services.store.wal import install_checkpointer

LOG = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT_S = 30
SQLITE_CACHE_KIB = 65536  # page cache per pooled connection
# Writers that number their rows (max + 1) race for the next number: each loser of the key tries
# the following one.  16 at once need at most 16 rounds; past this many something else is wrong.
NEXT_NUMBER_ATTEMPTS = 64
T = TypeVar("T")
_READING = "minqing_reading"  # execution option marking the connections of read sessions


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        install_checkpointer(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "handle_error", _translate_error)
    return engine


def _tune_sqlite(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    # The driver's own transaction handling would BEGIN only before the first INSERT/UPDATE, so
    # a transaction's reads would run outside it; `_begin_sqlite` begins instead (SQLAlchemy's
    # documented pysqlite recipe), which also makes DDL transactional.
    dbapi_connection.isolation_level = None
    # WAL lets the dashboard read while an import or the simulator writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A pooled connection keeps its page cache: 64 MiB holds a county's cases and their indexes,
    # where the default 2 MiB re-read them from the file on every month's statistics (0.32 → 0.13 s).
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    reading = connection.get_execution_options().get(_READING, False)
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _translate_error(context: ExceptionContext) -> StoreError | None:
    if context.is_pre_ping:
        return None  # the pool reconnects by itself
    return _store_error(context.sqlalchemy_exception, context.original_exception, context.is_disconnect)


def translate_driver_error(connection: Connection, original: DBAPIModule.Error) -> StoreError:
    """The store's error for a driver error raised outside SQLAlchemy's execution (a frame read
    fetching from the driver's cursor itself); a lost connection is invalidated, as SQLAlchemy
    would have done."""
    dialect = connection.dialect
    disconnect = dialect.is_disconnect(original, connection.connection.dbapi_connection, None)
    if disconnect:
        connection.invalidate(original)
    wrapped = exc.DBAPIError.instance(None, None, original, dialect.loaded_dbapi.Error)
    return _store_error(wrapped, original, disconnect)


def describe_driver_error(original: BaseException) -> str:
    """A driver error for the log without the row values it may quote: PostgreSQL's class, SQLSTATE
    and the names of the constraint, table and column (its message and DETAIL can carry a
    household's ID number); SQLite's messages, and a failed connection's, name no row values."""
    diag = getattr(original, "diag", None)
    if diag is None or getattr(original, "sqlstate", None) is None:  # SQLite, or no server answered
        return f"{type(original).__name__}: {str(original).splitlines()[0] if str(original) else ''}"
    names = {
        "sqlstate": getattr(original, "sqlstate", None),
        "constraint": diag.constraint_name,
        "table": diag.table_name,
        "column": diag.column_name,
    }
    return type(original).__name__ + "".join(f" {key}={value}" for key, value in names.items() if value)


def _store_error(error: BaseException | None, original: BaseException, is_disconnect: bool) -> StoreError:
    if isinstance(error, exc.IntegrityError):
        LOG.info("write refused by a key or constraint: %s", describe_driver_error(original))
        return StoreConflictError("数据已被他人同时修改或与已有数据冲突，本次操作未生效，请刷新后重试")
    LOG.error("database error: %s", describe_driver_error(original))
    LOG.debug("database error", exc_info=original)  # the traceback, for a developer who turns it on
    if isinstance(error, exc.OperationalError | exc.InterfaceError) or is_disconnect:
        if "locked" in str(original) or "busy" in str(original):
            return StoreUnavailableError("数据库正忙，请稍后再试（本次操作未生效）")
        return StoreUnavailableError("数据库暂时无法连接，请稍后再试")
    return StoreError("数据库操作失败，本次操作未生效，请稍后再试；详情已记入服务器日志")


class SessionFactory(sessionmaker[Session]):
    """Sessions of one engine: calling it gives a read session, `begin()` a write transaction."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine.execution_options(**{_READING: True}), expire_on_commit=False)
        self.engine = engine

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        with self(bind=self.engine) as session, session.begin():
            yield session


def make_session_factory(engine: Engine) -> SessionFactory:
    return SessionFactory(engine)


def take_county_turn(connection: Connection, purpose: str, county_code: str) -> None:
    """Waits, inside the caller's transaction, until no other transaction holds the turn of
    `purpose` in the county (PostgreSQL: a transaction advisory lock; SQLite runs one write
    transaction at a time anyway).  For writers that rebuild shared derived rows, which two at
    once would both insert."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{purpose}:{county_code}"))))


def write_next_number(write: Callable[[], T], busy_message: str) -> T:
    """`write()` (one transaction that reads max + 1 and inserts under that key), again while a
    simultaneous writer took the same number; StoreConflictError(`busy_message`) when it never got one."""
    for _ in range(NEXT_NUMBER_ATTEMPTS):
        try:
            return write()
        except StoreConflictError:
            continue
    raise StoreConflictError(busy_message)
