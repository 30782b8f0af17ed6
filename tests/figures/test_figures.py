"""The KPI service against DESIGN.md's definitions, on hand-made data, on both engines.

Each case sits on a boundary (exactly at a deadline, exactly 24 h after a report, closed exactly
at T …).  The expected figures are computed twice: by hand for the headline cases, and by
`reference_figures`, a literal row-by-row reading of DESIGN.md, for many (area, T, days).
"""

from __future__ import annotations

import datetime as dt

import pytest

from services.errors import InvalidArgumentError, OutOfScopeError, UnknownAreaError
from services.figures.area_figures import compute_area_figures, compute_grid_figures
from services.store.models import HouseholdTag
from tests.factories import (
    COUNTY,
    GRID_A,
    GRID_B,
    OPERATOR,
    TOWNSHIP,
    VILLAGE,
    T,
    household,
    incident,
    make_actor,
    seed_areas,
    visit,
)

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
S = dt.timedelta(seconds=1)

CASES = [
    # overdue: urgent (24 h), dispatched 46 h before T, not handled
    dict(
        incident_id="overdue",
        severity="urgent",
        limit_hours=24.0,
        state="in_progress",
        reported_at=T - 2 * D,
        validated_at=T - 2 * D + H,
        dispatched_at=T - 2 * D + 2 * H,
    ),
    # deadline exactly at T: not overdue, but at risk
    dict(
        incident_id="deadline_at_t",
        state="dispatched",
        reported_at=T - 4 * D,
        validated_at=T - 4 * D,
        dispatched_at=T - 72 * H,
    ),
    # exactly at 80 % of the limit: not yet at risk
    dict(
        incident_id="risk_edge",
        state="dispatched",
        reported_at=T - 3 * D,
        validated_at=T - 3 * D,
        dispatched_at=T - dt.timedelta(hours=57.6),
    ),
    # reported exactly 24 h before T, not validated: not validation-overdue
    dict(incident_id="exactly_24h", reported_at=T - 24 * H),
    # one second more: validation-overdue
    dict(incident_id="past_24h", reported_at=T - 24 * H - S, grid_code=GRID_B),
    dict(incident_id="rejected", state="invalid", reported_at=T - D, rejected_at=T - D + H),
    # closed as fixed, handled within the deadline, at village level
    dict(
        incident_id="fixed_on_time",
        state="closed",
        level="village",
        reported_at=T - 3 * D,
        validated_at=T - 3 * D,
        dispatched_at=T - 3 * D + H,
        handled_at=T - 2 * D,
        closed_at=T - D,
        close_reason="fixed",
        satisfaction="满意",
    ),
    # closed as a duplicate: closed, not fixed, outside the on-time figures
    dict(
        incident_id="duplicate",
        state="closed",
        reported_at=T - 2 * D,
        validated_at=T - 2 * D,
        closed_at=T - 2 * D + H,
        close_reason="duplicate",
    ),
    # closed exactly at T: closed by T, in P, not open
    dict(
        incident_id="closed_at_t",
        state="closed",
        reported_at=T - 5 * D,
        validated_at=T - 5 * D,
        dispatched_at=T - 5 * D,
        handled_at=T - 5 * D + 72 * H,
        closed_at=T,
        close_reason="fixed",
    ),
    # handled one second late
    dict(
        incident_id="late",
        state="closed",
        grid_code=GRID_B,
        reported_at=T - 6 * D,
        validated_at=T - 6 * D,
        dispatched_at=T - 6 * D,
        handled_at=T - 6 * D + 72 * H + S,
        closed_at=T - 2 * D,
        close_reason="fixed",
    ),
    dict(incident_id="future", reported_at=T + H),
    dict(
        incident_id="long_ago",
        state="closed",
        reported_at=T - 10 * D,
        validated_at=T - 10 * D,
        dispatched_at=T - 10 * D,
        handled_at=T - 9 * D,
        closed_at=T - 8 * D,
        close_reason="fixed",
    ),
]


