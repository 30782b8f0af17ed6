"""Benchmark of simultaneous reports (issue 13) on the small demo county, SQLite and PostGIS in one
run: reports/s for one writer and for 16 threads released together, what taking an id costs
(the counter's upsert and the check that the id is free) beside the old `max + 1` read, and a
check that every report landed under its own id.
`python -m bench.concurrency`; results in bench/results/concurrency.json."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.foundation import NOW, RESULTS
from devtools.pgcluster import throwaway_postgis
from services.access.actor import Actor
from services.cases.workflow import _take_incident_id, report_incident
from services.cli.bootstrap import Store, create_demo, open_store
from services.domain import LOCAL_TZ
from services.settings import Settings
from services.store.models import Household, Incident

ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))
THREADS = 16
PER_THREAD = 25
ID_SAMPLES = 200


def homes(store: Store, count: int) -> list[tuple[float, float]]:
    with store.session_factory() as session:
        return [(lon, lat) for lon, lat in session.execute(select(Household.lon, Household.lat).limit(count))]


def report(store: Store, now: dt.datetime, point: tuple[float, float]) -> str:
    return report_incident(
        store.session_factory,
        actor=ACTOR,
        now=now,
        category="环境卫生",
        subcategory="垃圾堆放",
        severity="normal",
        lon=point[0],
        lat=point[1],
        description="基准测试：同时上报",
        channel="hotline",
    ).incident_id


def reports_per_s(store: Store, day: dt.datetime, threads: int, per_thread: int) -> tuple[float, list[str]]:
    """Reports of a day no report has used yet, by `threads` writers released together."""
    points = homes(store, threads * per_thread)
    barrier = threading.Barrier(threads + 1)
    ids: list[str] = []
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        barrier.wait()
        for n in range(per_thread):
            try:
                ids.append(report(store, day, points[(index * per_thread + n) % len(points)]))
            except Exception as error:  # noqa: BLE001 — counted and reported as a failure
                errors.append(error)

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} reports failed, e.g. {errors[0]!r}")
    return len(ids) / seconds, ids


def id_step_ms(store: Store, day: dt.date) -> dict[str, float]:
    """Median cost, inside a write transaction that is rolled back, of the counter's step against
    the `max + 1` read it replaced."""
    county = ACTOR.county_code
    prefix = f"SJ{day:%Y%m%d}"
    counter, old = [], []
    for _ in range(ID_SAMPLES):
        with store.session_factory.begin() as session:
            started = time.perf_counter()
            _take_incident_id(session, county, day)
            counter.append(time.perf_counter() - started)
            started = time.perf_counter()
            session.scalar(
                select(func.max(Incident.incident_id)).where(
                    Incident.county_code == county, Incident.incident_id.like(f"{prefix}%")
                )
            )
            old.append(time.perf_counter() - started)
            session.rollback()
    return {
        "counter_step_ms": round(statistics.median(counter) * 1000, 3),
        "max_plus_one_ms": round(statistics.median(old) * 1000, 3),
    }


def measure(engine_name: str, store: Store) -> dict:
    first, second = NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=2)  # days with no demo reports
    single, single_ids = reports_per_s(store, first, 1, THREADS * PER_THREAD // 4)
    parallel, parallel_ids = reports_per_s(store, second, THREADS, PER_THREAD)
    with store.session_factory() as session:
        stored = session.scalar(
            select(func.count()).where(Incident.incident_id.in_(parallel_ids), Incident.county_code == "130532")
        )
    return {
        "engine": engine_name,
        "reports_per_s_1_thread": round(single, 1),
        f"reports_per_s_{THREADS}_threads": round(parallel, 1),
        "reports_in_parallel": len(parallel_ids),
        "all_landed_distinct": stored == len(set(parallel_ids)) == THREADS * PER_THREAD and len(single_ids) > 0,
        **id_step_ms(store, second.astimezone(LOCAL_TZ).date()),
    }


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as folder:
        sqlite_store = open_store(Settings.from_env({"DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}"}))
        create_demo(sqlite_store, scale="small", seed=7, now=NOW)
        results.append(measure("sqlite", sqlite_store))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
        sqlite_store.engine.dispose()
    with throwaway_postgis() as url:
        pg_store = open_store(Settings.from_env({"DATABASE_URL": url}))
        create_demo(pg_store, scale="small", seed=7, now=NOW)
        results.append(measure("postgis", pg_store))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
        pg_store.engine.dispose()
    (RESULTS / "concurrency.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
