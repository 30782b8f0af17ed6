"""Benchmark of the statistics read model and the 月报 (issue 15) on the county demo, SQLite and
PostGIS in one run: server time of `compute_statistics` for the county over a calendar month (the
last whole month, and the running one) and a township's week, `build_report`, the assessment
sheet the files add, and the XLSX/PDF times and sizes.  `python -m bench.statistics`; results in bench/results/statistics-county.json."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

from bench.foundation import NOW, run_on_county_demo, timed
from services.access.actor import Actor
from services.cli.bootstrap import Store
from services.exchange.report_files import write_report
from services.figures.periods import parse_month, parse_week
from services.figures.report_build import build_report
from services.figures.report_sheets import complete_report
from services.figures.statistics import compute_statistics

ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))
CASES = (("county_month", "130532", "2026-10"), ("county_running_month", "130532", "2026-11"))


def measure(engine_name: str, store: Store) -> dict:
    result: dict[str, object] = {"engine": engine_name}
    factory = store.session_factory
    for label, area, month in CASES:
        period = parse_month(month)
        seconds, stats = timed(
            partial(compute_statistics, factory, actor=ACTOR, area_code=area, period=period, now=NOW), repeat=5
        )
        result[f"{label}_s"] = round(seconds, 3)
        result[f"{label}_reports"] = stats.figures["reports"]
    township = "130532101"
    seconds, _ = timed(
        lambda: compute_statistics(factory, actor=ACTOR, area_code=township, period=parse_week("2026-W47"), now=NOW),
        repeat=5,
    )
    result["township_week_s"] = round(seconds, 3)
    build_s, shown = timed(lambda: build_report(stats), repeat=5)
    result["build_report_s"] = round(build_s, 3)
    # What a download or an issue adds to the shown month: the 网格员月度考核 sheet.
    sheet_s, report = timed(partial(complete_report, factory, actor=ACTOR, report=shown), repeat=3)
    result["assessment_sheet_s"] = round(sheet_s, 3)
    with tempfile.TemporaryDirectory() as folder:
        for suffix in ("xlsx", "pdf"):
            path = Path(folder) / f"report.{suffix}"
            seconds, _ = timed(partial(write_report, report, path))
            result[f"{suffix}_s"] = round(seconds, 2)
            result[f"{suffix}_bytes"] = path.stat().st_size
    return result


def main() -> None:
    run_on_county_demo("statistics-county", measure)


if __name__ == "__main__":
    main()
