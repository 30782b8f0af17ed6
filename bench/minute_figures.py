"""Benchmark of the per-minute figures (issue 18) on the county demo, SQLite and PostGIS in one
run: what the map and the wall screen read every minute — the figures of every grid
(`compute_grid_figures`) and of the county (`compute_area_figures`) over the 7 days to a live
minute — and, side by side, the 7-day visited count per grid by today's rollup
(patrol_visit_latest) and by the scan of a week's worker-day visits it replaces, and the
households per grid counted against kept under their version token (`services.store.versions`).
`python -m bench.minute_figures`; results in bench/results/minute-figures-county.json."""

from __future__ import annotations

import datetime as dt
from functools import partial

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bench.foundation import NOW, run_on_county_demo, timed
from services.access.actor import Actor
from services.cli.bootstrap import Store
from services.figures.area_figures import compute_area_figures, compute_grid_figures
from services.patrol.coverage import (
    count_county_households_per_grid,
    county_households_per_grid,
    instant_visited_rows,
    latest_is_exact,
    latest_visited_rows,
)

ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))
COUNTY = "130532"
LIVE = NOW + dt.timedelta(minutes=1)  # a minute after the demo's last fix, as the live map reads
DAYS = 7


def measure(engine_name: str, store: Store) -> dict:
    factory = store.session_factory
    result: dict[str, object] = {"engine": engine_name}
    with factory() as session:
        result["rollup_exact"] = latest_is_exact(session, COUNTY, LIVE)
    grid_s, grids = timed(
        partial(compute_grid_figures, factory, actor=ACTOR, area_code=COUNTY, at=LIVE, days=DAYS, special_tags=()),
        repeat=5,
    )
    area_s, area = timed(
        partial(compute_area_figures, factory, actor=ACTOR, area_code=COUNTY, at=LIVE, days=DAYS), repeat=5
    )
    result.update(grid_figures_s=round(grid_s, 3), county_figures_s=round(area_s, 3), visited=area.visited)
    seconds: dict[str, float] = {}
    for label, rows in (("rollup", latest_visited_rows), ("visit_scan", instant_visited_rows)):
        pairs = rows(ACTOR.scope, COUNTY, LIVE, DAYS)
        query = select(pairs.c.grid_code, func.count()).group_by(pairs.c.grid_code)
        with factory() as session:
            seconds[label], counted = timed(partial(_rows, session, query), repeat=5)
        result[f"visited_per_grid_{label}_s"] = round(seconds[label], 3)
        result[f"visited_{label}"] = sum(n for _, n in counted)
    result["visit_scan_over_rollup"] = round(seconds["visit_scan"] / seconds["rollup"], 1)
    # The households per grid, all and special, counted (as before the version tokens) and as kept.
    tags = ACTOR.clearance.highlighted_tags()
    with factory() as session:
        counted_s, _ = timed(
            lambda: (
                count_county_households_per_grid(session, COUNTY, ()),
                count_county_households_per_grid(session, COUNTY, tags),
            ),
            5,
        )
        kept_s, _ = timed(
            lambda: (county_households_per_grid(session, COUNTY), county_households_per_grid(session, COUNTY, tags)), 5
        )
    result.update(household_counts_counted_s=round(counted_s, 3), household_counts_kept_s=round(kept_s, 4))
    assert int(grids["visited"].sum()) == result["visited_rollup"] == result["visited_visit_scan"] == area.visited
    return result


def _rows(session: Session, query: Select) -> list:
    return list(session.execute(query).all())


def main() -> None:
    run_on_county_demo("minute-figures-county", measure)


if __name__ == "__main__":
    main()
