"""Benchmark of the 网格员月度考核 (issue 16) on the county demo (1,500 workers), SQLite and
PostGIS in one run: server time of `compute_assessment` for the county's last whole month and the
running one, a township's month, and the month's 问题回溯 candidates.  `python -m bench.assessment`;
results in bench/results/assessment-county.json."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial

from bench.foundation import NOW, RESULTS, timed
from devtools.pgcluster import throwaway_postgis
from services.access.actor import Actor
from services.cli.bootstrap import Store, open_store
from services.cli.demo import generate_demo
from services.cli.demo.load import load_demo
from services.patrol.assessment import compute_assessment
from services.patrol.misses import find_miss_candidates
from services.settings import Settings

ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))
MONTHS = (("county_month", "130532", dt.date(2026, 10, 1)), ("county_running_month", "130532", dt.date(2026, 11, 1)))


def measure(engine_name: str, store: Store) -> dict:
    result: dict[str, object] = {"engine": engine_name}
    factory = store.session_factory
    for label, area, month in MONTHS:
        seconds, assessment = timed(
            partial(compute_assessment, factory, actor=ACTOR, area_code=area, month=month, now=NOW), repeat=3
        )
        result[f"{label}_s"] = round(seconds, 3)
        result[f"{label}_workers"] = len(assessment.scores)
        result[f"{label}_evidence_rows"] = len(assessment.evidence)
    seconds, _ = timed(
        partial(compute_assessment, factory, actor=ACTOR, area_code="130532101", month=MONTHS[0][2], now=NOW),
        repeat=3,
    )
    result["township_month_s"] = round(seconds, 3)
    seconds, candidates = timed(
        partial(find_miss_candidates, factory, actor=ACTOR, area_code="130532", month=MONTHS[0][2], now=NOW),
        repeat=3,
    )
    result["county_miss_candidates_s"] = round(seconds, 3)
    result["county_miss_candidates"] = len(candidates)
    return result


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    demo = generate_demo("county", seed=7, now=NOW)
    results = []
    sqlite_path = RESULTS / "assessment-county.db"
    for stale in sqlite_path.parent.glob(sqlite_path.name + "*"):
        stale.unlink()
    sqlite_store = open_store(Settings.from_env({"DATABASE_URL": f"sqlite:///{sqlite_path}"}))
    load_demo(sqlite_store.engine, demo)
    results.append(measure("sqlite", sqlite_store))
    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    sqlite_store.engine.dispose()
    with throwaway_postgis() as url:
        pg_store = open_store(Settings.from_env({"DATABASE_URL": url}))
        load_demo(pg_store.engine, demo)
        results.append(measure("postgis", pg_store))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
        pg_store.engine.dispose()
    (RESULTS / "assessment-county.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    for stale in sqlite_path.parent.glob(sqlite_path.name + "*"):
        stale.unlink()


if __name__ == "__main__":
    main()
