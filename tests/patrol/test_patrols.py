"""A worker's day and the monthly compliance table, on both stores, from fixes imported through
the real pipeline (cleaning, tracks, visits, day summaries)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.patrol.supervision import compute_compliance, load_worker_day, patrol_days_of
from services.store.models import PatrolLog
from tests.exchange.test_import import household, run, worker, write_csv
from tests.factories import COUNTY, GRID_A, GRID_B, OPERATOR, SHANGHAI, T, incident, seed_areas

DAY = dt.date(2026, 11, 20)
METRES_PER_DEG_LON = 88_800  # at 37°N


@pytest.fixture
def patrolled(store, tmp_path):
    """W1 (grid A) walks east along 37.005 from 09:00 to 09:20 at ~1.2 m/s (fixes every ~30 s,
    jittering as phones do), stands at the end for six minutes; the fixes go through the import."""
    seed_areas(store)
    homes = [
        household("H-near", 115.0040, 37.0052, tags="留守儿童"),  # ~22 m from the route
        household("H-far-old", 115.0040, 37.0090, tags="残疾人|独居老人"),  # 440 m north: not visited
        household("H-far-poor", 115.0060, 37.0095, tags="低保户"),
        household("H-plain", 115.0045, 37.0090, tags=""),
        household("H-east", 115.0150, 37.0050, tags="独居老人"),  # on the route, but in grid B
    ]
    run(store, "households", write_csv(tmp_path / "h.csv", homes))
    run(store, "workers", write_csv(tmp_path / "w.csv", [worker("W1", GRID_A), worker("W2", GRID_B)]))
    fixes = [
        dict(
            worker_id="W1",
            ts=f"2026-11-20 09:{m // 2:02d}:{30 * (m % 2) + (m * 7) % 11:02d}",
            lon=115.0010 + m * 0.0004,
            lat=37.0050,
            accuracy_m=6,
        )
        for m in range(41)
    ]
    fixes += [
        dict(
            worker_id="W1",
            ts=f"2026-11-20 09:{20 + m // 2:02d}:{30 * (m % 2) + 3:02d}",
            lon=115.0170 - 0.0007 + (m % 3) * 0.00003,
            lat=37.0050,
            accuracy_m=6,
        )
        for m in range(1, 13)
    ]
    run(store, "fixes", write_csv(tmp_path / "f.csv", fixes))
    return store


def test_a_workers_day_shows_the_route_stop_households_reached_and_those_still_waiting(patrolled) -> None:
    day = load_worker_day(patrolled.session_factory, actor=OPERATOR, worker_id="W1", day=DAY)
    assert patrol_days_of(patrolled.session_factory, actor=OPERATOR, worker_id="W1") == [DAY]
    assert len(day.track) == 53 and day.track["line"].nunique() == 1
    assert day.distance_m == pytest.approx(40 * 0.0004 * METRES_PER_DEG_LON + 63, rel=0.05)
    assert len(day.stops) == 1 and day.stops.iloc[0]["minutes"] >= 3
    assert day.visited["household_id"].tolist() == ["H-near", "H-east"]
    assert day.waiting["household_id"].tolist() == ["H-far-old", "H-far-poor"]  # 独居老人 first; H-east is grid B's
    assert day.waiting.iloc[0]["tags"] == "独居老人、残疾人" and day.waiting.iloc[0]["head_name"] == "张**"
    assert day.flags == ()  # 44% of the distance in grid B: not "mostly outside"
    assert day.coverage_7d == pytest.approx(1 / 4)


def test_the_drawn_track_breaks_into_lines_where_a_gap_exceeds_the_track_gap(patrolled, tmp_path) -> None:
    afternoon = [
        dict(worker_id="W1", ts=f"2026-11-20 {t}", lon=115.0010 + k * 0.0004, lat=37.0050, accuracy_m=6)
        for k, t in enumerate(["15:00:00", "15:05:00", "15:10:01", "15:10:31"])
    ]
    run(patrolled, "fixes", write_csv(tmp_path / "f2.csv", afternoon))
    day = load_worker_day(patrolled.session_factory, actor=OPERATOR, worker_id="W1", day=DAY)
    # morning; 15:00–15:05 (exactly the gap: joined); 15:10:01 onwards (5 min 1 s later)
    assert day.track["line"].nunique() == 3


def test_compliance_counts_logs_reports_days_and_flags_against_the_targets(patrolled) -> None:
    logged = dt.datetime(2026, 11, 3, 17, 0, tzinfo=SHANGHAI)
    with patrolled.session_factory.begin() as session:
        session.add_all(
            PatrolLog(
                county_code=COUNTY,
                worker_id="W2",
                logged_at=logged + dt.timedelta(days=d),
                grid_code=GRID_B,
                text="巡查",
                households_visited=3,
            )
            for d in range(21)
        )
        session.add_all(
            incident(f"R{i}", GRID_B, channel="patrol", reporter="W2", reported_at=logged + dt.timedelta(days=i))
            for i in range(7)
        )
        session.add(incident("R-bad", GRID_B, channel="patrol", reporter="W2", reported_at=logged, rejected_at=logged))
        session.add(
            incident("R-oct", GRID_B, channel="patrol", reporter="W2", reported_at=logged - dt.timedelta(days=10))
        )
    table = compute_compliance(
        patrolled.session_factory, actor=OPERATOR, area_code=COUNTY, month=dt.date(2026, 11, 1), now=T
    ).set_index("worker_id")
    assert table.loc["W2", ["logs", "valid_reports", "patrol_days"]].tolist() == [21, 7, 0]
    assert not table.loc["W2", "below_target"]
    assert table.loc["W1", ["logs", "valid_reports", "patrol_days", "flagged_days"]].tolist() == [0, 0, 1, 0]
    assert table.loc["W1", "below_target"] and table.loc["W1", "distance_km"] == pytest.approx(1.5, abs=0.1)
    assert table.loc["W1", "coverage"] == pytest.approx(1 / 4)
    assert table.index.tolist()[0] == "W1"  # who falls short comes first
    assert compute_compliance(
        patrolled.session_factory, actor=OPERATOR, area_code=GRID_B, month=dt.date(2026, 11, 1), now=T
    ).worker_id.tolist() == ["W2"]
