"""Benchmark of patrol supervision (issue 6) at the county scale, SQLite and PostGIS in one run:
fixes import throughput of a county day (cleaning, tracks, visits, day summaries and rollups included; its traced peak memory too), one worker's day
with its visited households, 7-day coverage of the whole county, and a worker-day fixes query
with 1 and with 30 days of fixes loaded (does it stay flat as months accumulate?).
`python -m bench.patrols`; results in bench/results/patrols-county.json."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import tracemalloc
from functools import partial
from pathlib import Path

import pandas as pd
from sqlalchemy import select, text

from bench.foundation import NOW, RESULTS, timed
from devtools.pgcluster import throwaway_postgis
from services.access.actor import Actor
from services.cli.bootstrap import Store, open_store
from services.cli.demo import DemoCounty, generate_demo
from services.cli.demo.load import load_demo
from services.domain import LOCAL_TZ
from services.exchange.imports.service import ImportSummary, import_file
from services.figures.area_figures import compute_area_figures
from services.patrol.supervision import load_worker_day
from services.settings import Settings
from services.store.bulk import insert_frame
from services.store.fix_partitions import ensure_day_partitions, local_days_between
from services.store.models import PatrolDay, PatrolFix, table_of

ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))


def worker_days(store: Store, count: int) -> list[tuple[str, dt.date]]:
    with store.session_factory() as session:
        rows = session.execute(
            select(PatrolDay.worker_id, PatrolDay.day).order_by(PatrolDay.visited.desc()).limit(count)
        ).all()
    return [(r.worker_id, r.day) for r in rows]


def day_query_seconds(store: Store, worker_id: str, day: dt.date) -> float:
    start = dt.datetime.combine(day, dt.time(), LOCAL_TZ)
    query = select(PatrolFix.ts, PatrolFix.lon, PatrolFix.lat).where(
        PatrolFix.county_code == "130532",
        PatrolFix.worker_id == worker_id,
        PatrolFix.ts >= start,
        PatrolFix.ts < start + dt.timedelta(days=1),
    )
    with store.session_factory() as session:
        seconds, _ = timed(lambda: session.execute(query).all(), repeat=15)
    return seconds


def add_older_days(store: Store, fixes: pd.DataFrame, days: int) -> int:
    """Copies of the demo's fixes shifted back week by week, until `days` days are loaded: in their
    days' partitions on PostgreSQL, as `maintain` keeps a running store (in the default partition,
    every later partition made would first scan them all)."""
    copies = []
    for week in range(1, days // 7 + 1):
        copies.append(fixes.assign(ts=fixes["ts"] - pd.Timedelta(days=7 * week)))
    older = pd.concat(copies, ignore_index=True)
    with store.engine.begin() as connection:
        ensure_day_partitions(connection, local_days_between(older["ts"].min(), older["ts"].max()))
    with store.engine.begin() as connection:
        written = insert_frame(connection, table_of(PatrolFix), older)
        connection.execute(text("ANALYZE patrol_fixes" if store.engine.dialect.name == "postgresql" else "ANALYZE"))
    return written


def import_day(store: Store, fixes: pd.DataFrame, shift_days: int) -> tuple[float, ImportSummary]:
    shifted = fixes.assign(ts=fixes["ts"] + pd.Timedelta(days=shift_days))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fixes.csv"
        shifted.assign(ts=shifted["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S%z"))[
            ["worker_id", "ts", "lon", "lat", "accuracy_m"]
        ].to_csv(path, index=False)
        return timed(
            lambda: import_file(
                store.session_factory, kind="fixes", path=path, filename=path.name, crs="wgs84", actor=ACTOR, now=NOW
            )
        )


def measure(engine_name: str, store: Store, demo: DemoCounty) -> dict:
    result: dict[str, object] = {"engine": engine_name}
    samples = worker_days(store, 15)
    day_s = [
        timed(partial(load_worker_day, store.session_factory, actor=ACTOR, worker_id=w, day=d))[0] for w, d in samples
    ]
    result["worker_day_ms_median"] = round(pd.Series(day_s).median() * 1000)
    result["worker_day_ms_max"] = round(max(day_s) * 1000)
    coverage_s, figures = timed(
        lambda: compute_area_figures(store.session_factory, actor=ACTOR, area_code="130532", at=NOW, days=7), repeat=3
    )
    result["county_coverage_7d_s"] = round(coverage_s, 2)
    result["county_coverage_7d"] = round(figures.coverage or 0, 4)
    worker, day = samples[0]
    result["day_query_ms_7_days_loaded"] = round(day_query_seconds(store, worker, day) * 1000, 2)
    fixes = demo.tables["patrol_fixes"]
    result["fixes_loaded_before"] = len(fixes)
    result["fixes_added_for_35_days"] = add_older_days(
        store, fixes[["county_code", "worker_id", "ts", "lon", "lat", "accuracy_m"]], 28
    )
    result["day_query_ms_35_days_loaded"] = round(day_query_seconds(store, worker, day) * 1000, 2)
    # Import: the county's last whole day of fixes (the latest is cut at NOW), every worker, moved
    # to days not yet loaded; the second import's peak memory is traced (tracemalloc slows it, so
    # it is not the timed one).
    local_day = fixes["ts"].dt.tz_convert(LOCAL_TZ).dt.date
    one_day = fixes[local_day == local_day.max() - dt.timedelta(days=1)]
    import_s, summary = import_day(store, one_day, shift_days=2)
    result["import_fixes"] = len(one_day)
    result["import_workers"] = one_day["worker_id"].nunique()
    result["import_s"] = round(import_s, 1)
    result["import_fixes_per_s"] = round(len(one_day) / import_s)
    result["import_dropped"] = summary.dropped
    tracemalloc.start()
    import_day(store, one_day, shift_days=3)
    result["import_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20)
    tracemalloc.stop()
    # The first day's file again, as an operator re-sends it: every fix unchanged, and every
    # worker-day's stored visits and summary replaced by a recomputation.
    reimport_s, summary = import_day(store, one_day, shift_days=2)
    result["reimport_s"] = round(reimport_s, 1)
    result["reimport_written"] = summary.written
    return result


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    demo = generate_demo("county", seed=7, now=NOW)
    results = []
    sqlite_path = RESULTS / "patrols-county.db"
    for stale in sqlite_path.parent.glob(sqlite_path.name + "*"):
        stale.unlink()
    sqlite_store = open_store(Settings.from_env({"DATABASE_URL": f"sqlite:///{sqlite_path}"}))
    load_demo(sqlite_store.engine, demo)
    results.append(measure("sqlite", sqlite_store, demo))
    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    with throwaway_postgis() as url:
        pg_store = open_store(Settings.from_env({"DATABASE_URL": url}))
        load_demo(pg_store.engine, demo)
        results.append(measure("postgis", pg_store, demo))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
        pg_store.engine.dispose()
    (RESULTS / "patrols-county.json").write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
