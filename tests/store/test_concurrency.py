"""Many writers at once, with real threads released together by a barrier, on both engines: every
report lands under its own id, one winner where one must win, no lost write and no raw database
error (only the services' own Chinese errors)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable

import pandas as pd
import pytest
from sqlalchemy import func, select

from services.access.audit import record
from services.access.passwords import hash_password
from services.access.sign_in import SessionPolicy, sign_in
from services.access.users import add_user, set_disabled
from services.cases.workflow import (
    CaseAction,
    Photo,
    accept_incident,
    dispatch_incident,
    escalate_incident,
    handle_incident,
    reject_incident,
    reopen_incident,
    report_incident,
    validate_incident,
    verify_incident,
)
from services.cli.simulator import Simulator
from services.domain import LEVELS
from services.errors import InvalidArgumentError, SignInError, StaleIncidentError
from services.exchange.imports.service import import_file
from services.store.models import (
    AuditEntry,
    Household,
    Incident,
    IncidentCounter,
    IncidentEvent,
    User,
    UserArea,
    Worker,
    WorkerGrid,
)
from tests.factories import ADMIN, COUNTY, GRID_A, OPERATOR, T, household, incident, make_actor, seed_areas

WRITERS = 16
SUPERVISOR = make_actor("township_leader", COUNTY, username="supervisor", name="网格长")
PHOTO = Photo("现场.jpg", b"\xff\xd8\xff fake jpeg")
DAY = T.strftime("%Y%m%d")
H = dt.timedelta(hours=1)


def at_once(count: int, act: Callable[[int], object]) -> list[object]:
    """act(0) … act(count − 1) in `count` threads released together; each one's result or error."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = act(index)
        except Exception as error:  # noqa: BLE001 — collected, and checked by the caller
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer is still waiting"
    return outcomes


def split(outcomes: list[object], expected_error: type[Exception] = StaleIncidentError) -> tuple[list, list]:
    """(results, errors); any error other than `expected_error` fails the test with it."""
    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, expected_error)]
    assert not unexpected, unexpected
    return [o for o in outcomes if not isinstance(o, Exception)], [o for o in outcomes if isinstance(o, Exception)]


@pytest.fixture
def desk(store):
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all(
            [
                Worker(county_code=COUNTY, worker_id=f"w{i}", name=f"网格员{i}", phone=str(i), role="worker")
                for i in range(WRITERS)
            ]
        )
        session.flush()
        session.add_all(WorkerGrid(county_code=COUNTY, worker_id=f"w{i}", grid_code=GRID_A) for i in range(WRITERS))
    return store


def report(store, index: int, now: dt.datetime = T) -> str:
    return report_incident(
        store.session_factory,
        actor=OPERATOR,
        now=now,
        category="环境卫生",
        subcategory="垃圾堆放",
        severity="normal",
        lon=115.001 + index * 0.0005,
        lat=37.005,
        description=f"第 {index} 个来电：路口垃圾堆积",
        channel="hotline",
    ).incident_id


def stored_ids(store) -> list[str]:
    with store.session_factory() as session:
        return list(session.scalars(select(Incident.incident_id).order_by(Incident.incident_id)))


def event_count(store, incident_id: str) -> int:
    with store.session_factory() as session:
        return session.scalar(select(func.count()).where(IncidentEvent.incident_id == incident_id)) or 0


# --- reports ---------------------------------------------------------------------------------


def test_sixteen_simultaneous_reports_all_land_under_distinct_consecutive_ids(desk) -> None:
    ids, _ = split(at_once(WRITERS, lambda i: report(desk, i)), type(None))
    assert sorted(ids) == [f"SJ{DAY}{n:04d}" for n in range(1, WRITERS + 1)]
    assert stored_ids(desk) == sorted(ids)
    assert all(event_count(desk, i) == 1 for i in ids)
    with desk.session_factory() as session:
        descriptions = set(session.scalars(select(Incident.description)))
    assert descriptions == {f"第 {i} 个来电：路口垃圾堆积" for i in range(WRITERS)}  # none lost, none doubled


def test_reports_skip_the_ids_an_import_or_the_demo_already_holds_for_that_day(desk) -> None:
    taken = [f"SJ{DAY}0001", f"SJ{DAY}0002", f"SJ{DAY}0007", f"SJ{DAY}-import"]
    with desk.session_factory.begin() as session:
        session.add_all(incident(i, reported_at=T - H) for i in taken)
    ids, _ = split(at_once(WRITERS, lambda i: report(desk, i)), type(None))
    assert sorted(ids) == [f"SJ{DAY}{n:04d}" for n in range(8, 8 + WRITERS)]
    assert len(stored_ids(desk)) == len(taken) + WRITERS


