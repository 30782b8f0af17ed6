"""The 民情地图 page as one story, in the order the page runs it: a link or a click names the
selection; the read models give the selected area's shapes, points, panels, cards and search hits,
inside the viewer's scope and masked to their clearance; classes, colours and display geometry turn
them into layers; the rendered map links only the files the app serves itself (no internet needed).

Pure steps run on plain values; the read models run on both stores (the `store` fixture)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.crs import WGS84
from geo.display import ALARM_AT_RISK, ALARM_OVERDUE, display_points, dissolve_by_prefix, simplify_grids, to_gcj02
from geo.gcj02 import wgs84_to_gcj02
from geo.partition import as_multipolygons, voronoi_cells
from render.assets import install_assets, install_tiles
from render.map_layers import area_shapes_document, build_base_map, build_overlays
from render.view import TILE_PX, _mercator_y, fit_view
from services.access.actor import Actor
from services.access.privacy import Clearance, mask_names, mask_phones
from services.basemaps import make_basemap
from services.cases.detail import load_incident_detail
from services.errors import OutOfScopeError, UnknownItemError
from services.figures.area_figures import compute_grid_figures
from services.mapping.areas import load_areas
from services.mapping.choropleth import NO_DATA_COLOUR, RAMPS, classify_counts, classify_shares
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
from services.settings import Settings
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

GRID = "130532101201003"  # a grid code for the selection steps, which need no store behind them
H = dt.timedelta(hours=1)
VIEWER = make_actor("viewer")


# --- 1. the selection: what a link or a click names -----------------------------------------------


def test_a_link_names_the_selection_and_round_trips() -> None:
    selection = Selection(GRID, "household", "H0001")
    assert Selection.from_query(selection.to_query(), COUNTY) == selection
    assert selection.to_query() == {"area": GRID, "household": "H0001"}
    assert Selection.from_query({}, COUNTY) == Selection(COUNTY)


@pytest.mark.parametrize("area", ["13053210", "abc", "110101101201001", "1305321012010031", "", "130532101201003;drop"])
def test_a_malformed_or_foreign_link_opens_the_county(area: str) -> None:
    assert Selection.from_query({"area": area}, COUNTY) == Selection(COUNTY)


def test_clicking_a_grid_drills_down_one_level_at_a_time_towards_it() -> None:
    click = {"kind": "grid", "id": GRID}
    steps = [Selection(COUNTY)]
    for _ in range(4):
        steps.append(steps[-1].after_click(click))
    assert [s.area_code for s in steps] == [COUNTY, "130532101", "130532101201", GRID, GRID]
    assert [s.level for s in steps] == ["county", "township", "village", "grid", "grid"]


def test_clicking_outside_the_selected_area_moves_to_the_neighbour_at_the_same_level() -> None:
    village = Selection("130532101201")
    assert village.after_click({"kind": "grid", "id": "130532102205002"}) == Selection("130532102205")


def test_clicking_a_household_opens_its_card_in_its_grid_and_an_incident_keeps_the_area() -> None:
    village = Selection("130532101201")
    assert village.after_click({"kind": "household", "id": "H9", "g": GRID}) == Selection(GRID, "household", "H9")
    assert village.after_click({"kind": "incident", "id": "SJ1"}) == Selection("130532101201", "incident", "SJ1")
    assert village.after_click({"kind": "area", "id": "130532101"}) == village  # labels are not clickable targets
    assert village.after_click({}) == village


def test_the_breadcrumb_lists_every_level_down_to_the_selection() -> None:
    assert Selection(GRID).crumbs() == [COUNTY, "130532101", "130532101201", GRID]
    assert Selection(COUNTY).crumbs() == [COUNTY]
    assert Selection(GRID).crumbs(home="130532101") == ["130532101", "130532101201", GRID]


def test_households_are_drawn_only_at_village_and_grid_view() -> None:
    shown = {code: Selection(code).shows_households for code in (COUNTY, "130532101", "130532101201", GRID)}
    assert shown == {COUNTY: False, "130532101": False, "130532101201": True, GRID: True}
    assert Selection(GRID).points_area_code == "130532101201"
    assert Selection(COUNTY).alarming_incidents_only and not Selection("130532101").alarming_incidents_only


# --- 2. the read models: the selected area's data, inside the viewer's scope ----------------------


def test_load_areas_keeps_to_the_scope_and_the_areas_holding_it(store) -> None:
    seed_areas(store)
    areas = load_areas(store.session_factory, actor=make_actor("grid_supervisor", GRID_B), levels=("county", "grid"))
    assert areas["code"].tolist() == [COUNTY, GRID_B]  # not GRID_A, the neighbour


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


# --- 3. what a viewer may read: masking and cleared tags ------------------------------------------


def test_names_and_phones_are_masked_keeping_the_surname_and_the_last_four_digits() -> None:
    assert mask_names(pd.Series(["张三丰", "李四", "欧", None])).tolist() == ["张**", "李*", "欧", ""]
    assert mask_phones(pd.Series(["13812345678", "0319-7891234", "123", None])).tolist() == [
        "138****5678",
        "031****1234",
        "****",
        "****",
    ]


def test_key_person_tags_are_visible_only_to_cleared_viewers() -> None:
    assert "重点人员" in Clearance(personal_data=False, key_persons=True).visible_tags()
    assert "重点人员" not in Clearance(personal_data=True, key_persons=False).visible_tags()
    assert "党员户" not in Clearance(False, True).highlighted_tags()


# --- 4. the layers: choropleth classes, display geometry, basemaps and the view -------------------


def test_counts_get_a_class_of_their_own_for_zero_and_quartile_classes_that_cover_every_value() -> None:
    values = pd.Series([0, 0, 1, 2, 3, 5, 8, 13, 21], index=list("abcdefghi"))
    colours, legend = classify_counts(values, "reds")
    assert colours["a"] == colours["b"] == RAMPS["reds"][0]
    assert legend[0].label == "0"
    ranges = [tuple(int(x) for x in e.label.split("–")) if "–" in e.label else (int(e.label),) * 2 for e in legend[1:]]
    for value in values[values > 0]:
        index = next(i for i, (low, high) in enumerate(ranges) if low <= value <= high)
        assert colours[values[values == value].index[0]] == legend[1 + index].colour
    assert colours["i"] == RAMPS["reds"][len(legend) - 1]  # the largest count is in the darkest class used
    assert classify_counts(pd.Series([0, 0]), "reds")[1] == legend[:1]


def test_shares_use_fixed_classes_and_grey_where_there_are_no_households() -> None:
    colours, legend = classify_shares(pd.Series([0.0, 0.19, 0.2, 0.99, 1.0, np.nan]), "greens")
    ramp = RAMPS["greens"]
    assert colours.tolist() == [ramp[0], ramp[0], ramp[1], ramp[4], ramp[4], NO_DATA_COLOUR]
    assert [e.label for e in legend][:2] == ["0–20%", "20–40%"]


@pytest.fixture(scope="module")
def grid_coverage() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    region = shapely.Point(0, 0).buffer(5000, quad_segs=64)
    seeds = rng.uniform(-4000, 4000, (120, 2))
    cells = as_multipolygons(voronoi_cells(seeds, region))
    codes = [f"130532{101 + i // 40:03d}{201 + (i // 10) % 4:03d}{1 + i % 10:03d}" for i in range(len(cells))]
    grids = gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=list(cells), crs="EPSG:4547")
    return grids.set_geometry(grids.geometry.translate(500_000, 4_100_000)).to_crs(WGS84)


def test_simplified_grids_still_tile_their_area_without_gaps_or_overlaps(grid_coverage) -> None:
    simple = simplify_grids(grid_coverage, tolerance_m=30)
    metric = simple.to_crs("EPSG:4547")
    original = grid_coverage.to_crs("EPSG:4547")
    assert (
        shapely.get_num_coordinates(simple.geometry.values).sum()
        < shapely.get_num_coordinates(grid_coverage.geometry.values).sum()
    )
    assert metric.area.sum() == pytest.approx(metric.union_all().area, rel=1e-6)  # no overlaps
    assert metric.union_all().area == pytest.approx(original.union_all().area, rel=5e-3)
    assert shapely.coverage_is_valid(metric.geometry.values, gap_width=0.5)


def test_villages_are_drawn_as_the_union_of_their_simplified_grids(grid_coverage) -> None:
    simple = simplify_grids(grid_coverage)
    villages = dissolve_by_prefix(simple, 12, {"130532101201": "甲村"})
    assert len(villages) == grid_coverage["code"].str[:12].nunique()
    assert villages.set_index("code").loc["130532101201", "name"] == "甲村"
    members = simple[simple["code"].str.startswith("130532101202")].union_all()
    assert villages.set_index("code").geometry["130532101202"].symmetric_difference(members).area < 1e-12


def test_gcj02_display_shifts_every_vertex_as_the_point_formula_does(grid_coverage) -> None:
    shifted = to_gcj02(grid_coverage.head(3))
    before = shapely.get_coordinates(grid_coverage.head(3).geometry.values)
    after = shapely.get_coordinates(shifted.geometry.values)
    expected = np.column_stack(wgs84_to_gcj02(before[:, 0], before[:, 1]))
    assert np.allclose(after, expected)
    assert np.abs(after - before).max() > 1e-3  # hundreds of metres in China


def test_points_are_shifted_for_gcj02_tiles_and_left_alone_otherwise() -> None:
    frame = pd.DataFrame({"lon": [115.0, 115.1], "lat": [37.0, 37.1], "id": ["a", "b"]})
    shifted = display_points(frame, "gcj02")
    expected = np.column_stack(wgs84_to_gcj02(frame["lon"], frame["lat"]))
    assert np.allclose(shifted[["lon", "lat"]].to_numpy(), expected) and shifted["id"].tolist() == ["a", "b"]
    assert display_points(frame, "wgs84") is frame


def test_basemaps_name_the_setting_they_lack() -> None:
    assert make_basemap("none").tiles == ()
    assert make_basemap("amap").crs == "gcj02"
    assert "tk=KEY" in make_basemap("tianditu", tianditu_key="KEY").tiles[0].url
    with pytest.raises(ValueError, match="TIANDITU_KEY"):
        make_basemap("tianditu")
    with pytest.raises(ValueError, match="BASEMAP_URL"):
        Settings.from_env({"BASEMAPS": "xyz"})
    with pytest.raises(ValueError, match="LOCAL_TILES_DIR"):
        Settings.from_env({"BASEMAPS": "none,local"})
    assert [b.kind for b in Settings.from_env({"BASEMAPS": "amap, none"}).basemaps] == ["amap", "none"]


@pytest.mark.parametrize("box", [(114.9, 36.9, 115.3, 37.2), (115.01, 37.01, 115.02, 37.015)])
def test_the_fitted_zoom_is_the_largest_that_shows_the_whole_box(box) -> None:
    (lat, lon), zoom = fit_view(box, width_px=900, height_px=660)

    def fits(z: int) -> bool:
        scale = TILE_PX * 2**z
        width = (box[2] - box[0]) / 360 * scale
        height = (_mercator_y(box[3]) - _mercator_y(box[1])) / (2 * math.pi) * scale
        return width <= 900 and height <= 660

    assert fits(zoom) and not fits(zoom + 1)
    assert (lat, lon) == pytest.approx(((box[1] + box[3]) / 2, (box[0] + box[2]) / 2))


# --- 5. the rendered map and the files it links to ------------------------------------------------


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


def test_with_a_shapes_link_the_map_carries_no_polygons_and_draws_them_below_the_overlays(village) -> None:
    shapes = load_area_shapes(village.session_factory, actor=OPERATOR)
    link = "/map/areas/" + "a" * 64 + ".json?u=operator&crs=wgs84&sig=" + "b" * 32
    linked = build_base_map(shapes, grid_values={}, legend=None, basemap=make_basemap("none"), shapes_url=link)
    inline = build_base_map(shapes, grid_values={}, legend=None, basemap=make_basemap("none"))
    linked_html, inline_html = linked.get_root().render(), inline.get_root().render()
    assert "fetch(" + json.dumps(link).replace("&", "\\u0026") in linked_html  # as jinja's tojson writes it
    assert '"kind":"grid"' not in linked_html and '"kind":"grid"' in inline_html  # the polygons stay out
    document = area_shapes_document(shapes)
    assert document in inline_html and document not in linked_html
    # The outlines arrive after the overlays: their pane lies under Leaflet's overlay pane (400).
    assert re.search(r'createPane\("areas"\)\.style\.zIndex = (\d+)', linked_html)[1] == "350"
    assert linked_html.count('pane: "areas",') == 3  # grids, township and county outlines
    # The 2,000 grids of a county go on one canvas in that pane, not one SVG path each.
    assert linked_html.count('renderer: L.canvas({pane: "areas"})') == 1


def test_installed_assets_are_the_files_the_map_links_to(tmp_path: Path) -> None:
    install_assets(tmp_path)
    assert (tmp_path / "vendor/leaflet/leaflet.js").stat().st_size > 100_000
    assert (tmp_path / "vendor/leaflet/leaflet.css").exists()
    assert (tmp_path / "vendor/leaflet.markercluster/leaflet.markercluster.js").exists()


def test_a_local_tile_folder_is_served_under_static_tiles(tmp_path: Path) -> None:
    tiles = tmp_path / "tiles-src"
    (tiles / "12" / "3370").mkdir(parents=True)
    (tiles / "12" / "3370" / "1552.png").write_bytes(b"png")
    static = tmp_path / "static"
    static.mkdir()
    install_tiles(static, tiles)
    install_tiles(static, tiles)  # idempotent
    assert (static / "tiles" / "12" / "3370" / "1552.png").read_bytes() == b"png"
    with pytest.raises(ValueError, match="LOCAL_TILES_DIR"):
        install_tiles(tmp_path / "other", tmp_path / "missing")
