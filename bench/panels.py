"""Server time of the map page's side panels (issue 18: ≤ 0.3 s each) on the county demo, SQLite
and PostGIS side by side: a grid's panel (its busiest grid), a household's card, a worker's card,
and an open case's panel (detail, possible duplicates, dispatch suggestions among 1,500 workers).
Each the median of 5 calls after a first.  `python -m bench.panels [--database URL]`; results in
bench/results/panels-county.json."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from sqlalchemy import func, select

from bench.foundation import NOW, run_from_command_line
from services.access.actor import Actor
from services.cases.detail import load_incident_detail
from services.cases.dispatch import find_possible_duplicates, suggest_workers
from services.cli.bootstrap import Store
from services.mapping.panels import load_grid_panel, load_household_card, load_worker_card
from services.store.models import Household, Incident, WorkerGrid

ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))
REPEAT = 5


def median_s(call: Callable[[], object]) -> float:
    call()
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def measure_store(engine_name: str, store: Store) -> dict:
    factory = store.session_factory
    with factory() as session:
        grid = session.execute(
            select(Household.grid_code).group_by(Household.grid_code).order_by(func.count().desc()).limit(1)
        ).scalar_one()
        household = session.scalars(select(Household.household_id).where(Household.grid_code == grid).limit(1)).one()
        worker = session.scalars(select(WorkerGrid.worker_id).where(WorkerGrid.grid_code == grid).limit(1)).one()
        incident = session.scalars(
            select(Incident.incident_id).where(Incident.state == "registered").order_by(Incident.reported_at).limit(1)
        ).one()

    def case_panel() -> None:
        load_incident_detail(factory, actor=ACTOR, incident_id=incident, at=NOW)
        find_possible_duplicates(factory, actor=ACTOR, incident_id=incident, at=NOW)
        suggest_workers(factory, actor=ACTOR, incident_id=incident)

    return {
        "engine": engine_name,
        "grid_panel_s": median_s(lambda: load_grid_panel(factory, actor=ACTOR, grid_code=grid, at=NOW)),
        "household_card_s": median_s(lambda: load_household_card(factory, actor=ACTOR, household_id=household, at=NOW)),
        "worker_card_s": median_s(lambda: load_worker_card(factory, actor=ACTOR, worker_id=worker, at=NOW)),
        "case_panel_s": median_s(case_panel),
    }


def main() -> None:
    run_from_command_line("panels-county", measure_store)


if __name__ == "__main__":
    main()
