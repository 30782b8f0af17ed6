"""Coverage over whole days and its monthly rollup, on both stores: patrol_visit_months equals the
distinct visits of each month after the demo load, an import, a re-import that takes visits away
and the migration's backfill; a day-aligned P read by days (and the rollup) equals DESIGN.md's
instant rule; one statistics call reads the visits once."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd
from alembic import command
from sqlalchemy import event, func, insert, select

from services.domain import LOCAL_TZ
from services.figures.periods import parse_month
from services.figures.statistics import compute_statistics
from services.patrol.coverage import (
    area_grids,
    instant_visited_rows,
    last_visit_day,
    latest_is_exact,
    latest_visited_rows,
    visited_per_grid,
    visited_rows,
)
from services.store.migrate import alembic_config, upgrade_schema
from services.store.models import (
    Area,
    PatrolVisit,
    PatrolVisitLatest,
    PatrolVisitLatestEnd,
    PatrolVisitMonth,
    PatrolVisitMonthGrid,
    table_of,
)
from services.store.visit_latest import rebuild_latest_visits
from services.store.visit_months import next_month
from tests.exchange.test_import import household, run, worker, write_csv
from tests.factories import COUNTY, GRID_A, GRID_B, OPERATOR, SHANGHAI, seed_areas
from tests.store.test_concurrency import WRITERS, at_once


def raw_months(store) -> set[tuple]:
    """What the rollup must hold: the distinct (county, month, household, grid) of patrol_visits."""
    with store.session_factory() as session:
        rows = session.execute(
            select(PatrolVisit.county_code, PatrolVisit.day, PatrolVisit.household_id, PatrolVisit.grid_code)
        ).all()
    return {(county, day.replace(day=1), household_id, grid) for county, day, household_id, grid in rows}


def rollup(store) -> set[tuple]:
    with store.session_factory() as session:
        rows = session.execute(
            select(
                PatrolVisitMonth.county_code,
                PatrolVisitMonth.month,
                PatrolVisitMonth.household_id,
                PatrolVisitMonth.grid_code,
            )
        ).all()
        counts = session.execute(
            select(
                PatrolVisitMonthGrid.county_code,
                PatrolVisitMonthGrid.month,
                PatrolVisitMonthGrid.grid_code,
                PatrolVisitMonthGrid.visited,
            )
        ).all()
        latest = session.execute(
            select(
                PatrolVisitLatest.household_id,
                PatrolVisitLatest.grid_code,
                PatrolVisitLatest.last_start,
                PatrolVisitLatest.last_end,
            )
        ).all()
        visits = session.execute(
            select(
                PatrolVisit.household_id,
                PatrolVisit.grid_code,
                func.max(PatrolVisit.last_start),
                func.max(PatrolVisit.last_end),
            ).group_by(PatrolVisit.household_id, PatrolVisit.grid_code)
        ).all()
        kept_ends = dict(session.execute(select(PatrolVisitLatestEnd.county_code, PatrolVisitLatestEnd.last_end)).all())
        newest_ends = dict(
            session.execute(
                select(PatrolVisit.county_code, func.max(PatrolVisit.last_end)).group_by(PatrolVisit.county_code)
            ).all()
        )
    assert len(rows) == len(set(rows))
    # Every check of the rollup checks its per-grid counts and each household's latest visit too,
    # and that no county's kept newest end is earlier than a visit's end.
    assert {(c, m, g): n for c, m, g, n in counts} == Counter((c, m, g) for c, m, _, g in rows)
    assert {tuple(row) for row in latest} == {tuple(row) for row in visits}
    assert all(kept_ends.get(county, newest) >= newest for county, newest in newest_ends.items())
    assert set(newest_ends) <= set(kept_ends)
    return {tuple(row) for row in rows}


def pairs(store, query) -> set[tuple[str, str]]:
    with store.session_factory() as session:
        return {tuple(row) for row in session.execute(select(query.c.household_id, query.c.grid_code)).all()}


def test_the_demo_load_fills_the_rollup_with_each_months_distinct_visits(demo_store) -> None:
    expected = raw_months(demo_store)
    assert len(expected) > 100
    assert rollup(demo_store) == expected


def test_a_day_aligned_period_read_by_days_equals_the_instant_rule(demo_store, small_demo) -> None:
    """Whole local days (and whole months, through the rollup) give exactly the households the
    DESIGN.md instant rule gives, for every span the demo's visits fall in."""
    with demo_store.session_factory() as session:
        township = session.scalars(select(Area.code).where(Area.level == "township").order_by(Area.code)).first()
    today = small_demo.now.astimezone(LOCAL_TZ).date()
    month = today.replace(day=1)
    checked = 0
    for end_day, days in [
        (today + dt.timedelta(days=1), 1),
        (today, 1),
        (today + dt.timedelta(days=1), 3),
        (today, 7),
        (today + dt.timedelta(days=1), 30),
        (next_month(month), (next_month(month) - month).days),  # the running month: the rollup
        (month, (month - (month - dt.timedelta(days=1)).replace(day=1)).days),  # the month before
    ]:
        at = dt.datetime.combine(end_day, dt.time(), LOCAL_TZ)
        for area in (small_demo.county.county_code, township):
            with demo_store.session_factory() as session:
                by_days = pairs(demo_store, visited_rows(session, OPERATOR.scope, area, at, days))
            by_instants = pairs(demo_store, instant_visited_rows(OPERATOR.scope, area, at, days))
            assert by_days == by_instants, (area, end_day, days)
            checked += len(by_days)
    assert checked > 0