def test_each_local_day_numbers_its_reports_from_one(desk) -> None:
    first = report(desk, 0, now=T)
    next_day = report(desk, 1, now=T + 24 * H)
    assert (first, next_day) == (f"SJ{DAY}0001", f"SJ{(T + 24 * H):%Y%m%d}0001")
    with desk.session_factory() as session:
        counters = session.execute(select(IncidentCounter.day, IncidentCounter.last_number)).all()
    assert sorted(tuple(c) for c in counters) == [(T.date(), 1), ((T + 24 * H).date(), 1)]


def test_a_filled_database_from_before_the_counters_upgrades_and_numbers_after_its_ids(store) -> None:
    from alembic import command

    from services.store.migrate import alembic_config, upgrade_schema

    command.downgrade(alembic_config(store.engine), "0005")
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all(incident(f"SJ{DAY}{n:04d}", reported_at=T - H) for n in (1, 2, 41))
    upgrade_schema(store.engine)
    assert report(store, 0) == f"SJ{DAY}0042"


# --- one case, sixteen hands -------------------------------------------------------------------


def case_in(store, state: str, **fields: object) -> str:
    stages = {
        "reported": {},
        "registered": {"validated_at": T - 3 * H},
        "dispatched": {"validated_at": T - 3 * H, "dispatched_at": T - 2 * H, "assignee_worker_id": "w0"},
        "in_progress": {
            "validated_at": T - 3 * H,
            "dispatched_at": T - 2 * H,
            "accepted_at": T - 2 * H,
            "assignee_worker_id": "w0",
        },
        "handled": {
            "validated_at": T - 3 * H,
            "dispatched_at": T - 2 * H,
            "accepted_at": T - 2 * H,
            "handled_at": T - H,
            "assignee_worker_id": "w0",
        },
    }
    case_id = f"SJ-{state}"
    with store.session_factory.begin() as session:
        session.add(incident(case_id, state=state, reported_at=T - 4 * H, **stages[state], **fields))
    return case_id


def test_sixteen_supervisors_dispatching_the_same_case_make_exactly_one_winner(desk) -> None:
    case = case_in(desk, "registered")
    outcomes = at_once(
        WRITERS,
        lambda i: dispatch_incident(desk.session_factory, CaseAction(SUPERVISOR, T, case, 1), worker_id=f"w{i}"),
    )
    (winner,), losers = split(outcomes)
    assert len(losers) == WRITERS - 1
    with desk.session_factory() as session:
        stored = session.get(Incident, (COUNTY, case))
    assert (stored.version, stored.state) == (2, "dispatched") and event_count(desk, case) == 1
    assert stored.assignee_worker_id == f"w{outcomes.index(winner)}"


RACES = {
    # state: what sixteen supervisors try at once (two kinds where two transitions compete)
    "reported": lambda sf, case, i, photos: (
        validate_incident(sf, case) if i % 2 else reject_incident(sf, case, reason=f"第 {i} 位判为无效")
    ),
    "dispatched": lambda sf, case, i, photos: accept_incident(sf, case),
    "in_progress": lambda sf, case, i, photos: (
        escalate_incident(sf, case, reason=f"第 {i} 位上报")
        if i % 2
        else handle_incident(sf, case, note="已处置", photos=[PHOTO], photo_dir=photos)
    ),
    "handled": lambda sf, case, i, photos: (
        verify_incident(sf, case, satisfaction="满意") if i % 2 else reopen_incident(sf, case, reason="未处置到位")
    ),
}


@pytest.mark.parametrize("state", list(RACES))
def test_sixteen_hands_on_one_case_change_it_once(desk, tmp_path, state) -> None:
    case = case_in(desk, state)
    photos = tmp_path / "photos"
    outcomes = at_once(
        WRITERS, lambda i: RACES[state](desk.session_factory, CaseAction(SUPERVISOR, T, case, 1), i, photos)
    )
    (winner,), losers = split(outcomes)
    assert len(losers) == WRITERS - 1
    with desk.session_factory() as session:
        stored = session.get(Incident, (COUNTY, case))
        last = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == case)).one()
    assert (stored.version, stored.state, last.to_state) == (2, winner.state, winner.state)
    if last.action == "escalate":
        assert stored.level == LEVELS[1]  # one rung, not sixteen
    on_disk = list(photos.rglob("*.jpg")) if photos.exists() else []
    assert len(on_disk) == (1 if last.action == "handle" else 0)  # a loser's photo is removed again


# --- imports while the simulator writes ------------------------------------------------------


