"""The incident workflow on both stores: every transition allowed and forbidden, inputs, the event
log, limits, escalation, duplicates and two supervisors acting at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from services.cases import rules
from services.cases.detail import load_incident_detail
from services.cases.dispatch import find_possible_duplicates, suggest_departments, suggest_workers
from services.cases.queue import load_queue
from services.cases.workflow import (
    TRANSITIONS,
    CaseAction,
    Photo,
    accept_incident,
    allowed_actions,
    call_department,
    close_incident,
    dispatch_incident,
    escalate_incident,
    handle_incident,
    mark_duplicate,
    reject_incident,
    reopen_incident,
    report_incident,
    validate_incident,
    verify_incident,
)
from services.domain import STATES
from services.errors import (
    InvalidArgumentError,
    MissingInputError,
    NotAcceptedCategoryError,
    PointOutsideGridsError,
    StaleIncidentError,
    TransitionNotAllowedError,
    UnknownItemError,
)
from services.figures.area_figures import compute_area_figures
from services.store.models import (
    Department,
    DepartmentCategory,
    HandlingLimit,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    Worker,
    WorkerGrid,
)
from tests.factories import COUNTY, GRID_A, GRID_B, OPERATOR, T, incident, make_actor, seed_areas

# Takes every action (吹哨 and closing without a fix are a leader's; the role matrix is in test_access).
SUPERVISOR = make_actor("township_leader", COUNTY, username="supervisor", name="网格长")
FIELD_WORKER = make_actor("grid_supervisor", COUNTY, username="w1", name="赵一")
PHOTO = Photo("现场.jpg", b"\xff\xd8\xff fake jpeg")
H = dt.timedelta(hours=1)


@pytest.fixture
def desk(store):
    """Two grids, a responsible on-duty worker in A, an off-duty one in B, a department that
    accepts 环境卫生 only."""
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all(
            [
                Worker(county_code=COUNTY, worker_id="w1", name="赵一", phone="1", role="worker", on_duty=True),
                Worker(county_code=COUNTY, worker_id="w2", name="钱二", phone="2", role="worker", on_duty=False),
                WorkerGrid(county_code=COUNTY, worker_id="w1", grid_code=GRID_A),
                WorkerGrid(county_code=COUNTY, worker_id="w2", grid_code=GRID_B),
                Department(county_code=COUNTY, department_id="d1", name="县城管局", kind="城管"),
                DepartmentCategory(county_code=COUNTY, department_id="d1", category="环境卫生"),
            ]
        )
    return store


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    return folder


def report(store, **fields) -> str:
    values = dict(
        category="环境卫生",
        subcategory="垃圾堆放",
        severity="normal",
        lon=115.005,
        lat=37.005,
        description="路口垃圾堆积",
        channel="hotline",
    )
    values.update(fields)
    return report_incident(store.session_factory, actor=OPERATOR, now=T, **values).incident_id


def current(store, incident_id: str) -> Incident:
    with store.session_factory() as session:
        return session.get(Incident, (COUNTY, incident_id))


def events(store, incident_id: str) -> list[tuple]:
    with store.session_factory() as session:
        rows = session.execute(
            select(
                IncidentEvent.seq,
                IncidentEvent.action,
                IncidentEvent.from_state,
                IncidentEvent.to_state,
                IncidentEvent.actor,
            )
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.seq)
        ).all()
    return [tuple(r) for r in rows]


def test_a_report_from_the_desk_is_placed_in_the_grid_that_contains_its_point(desk) -> None:
    first, second = report(desk), report(desk, lon=115.015)
    assert (first, second) == ("SJ202611200001", "SJ202611200002")
    case = current(desk, second)
    assert (case.grid_code, case.state, case.level, case.limit_hours, case.version) == (
        GRID_B,
        "reported",
        "grid",
        72.0,
        1,
    )
    assert events(desk, second) == [(1, "report", None, "reported", OPERATOR.label)]


def test_a_report_outside_every_grid_or_with_an_unknown_category_is_refused_and_nothing_written(desk) -> None:
    with pytest.raises(PointOutsideGridsError, match="不在"):
        report(desk, lon=116.5)
    with pytest.raises(InvalidArgumentError, match="分类目录"):
        report(desk, subcategory="飞碟")
    with pytest.raises(MissingInputError, match="事件描述"):
        report(desk, description="  ")
    with desk.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_case_goes_from_report_to_closure_with_every_step_on_record(desk, photos) -> None:
    case_id = report(desk)
    sf, at = desk.session_factory, T

    def step(function, version, actor, **kwargs):
        nonlocal at
        at += H
        return function(sf, CaseAction(actor, at, case_id, version), **kwargs)

    assert step(validate_incident, 1, SUPERVISOR).state == "registered"
    assert step(dispatch_incident, 2, SUPERVISOR, worker_id="w1").warnings == ()
    assert step(accept_incident, 3, actor=FIELD_WORKER).state == "in_progress"
    handled = step(handle_incident, 4, actor=FIELD_WORKER, note="已清运", photos=[PHOTO], photo_dir=photos)
    assert handled.state == "handled"
    closed = step(verify_incident, 5, actor=SUPERVISOR, satisfaction="满意")
    assert (closed.state, closed.version) == ("closed", 6)
    case = current(desk, case_id)
    assert (case.close_reason, case.satisfaction, case.assignee_worker_id) == ("fixed", "满意", "w1")
    assert [case.validated_at, case.dispatched_at, case.accepted_at, case.handled_at, case.closed_at] == [
        T + i * H for i in range(1, 6)
    ]
    assert [(e[1], e[2], e[3]) for e in events(desk, case_id)] == [
        ("report", None, "reported"),
        ("validate", "reported", "registered"),
        ("dispatch", "registered", "dispatched"),
        ("accept", "dispatched", "in_progress"),
        ("handle", "in_progress", "handled"),
        ("verify", "handled", "closed"),
    ]
    with desk.session_factory() as session:
        photo = session.scalars(select(IncidentPhoto)).one()
    assert photo.event_seq == 5 and (photos / photo.path).read_bytes() == PHOTO.data


# --- the state machine, exhaustively ---------------------------------------------------------

ARGUMENTS = {
    "validate": (validate_incident, {}),
    "reject": (reject_incident, {"reason": "重复来电，非本辖区"}),
    "dispatch": (dispatch_incident, {"worker_id": "w1"}),
    "call_department": (call_department, {"department_id": "d1"}),
    "accept": (accept_incident, {}),
    "handle": (handle_incident, {"note": "已处理", "photos": [PHOTO]}),
    "verify": (verify_incident, {}),
    "reopen": (reopen_incident, {"reason": "群众反映仍未解决"}),
    "close": (close_incident, {"reason": "no_action_needed", "note": "经核实无需处置"}),
    "mark_duplicate": (mark_duplicate, {"original_id": "SJ-original"}),
    "escalate": (escalate_incident, {"reason": "需村委会协调"}),
}
EXPECTED = {  # DESIGN.md workflow: (action, from) → to
    ("validate", "reported"): "registered",
    ("reject", "reported"): "invalid",
    ("dispatch", "registered"): "dispatched",
    ("dispatch", "dispatched"): "dispatched",
    ("call_department", "registered"): "dispatched",
    ("call_department", "dispatched"): "dispatched",
    ("call_department", "in_progress"): "dispatched",
    ("accept", "dispatched"): "in_progress",
    ("handle", "in_progress"): "handled",
    ("verify", "handled"): "closed",
    ("reopen", "handled"): "in_progress",
    ("reopen", "closed"): "in_progress",
    ("close", "reported"): "closed",
    ("close", "registered"): "closed",
    ("close", "dispatched"): "closed",
    ("close", "in_progress"): "closed",
    ("mark_duplicate", "reported"): "closed",
    ("mark_duplicate", "registered"): "closed",
    ("escalate", "registered"): "registered",
    ("escalate", "dispatched"): "registered",
    ("escalate", "in_progress"): "registered",
}


def test_the_transition_table_is_the_design() -> None:
    table = {(a, s): t.to_state for a, t in TRANSITIONS.items() for s in t.from_states}
    assert table == EXPECTED
    assert allowed_actions("invalid") == () and "verify" in allowed_actions("handled")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(ARGUMENTS))
def test_every_action_is_applied_from_its_states_and_refused_from_the_others(desk, photos, state, action) -> None:
    with desk.session_factory.begin() as session:
        session.add(incident("SJ-original", reported_at=T - 5 * H))
        session.add(
            incident(
                "SJ-case", state=state, reported_at=T - 2 * H, dispatched_at=T - H if state != "reported" else None
            )
        )
    function, kwargs = ARGUMENTS[action]
    extra = {"photo_dir": photos} if action == "handle" else {}
    call = lambda: function(desk.session_factory, CaseAction(SUPERVISOR, T, "SJ-case", 1), **kwargs, **extra)  # noqa: E731
    expected = EXPECTED.get((action, state))
    if expected is None:
        with pytest.raises(TransitionNotAllowedError):
            call()
        assert current(desk, "SJ-case").version == 1 and events(desk, "SJ-case") == []
        assert list(photos.rglob("*")) == []
    else:
        result = call()
        assert result.state == expected == current(desk, "SJ-case").state
        assert [(e[1], e[2], e[3]) for e in events(desk, "SJ-case")] == [(action, state, expected)]


# --- inputs ----------------------------------------------------------------------------------


def registered(desk, case_id: str = "SJ-1", **fields) -> str:
    with desk.session_factory.begin() as session:
        values = {"state": "registered", "reported_at": T - 3 * H, "validated_at": T - 2 * H, **fields}
        session.add(incident(case_id, **values))
    return case_id


def test_missing_notes_photos_and_unknown_targets_are_refused_and_change_nothing(desk, photos) -> None:
    sf = desk.session_factory
    case = registered(desk)
    first = CaseAction(SUPERVISOR, T, case, 1)
    with pytest.raises(UnknownItemError, match="w9"):
        dispatch_incident(sf, first, worker_id="w9")
    with pytest.raises(UnknownItemError, match="SJ-9"):
        validate_incident(sf, dataclasses.replace(first, incident_id="SJ-9"))
    with pytest.raises(MissingInputError, match="理由"):
        reject_incident(sf, first, reason=" ")
    with pytest.raises(InvalidArgumentError):
        close_incident(sf, first, reason="fixed", note="x")
    with desk.session_factory.begin() as session:
        session.get(Incident, (COUNTY, case)).state = "in_progress"
    second = dataclasses.replace(first, expected_version=2)
    with pytest.raises(MissingInputError, match="照片"):
        handle_incident(sf, second, note="已处理", photos=[], photo_dir=photos)
    with pytest.raises(MissingInputError, match="格式"):
        handle_incident(sf, second, note="已处理", photos=[Photo("a.exe", b"x")], photo_dir=photos)
    with pytest.raises(MissingInputError, match="说明"):
        handle_incident(sf, second, note="", photos=[PHOTO], photo_dir=photos)
    assert events(desk, case) == [] and list(photos.rglob("*")) == []
    assert current(desk, case).version == 2


def test_a_department_must_accept_the_category(desk) -> None:
    case = registered(desk, category="治安")
    with pytest.raises(NotAcceptedCategoryError, match="县城管局"):
        call_department(
            desk.session_factory,
            CaseAction(SUPERVISOR, T, case, 1),
            department_id="d1",
        )
    other = registered(desk, "SJ-2")
    result = call_department(
        desk.session_factory,
        CaseAction(SUPERVISOR, T, other, 1),
        department_id="d1",
    )
    assert result.state == "dispatched" and current(desk, other).assignee_department_id == "d1"


def test_dispatching_to_an_off_duty_worker_of_another_grid_warns_but_is_done(desk) -> None:
    case = registered(desk)
    result = dispatch_incident(desk.session_factory, CaseAction(SUPERVISOR, T, case, 1), worker_id="w2")
    assert result.state == "dispatched" and "不在岗" in result.warnings[0]
    assert current(desk, case).assignee_worker_id == "w2"


def test_the_handler_cannot_verify_their_own_work(desk, photos) -> None:
    case = registered(desk, state="in_progress")
    handle_incident(
        desk.session_factory,
        CaseAction(SUPERVISOR, T, case, 1),
        note="已处理",
        photos=[PHOTO],
        photo_dir=photos,
    )
    with pytest.raises(TransitionNotAllowedError, match="处置人以外"):
        verify_incident(desk.session_factory, CaseAction(SUPERVISOR, T + H, case, 2))
    assert verify_incident(desk.session_factory, CaseAction(OPERATOR, T + H, case, 2)).state == "closed"


def test_a_stale_panel_is_told_and_nothing_changes(desk) -> None:
    case = registered(desk)
    seen = CaseAction(SUPERVISOR, T, case, 1)
    dispatch_incident(desk.session_factory, seen, worker_id="w1")
    with pytest.raises(StaleIncidentError, match="已派遣"):
        dispatch_incident(desk.session_factory, seen, worker_id="w2")
    assert current(desk, case).assignee_worker_id == "w1" and len(events(desk, case)) == 1


def test_escalation_climbs_one_rung_at_a_time_and_stops_at_the_county(desk) -> None:
    case = registered(desk)
    levels = []
    for version in (1, 2, 3):
        escalate_incident(
            desk.session_factory,
            CaseAction(SUPERVISOR, T, case, version),
            reason="协调",
        )
        levels.append(current(desk, case).level)
    assert levels == ["village", "township", "county"]
    with pytest.raises(TransitionNotAllowedError, match="县级"):
        escalate_incident(
            desk.session_factory,
            CaseAction(SUPERVISOR, T, case, 4),
            reason="协调",
        )
    with desk.session_factory() as session:
        assert session.scalars(select(IncidentEvent.level).order_by(IncidentEvent.seq)).all() == levels


def test_a_duplicate_is_closed_not_fixed_and_figures_tell_it_from_fixed_closures(desk) -> None:
    original, copy = registered(desk, "SJ-1"), registered(desk, "SJ-2")
    mark_duplicate(
        desk.session_factory,
        CaseAction(SUPERVISOR, T, copy, 1),
        original_id=original,
    )
    case = current(desk, copy)
    assert (case.state, case.close_reason, case.duplicate_of) == ("closed", "duplicate", original)
    figures = compute_area_figures(desk.session_factory, actor=OPERATOR, area_code=COUNTY, at=T + H, days=7)
    assert (figures.reported, figures.closed, figures.closed_fixed, figures.open) == (2, 1, 0, 1)


def test_the_limit_table_overrides_the_default_for_its_category_and_severity(desk) -> None:
    with desk.session_factory.begin() as session:
        session.add(
            HandlingLimit(county_code=COUNTY, category="安全隐患", severity="urgent", stage="handling", hours=4.0)
        )
    hazard = report(desk, category="安全隐患", subcategory="燃气安全", severity="urgent")
    litter = report(desk, severity="urgent")
    assert (current(desk, hazard).limit_hours, current(desk, litter).limit_hours) == (4.0, 24.0)


def test_deadline_at_risk_and_overdue_at_their_boundaries() -> None:
    import pandas as pd

    dispatched = pd.Timestamp(T)
    frame = pd.DataFrame(
        {
            "reported_at": [dispatched - pd.Timedelta(hours=1)],
            "validated_at": [dispatched],
            "rejected_at": [pd.NaT],
            "dispatched_at": [dispatched],
            "accepted_at": [pd.NaT],
            "handled_at": [pd.NaT],
            "closed_at": [pd.NaT],
            "limit_hours": [72.0],
        }
    )
    for column in frame.columns[:-1]:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    tick = dt.timedelta(microseconds=1)
    warn, due = T + dt.timedelta(hours=72 * 0.8), T + dt.timedelta(hours=72)
    assert rules.deadline(frame).iloc[0] == pd.Timestamp(due)
    assert [bool(rules.is_at_risk(frame, t).iloc[0]) for t in (warn, warn + tick, due, due + tick)] == [
        False,
        True,
        True,
        False,
    ]
    assert [bool(rules.is_overdue(frame, t).iloc[0]) for t in (due, due + tick)] == [False, True]
    unvalidated = frame.assign(validated_at=pd.NaT, dispatched_at=pd.NaT)
    unvalidated["validated_at"] = pd.to_datetime(unvalidated["validated_at"], utc=True)
    limit = frame["reported_at"].iloc[0] + pd.Timedelta(hours=24)
    assert [
        bool(rules.is_validation_overdue(unvalidated, t).iloc[0]) for t in (limit, limit + pd.Timedelta(microseconds=1))
    ] == [False, True]


# --- two supervisors at once -----------------------------------------------------------------


def test_two_supervisors_dispatching_the_same_case_at_once_make_exactly_one_winner(desk) -> None:
    for round_ in range(5):
        case = registered(desk, f"SJ-race-{round_}")
        barrier = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def act(worker_id: str, barrier=barrier, outcomes=outcomes, case=case) -> None:
            barrier.wait()
            try:
                outcomes[worker_id] = dispatch_incident(
                    desk.session_factory,
                    CaseAction(SUPERVISOR, T, case, 1),
                    worker_id=worker_id,
                )
            except StaleIncidentError as error:
                outcomes[worker_id] = error

        threads = [threading.Thread(target=act, args=(w,)) for w in ("w1", "w2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        winners = [w for w, o in outcomes.items() if not isinstance(o, Exception)]
        assert len(outcomes) == 2 and len(winners) == 1, outcomes
        assert current(desk, case).assignee_worker_id == winners[0]
        assert current(desk, case).version == 2 and len(events(desk, case)) == 1


# --- read models of the dispatch panel and the queue -----------------------------------------


def test_suggestions_put_the_grids_own_workers_first_then_on_duty_workers_by_distance(desk) -> None:
    with desk.session_factory.begin() as session:
        session.add(
            Worker(
                county_code=COUNTY,
                worker_id="w3",
                name="孙三",
                phone="3",
                role="worker",
                on_duty=True,
                last_lon=115.0155,
                last_lat=37.005,
            )
        )
        session.add(
            Worker(
                county_code=COUNTY,
                worker_id="w4",
                name="李四",
                phone="4",
                role="worker",
                on_duty=True,
                last_lon=115.0060,
                last_lat=37.005,
            )
        )
        session.add(
            Worker(
                county_code=COUNTY,
                worker_id="w5",
                name="周五",
                phone="5",
                role="worker",
                on_duty=False,
                last_lon=115.0051,
                last_lat=37.005,
            )
        )
        session.get(Worker, (COUNTY, "w1")).last_lon, session.get(Worker, (COUNTY, "w1")).last_lat = 115.019, 37.009
    case = registered(desk, lon=115.005, lat=37.005)
    suggested = suggest_workers(desk.session_factory, actor=OPERATOR, incident_id=case)
    assert suggested["worker_id"].tolist() == ["w1", "w4", "w3"]  # w2 off duty elsewhere, w5 off duty
    assert suggested["responsible"].tolist() == [True, False, False]
    assert suggested.loc[1, "distance_m"] == pytest.approx(89, abs=2)  # 0.001° of longitude at 37°N
    departments = suggest_departments(desk.session_factory, actor=OPERATOR, category="环境卫生")
    assert departments["department_id"].tolist() == ["d1"]
    assert suggest_departments(desk.session_factory, actor=OPERATOR, category="治安").empty


def test_possible_duplicates_are_open_cases_of_the_category_nearby_from_the_last_week(desk) -> None:
    base = dict(category="安全隐患", subcategory="用电安全", reported_at=T - H)
    with desk.session_factory.begin() as session:
        session.add_all(
            [
                incident("SJ-0", lon=115.0050, lat=37.0050, **base),
                incident("SJ-near", lon=115.0058, lat=37.0050, **base),  # ~71 m
                incident("SJ-far", lon=115.0065, lat=37.0050, **base),  # ~133 m
                incident("SJ-other", lon=115.0051, lat=37.0050, category="环境卫生", reported_at=T - H),
                incident("SJ-old", lon=115.0051, lat=37.0050, **{**base, "reported_at": T - 8 * 24 * H}),
                incident("SJ-closed", lon=115.0051, lat=37.0050, state="closed", closed_at=T - H, **base),
            ]
        )
    found = find_possible_duplicates(desk.session_factory, actor=OPERATOR, incident_id="SJ-0", at=T)
    assert found["incident_id"].tolist() == ["SJ-near"]
    assert found.loc[0, "distance_m"] == pytest.approx(71, abs=2)


def test_the_queue_lists_what_needs_action_most_pressing_first(desk) -> None:
    with desk.session_factory.begin() as session:
        session.add_all(
            [
                incident("Q-new", reported_at=T - H),
                incident("Q-stale", reported_at=T - 30 * H),
                incident("Q-todo", state="registered", reported_at=T - 5 * H, validated_at=T - 4 * H),
                incident(
                    "Q-late",
                    validated_at=T - 100 * H,
                    state="dispatched",
                    reported_at=T - 90 * H,
                    dispatched_at=T - 80 * H,
                ),
                incident(
                    "Q-risk",
                    validated_at=T - 100 * H,
                    state="in_progress",
                    reported_at=T - 70 * H,
                    dispatched_at=T - 60 * H,
                ),
                incident(
                    "Q-fine",
                    validated_at=T - 100 * H,
                    state="in_progress",
                    reported_at=T - 5 * H,
                    dispatched_at=T - 4 * H,
                ),
                incident(
                    "Q-check",
                    validated_at=T - 100 * H,
                    state="handled",
                    reported_at=T - 9 * H,
                    dispatched_at=T - 8 * H,
                    handled_at=T - H,
                ),
                incident("Q-done", state="closed", reported_at=T - 9 * H, closed_at=T - H),
            ]
        )
    queue = load_queue(desk.session_factory, actor=OPERATOR, area_code=COUNTY, at=T)
    assert list(zip(queue["incident_id"], queue["need"], strict=True)) == [
        ("Q-late", "超期"),
        ("Q-stale", "核实超时"),
        ("Q-risk", "临期"),
        ("Q-new", "待核实"),
        ("Q-todo", "待派遣"),
        ("Q-check", "待核查"),
    ]
    assert queue.set_index("incident_id").loc["Q-late", "hours_left"] == -8.0
    assert load_queue(desk.session_factory, actor=OPERATOR, area_code=GRID_B, at=T).empty


def test_a_caller_named_on_a_report_is_masked_and_the_staff_who_took_it_is_not(desk) -> None:
    values = dict(category="环境卫生", subcategory="垃圾堆放", severity="normal", description="路边垃圾")
    called = report_incident(
        desk.session_factory,
        actor=OPERATOR,
        now=T,
        lon=115.005,
        lat=37.005,
        channel="hotline",
        reporter="王秀兰",
        **values,
    )
    taken = report_incident(
        desk.session_factory, actor=OPERATOR, now=T, lon=115.005, lat=37.005, channel="hotline", **values
    )
    shown = {
        case.incident_id: load_incident_detail(
            desk.session_factory, actor=OPERATOR, incident_id=case.incident_id, at=T
        ).reporter
        for case in (called, taken)
    }
    assert shown == {called.incident_id: "王**", taken.incident_id: "值班员（operator）"}
