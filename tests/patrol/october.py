"""The hand-built October of the 网格员月度考核 tests (issue 16): two workers whose every point is
known, with awards and a confirmed 问题回溯 miss; `october` (tests/patrol/conftest.py) builds it."""

from __future__ import annotations

import datetime as dt

from services.cli.bootstrap import Store
from services.patrol.assessment import award_points
from services.patrol.misses import decide_miss, find_miss_candidates
from services.store.models import Household, IncidentEvent, PatrolDay, PatrolLog, PatrolVisit, Worker, WorkerGrid
from tests.factories import COUNTY, GRID_A, GRID_B, OPERATOR, SHANGHAI, TOWNSHIP, incident, make_actor, seed_areas

OCTOBER = dt.date(2026, 10, 1)
NOVEMBER = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)
LEADER = make_actor("township_leader", TOWNSHIP, username="leader", name="乡镇领导")
M_PER_DEG_LAT = 110_990  # at 37°N


def at(day: int, hour: int = 10, minute: int = 0, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def _event(incident_id: str, seq: int, action: str, when: dt.datetime) -> IncidentEvent:
    return IncidentEvent(
        county_code=COUNTY, incident_id=incident_id, seq=seq, at=when, actor="测试", action=action, to_state="x"
    )


def _visit(household_id: str, worker_id: str, grid: str, when: dt.datetime) -> PatrolVisit:
    return PatrolVisit(
        county_code=COUNTY,
        household_id=household_id,
        worker_id=worker_id,
        grid_code=grid,
        day=when.date(),
        first_start=when,
        first_end=when + dt.timedelta(minutes=1),
        last_start=when,
        last_end=when + dt.timedelta(minutes=1),
    )


def build_october(store: Store) -> Store:
    """W1 (grid A) and W2 (grid B) in October 2026.

    W1: 22 logs → 30; 8 valid + 2 invalid reports → 24 + 2 − 2 = 24; one case handled past its
    72 h limit and one own report judged 30 h after it was made → 20 − 2 − 1 = 17; one reopening
    and one 不满意 → 10 − 2 − 2 = 6; 3 of grid A's 4 households visited → 7.5; awarded 3 →
    87.5, 合格.  One suspicious day (shown, not scored).
    W2: 20 logs → 30; 6 valid → 24; 20; 10; both households of grid B visited → 10 = 94, but a
    confirmed miss → 89 and one grade down: 基本合格."""
    seed_areas(store)
    rows: list[object] = [
        Worker(county_code=COUNTY, worker_id=w, name=name, role="worker", on_duty=True)
        for w, name in (("W1", "张网格"), ("W2", "李网格"))
    ]
    rows += [WorkerGrid(county_code=COUNTY, worker_id="W1", grid_code=GRID_A)]
    rows += [WorkerGrid(county_code=COUNTY, worker_id="W2", grid_code=GRID_B)]
    rows += [
        Household(
            county_code=COUNTY,
            household_id=f"H{g}{i}",
            grid_code=grid,
            head_name="户主",
            address="测试村",
            members=2,
            lon=115.005 if g == "A" else 115.015,
            lat=37.005,
        )
        for g, grid, n in (("A", GRID_A, 4), ("B", GRID_B, 2))
        for i in range(n)
    ]
    rows += [_visit(f"HA{i}", "W1", GRID_A, at(3 + i)) for i in range(3)]
    rows += [_visit("HA3", "W1", GRID_A, at(30, month=9))]  # September: not October's coverage
    rows += [_visit(f"HB{i}", "W2", GRID_B, at(5 + i)) for i in range(2)]
    logs = [("W1", at(1 + d % 28, 9 + d // 28)) for d in range(22)] + [("W2", at(1 + d, 9)) for d in range(20)]
    logs += [("W1", at(1, 9, month=11)), ("W2", at(30, 23, month=9))]  # outside October
    rows += [PatrolLog(county_code=COUNTY, worker_id=w, logged_at=t, grid_code=GRID_A, text="巡查") for w, t in logs]
    reports = [
        incident(f"R1-{i}", channel="patrol", reporter="W1", reported_at=at(2 + i), validated_at=at(2 + i, 12))
        for i in range(8)
    ]
    reports[0].validated_at = at(3, 16)  # judged 30 h after the report: past the 24 h mark
    reports += [
        incident(f"X1-{i}", channel="patrol", reporter="W1", reported_at=at(12 + i), rejected_at=at(12 + i, 11))
        for i in range(2)
    ]
    reports += [
        incident(f"R2-{i}", GRID_B, channel="patrol", reporter="W2", reported_at=at(2 + i), validated_at=at(2 + i, 11))
        for i in range(6)
    ]
    reports += [incident("R1-nov", channel="patrol", reporter="W1", reported_at=at(2, month=11))]
    late = incident(
        "C-late", state="closed", channel="resident", reporter="居民", reported_at=at(9), validated_at=at(9, 11),
        dispatched_at=at(10), assignee_worker_id="W1", handled_at=at(14), closed_at=at(14, 12), satisfaction="满意",
    )  # fmt: skip
    on_time = incident(
        "C-ok", state="closed", channel="resident", reporter="居民", reported_at=at(15), validated_at=at(15, 11),
        dispatched_at=at(16), assignee_worker_id="W1", handled_at=at(17), closed_at=at(18), satisfaction="不满意",
    )  # fmt: skip
    reopened = incident(
        "C-reopen", state="in_progress", category="民生服务", channel="hotline", reporter="热线", reported_at=at(20),
        validated_at=at(20, 11), dispatched_at=at(20, 12), assignee_worker_id="W1",
    )  # fmt: skip
    # W2's grid: a resident's 安全隐患 nobody of grid B reported (the miss), far from any report.
    missed = incident(
        "C-miss", GRID_B, category="安全隐患", channel="resident", reporter="居民", reported_at=at(25),
        lon=115.015, lat=37.008,
    )  # fmt: skip
    rows += [*reports, late, on_time, reopened, missed]
    rows += [
        _event("C-late", 1, "handle", at(14)),  # deadline Oct 13 10:00
        _event("C-ok", 1, "handle", at(17)),
        _event("C-reopen", 1, "handle", at(21)),
        _event("C-reopen", 2, "reopen", at(22)),
    ]
    rows += [
        PatrolDay(
            county_code=COUNTY, worker_id="W1", day=dt.date(2026, 10, 8), fixes=100, first_ts=at(8, 9),
            last_ts=at(8, 12), distance_m=10.0, patrol_s=3600, stops=1, outside_share=0.0, visited=0, flags="still",
        )
    ]  # fmt: skip
    with store.session_factory.begin() as session:
        session.add_all(rows[:2])
        session.flush()
        session.add_all(rows[2:])
    award_points(
        store.session_factory, actor=OPERATOR, worker_id="W1", month=OCTOBER, points=3, reason="协助救火", now=NOW
    )
    candidates = find_miss_candidates(store.session_factory, actor=LEADER, area_code=TOWNSHIP, month=OCTOBER, now=NOW)
    assert candidates["incident_id"].tolist() == ["C-miss"]
    decide_miss(
        store.session_factory, actor=LEADER, incident_id="C-miss", decision="confirmed", reason="隐患明显", now=NOW
    )
    return store