def test_a_households_import_while_the_simulator_reports_and_moves_cases_loses_nothing(desk, tmp_path) -> None:
    with desk.session_factory.begin() as session:
        session.add_all(household(f"H{i}", GRID_A) for i in range(20))
        session.execute(Worker.__table__.update().values(on_duty=True, last_lon=115.005, last_lat=37.005))
    rows = [
        {
            "household_id": f"N{i:04d}",
            "head_name": "张建国",
            "address": f"平乡镇测试村{i}号",
            "members": 3,
            "phone": "13800000000",
            "lon": 115.001 + (i % 90) * 0.0001,
            "lat": 37.001 + (i // 90) * 0.0001,
            "tags": "",
        }
        for i in range(2_000)
    ]
    path = tmp_path / "households.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    simulators = [
        Simulator(
            desk.session_factory, county_code=COUNTY, photo_dir=tmp_path / "photos", seed=s, reports_per_hour=3600
        )
        for s in range(WRITERS - 1)
    ]
    started = dt.datetime.now(dt.UTC)

    def act(i: int) -> object:
        if i == 0:
            return import_file(
                desk.session_factory,
                kind="households",
                path=path,
                filename=path.name,
                crs="wgs84",
                actor=ADMIN,
                now=started,
            )
        return [simulators[i - 1].tick(started + dt.timedelta(seconds=10 * n, milliseconds=i), 5) for n in range(3)]

    outcomes = at_once(WRITERS, act)
    results, errors = split(outcomes, type(None))
    assert not errors
    summary, ticks = results[0], [t for ticks in results[1:] for t in ticks]
    assert summary.written["households_inserted"] == len(rows)
    with desk.session_factory() as session:
        households = session.scalar(select(func.count()).select_from(Household)) or 0
        incidents = session.scalar(select(func.count()).select_from(Incident)) or 0
        events = session.scalar(select(func.count()).select_from(IncidentEvent)) or 0
    assert households == 20 + len(rows)
    assert incidents == sum(t.reported for t in ticks) > 0  # every simulated report landed
    assert events == incidents + sum(t.advanced for t in ticks)  # and every step it counted


# --- users and sign-in -----------------------------------------------------------------------


def test_sixteen_admins_adding_the_same_user_make_one_and_sixteen_names_make_sixteen(desk) -> None:
    def add(i: int, name: str) -> None:
        add_user(
            desk.session_factory,
            actor=ADMIN,
            now=T,
            username=name,
            display_name=f"用户{i}",
            role="viewer",
            area_codes=(COUNTY,),
            password="pass word 8",
        )

    done, refused = split(at_once(WRITERS, lambda i: add(i, "same.name")), InvalidArgumentError)
    assert len(done) == 1 and all("已存在" in str(e) for e in refused) and len(refused) == WRITERS - 1
    split(at_once(WRITERS, lambda i: add(i, f"user{i:02d}")), type(None))
    with desk.session_factory() as session:
        users = session.scalar(select(func.count()).select_from(User)) or 0
        areas = session.scalar(select(func.count()).select_from(UserArea)) or 0
        added = session.scalar(select(func.count()).where(AuditEntry.action == "user_add")) or 0
    assert users == areas == added == 1 + WRITERS


def test_sixteen_disable_and_enable_clicks_all_go_on_record(desk) -> None:
    with desk.session_factory.begin() as session:
        session.add(User(username="target", county_code=COUNTY, display_name="目标", role="viewer", disabled=False))
        session.flush()
        session.add(UserArea(county_code=COUNTY, username="target", area_code=COUNTY))
    split(
        at_once(
            WRITERS,
            lambda i: set_disabled(desk.session_factory, actor=ADMIN, now=T, username="target", disabled=bool(i % 2)),
        ),
        type(None),
    )
    with desk.session_factory() as session:
        changes = session.scalar(select(func.count()).where(AuditEntry.action.in_(("user_disable", "user_enable"))))
    assert changes == WRITERS


def test_sixteen_wrong_passwords_at_once_get_only_the_free_failures_through(desk) -> None:
    policy = SessionPolicy()
    with desk.session_factory.begin() as session:
        session.add(
            User(
                username="leader",
                county_code=COUNTY,
                display_name="乡镇领导",
                role="township_leader",
                password_hash=hash_password("right password"),
            )
        )
        session.flush()
        session.add(UserArea(county_code=COUNTY, username="leader", area_code=COUNTY))
    outcomes = at_once(
        WRITERS,
        lambda i: sign_in(
            desk.session_factory, county_code=COUNTY, username="leader", password=f"wrong {i}", now=T, policy=policy
        ),
    )
    _, refused = split(outcomes, SignInError)
    messages = [str(e) for e in refused]
    assert len(refused) == WRITERS
    assert messages.count("用户名或密码错误") == policy.free_failures
    assert all(re.fullmatch(r"登录失败次数过多，请 \d+ 秒后再试", m) for m in messages if m != "用户名或密码错误")
    with desk.session_factory() as session:
        on_record = dict(session.execute(select(AuditEntry.action, func.count()).group_by(AuditEntry.action)).all())
    assert on_record == {"sign_in_failed": policy.free_failures, "sign_in_throttled": WRITERS - policy.free_failures}
    with pytest.raises(SignInError, match="秒后再试"):  # the right password waits too
        sign_in(
            desk.session_factory, county_code=COUNTY, username="leader", password="right password", now=T, policy=policy
        )


def test_audit_entries_written_at_once_are_all_kept(desk) -> None:
    from services.access.audit import Who

    split(at_once(WRITERS, lambda i: record(desk.session_factory, Who(COUNTY, f"u{i}"), "sign_out", T)), type(None))
    with desk.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == WRITERS
