"""The big screen's figures on both stores, from hand-made cases with known answers."""

from __future__ import annotations

import datetime as dt

import pytest

from render.screen_html import right_panels
from services.errors import StoreUnavailableError
from services.figures.area_figures import compute_area_figures
from services.figures.ranking import MIN_CASES_TO_RANK
from services.screen.wall_figures import load_screen
from services.store.models import Worker
from tests.factories import COUNTY, GRID_B, OPERATOR, T, incident, seed_areas

H = dt.timedelta(hours=1)


@pytest.fixture
def busy(store):
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all(
            [
                incident(
                    "S-new", reported_at=T - dt.timedelta(minutes=5), channel="patrol", reporter="w1"
                ),  # today, fresh
                incident(
                    "S-w1",
                    reported_at=T - 3 * H,
                    channel="patrol",
                    reporter="w1",
                    state="registered",
                    validated_at=T - 2 * H,
                ),
                incident(
                    "S-w2",
                    reported_at=T - 3 * H,
                    channel="patrol",
                    reporter="w2",
                    state="invalid",
                    rejected_at=T - 2 * H,
                ),
                incident("S-urgent", GRID_B, severity="urgent", limit_hours=24.0, reported_at=T - 2 * H),
                incident(
                    "S-late",
                    state="dispatched",
                    reported_at=T - 100 * H,
                    validated_at=T - 99 * H,
                    dispatched_at=T - 90 * H,
                ),
                incident(
                    "S-check",
                    state="handled",
                    reported_at=T - 30 * H,
                    validated_at=T - 29 * H,
                    dispatched_at=T - 28 * H,
                    handled_at=T - 3 * H,
                ),
                incident(
                    "S-done",
                    state="closed",
                    reported_at=T - 50 * H,
                    validated_at=T - 49 * H,
                    dispatched_at=T - 48 * H,
                    handled_at=T - 20 * H,
                    closed_at=T - H,
                    close_reason="fixed",
                    satisfaction="满意",
                ),
                incident(
                    "S-meh",
                    state="closed",
                    reported_at=T - 50 * H,
                    validated_at=T - 49 * H,
                    dispatched_at=T - 48 * H,
                    handled_at=T - 20 * H,
                    closed_at=T - 2 * H,
                    close_reason="fixed",
                    satisfaction="不满意",
                ),
                incident(
                    "S-old",
                    state="closed",
                    reported_at=T - 40 * 24 * H,
                    closed_at=T - 39 * 24 * H,
                    close_reason="fixed",
                ),
            ]
        )
        session.add(
            Worker(
                county_code=COUNTY,
                worker_id="w1",
                name="赵",
                role="worker",
                on_duty=True,
                last_lon=115.0,
                last_lat=37.0,
                last_fix_at=T - dt.timedelta(minutes=3),
            )
        )
        session.add(
            Worker(
                county_code=COUNTY,
                worker_id="w2",
                name="钱",
                role="worker",
                on_duty=True,
                last_lon=115.0,
                last_lat=37.0,
                last_fix_at=T - H,
            )
        )
    return store


def test_the_screen_counts_today_stages_alarms_and_rates_as_the_kpi_service_does(busy) -> None:
    screen = load_screen(busy.session_factory, actor=OPERATOR, at=T, fresh=dt.timedelta(minutes=10))
    kpi = compute_area_figures(busy.session_factory, actor=OPERATOR, area_code=COUNTY, at=T, days=30)
    assert screen.reported_today == 4 and screen.closed_today == 2  # T is noon: S-new, S-urgent, S-w1/2; S-done, S-meh
    assert screen.worker_ranking.values.tolist() == [["赵", 2]]  # w2's only report was judged invalid
    assert (screen.overdue, screen.validation_overdue) == (kpi.overdue, kpi.validation_overdue) == (1, 0)
    assert (screen.closure_rate, screen.on_time_rate, screen.level_share) == (
        kpi.closure_rate,
        kpi.on_time_rate,
        kpi.level_share,
    )
    assert screen.satisfaction_rate == 0.5
    assert screen.on_patrol == 1
    assert screen.stages == {"待核实": 2, "待派遣": 1, "处置中": 1, "待核查": 1}
    assert screen.alarms[["incident_id", "alarm"]].values.tolist() == [["S-urgent", "紧急"], ["S-late", "超期"]]
    assert screen.oldest["incident_id"].tolist()[0] == "S-late"
    assert screen.newest_ids == ("S-new",)
    assert screen.trend["reported"].sum() == 8 and len(screen.trend) == 30  # S-old is outside the 30 days
    assert screen.categories.sum() == 8
    assert screen.township_ranking.empty  # 2 closures: below the minimum volume of MIN_CASES_TO_RANK
    assert MIN_CASES_TO_RANK > 2


@pytest.mark.parametrize("alarming", [False, True])
def test_a_county_with_one_open_case_lists_it_as_an_alarm_only_when_it_is_one(store, alarming) -> None:
    seed_areas(store)
    reported = T - (100 if alarming else 3) * H  # past the 72 h limit, or well within it
    with store.session_factory.begin() as session:
        session.add(
            incident(
                "S-only",
                state="dispatched",
                reported_at=reported,
                validated_at=reported + H,
                dispatched_at=reported + H,
            )
        )
    screen = load_screen(store.session_factory, actor=OPERATOR, at=T, fresh=dt.timedelta(minutes=10))
    assert screen.alarms[["incident_id", "alarm"]].values.tolist() == ([["S-only", "超期"]] if alarming else [])
    assert screen.oldest["incident_id"].tolist() == ["S-only"]
    assert right_panels(screen)[0].count("S-only") == int(alarming)  # the alarm table draws without NaN rows


def test_a_database_that_cannot_be_reached_is_reported_as_unavailable(tmp_path) -> None:
    from services.store.engine import make_engine, make_session_factory

    unreachable = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'missing' / 'gone.db'}"))
    with pytest.raises(StoreUnavailableError, match="无法连接"):
        load_screen(unreachable, actor=OPERATOR, at=T, fresh=dt.timedelta(minutes=1))
