"""SQLite: an import's commit leaves its pages in the write-ahead log, readable at once; a thread
copies them into the database file after it, and every pooled connection checkpoints as before."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text

from services.store import wal
from services.store.engine import make_engine, make_session_factory
from services.store.migrate import upgrade_schema
from services.store.models import Household
from tests.factories import run_import, seed_areas
from tests.threads import run_together

ROWS = 1_500  # of 4 KiB each: past the 1,000 pages after which a commit copies the log back
DEFAULT_PAGES = 1_000


@pytest.fixture
def sqlite_engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    upgrade_schema(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE scratch (payload BLOB)")
    wal.wait_for_checkpoint(engine)
    yield engine
    wal.wait_for_checkpoint(engine)
    engine.dispose()


def _file_bytes(engine: Engine) -> int:
    return Path(engine.url.database or "").stat().st_size


def _write_pages(engine: Engine, *, deferred: bool) -> None:
    with engine.begin() as connection:
        if deferred:
            wal.defer_checkpoint(connection)
        connection.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
                "INSERT INTO scratch SELECT randomblob(4096) FROM n"
            ),
            {"rows": ROWS},
        )


def _autocheckpoint_pages(engine: Engine) -> int:
    raw = engine.raw_connection()
    try:
        return raw.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]  # type: ignore[union-attr]
    finally:
        raw.close()


def test_a_large_commit_copies_the_log_into_the_file_when_not_deferred(sqlite_engine) -> None:
    before = _file_bytes(sqlite_engine)
    _write_pages(sqlite_engine, deferred=False)
    assert _file_bytes(sqlite_engine) > before + ROWS * 4096  # the premise the next test relies on


def test_a_deferred_commit_leaves_the_copy_to_the_checkpoint_thread(sqlite_engine, monkeypatch) -> None:
    requested: list[wal._Checkpointer] = []
    real_request = wal._Checkpointer.request
    monkeypatch.setattr(wal._Checkpointer, "request", lambda self: requested.append(self))
    before = _file_bytes(sqlite_engine)
    _write_pages(sqlite_engine, deferred=True)

    assert _file_bytes(sqlite_engine) == before  # the pages are in the log only
    with sqlite_engine.connect() as reader:  # and another connection reads them there
        assert reader.execute(text("SELECT count(*) FROM scratch")).scalar_one() == ROWS
    assert _autocheckpoint_pages(sqlite_engine) == DEFAULT_PAGES  # the pooled connection as it was
    assert len(requested) == 1

    real_request(requested[0])
    wal.wait_for_checkpoint(sqlite_engine, timeout_s=30)
    assert _file_bytes(sqlite_engine) > before + ROWS * 4096


def test_a_failed_transaction_still_restores_the_autocheckpoint(sqlite_engine) -> None:
    with pytest.raises(RuntimeError), sqlite_engine.begin() as connection:
        wal.defer_checkpoint(connection)
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0
        raise RuntimeError("the import found a bad row")
    assert _autocheckpoint_pages(sqlite_engine) == DEFAULT_PAGES


def test_an_import_defers_its_checkpoint(store, tmp_path, monkeypatch) -> None:
    requested: list[wal._Checkpointer] = []
    monkeypatch.setattr(wal._Checkpointer, "request", lambda self: requested.append(self))
    seed_areas(store)
    path = tmp_path / "households.csv"
    pd.DataFrame(
        [
            dict(
                household_id="H1",
                head_name="张建国",
                address="测试村1号",
                members=3,
                phone="",
                lon=115.005,
                lat=37.005,
                tags="",
            )
        ]
    ).to_csv(path, index=False)
    run_import(store, "households", path)
    with make_session_factory(store.engine)() as session:
        assert session.scalar(select(func.count()).select_from(Household)) == 1
    if store.engine.dialect.name == "sqlite":
        assert len(requested) == 1 and _autocheckpoint_pages(store.engine) == DEFAULT_PAGES
    else:  # PostgreSQL's own checkpointer does this
        assert requested == []


def test_sixteen_writers_some_deferring_lose_nothing_and_leave_every_connection_checkpointing(sqlite_engine) -> None:
    small = 50

    def write(n: int) -> None:
        if n % 2 == 0:  # half are imports, each past the autocheckpoint on its own
            _write_pages(sqlite_engine, deferred=True)
        else:  # half are the desk's small writes, which commit (and may checkpoint) meanwhile
            for _ in range(small):
                with sqlite_engine.begin() as connection:
                    connection.execute(text("INSERT INTO scratch VALUES (randomblob(16))"))

    errors = run_together(write, 16)
    wal.wait_for_checkpoint(sqlite_engine, timeout_s=60)
    assert errors == []
    with sqlite_engine.connect() as reader:
        assert reader.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 8 * ROWS + 8 * small
    raws = [sqlite_engine.raw_connection() for _ in range(sqlite_engine.pool.checkedin())]
    try:
        pages = [raw.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] for raw in raws]  # type: ignore[union-attr]
    finally:
        for raw in raws:
            raw.close()
    assert len(pages) > 1 and set(pages) == {DEFAULT_PAGES}
