"""Benchmark of the 网格员月度考核 (issue 16) on the county demo (1,500 workers), SQLite and
PostGIS in one run: server time of `compute_assessment` for the county's last whole month and the
running one, a township's month, and the month's 问题回溯 candidates.  `python -m bench.assessment`;
results in bench/results/assessment-county.json."""

from __future__ import annotations

import datetime as dt
from functools import partial

from bench.foundation import NOW, run_on_county_demo, timed
from services.access.actor import Actor
from services.cli.bootstrap import Store
from services.patrol.assessment import compute_assessment
from services.patrol.misses import find_miss_candidates

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
    run_on_county_demo("assessment-county", measure)


if __name__ == "__main__":
    main()
