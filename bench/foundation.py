"""Benchmark of the foundation (issue 2) at a given scale, on SQLite and on PostGIS, in one run:
time to generate the demo, time to load it, `kpi` time for the county and for one grid, and the
database size.  `python -m bench.foundation --scale county` (default); results as JSON lines on
stdout and in bench/results/foundation-<scale>.json."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, text

from devtools.pgcluster import throwaway_postgis
from services.access.actor import Actor
from services.cli.bootstrap import Store, open_store
from services.cli.demo import DemoCounty, generate_demo
from services.cli.demo.load import load_demo
from services.domain import LOCAL_TZ
from services.figures.area_figures import compute_area_figures
from services.settings import Settings
from services.store.engine import make_engine, make_session_factory
from services.store.migrate import upgrade_schema

RESULTS = Path(__file__).resolve().parent / "results"
NOW = dt.datetime(2026, 11, 23, 14, 0, tzinfo=LOCAL_TZ)
T = TypeVar("T")


def timed(function: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def database_bytes(engine: Engine, sqlite_path: Path | None) -> int:
    if sqlite_path is not None:
        return sum(p.stat().st_size for p in sqlite_path.parent.glob(sqlite_path.name + "*"))
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def settle(engine: Engine) -> None:
    """Statistics for the planners, and on PostgreSQL the visibility map autovacuum keeps in a
    running database (index-only scans read the heap of a table loaded a moment ago)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        return
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def run_on_county_demo(name: str, measure_store: Callable[[str, Store], dict]) -> list[dict]:
    """`measure_store` on the county demo in a SQLite file and in a throwaway PostGIS, side by side
    in one run (the same generated rows in both, settled as a running database is); each engine's result is
    printed as it comes and all are kept in bench/results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    demo = generate_demo("county", seed=7, now=NOW)
    sqlite_path = RESULTS / f"{name}.db"
    results = []
    try:
        for engine_name, url in (("sqlite", f"sqlite:///{sqlite_path}"), ("postgis", None)):
            for stale in sqlite_path.parent.glob(sqlite_path.name + "*"):
                stale.unlink()
            with contextlib.ExitStack() as stack:
                url = url or stack.enter_context(throwaway_postgis())
                store = open_store(Settings.from_env({"DATABASE_URL": url}))
                stack.callback(store.engine.dispose)
                load_demo(store.engine, demo)
                settle(store.engine)
                results.append(measure_store(engine_name, store))
                print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    finally:
        for stale in sqlite_path.parent.glob(sqlite_path.name + "*"):
            stale.unlink()
    (RESULTS / f"{name}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return results


def run_from_command_line(name: str, measure_store: Callable[[str, Store], dict]) -> None:
    """`python -m bench.<name>`: `measure_store` on the county demo on both engines
    (`run_on_county_demo`), or with `--database URL` on that database alone (no demo made)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="", help="measure this database only (no county demo made)")
    args = parser.parse_args()
    if not args.database:
        run_on_county_demo(name, measure_store)
        return
    store = open_store(Settings.from_env({"DATABASE_URL": args.database}))
    print(json.dumps(measure_store(store.engine.dialect.name, store), ensure_ascii=False, indent=1))
    store.engine.dispose()


def measure(engine_name: str, url: str, demo: DemoCounty, sqlite_path: Path | None) -> dict:
    engine = make_engine(url)
    upgrade_schema(engine)
    load_s, written = timed(lambda: load_demo(engine, demo))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    factory = make_session_factory(engine)
    actor = Actor("bench", "基准测试", "county_operator", demo.county_code, (demo.county_code,))
    grid = demo.tables["areas"].query("level == 'grid'")["code"].iloc[0]
    kpi = {}
    for label, area in (("county", demo.county_code), ("grid", grid)):
        for days in (7, 30):
            seconds, _ = timed(
                partial(compute_area_figures, factory, actor=actor, area_code=area, at=NOW, days=days),
                repeat=3,
            )
            kpi[f"kpi_{label}_{days}d_s"] = round(seconds, 3)
    result = {
        "engine": engine_name,
        "load_s": round(load_s, 1),
        "rows": sum(written.values()),
        "rows_per_s": round(sum(written.values()) / load_s),
        **kpi,
        "database_mb": round(database_bytes(engine, sqlite_path) / 2**20, 1),
    }
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="county", choices=("small", "county"))
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    generate_s, demo = timed(lambda: generate_demo(args.scale, seed=7, now=NOW))
    results = [
        {
            "step": "generate",
            "scale": args.scale,
            "seconds": round(generate_s, 1),
            "rows": {name: len(frame) for name, frame in demo.tables.items()},
        }
    ]
    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    sqlite_path = RESULTS / f"bench-{args.scale}.db"
    for stale in sqlite_path.parent.glob(sqlite_path.name + "*"):
        stale.unlink()
    results.append(measure("sqlite", f"sqlite:///{sqlite_path}", demo, sqlite_path))
    print(json.dumps(results[-1]), flush=True)
    with throwaway_postgis() as url:
        results.append(measure("postgis", url, demo, None))
    print(json.dumps(results[-1]), flush=True)
    (RESULTS / f"foundation-{args.scale}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    for stale in sqlite_path.parent.glob(sqlite_path.name + "*"):
        stale.unlink()


if __name__ == "__main__":
    main()