def reference_figures(rows: list[dict], area: str, at: dt.datetime, days: int) -> dict:
    """DESIGN.md, Figures, read literally, one row at a time."""

    def le(value, moment):  # "at or before", false when the stage was not reached
        return value is not None and value <= moment

    start = at - dt.timedelta(days=days)
    mine = [r for r in rows if r.get("grid_code", GRID_A).startswith(area)]
    open_ = [
        r
        for r in mine
        if le(r["reported_at"], at) and not le(r.get("rejected_at"), at) and not le(r.get("closed_at"), at)
    ]
    overdue, at_risk = [], []
    for r in open_:
        if le(r.get("dispatched_at"), at) and not le(r.get("handled_at"), at):
            limit = dt.timedelta(hours=r.get("limit_hours", 72.0))
            if at > r["dispatched_at"] + limit:
                overdue.append(r)
            elif at > r["dispatched_at"] + 0.8 * limit:
                at_risk.append(r)
    validation_overdue = [
        r
        for r in mine
        if r["reported_at"] < at - dt.timedelta(hours=24)
        and not le(r.get("validated_at"), at)
        and not le(r.get("rejected_at"), at)
    ]
    reported = [r for r in mine if start < r["reported_at"] <= at and not le(r.get("rejected_at"), at)]
    closed = [r for r in reported if le(r.get("closed_at"), at)]
    fixed_in_p = [
        r for r in mine if r.get("closed_at") and start < r["closed_at"] <= at and r.get("close_reason") == "fixed"
    ]
    on_time = [
        r
        for r in fixed_in_p
        if r.get("handled_at")
        and r["handled_at"] <= r["dispatched_at"] + dt.timedelta(hours=r.get("limit_hours", 72.0))
    ]

    def share(part, whole):
        return None if whole == 0 else part / whole

    return {
        "open": len(open_),
        "overdue": len(overdue),
        "at_risk": len(at_risk),
        "validation_overdue": len(validation_overdue),
        "closure_rate": share(len(closed), len(reported)),
        "on_time_rate": share(len(on_time), len(fixed_in_p)),
        "level_share": {
            lv: share(sum(r.get("level", "grid") == lv for r in fixed_in_p), len(fixed_in_p))
            for lv in ("grid", "village", "township", "county")
        },
    }


@pytest.fixture
def seeded(store):
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all(incident(**case) for case in CASES)
        session.add_all(
            [household("h1", GRID_A), household("h2", GRID_A), household("h3", GRID_B), household("h4", GRID_B)]
        )
        session.add_all(
            [
                # h1: visited in the morning of T's day (before T)
                visit("h1", "w1", GRID_A, (T - 3 * H, T - 3 * H + 30 * S), (T - 2 * H, T - 2 * H + 30 * S)),
                # h2: its only near segment ends one second after T
                visit("h2", "w1", GRID_A, (T - 30 * S, T + S), (T - 30 * S, T + S)),
                # h3: visited on the day P starts, first segment before P, last inside it
                visit(
                    "h3", "w2", GRID_B, (T - 7 * D - H, T - 7 * D - H + 30 * S), (T - 7 * D + H, T - 7 * D + H + 30 * S)
                ),
            ]
        )
    return store


def figures(store, area: str = COUNTY, at: dt.datetime = T, days: int = 7):
    return compute_area_figures(store.session_factory, actor=OPERATOR, area_code=area, at=at, days=days)


def test_headline_figures_of_the_county_match_the_hand_count(seeded) -> None:
    f = figures(seeded)
    assert (f.open, f.overdue, f.at_risk, f.validation_overdue) == (5, 1, 1, 1)
    # reported in P and not rejected by T: 9 cases; closed by T: fixed_on_time, duplicate, closed_at_t, late
    assert (f.reported, f.closed, f.closed_fixed) == (9, 4, 3)
    assert f.closure_rate == pytest.approx(4 / 9)
    # closed as fixed in P: fixed_on_time (on time), closed_at_t (exactly at its deadline), late
    assert f.on_time_rate == pytest.approx(2 / 3)
    assert f.level_share == pytest.approx({"grid": 2 / 3, "village": 1 / 3, "township": 0.0, "county": 0.0})
    assert (f.households, f.visited) == (4, 2)
    assert f.coverage == pytest.approx(0.5)


