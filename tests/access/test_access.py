"""Access control (issue 8): every role, every service that returns data or changes something.
The county has two townships; each restricted role holds part of the first, so the second (and
the rest of the first) is what must never come back."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest
import shapely
from sqlalchemy import select

from services.access.actor import ACTION_ROLES, USER_ROLES, Actor
from services.access.audit import AuditQuery, search_audit
from services.access.users import list_users
from services.cases.detail import load_incident_detail
from services.cases.dispatch import find_possible_duplicates, suggest_workers
from services.cases.queue import load_queue
from services.cases.workflow import CaseAction, report_incident, validate_incident
from services.errors import (
    InvalidArgumentError,
    OutOfScopeError,
    PermissionDeniedError,
    PointOutsideGridsError,
    UnknownItemError,
)
from services.exchange.exports import export_fixes, export_households, export_incidents, export_workers
from services.exchange.imports.service import check_import, import_file
from services.figures.area_figures import compute_area_figures, compute_grid_figures
from services.mapping.areas import load_areas
from services.mapping.links import open_selection
from services.mapping.map_data import (
    load_area_shapes,
    load_household_points,
    load_open_incidents,
    load_worker_positions,
)
from services.mapping.panels import load_grid_panel, load_household_card, load_worker_card
from services.mapping.search import search_map
from services.mapping.selection import Selection
from services.patrol.supervision import compute_compliance, load_worker_day, patrol_days_of
from services.screen.wall_figures import load_screen
from services.store.models import AuditEntry, Household, HouseholdTag, PatrolFix, Worker, WorkerGrid
from tests.factories import (
    COUNTY,
    GRID_A,
    GRID_B,
    TOWNSHIP,
    VILLAGE,
    T,
    add_areas,
    household,
    incident,
    make_actor,
    seed_areas,
)

OTHER_TOWNSHIP = "130532102"
OTHER_GRID = "130532102201001"
H = dt.timedelta(hours=1)
ACTORS = {
    "county_admin": make_actor("county_admin"),
    "county_operator": make_actor("county_operator"),
    "township_leader": make_actor("township_leader", TOWNSHIP),
    "grid_supervisor": make_actor("grid_supervisor", GRID_A),
    "viewer": make_actor("viewer", TOWNSHIP),
}
# What each actor owns in the fixture (GRID_A is inside every scope) and what lies outside.
OUTSIDE = {role: [code for code in (GRID_B, OTHER_GRID) if not a.scope.allows(code)] for role, a in ACTORS.items()}
HOUSEHOLDS = {GRID_A: "hA", GRID_B: "hB", OTHER_GRID: "hO"}
WORKERS = {GRID_A: "wA", GRID_B: "wB", OTHER_GRID: "wO"}
CASES = {GRID_A: "SJ-A", GRID_B: "SJ-B", OTHER_GRID: "SJ-O"}


@pytest.fixture(scope="module")
def county(module_store):
    """Two townships: 平乡镇 (GRID_A, GRID_B) and 河古庙镇 (OTHER_GRID), a household, a worker with a
    fix and an open case in each grid; the case of GRID_A also has a possible duplicate."""
    store = module_store
    seed_areas(store)
    other = shapely.box(115.02, 37.00, 115.03, 37.01)
    add_areas(
        store,
        [
            (OTHER_TOWNSHIP, "township", "河古庙镇", COUNTY, other),
            (OTHER_GRID[:12], "village", "河古庙村", OTHER_TOWNSHIP, other),
            (OTHER_GRID, "grid", "河古庙村第1网格", OTHER_GRID[:12], other),
        ],
    )
    with store.session_factory.begin() as session:
        for index, grid in enumerate((GRID_A, GRID_B, OTHER_GRID)):
            lon = 115.005 + 0.01 * index
            row = household(HOUSEHOLDS[grid], grid)
            row.lon, row.head_name, row.address = lon, f"王{index}花", f"测试路{index}号"
            row.phone, row.id_number = f"1380000000{index}", f"13053219800101000{index}"
            session.add(row)
            session.add(HouseholdTag(county_code=COUNTY, household_id=HOUSEHOLDS[grid], tag="重点人员"))
            session.add(
                Worker(
                    county_code=COUNTY,
                    worker_id=WORKERS[grid],
                    name=f"网格员{index}",
                    phone="1",
                    role="worker",
                    on_duty=True,
                    last_lon=lon,
                    last_lat=37.005,
                )
            )
            session.add(WorkerGrid(county_code=COUNTY, worker_id=WORKERS[grid], grid_code=grid))
            session.add(
                PatrolFix(county_code=COUNTY, worker_id=WORKERS[grid], ts=T - H, lon=lon, lat=37.005, accuracy_m=5)
            )
            session.add(incident(CASES[grid], grid, lon=lon, reported_at=T - 2 * H, severity="urgent"))
        session.add(incident("SJ-A2", GRID_A, reported_at=T - H))
    return store


def codes_outside(actor: Actor, codes) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted({str(code) for code in codes if not actor.scope.allows(str(code))})


@pytest.mark.parametrize("role", USER_ROLES)
def test_reads_return_nothing_outside_the_scope(county, role) -> None:
    actor, factory, home = ACTORS[role], county.session_factory, ACTORS[role].home_area
    grid_codes = {
        "areas": load_areas(factory, actor=actor, levels=("grid",))["code"],
        "shapes": load_area_shapes(factory, actor=actor).grids["code"],
        "grid figures": compute_grid_figures(factory, actor=actor, area_code=home, at=T, days=7, special_tags=()).index,
        "incidents": load_open_incidents(factory, actor=actor, area_code=home, at=T, alarming_only=False)["grid_code"],
        "households": load_household_points(factory, actor=actor, area_code=home, at=T)["grid_code"],
        "queue": load_queue(factory, actor=actor, area_code=home, at=T)["grid_code"],
        "screen": load_screen(factory, actor=actor, at=T, fresh=H).open_points["grid_code"],
        "search": [hit.selection.area_code for hit in search_map(factory, actor=actor, text="测试")],
    }
    for name, codes in grid_codes.items():
        assert codes_outside(actor, codes) == [], name
        assert GRID_A in {str(c)[:15] for c in codes} or name == "search", name  # the own part does come back
    allowed_workers = {WORKERS[g] for g in WORKERS if actor.scope.allows(g)}
    positions = load_worker_positions(factory, actor=actor, area_code=home, at=T)["worker_id"]
    suggested = suggest_workers(factory, actor=actor, incident_id=CASES[GRID_A])["worker_id"]
    compliance = compute_compliance(factory, actor=actor, area_code=home, month=T.date().replace(day=1), now=T)
    for name, workers in (("positions", positions), ("suggested", suggested), ("compliance", compliance["worker_id"])):
        assert set(workers) <= allowed_workers and "wA" in set(workers), name
    duplicates = find_possible_duplicates(factory, actor=actor, incident_id=CASES[GRID_A], at=T)
    assert set(duplicates["incident_id"]) <= {c for g, c in CASES.items() if actor.scope.allows(g)} | {"SJ-A2"}
    figures = compute_area_figures(factory, actor=actor, area_code=home, at=T, days=7)
    assert figures.households == sum(actor.scope.allows(g) for g in HOUSEHOLDS)


@pytest.mark.parametrize("role", USER_ROLES)
def test_items_and_areas_outside_the_scope_are_refused_and_audited(county, role) -> None:
    actor, factory = ACTORS[role], county.session_factory
    for grid in OUTSIDE[role]:
        with pytest.raises(OutOfScopeError):
            load_grid_panel(factory, actor=actor, grid_code=grid, at=T)
        with pytest.raises(OutOfScopeError):
            load_open_incidents(factory, actor=actor, area_code=grid, at=T, alarming_only=False)
        with pytest.raises(OutOfScopeError):
            compute_area_figures(factory, actor=actor, area_code=grid, at=T, days=7)
        for load, item in (
            (lambda i: load_household_card(factory, actor=actor, household_id=i, at=T), HOUSEHOLDS[grid]),
            (lambda i: load_incident_detail(factory, actor=actor, incident_id=i, at=T), CASES[grid]),
            (lambda i: load_worker_card(factory, actor=actor, worker_id=i, at=T), WORKERS[grid]),
            (lambda i: load_worker_day(factory, actor=actor, worker_id=i, day=T.date()), WORKERS[grid]),
        ):
            with pytest.raises(UnknownItemError, match="不存在或不在您的管辖范围内"):
                load(item)
        assert patrol_days_of(factory, actor=actor, worker_id=WORKERS[grid]) == []
    refused = audit_targets(county, actor.username, "refused")
    for grid in OUTSIDE[role]:
        assert {grid, f"住户 {HOUSEHOLDS[grid]}", f"事件 {CASES[grid]}", f"网格员 {WORKERS[grid]}"} <= refused
    # …while what is theirs opens.
    assert load_grid_panel(factory, actor=actor, grid_code=GRID_A, at=T).grid_code == GRID_A
    assert load_household_card(factory, actor=actor, household_id="hA", at=T).household_id == "hA"


def audit_targets(store, username: str, action: str) -> set[str]:  # type: ignore[no-untyped-def]
    with store.session_factory() as session:
        return set(
            session.scalars(
                select(AuditEntry.target).where(AuditEntry.username == username, AuditEntry.action == action)
            )
        )


@pytest.mark.parametrize("role", USER_ROLES)
def test_a_link_outside_the_scope_opens_the_home_area_on_the_record(county, role) -> None:
    actor = ACTORS[role]
    for grid in OUTSIDE[role]:
        opened = open_selection(county.session_factory, actor=actor, params={"area": grid}, at=T)
        assert opened.selection == Selection(actor.home_area) and grid in (opened.refused or "")
        assert f"区域 {grid}" in audit_targets(county, actor.username, "refused")
    county_link = open_selection(county.session_factory, actor=actor, params={"area": COUNTY}, at=T)
    assert county_link.selection == Selection(actor.home_area) and county_link.refused is None
    own = open_selection(county.session_factory, actor=actor, params={"area": GRID_A, "household": "hA"}, at=T)
    assert own.selection == Selection(GRID_A, "household", "hA")


@pytest.mark.parametrize("role", USER_ROLES)
def test_personal_data_is_masked_and_unmasked_only_for_allowed_roles_on_the_record(county, role) -> None:
    actor, factory = ACTORS[role], county.session_factory
    card = load_household_card(factory, actor=actor, household_id="hA", at=T)
    assert (card.head_name, card.phone, card.id_number) == ("王**", "138****0000", "130532********0000")
    assert ("重点人员" in card.tags) == (role in ("county_operator", "township_leader"))
    panel = load_grid_panel(factory, actor=actor, grid_code=GRID_A, at=T)
    assert panel.households["phone"].tolist() == ["138****0000"]
    if actor.may("unmask_personal_data"):
        full = load_household_card(factory, actor=actor, household_id="hA", at=T, unmask=True)
        assert (full.head_name, full.phone, full.id_number, full.unmasked) == (
            "王0花",
            "13800000000",
            "130532198001010000",
            True,
        )
        assert "住户 hA" in audit_targets(county, actor.username, "unmask")
    else:
        with pytest.raises(PermissionDeniedError):
            load_household_card(factory, actor=actor, household_id="hA", at=T, unmask=True)
        assert "住户 hA" in audit_targets(county, actor.username, "refused")
        assert audit_targets(county, actor.username, "unmask") == set()


@pytest.mark.parametrize("role", USER_ROLES)
def test_workflow_actions_follow_the_role_and_the_scope(county, role) -> None:
    actor, factory = ACTORS[role], county.session_factory
    allowed = role in ACTION_ROLES["validate"]
    own = f"SJ-own-{role}"
    with county.session_factory.begin() as session:
        session.add(incident(own, GRID_A, reported_at=T - H))
    if allowed:
        assert validate_incident(factory, CaseAction(actor, T, own, 1)).state == "registered"
    else:
        with pytest.raises(PermissionDeniedError, match="无权立案"):
            validate_incident(factory, CaseAction(actor, T, own, 1))
    for grid in OUTSIDE[role]:
        with pytest.raises((UnknownItemError, PermissionDeniedError)):
            validate_incident(factory, CaseAction(actor, T, CASES[grid], 1))
    report = dict(
        now=T, category="环境卫生", subcategory="垃圾堆放", severity="normal", description="路边垃圾", channel="hotline"
    )
    if role in ACTION_ROLES["report"]:
        assert report_incident(factory, actor=actor, lon=115.005, lat=37.005, **report).grid_code == GRID_A
        with pytest.raises(PointOutsideGridsError) if OUTSIDE[role] else contextlib.nullcontext():
            report_incident(factory, actor=actor, lon=115.025, lat=37.005, **report)
    else:
        with pytest.raises(PermissionDeniedError):
            report_incident(factory, actor=actor, lon=115.005, lat=37.005, **report)


def test_only_the_action_roles_table_decides_who_may_act() -> None:
    grid_supervisor = ACTORS["grid_supervisor"]
    assert grid_supervisor.may_act("dispatch") and not grid_supervisor.may_act("call_department")
    assert not ACTORS["county_admin"].may_act("validate") and not ACTORS["viewer"].may_act("report")
    assert all(ACTORS["county_operator"].may_act(action) for action in ACTION_ROLES)


@pytest.mark.parametrize("role", USER_ROLES)
def test_imports_exports_users_and_the_audit_log_are_for_their_roles_only(county, role, tmp_path) -> None:
    actor, factory = ACTORS[role], county.session_factory
    csv = tmp_path / "households.csv"
    csv.write_text("household_id,head_name,address,members,phone,lon,lat,tags\nhN,李四,测试路9号,2,,115.005,37.005,\n")
    exchange = [
        lambda: export_households(factory, actor=actor, now=T),
        lambda: export_workers(factory, actor=actor, now=T),
        lambda: export_incidents(factory, actor=actor, now=T),
        lambda: export_fixes(factory, actor=actor, now=T),
        lambda: check_import(factory, kind="households", path=csv, filename=csv.name, crs="wgs84", actor=actor, now=T),
    ]
    if actor.may("import_data"):
        for run in exchange:
            assert run() is not None
    else:
        for run in exchange:
            with pytest.raises(PermissionDeniedError, match="无权导入导出数据"):
                run()
        with pytest.raises(PermissionDeniedError):
            import_file(factory, kind="households", path=csv, filename=csv.name, crs="wgs84", actor=actor, now=T)
        with county.session_factory() as session:
            assert session.get(Household, (COUNTY, "hN")) is None
        assert "households.csv" in audit_targets(county, actor.username, "refused")
    query = AuditQuery(since=T - 24 * H, until=T + 24 * H)
    if role == "county_admin":
        assert list_users(factory, actor=actor, now=T).empty  # this fixture has no users table rows
        assert not search_audit(factory, actor=actor, query=query, now=T).empty
    else:
        with pytest.raises(PermissionDeniedError):
            search_audit(factory, actor=actor, query=query, now=T)
        with pytest.raises(PermissionDeniedError):
            list_users(factory, actor=actor, now=T)


def test_exports_of_a_county_operator_hold_every_township(county) -> None:
    households = export_households(county.session_factory, actor=ACTORS["county_operator"], now=T)
    assert sorted(households["household_id"]) == sorted(HOUSEHOLDS.values())
    limited = dataclasses.replace(ACTORS["county_operator"], area_codes=(TOWNSHIP,))
    assert sorted(export_households(county.session_factory, actor=limited, now=T)["household_id"]) == ["hA", "hB"]


@pytest.mark.parametrize(
    "text",
    ["%", "_%_", "' OR '1'='1", "王%", "\\", "测试路2号", "130532102"],
)
def test_crafted_search_text_is_taken_literally_and_stays_in_scope(county, text) -> None:
    leader = ACTORS["township_leader"]
    hits = search_map(county.session_factory, actor=leader, text=text)
    assert all(leader.scope.reaches(hit.selection.area_code) for hit in hits)
    if text in ("%", "_%_", "' OR '1'='1", "王%", "\\"):
        assert hits == []  # wildcards and quotes match only themselves: no area, case or household has them


def test_very_long_search_text_is_refused(county) -> None:
    with pytest.raises(InvalidArgumentError, match="过长"):
        search_map(county.session_factory, actor=ACTORS["county_operator"], text="测" * 65)


def test_names_are_searchable_only_by_roles_that_may_see_them(county) -> None:
    def found(role: str) -> list[str]:
        return [hit.label for hit in search_map(county.session_factory, actor=ACTORS[role], text="王0花")]

    assert found("county_operator") == ["住户 · 王** · 测试路0号"]
    assert found("viewer") == [] and found("county_admin") == []


def test_a_role_cannot_be_made_up_and_areas_must_be_in_the_county() -> None:
    with pytest.raises(ValueError):
        Actor("x", "x", "superuser", COUNTY, (COUNTY,))
    with pytest.raises(ValueError):
        Actor("x", "x", "viewer", COUNTY, ("130533",))


def test_a_supervisor_of_grids_in_two_villages_opens_their_township_and_sees_only_their_grids() -> None:
    supervisor = make_actor("grid_supervisor", "130532101201001", "130532101204001")
    assert supervisor.home_area == TOWNSHIP
    assert supervisor.scope.parts(TOWNSHIP) == ("130532101201001", "130532101204001")
    assert supervisor.scope.parts(VILLAGE) == ("130532101201001",)
    assert supervisor.scope.parts("130532101202") == ()