def test_each_households_latest_visit_gives_the_instant_rule_at_live_moments(demo_store, small_demo) -> None:
    """At a T no stored visit ends after (the live map, each minute), the latest visits give
    exactly the instant rule's households; at an earlier T the visits themselves are read."""
    with demo_store.session_factory() as session:
        township = session.scalars(select(Area.code).where(Area.level == "township").order_by(Area.code)).first()
        newest = session.scalar(select(func.max(PatrolVisit.last_end)))
    assert township is not None and newest is not None
    checked = 0
    for at in (newest + dt.timedelta(minutes=1, seconds=7), newest + dt.timedelta(days=2, minutes=13)):
        with demo_store.session_factory() as session:
            assert latest_is_exact(session, small_demo.county.county_code, at)
        for area in (small_demo.county.county_code, township):
            for days in (1, 3, 7, 30):
                by_latest = pairs(demo_store, latest_visited_rows(OPERATOR.scope, area, at, days))
                assert by_latest == pairs(demo_store, instant_visited_rows(OPERATOR.scope, area, at, days))
                checked += len(by_latest)
    assert checked > 0
    earlier = newest - dt.timedelta(days=1, minutes=17)
    with demo_store.session_factory() as session:
        assert not latest_is_exact(session, small_demo.county.county_code, earlier)
        read = pairs(demo_store, visited_rows(session, OPERATOR.scope, small_demo.county.county_code, earlier, 7))
    assert (
        read
        == pairs(demo_store, instant_visited_rows(OPERATOR.scope, small_demo.county.county_code, earlier, 7))
        != set()
    )


