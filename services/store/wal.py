"""SQLite: a bulk write's pages copied from the write-ahead log into the database file after its
commit, on a thread of its own, rather than inside the commit the user waits for.

By default the commit that leaves the log over 1,000 pages copies it back (a checkpoint): for a
county day of fixes ~190 MB, 0.6–1.2 s of a ~10 s import.  Readers see the committed pages in the
log meanwhile, and a PASSIVE checkpoint blocks neither readers nor writers, so nothing waits for
it; the next commit that finds the log still full checkpoints as before.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import weakref

from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import ConnectionPoolEntry

LOG = logging.getLogger(__name__)
_DEFERRED = "minqing_deferred_wal_checkpoint"  # pool record key: the autocheckpoint to restore


def defer_checkpoint(connection: Connection) -> None:
    """Let the transaction of `connection` commit without copying the log back; once the
    connection returns to the pool its autocheckpoint is restored and a checkpoint starts on a
    thread (`install_checkpointer`).  Nothing on PostgreSQL, whose checkpointer is a server process."""
    if connection.dialect.name != "sqlite":
        return
    pooled = connection.connection
    if _DEFERRED in pooled.info:
        return
    driver = pooled.driver_connection
    assert isinstance(driver, sqlite3.Connection), "a SQLite engine's connections are sqlite3's"
    (pages,) = driver.execute("PRAGMA wal_autocheckpoint").fetchone()
    driver.execute("PRAGMA wal_autocheckpoint=0")
    pooled.info[_DEFERRED] = int(pages)


class _Checkpointer:
    """One checkpoint thread at a time per engine; a request while one runs is dropped (that
    thread or the next commit copies the rest).  Not a daemon: a command-line import's process
    finishes the copy before it exits."""

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint")
            self._thread.start()

    def wait(self, timeout_s: float | None = None) -> None:
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        engine = self._engine()
        if engine is None:
            return
        try:
            raw = engine.raw_connection()
            try:
                # The driver runs in autocommit (engine._tune_sqlite): no BEGIN, which would
                # make the checkpoint fail as a transaction's statement.
                raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
            finally:
                raw.close()
        except Exception:  # a background copy must never take the process down; the next commit copies
            LOG.warning("WAL checkpoint after a bulk write failed", exc_info=True)


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, _Checkpointer] = weakref.WeakKeyDictionary()


def install_checkpointer(engine: Engine) -> None:
    """Make `defer_checkpoint` work on this SQLite engine."""
    checkpointer = _CHECKPOINTERS[engine] = _Checkpointer(engine)
    event.listen(engine, "checkin", functools.partial(_on_checkin, checkpointer))


def wait_for_checkpoint(engine: Engine, timeout_s: float | None = None) -> None:
    """Until the engine's checkpoint thread, if any, is done."""
    checkpointer = _CHECKPOINTERS.get(engine)
    if checkpointer is not None:
        checkpointer.wait(timeout_s)


def _on_checkin(
    checkpointer: _Checkpointer, dbapi_connection: sqlite3.Connection | None, record: ConnectionPoolEntry
) -> None:
    pages = record.info.pop(_DEFERRED, None)
    if pages is None:
        return
    if dbapi_connection is not None:  # None: the connection was invalidated and is gone anyway
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
    checkpointer.request()
