"""`maintain`: fixes past the kept days go (PostgreSQL: their day partitions are dropped; SQLite:
their rows deleted) once their worker-days are summarised, and no figure of the old period
changes; a day without its summaries stays; on PostgreSQL the next days' partitions are made and
fixes that waited in the default partition move into partitions of their days, and the days whose
fixes have stopped arriving get the GiST index of their points.  Migration 0018 partitions a
filled table and goes back; 0019 moves the points' index onto the day partitions and back."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command

from services.domain import LOCAL_TZ
from services.figures.area_figures import compute_area_figures
from services.operations.maintain import AHEAD_DAYS, maintain_store
from services.store.bulk import insert_frame
from services.store.fix_partitions import (
    DEFAULT_PARTITION,
    day_partitions,
    ensure_day_partitions,
    fixes_of_day,
    index_day_points,
    is_partitioned,
    partition_name,
    sqlite_fix_days_before,
)
from services.store.migrate import alembic_config
from services.store.models import PatrolDay, PatrolFix, PatrolVisit, table_of
from tests.exchange.test_import import household, worker, write_csv
from tests.factories import COUNTY, OPERATOR, T, run_import, seed_areas
from tests.threads import run_together

TODAY = T.astimezone(LOCAL_TZ).date()
OLD = TODAY - dt.timedelta(days=500)  # imported: summarised, goes
UNSUMMARISED = TODAY - dt.timedelta(days=450)  # written straight into the table: no patrol day, stays
RECENT = TODAY - dt.timedelta(days=1)  # kept
WAITING = TODAY - dt.timedelta(days=3)  # written straight in: on PostgreSQL in the default partition


def fixes_of(day: dt.date) -> list[dict]:
    return [
        dict(worker_id="W1", ts=f"{day} 09:{m:02d}:00", lon=115.0046 + m * 0.0001, lat=37.005, accuracy_m=8)
        for m in range(6)
    ]


def write_straight(store, day: dt.date) -> None:
    start = dt.datetime.combine(day, dt.time(10), LOCAL_TZ)
    frame = pd.DataFrame(
        {
            "county_code": COUNTY,
            "worker_id": "W1",
            "ts": [start + dt.timedelta(minutes=m) for m in range(4)],
            "lon": 115.005,
            "lat": 37.005,
            "accuracy_m": 5.0,
        }
    )
    with store.engine.begin() as connection:
        insert_frame(connection, table_of(PatrolFix), frame)


def fix_days(store) -> list[dt.date]:
    with store.session_factory() as session:
        stamps = session.scalars(sa.select(PatrolFix.ts)).all()
    return sorted({stamp.astimezone(LOCAL_TZ).date() for stamp in stamps})


def geom_indexes(connection: sa.Connection) -> set[dt.date]:
    """The days whose partition has the GiST index of its points."""
    gist = sa.text("SELECT count(*) FROM pg_indexes WHERE tablename = :t AND indexdef ~ 'USING gist \\(geom\\)'")
    return {day for day in day_partitions(connection) if connection.scalar(gist, {"t": partition_name(day)})}


def old_figures(store) -> tuple:
    at = dt.datetime.combine(OLD + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
    figures = compute_area_figures(store.session_factory, actor=OPERATOR, area_code=COUNTY, at=at, days=1)
    with store.session_factory() as session:
        days = session.scalar(sa.select(sa.func.count()).select_from(PatrolDay))
        visits = session.scalar(sa.select(sa.func.count()).select_from(PatrolVisit))
    return figures.visited, figures.coverage, days, visits


def test_old_fixes_go_once_summarised_and_no_figure_of_their_period_changes(store, tmp_path) -> None:
    seed_areas(store)
    run_import(store, "households", write_csv(tmp_path / "h.csv", [household("H1", 115.005, 37.005)]))
    run_import(store, "workers", write_csv(tmp_path / "w.csv", [worker("W1")]))
    run_import(store, "fixes", write_csv(tmp_path / "f.csv", fixes_of(OLD) + fixes_of(RECENT)))
    write_straight(store, UNSUMMARISED)
    write_straight(store, WAITING)
    before = old_figures(store)
    done = maintain_store(store.session_factory, now=T, keep_days=400)
    again = maintain_store(store.session_factory, now=T, keep_days=400)
    assert before[0] == 1  # the old day's visit counts in its figures
    assert old_figures(store) == before
    assert fix_days(store) == [UNSUMMARISED, WAITING, RECENT]
    assert (done.keep_from, done.days_kept_unsummarised) == (TODAY - dt.timedelta(days=400), (UNSUMMARISED,))
    assert (again.days_dropped, again.days_kept_unsummarised, again.partitions_made) == ((), (UNSUMMARISED,), ())
    assert again.partitions_indexed == ()
    with store.engine.connect() as connection:
        if is_partitioned(connection):
            # every kept day but yesterday's and the ones ahead, whose fixes may still arrive (the
            # day before RECENT: its import made that partition too)
            finished = (UNSUMMARISED, WAITING, RECENT - dt.timedelta(days=1))
            assert done.partitions_indexed == finished and geom_indexes(connection) == set(finished)
            partitions = day_partitions(connection)
            waiting = connection.scalar(sa.text(f"SELECT count(*) FROM {DEFAULT_PARTITION}"))
            assert waiting == 0 and WAITING in done.partitions_made and OLD not in partitions
            assert {UNSUMMARISED, WAITING, RECENT} | {
                TODAY + dt.timedelta(days=n) for n in range(AHEAD_DAYS + 1)
            } <= set(partitions)
            # the import made the days around its own too (an offset may move a fix past midnight)
            assert done.days_dropped == (OLD - dt.timedelta(days=1), OLD, OLD + dt.timedelta(days=1))
            assert done.fixes_deleted == 0
        else:
            assert connection.dialect.name == "sqlite"
            assert (done.days_dropped, done.fixes_deleted, done.partitions_indexed) == ((OLD,), 6, ())


def test_a_fix_belongs_to_its_local_day_up_to_the_last_microsecond_before_midnight(store) -> None:
    """SQLite finds a day's fixes by its local-day index, PostgreSQL by the partition's range."""
    midnight = dt.datetime.combine(RECENT, dt.time(), LOCAL_TZ)
    stamps = [midnight - dt.timedelta(microseconds=1), midnight, midnight + dt.timedelta(days=1, microseconds=-1)]
    stamps.append(midnight + dt.timedelta(days=1))
    frame = pd.DataFrame(
        {"county_code": COUNTY, "worker_id": "W1", "ts": stamps, "lon": 115.005, "lat": 37.005, "accuracy_m": 5.0}
    )
    with store.engine.begin() as connection:
        ensure_day_partitions(connection, [RECENT - dt.timedelta(days=1), RECENT, RECENT + dt.timedelta(days=1)])
    with store.engine.begin() as connection:
        insert_frame(connection, table_of(PatrolFix), frame)
    with store.engine.connect() as connection:
        of_day = connection.scalars(
            sa.select(PatrolFix.ts).where(fixes_of_day(connection, RECENT)).order_by(PatrolFix.ts)
        )
        assert list(of_day) == stamps[1:3]
        if connection.dialect.name == "sqlite":
            days = [RECENT - dt.timedelta(days=1), RECENT]
            assert sqlite_fix_days_before(connection, RECENT + dt.timedelta(days=1)) == days


@pytest.mark.postgis
def test_sixteen_makers_of_the_same_partitions_at_once_make_each_once(postgis_store) -> None:
    days = [TODAY + dt.timedelta(days=n) for n in range(20, 30)]
    made: list[list[dt.date]] = []

    def make(n: int) -> None:
        with postgis_store.session_factory.begin() as session:
            made.append(ensure_day_partitions(session.connection(), days[n % 3 :]))

    errors = run_together(make)
    assert errors == []
    assert sorted(day for each in made for day in each) == days
    with postgis_store.engine.connect() as connection:
        assert set(days) <= set(day_partitions(connection))


@pytest.mark.postgis
def test_sixteen_indexers_of_the_same_days_at_once_build_each_index_once(postgis_store) -> None:
    days = [TODAY - dt.timedelta(days=n) for n in range(40, 43)]
    with postgis_store.session_factory.begin() as session:
        ensure_day_partitions(session.connection(), days)
    built: list[dt.date] = []

    def index(n: int) -> None:
        with postgis_store.session_factory.begin() as session:
            if index_day_points(session.connection(), days[n % 3]):
                built.append(days[n % 3])

    errors = run_together(index)
    assert errors == []
    assert sorted(built) == sorted(days)
    with postgis_store.engine.connect() as connection:
        assert set(days) <= geom_indexes(connection)


@pytest.mark.postgis
def test_the_partitioning_migration_moves_a_filled_table_and_back(postgis_store) -> None:
    seed_areas(postgis_store)
    config = alembic_config(postgis_store.engine)
    command.downgrade(config, "0017")
    with postgis_store.engine.begin() as connection:
        assert not is_partitioned(connection)
        connection.exec_driver_sql(
            "INSERT INTO workers (county_code, worker_id, name, role, role_title, on_duty) "
            "VALUES ('130532', 'W1', '李强', 'worker', '专职网格员', true)"
        )
    for day in (OLD, RECENT):
        write_straight(postgis_store, day)
    command.upgrade(config, "head")
    with postgis_store.engine.connect() as connection:
        partitioned, partitions = is_partitioned(connection), day_partitions(connection)
        per_day = connection.exec_driver_sql(
            "SELECT tableoid::regclass::text, count(*), count(geom) FROM patrol_fixes GROUP BY 1 ORDER BY 1"
        ).all()
        indexed = geom_indexes(connection)
        whole_table_index = connection.scalar(sa.text("SELECT to_regclass('ix_patrol_fixes_geom')"))
    assert partitioned and partitions == [OLD, RECENT]
    assert [tuple(row) for row in per_day] == [
        (f"patrol_fixes_d{OLD:%Y%m%d}", 4, 4),
        (f"patrol_fixes_d{RECENT:%Y%m%d}", 4, 4),
    ]
    assert indexed == {OLD, RECENT} and whole_table_index is None  # 0019: one index per stored day
    command.downgrade(config, "0018")
    with postgis_store.engine.connect() as connection:
        assert geom_indexes(connection) == {OLD, RECENT}  # the partitions' share of the whole table's index
        assert connection.scalar(sa.text("SELECT to_regclass('ix_patrol_fixes_geom')")) is not None
    command.downgrade(config, "0017")
    with postgis_store.engine.connect() as connection:
        assert not is_partitioned(connection)
        assert connection.exec_driver_sql("SELECT count(*), count(geom) FROM patrol_fixes").one() == (8, 8)


def test_the_command_line_keeps_the_days_it_is_told_and_says_what_it_did(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "maintain", "--keep-days", "30"], env=env, capture_output=True, text=True
    )
    bad = subprocess.run(
        [sys.executable, "-m", "services.cli", "maintain", "--keep-days", "0"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    told = json.loads(done.stdout)
    assert told["days_dropped"] == [] and dt.date.fromisoformat(told["keep_from"]) < dt.date.today()
    assert (bad.returncode, bad.stderr.strip()) == (2, "错误: 保留天数必须为正整数")