def test_several_whole_months_count_a_household_once(store) -> None:
    """Two months of the rollup: a household visited in both counts once, as the raw visits do."""
    seed_areas(store)
    day = [dt.date(2026, 10, 30), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
    with store.session_factory.begin() as session:
        session.add_all(
            PatrolVisit(
                county_code=COUNTY,
                household_id=household_id,
                worker_id="W1",
                day=when,
                grid_code=grid,
                first_start=dt.datetime.combine(when, dt.time(9), SHANGHAI),
                first_end=dt.datetime.combine(when, dt.time(9, 1), SHANGHAI),
                last_start=dt.datetime.combine(when, dt.time(9), SHANGHAI),
                last_end=dt.datetime.combine(when, dt.time(9, 1), SHANGHAI),
            )
            for household_id, grid, when in [("H1", GRID_A, day[0]), ("H1", GRID_A, day[1]), ("H2", GRID_B, day[2])]
        )
    assert rollup(store) == raw_months(store)
    grids = area_grids(OPERATOR.scope, COUNTY)
    with store.session_factory() as session:
        both = visited_per_grid(session, COUNTY, grids, dt.date(2026, 10, 1), dt.date(2026, 12, 1))
        november = visited_per_grid(session, COUNTY, grids, dt.date(2026, 11, 1), dt.date(2026, 12, 1))
        by_days = visited_per_grid(session, COUNTY, grids, dt.date(2026, 10, 2), dt.date(2026, 12, 1))
    assert both.to_dict() == {GRID_A: 1, GRID_B: 1}
    assert november.to_dict() == by_days.to_dict() == {GRID_A: 1, GRID_B: 1}


def _walk(worker_id: str, day: str, lat: float) -> list[dict]:
    """Twenty minutes walking east along `lat` from 115.001 (fixes every 30 s)."""
    return [
        dict(
            worker_id=worker_id,
            ts=f"{day} 09:{m // 2:02d}:{30 * (m % 2):02d}",
            lon=115.0010 + m * 0.0004,
            lat=lat,
            accuracy_m=6,
        )
        for m in range(41)
    ]


def test_imports_and_a_reimport_that_takes_visits_away_keep_the_rollup_equal_to_the_visits(store, tmp_path) -> None:
    seed_areas(store)
    homes = [
        household("H-a", 115.0040, 37.0052),  # grid A, by the southern route
        household("H-b", 115.0150, 37.0050),  # grid B, by the southern route
        household("H-north", 115.0045, 37.0090),  # grid A, by the northern route only
    ]
    run(store, "households", write_csv(tmp_path / "h.csv", homes))
    run(store, "workers", write_csv(tmp_path / "w.csv", [worker("W1", GRID_A), worker("W2", GRID_B)]))
    run(store, "fixes", write_csv(tmp_path / "october.csv", _walk("W1", "2026-10-15", 37.0050)))
    run(store, "fixes", write_csv(tmp_path / "november.csv", _walk("W1", "2026-11-20", 37.0050)))
    south = {
        (COUNTY, m, h, g)
        for m in (dt.date(2026, 10, 1), dt.date(2026, 11, 1))
        for h, g in [("H-a", GRID_A), ("H-b", GRID_B)]
    }
    assert rollup(store) == raw_months(store) == south

    # The same fixes, corrected to the northern street: November's visits of H-a and H-b go.
    run(store, "fixes", write_csv(tmp_path / "fixed.csv", _walk("W1", "2026-11-20", 37.0090)))
    november = dt.date(2026, 11, 1)
    expected = {row for row in south if row[1] != november} | {(COUNTY, november, "H-north", GRID_A)}
    assert rollup(store) == raw_months(store) == expected
    with store.session_factory() as session:
        counted = visited_per_grid(session, COUNTY, area_grids(OPERATOR.scope, COUNTY), november, next_month(november))
    assert counted.to_dict() == {GRID_A: 1}
    # Another worker on another November day along the northern street: the pair merged in was there.
    run(store, "fixes", write_csv(tmp_path / "w2.csv", _walk("W2", "2026-11-21", 37.0090)))
    assert rollup(store) == raw_months(store) == expected
    with store.session_factory() as session:
        counted = visited_per_grid(session, COUNTY, area_grids(OPERATOR.scope, COUNTY), november, next_month(november))
    assert counted.to_dict() == {GRID_A: 1}


def test_the_migration_fills_the_rollup_from_the_visits_already_stored(store) -> None:
    seed_areas(store)
    command.downgrade(alembic_config(store.engine), "0011")
    when = [dt.datetime(2026, 10, 31, 23, 50, tzinfo=SHANGHAI), dt.datetime(2026, 11, 1, 0, 10, tzinfo=SHANGHAI)]
    rows = [
        dict(
            county_code=COUNTY,
            household_id=household_id,
            worker_id=worker_id,
            day=at.date(),
            grid_code=grid,
            first_start=at,
            first_end=at + dt.timedelta(seconds=30),
            last_start=at,
            last_end=at + dt.timedelta(seconds=30),
        )
        for household_id, worker_id, grid, at in [
            ("H1", "W1", GRID_A, when[0]),
            ("H1", "W2", GRID_A, when[0]),  # the same household and month by two workers: one row
            ("H1", "W1", GRID_A, when[1]),  # the next day is the next month
            ("H2", "W2", GRID_B, when[1]),
        ]
    ]
    with store.engine.begin() as connection:
        connection.execute(insert(table_of(PatrolVisit)), rows)
    upgrade_schema(store.engine)
    assert (
        rollup(store)
        == raw_months(store)
        == {
            (COUNTY, dt.date(2026, 10, 1), "H1", GRID_A),
            (COUNTY, dt.date(2026, 11, 1), "H1", GRID_A),
            (COUNTY, dt.date(2026, 11, 1), "H2", GRID_B),
        }
    )


def _visit_at(household_id: str, grid: str, at: dt.datetime) -> PatrolVisit:
    end = at + dt.timedelta(seconds=30)
    return PatrolVisit(
        county_code=COUNTY,
        household_id=household_id,
        worker_id="W1",
        day=at.astimezone(SHANGHAI).date(),
        grid_code=grid,
        first_start=at,
        first_end=end,
        last_start=at,
        last_end=end,
    )


def _kept_end(store) -> dt.datetime | None:
    with store.session_factory() as session:
        return session.scalar(select(PatrolVisitLatestEnd.last_end).where(PatrolVisitLatestEnd.county_code == COUNTY))


def _visits_at_nine_and_ten(store) -> tuple[dt.datetime, dt.datetime]:
    """H1 visited in grid A at nine, H2 in grid B at ten (W1, 2026-11-20)."""
    seed_areas(store)
    nine, ten = (dt.datetime(2026, 11, 20, hour, tzinfo=SHANGHAI) for hour in (9, 10))
    with store.session_factory.begin() as session:
        session.add_all([_visit_at("H1", GRID_A, nine), _visit_at("H2", GRID_B, ten)])
    return nine, ten


def test_the_kept_newest_end_is_raised_by_writers_and_set_anew_only_by_a_whole_rebuild(store) -> None:
    nine, ten = _visits_at_nine_and_ten(store)
    assert _kept_end(store) == ten + dt.timedelta(seconds=30)
    with store.session_factory.begin() as session:  # H2's visit taken away: the end stays late
        session.delete(session.get(PatrolVisit, (COUNTY, "W1", ten.date(), "H2")))
    assert _kept_end(store) == ten + dt.timedelta(seconds=30)
    at = ten + dt.timedelta(seconds=10)  # before the kept end: the visits decide, and agree
    with store.session_factory() as session:
        assert not latest_is_exact(session, COUNTY, at)
        read = pairs(store, visited_rows(session, OPERATOR.scope, COUNTY, at, 1))
    assert read == pairs(store, instant_visited_rows(OPERATOR.scope, COUNTY, at, 1)) == {("H1", GRID_A)}
    with store.engine.begin() as connection:
        rebuild_latest_visits(connection, COUNTY)
    assert _kept_end(store) == nine + dt.timedelta(seconds=30)
    assert rollup(store) == raw_months(store)


def test_the_kept_end_migration_goes_down_and_up_on_a_filled_database(store) -> None:
    nine, ten = _visits_at_nine_and_ten(store)
    config = alembic_config(store.engine)
    command.downgrade(config, "0021")
    command.upgrade(config, "head")
    assert _kept_end(store) == ten + dt.timedelta(seconds=30)
    with store.session_factory() as session:
        assert latest_is_exact(session, COUNTY, ten + dt.timedelta(minutes=1))
        assert not latest_is_exact(session, COUNTY, ten)
    assert rollup(store) == raw_months(store)


def test_one_monthly_statistics_call_reads_the_visits_once(demo_store, small_demo) -> None:
    """The statistics and their compliance table share one count per grid, from the rollup's
    per-grid counts, and the totals agree with the raw visits of the month."""
    now = small_demo.now
    month = parse_month(now.astimezone(LOCAL_TZ).strftime("%Y-%m"))
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(demo_store.engine, "before_cursor_execute", record)
    try:
        stats = compute_statistics(
            demo_store.session_factory, actor=OPERATOR, area_code=small_demo.county.county_code, period=month, now=now
        )
    finally:
        event.remove(demo_store.engine, "before_cursor_execute", record)
    assert sum("patrol_visit_month_grids" in s for s in statements) == 1  # a row per grid, counted once
    assert not any("FROM patrol_visits" in s or "FROM patrol_visit_months" in s for s in statements)
    raw = pd.DataFrame(sorted(raw_months(demo_store)), columns=["county", "month", "household", "grid"])
    in_month = raw[raw["month"] == month.first_day]
    assert stats.figures["visited"] == len(in_month) > 0


def test_sixteen_simultaneous_fixes_imports_keep_every_visit_and_the_rollups_exact(store, tmp_path) -> None:
    """Sixteen workers' days imported at once (the same households, grids and month): every
    worker's visits land, no import fails, and the rollups equal the visits afterwards."""
    seed_areas(store)
    homes = [household("H-a", 115.0040, 37.0052), household("H-b", 115.0150, 37.0050)]
    run(store, "households", write_csv(tmp_path / "h.csv", homes))
    workers = [f"W{i:02d}" for i in range(WRITERS)]
    run(store, "workers", write_csv(tmp_path / "w.csv", [worker(w, GRID_A) for w in workers]))
    files = [write_csv(tmp_path / f"{w}.csv", _walk(w, "2026-11-20", 37.0050)) for w in workers]
    outcomes = at_once(WRITERS, lambda i: run(store, "fixes", files[i]))
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    with store.session_factory() as session:
        visitors = session.execute(select(PatrolVisit.worker_id, PatrolVisit.household_id)).all()
    assert sorted(visitors) == sorted((w, h) for w in workers for h in ("H-a", "H-b"))
    november = dt.date(2026, 11, 1)
    assert rollup(store) == raw_months(store) == {(COUNTY, november, "H-a", GRID_A), (COUNTY, november, "H-b", GRID_B)}


def test_an_import_written_in_parts_keeps_every_visit_and_the_rollups_exact(store, tmp_path, monkeypatch) -> None:
    """Each part of workers is written while the next is computed: parts of one worker each
    here.  The visits, day summaries and rollups are those of the whole import."""
    from services.exchange.imports import history

    seed_areas(store)
    homes = [household("H-a", 115.0040, 37.0052), household("H-b", 115.0150, 37.0050)]
    run(store, "households", write_csv(tmp_path / "h.csv", homes))
    workers = ["W1", "W2", "W3"]
    run(store, "workers", write_csv(tmp_path / "w.csv", [worker(w, GRID_A) for w in workers]))
    written: list[list[str]] = []
    write_part = history._write_part

    def record(connection, county, results):
        written.append(sorted(set(results.days["worker_id"])))
        return write_part(connection, county, results)

    monkeypatch.setattr(history, "PART_FIXES", 30)  # fewer than a worker's 41 fixes
    monkeypatch.setattr(history, "_write_part", record)
    walks = [fix for w in workers for fix in _walk(w, "2026-11-20", 37.0050)]
    counts = run(store, "fixes", write_csv(tmp_path / "all.csv", walks)).written
    assert written == [[w] for w in workers]
    assert counts["visits"] == 6 and counts["patrol_days"] == 3
    with store.session_factory() as session:
        visitors = session.execute(select(PatrolVisit.worker_id, PatrolVisit.household_id)).all()
    assert sorted(visitors) == sorted((w, h) for w in workers for h in ("H-a", "H-b"))
    november = dt.date(2026, 11, 1)
    assert rollup(store) == raw_months(store) == {(COUNTY, november, "H-a", GRID_A), (COUNTY, november, "H-b", GRID_B)}


def test_a_households_last_visit_day_by_the_rollup_and_before_its_end_by_the_visits(store) -> None:
    """The household card's last visit: from the household's latest visit while no visit ends
    after T, else from its visits in every grid it was visited in (it moved from A to B)."""
    seed_areas(store)
    first, second = dt.datetime(2026, 11, 19, 9, tzinfo=SHANGHAI), dt.datetime(2026, 11, 20, 9, tzinfo=SHANGHAI)
    with store.session_factory.begin() as session:
        session.add_all(
            [_visit_at("H1", GRID_A, first), _visit_at("H1", GRID_B, second), _visit_at("H2", GRID_A, first)]
        )
    moments = {
        second + dt.timedelta(hours=1): second.date(),  # after every end: the rollup decides
        second - dt.timedelta(hours=1): first.date(),  # before the kept end: the visits, in grids A and B
        first - dt.timedelta(hours=1): None,
    }
    with store.session_factory() as session:
        assert latest_is_exact(session, COUNTY, second + dt.timedelta(hours=1))
        assert not latest_is_exact(session, COUNTY, second - dt.timedelta(hours=1))
        found = {at: last_visit_day(session, COUNTY, "H1", at) for at in moments}
        never = last_visit_day(session, COUNTY, "H-none", second + dt.timedelta(hours=1))
    assert found == moments and never is None
    with store.session_factory.begin() as session:  # H1's visit in B taken away: read in A again
        session.delete(session.get(PatrolVisit, (COUNTY, "W1", second.date(), "H1")))
    with store.session_factory() as session:
        assert last_visit_day(session, COUNTY, "H1", second + dt.timedelta(hours=1)) == first.date()
    assert rollup(store) == raw_months(store)


def test_the_worker_day_key_migration_goes_down_and_up_on_a_filled_database(store) -> None:
    nine, ten = _visits_at_nine_and_ten(store)
    before = raw_months(store)
    config = alembic_config(store.engine)
    command.downgrade(config, "0022")
    command.upgrade(config, "head")
    with store.session_factory() as session:
        keyed = session.get(PatrolVisit, (COUNTY, "W1", ten.date(), "H2"))
        assert keyed is not None and keyed.last_end == ten + dt.timedelta(seconds=30)
    assert rollup(store) == raw_months(store) == before
