"""Read models of the 民情地图 page on both stores: point layers, panels, cards and search."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from geo.display import ALARM_AT_RISK, ALARM_OVERDUE
from render.map_layers import build_base_map, build_overlays
from services.access.actor import Actor
from services.basemaps import make_basemap
from services.cases.detail import load_incident_detail
from services.errors import OutOfScopeError, UnknownItemError
from services.figures.area_figures import compute_grid_figures
from services.mapping.map_data import (
    colour_grids,
    load_area_shapes,
    load_household_points,
    load_open_incidents,
    load_worker_positions,
)
from services.mapping.panels import (
    load_grid_panel,
    load_household_card,
    load_worker_card,
    summarise_children,
)
from services.mapping.search import search_map
from services.mapping.selection import Selection
from services.store.models import HouseholdTag, PatrolFix, Worker, WorkerGrid
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
)

H = dt.timedelta(hours=1)
VIEWER = make_actor("viewer")


@pytest.fixture
def village(store):
    """Two grids; households with tags; incidents in every alarm state; two workers with fixes."""
    seed_areas(store)
    people = [household("h1", GRID_A), household("h2", GRID_A), household("h3", GRID_B)]
    people[1].head_name, people[1].address, people[1].phone = "李秀英", "平乡镇测试村100%号", "13912345678"
    with store.session_factory.begin() as session:
        session.add_all(people)
        session.add_all(
            HouseholdTag(county_code=COUNTY, household_id=h, tag=t)
            for h, t in (("h1", "独居老人"), ("h2", "重点人员"), ("h3", "党员户"))
        )
        session.add_all(
            [
                incident("SJ-new", reported_at=T - 2 * H),
                incident(
                    "SJ-late",
                    reported_at=T - 100 * H,
                    validated_at=T - 99 * H,
                    dispatched_at=T - 80 * H,
                    state="dispatched",
                ),
                incident(
                    "SJ-risk",
                    reported_at=T - 70 * H,
                    validated_at=T - 69 * H,
                    dispatched_at=T - 60 * H,
                    state="in_progress",
                ),
                incident("SJ-urgent", GRID_B, severity="urgent", limit_hours=24.0, reported_at=T - H, state="reported"),
                incident("SJ-done", reported_at=T - 50 * H, closed_at=T - H, state="closed", close_reason="fixed"),
                incident("SJ-later", reported_at=T + H),
            ]
        )
        session.add_all(
            [
                Worker(
                    county_code=COUNTY,
                    worker_id="w1",
                    name="赵网格",
                    phone="13700000001",
                    role="grid_leader",
                    on_duty=True,
                ),
                Worker(
                    county_code=COUNTY, worker_id="w2", name="钱网格", phone="13700000002", role="worker", on_duty=False
                ),
                Worker(county_code=COUNTY, worker_id="w3", name="孙无定位", phone=None, role="worker", on_duty=True),
            ]
        )
        session.add_all(
            [
                WorkerGrid(county_code=COUNTY, worker_id=w, grid_code=g)
                for w, g in (("w1", GRID_A), ("w2", GRID_B), ("w3", GRID_B))
            ]
        )
        session.add_all(
            [
                PatrolFix(county_code=COUNTY, worker_id="w1", ts=T - 2 * H, lon=115.001, lat=37.001, accuracy_m=5),
                PatrolFix(county_code=COUNTY, worker_id="w1", ts=T - H, lon=115.002, lat=37.002, accuracy_m=5),
                PatrolFix(county_code=COUNTY, worker_id="w1", ts=T + H, lon=115.009, lat=37.009, accuracy_m=5),
                PatrolFix(county_code=COUNTY, worker_id="w2", ts=T - 3 * H, lon=115.015, lat=37.005, accuracy_m=5),
            ]
        )
    return store


def test_open_incidents_carry_their_alarm_and_the_county_view_keeps_only_the_alarming(village) -> None:
    rows = load_open_incidents(village.session_factory, actor=OPERATOR, area_code=COUNTY, at=T, alarming_only=False)
    alarms = dict(zip(rows["incident_id"], rows["alarm"], strict=True))
    assert alarms == {"SJ-new": 0, "SJ-late": ALARM_OVERDUE, "SJ-risk": ALARM_AT_RISK, "SJ-urgent": 0}
    alarming = load_open_incidents(village.session_factory, actor=OPERATOR, area_code=COUNTY, at=T, alarming_only=True)
    assert sorted(alarming["incident_id"]) == ["SJ-late", "SJ-risk", "SJ-urgent"]
    assert "已超期" in rows.set_index("incident_id").loc["SJ-late", "label"]
    grid_b = load_open_incidents(village.session_factory, actor=OPERATOR, area_code=GRID_B, at=T, alarming_only=False)
    assert grid_b["incident_id"].tolist() == ["SJ-urgent"]


def test_household_points_mark_special_groups_and_key_persons_only_for_cleared_viewers(village) -> None:
    cleared = load_household_points(village.session_factory, actor=OPERATOR, area_code=VILLAGE, at=T)
    assert dict(zip(cleared["household_id"], cleared["family"], strict=True)) == {"h1": 1, "h2": 2, "h3": 0}
    assert "李**" in cleared.set_index("household_id").loc["h2", "label"]  # names stay masked on the map
    masked = load_household_points(village.session_factory, actor=VIEWER, area_code=VILLAGE, at=T)
    row = masked.set_index("household_id").loc["h2"]
    assert row["family"] == 0 and "重点人员" not in row["label"] and "李**" in row["label"]
    assert masked.set_index("household_id").loc["h3", "grid_code"] == GRID_B


def test_workers_stand_at_their_last_fix_up_to_the_moment(village) -> None:
    workers = load_worker_positions(village.session_factory, actor=OPERATOR, area_code=COUNTY, at=T).set_index(
        "worker_id"
    )
    assert workers.index.tolist() == ["w1", "w2"]  # w3 has no fix yet
    assert (workers.loc["w1", "lon"], workers.loc["w1", "lat"]) == (115.002, 37.002)
    assert workers.loc["w1", "on_duty"] and not workers.loc["w2", "on_duty"]
    only_b = load_worker_positions(village.session_factory, actor=OPERATOR, area_code=GRID_B, at=T)
    assert only_b["worker_id"].tolist() == ["w2"]


def test_the_grid_panel_lists_its_people_and_cases_with_residents_masked(village) -> None:
    panel = load_grid_panel(village.session_factory, actor=VIEWER, grid_code=GRID_A, at=T)
    assert panel.grid_name == "测试村第1网格"
    assert panel.workers[["name", "role", "on_duty", "phone"]].values.tolist() == [
        ["赵网格", "网格长", "在岗", "13700000001"]
    ]
    assert panel.households["head_name"].tolist() == ["张*", "李**"]
    assert panel.households["phone"].tolist() == ["138****0000", "139****5678"]
    assert panel.tag_counts.values.tolist() == [["独居老人", 1]]
    cases = panel.open_cases.set_index("incident_id")
    assert cases.index.tolist() == ["SJ-late", "SJ-risk", "SJ-new"]
    assert cases.loc["SJ-late", "alarm"] == "超期" and cases.loc["SJ-new", "deadline"] == ""
    assert cases.loc["SJ-late", "deadline"] == (T - 80 * H + 72 * H).strftime("%Y-%m-%d %H:%M")


def test_cards_show_one_item_and_refuse_unknown_or_out_of_scope_ones(village) -> None:
    card = load_household_card(village.session_factory, actor=OPERATOR, household_id="h1", at=T)
    assert (card.head_name, card.phone, card.tags, card.grid_code) == ("张*", "138****0000", ("独居老人",), GRID_A)
    case = load_incident_detail(village.session_factory, actor=OPERATOR, incident_id="SJ-late", at=T)
    assert (case.state_name, case.alarm, case.severity, case.actions[0]) == ("已派遣", "已超期", "一般", "dispatch")
    assert case.remaining == (T - 80 * H + 72 * H) - T and case.limit.describe() == "处置时限 72 小时（默认时限）"
    worker = load_worker_card(village.session_factory, actor=OPERATOR, worker_id="w1", at=T)
    assert (worker.name, worker.role, worker.grid_codes) == ("赵网格", "网格长", (GRID_A,))
    with pytest.raises(UnknownItemError, match="h9"):
        load_household_card(village.session_factory, actor=OPERATOR, household_id="h9", at=T)
    with pytest.raises(UnknownItemError):
        load_incident_detail(
            village.session_factory, actor=make_actor("grid_supervisor", GRID_B), incident_id="SJ-late", at=T
        )
    with pytest.raises(OutOfScopeError):
        load_grid_panel(village.session_factory, actor=make_actor("grid_supervisor", GRID_B), grid_code=GRID_A, at=T)


def test_search_finds_areas_incidents_and_households_inside_the_scope(village) -> None:
    def found(text: str, actor: Actor = OPERATOR) -> list[Selection]:
        return [hit.selection for hit in search_map(village.session_factory, actor=actor, text=text)]

    assert found(GRID_B) == [Selection(GRID_B)]
    assert Selection(VILLAGE) in found("测试村")
    # Incident ids start with their date: the newest first.
    assert found("SJ-la") == [Selection(GRID_A, "incident", "SJ-later"), Selection(GRID_A, "incident", "SJ-late")]
    assert found("李秀英") == [Selection(GRID_A, "household", "h2")]
    assert found("100%") == [Selection(GRID_A, "household", "h2")]  # % is a character, not a wildcard
    assert found("李秀英", make_actor("grid_supervisor", GRID_B)) == []
    assert found("李秀英", VIEWER) == []  # a role that may not see names cannot probe them either
    assert found("李") == []  # one character would list half a village
    labels = [hit.label for hit in search_map(village.session_factory, actor=OPERATOR, text="李秀英")]
    assert labels == ["住户 · 李** · 平乡镇测试村100%号"]


def test_children_figures_are_sums_of_their_grids(village) -> None:
    by_grid = compute_grid_figures(
        village.session_factory, actor=OPERATOR, area_code=COUNTY, at=T, days=7, special_tags=("独居老人",)
    )
    children = summarise_children(by_grid, area_code=VILLAGE, child_level="grid", names={GRID_A: "一格"})
    assert children[["code", "name", "households", "open", "overdue"]].values.tolist() == [
        [GRID_A, "一格", 2, 3, 1],
        [GRID_B, GRID_B, 1, 1, 0],
    ]
    township = summarise_children(by_grid, area_code=TOWNSHIP, child_level="village", names={})
    assert township[["code", "households", "open", "special_households"]].values.tolist() == [[VILLAGE, 3, 4, 1]]


def test_the_map_links_only_local_assets_and_carries_clickable_ids(village) -> None:
    shapes = load_area_shapes(village.session_factory, actor=OPERATOR)
    by_grid = compute_grid_figures(
        village.session_factory, actor=OPERATOR, area_code=COUNTY, at=T, days=7, special_tags=()
    )
    values, legend = colour_grids(by_grid, "open")
    fmap = build_base_map(shapes, grid_values=values, legend=legend, basemap=make_basemap("none"))
    incidents = load_open_incidents(
        village.session_factory, actor=OPERATOR, area_code=VILLAGE, at=T, alarming_only=False
    )
    households = load_household_points(village.session_factory, actor=OPERATOR, area_code=VILLAGE, at=T)
    for group in build_overlays(
        shapes,
        selected_code=VILLAGE,
        selected_level="village",
        child_level="grid",
        incidents=incidents,
        households=households,
        workers=None,
    ):
        group.add_to(fmap)
    html = fmap.get_root().render()
    links = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert links and all(link.startswith("/app/static/") for link in links), links
    assert f'"id":"{GRID_A}"' in html and '"kind":"grid"' in html
    assert '"id":"h2"' in html and '"kind":"household"' in html and f'"g":"{GRID_A}"' in html
    assert '"id":"SJ-late"' in html and "cdn" not in html.lower()
    assert values[GRID_A][1] == "在办事件 3"
