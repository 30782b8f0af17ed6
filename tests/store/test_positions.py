"""Workers' last known positions (dispatch suggestions and the wall screen read them): each writer
of fixes moves them forward with a keyed update per worker, never back to an older fix, and the
result is the latest fix stored — what reading every fix back gives — on both engines, also with
16 writers at once."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from services.store.models import Worker
from services.store.positions import advance_last_positions, refresh_last_positions
from tests.exchange.test_import import run, worker, write_csv
from tests.factories import COUNTY, GRID_A, GRID_B, seed_areas
from tests.threads import run_together

AT = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


def positions(store) -> dict[str, tuple]:
    with store.session_factory() as session:
        rows = session.execute(
            select(Worker.worker_id, Worker.last_lon, Worker.last_lat, Worker.last_fix_at).where(
                Worker.county_code == COUNTY
            )
        ).all()
    return {r.worker_id: (r.last_lon, r.last_lat, r.last_fix_at) for r in rows}


def fixes_file(tmp_path, name: str, day: str, lon: float, workers: tuple[str, ...] = ("W1", "W2")):
    rows = [
        dict(worker_id=w, ts=f"{day} 09:{m:02d}:00", lon=lon + m * 0.0002 + n * 0.001, lat=37.005, accuracy_m=6)
        for n, w in enumerate(workers)
        for m in range(10)
    ]
    return write_csv(tmp_path / name, rows)


def test_imports_leave_each_worker_at_their_latest_stored_fix_and_never_move_them_back(store, tmp_path) -> None:
    seed_areas(store)
    run(
        store,
        "workers",
        write_csv(tmp_path / "w.csv", [worker("W1", GRID_A), worker("W2", GRID_B), worker("W3", GRID_B)]),
    )
    run(store, "fixes", fixes_file(tmp_path, "f1.csv", "2026-11-20", 115.001))
    after_first = positions(store)
    assert after_first["W1"][2] == dt.datetime(2026, 11, 20, 1, 9, tzinfo=dt.UTC)  # 09:09 in Shanghai
    assert after_first["W3"] == (None, None, None)
    run(store, "fixes", fixes_file(tmp_path, "f0.csv", "2026-11-19", 115.009))  # an older day, later
    assert positions(store) == after_first
    run(store, "fixes", fixes_file(tmp_path, "f2.csv", "2026-11-20", 115.004, ("W1",)))  # the same day moved
    moved = positions(store)
    assert moved["W1"][0] == pytest.approx(115.004 + 9 * 0.0002) and moved["W2"] == after_first["W2"]
    with store.engine.begin() as connection:
        refresh_last_positions(connection, COUNTY)
    assert positions(store) == moved


def test_sixteen_writers_at_once_leave_the_latest_fix_whatever_the_order(store) -> None:
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add(Worker(county_code=COUNTY, worker_id="W1", name="张", role="grid_worker"))
    minutes = [7, 3, 15, 0, 11, 9, 1, 14, 5, 12, 2, 8, 13, 4, 10, 6]

    def write(n: int) -> None:
        fix = pd.DataFrame(
            {"county_code": [COUNTY], "worker_id": ["W1"], "ts": [AT + dt.timedelta(minutes=minutes[n])]}
        ).assign(lon=115.0 + minutes[n] / 1000, lat=37.0)
        with store.engine.begin() as connection:
            advance_last_positions(connection, fix)

    assert run_together(write) == []
    assert positions(store)["W1"] == (0.015 + 115.0, 37.0, AT + dt.timedelta(minutes=15))