@pytest.mark.parametrize("area", [COUNTY, TOWNSHIP, VILLAGE, GRID_A, GRID_B])
@pytest.mark.parametrize("shift", [-2 * D, -H, dt.timedelta(0), S, 3 * D])
@pytest.mark.parametrize("days", [1, 7, 30])
def test_figures_equal_a_literal_reading_of_the_design(seeded, area, shift, days) -> None:
    at = T + shift
    got = figures(seeded, area, at, days)
    expected = flatten(reference_figures(CASES, area, at, days))
    assert flatten({k: getattr(got, k) for k in reference_figures(CASES, area, at, days)}) == pytest.approx(expected)


def flatten(values: dict) -> dict:
    flat = {k: v for k, v in values.items() if k != "level_share"}
    flat.update({f"level_share.{k}": v for k, v in values.get("level_share", {}).items()})
    return flat


def test_rates_are_none_when_nothing_was_reported(seeded) -> None:
    f = figures(seeded, GRID_B, T - 30 * D, 1)
    assert (f.closure_rate, f.on_time_rate, f.level_share["grid"]) == (None, None, None)


def test_an_area_outside_the_scope_is_refused(seeded) -> None:
    with pytest.raises(OutOfScopeError):
        compute_area_figures(
            seeded.session_factory, actor=make_actor("grid_supervisor", GRID_B), area_code=GRID_A, at=T, days=7
        )


def test_an_unknown_area_is_reported_by_its_code(seeded) -> None:
    with pytest.raises(UnknownAreaError, match="130532999"):
        figures(seeded, "130532999")


def test_a_naive_time_is_refused(seeded) -> None:
    with pytest.raises(InvalidArgumentError):
        figures(seeded, at=T.replace(tzinfo=None))


def test_code_ranges_select_exactly_the_codes_with_that_prefix(store) -> None:
    from sqlalchemy import select

    from services.access.scope import code_within
    from services.store.models import Area

    seed_areas(store)
    with store.session_factory() as session:
        for prefix, expected in ((VILLAGE, 3), (GRID_A, 1), ("13053210120100", 2), ("13053", 5), ("9", 0), ("2", 0)):
            codes = session.scalars(select(Area.code).where(code_within(Area.code, prefix))).all()
            assert len(codes) == expected and all(c.startswith(prefix) for c in codes)


@pytest.mark.parametrize("shift", [dt.timedelta(0), dt.timedelta(days=-3), dt.timedelta(days=5)])
def test_grid_figures_are_the_area_figures_of_each_grid_and_add_up_to_the_county(seeded, shift) -> None:
    at = T + shift
    with seeded.session_factory.begin() as session:
        session.add_all(
            [
                HouseholdTag(county_code=COUNTY, household_id=h, tag=t)
                for h, t in (("h1", "独居老人"), ("h1", "低保户"), ("h3", "党员户"))
            ]
        )
    by_grid = compute_grid_figures(
        seeded.session_factory,
        actor=OPERATOR,
        area_code=COUNTY,
        at=at,
        days=7,
        special_tags=("独居老人", "低保户"),
    )
    assert by_grid.index.tolist() == [GRID_A, GRID_B]
    assert by_grid["special_households"].tolist() == [1, 0]  # h1 counted once for two tags; 党员户 is not special
    for area in (GRID_A, GRID_B, COUNTY):
        expected = figures(seeded, area, at)
        rows = by_grid if area == COUNTY else by_grid.loc[[area]]
        for column in ("households", "open", "overdue", "at_risk", "validation_overdue", "visited"):
            assert rows[column].sum() == getattr(expected, column), (area, column)
    assert by_grid.loc[GRID_A, "coverage"] == figures(seeded, GRID_A, at).coverage
