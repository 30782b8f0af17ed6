"""The fixes import keeps the county's household points between imports (one read of 300,000
households saved a day): households added or moved in between must be where the next import
looks, on both engines."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services.store.models import PatrolVisit
from tests.exchange.test_import import household, run, worker, write_csv
from tests.factories import COUNTY, GRID_A, seed_areas


def walk(tmp_path, day: str):
    """W1 walks east along 37.005 from 115.001 to 115.009, a fix every 30 s."""
    rows = [
        dict(worker_id="W1", ts=f"{day} 09:{m // 2:02d}:{30 * (m % 2):02d}", lon=115.001 + m * 0.0002, lat=37.005)
        | {"accuracy_m": 6}
        for m in range(41)
    ]
    return write_csv(tmp_path / f"fixes-{day}.csv", rows)


def visited(store, day: dt.date) -> set[str]:
    with store.session_factory() as session:
        return set(
            session.scalars(
                select(PatrolVisit.household_id).where(PatrolVisit.county_code == COUNTY, PatrolVisit.day == day)
            )
        )


def test_households_added_or_moved_between_fixes_imports_are_where_the_next_import_looks(store, tmp_path) -> None:
    seed_areas(store)
    run(store, "households", write_csv(tmp_path / "h1.csv", [household("H1", 115.004, 37.0052)]))
    run(store, "workers", write_csv(tmp_path / "w.csv", [worker("W1", GRID_A)]))
    run(store, "fixes", walk(tmp_path, "2026-11-19"))
    assert visited(store, dt.date(2026, 11, 19)) == {"H1"}
    moved_and_added = [household("H1", 115.004, 37.0090), household("H2", 115.006, 37.0049)]
    run(store, "households", write_csv(tmp_path / "h2.csv", moved_and_added))
    run(store, "fixes", walk(tmp_path, "2026-11-20"))
    assert visited(store, dt.date(2026, 11, 20)) == {"H2"}
    assert visited(store, dt.date(2026, 11, 19)) == {"H1"}  # the day before keeps what it was
