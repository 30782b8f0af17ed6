"""Pure parts of the map: selection and clicks, masking, choropleth classes, view fitting,
display geometry."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.crs import WGS84
from geo.display import display_points, dissolve_by_prefix, simplify_grids, to_gcj02
from geo.gcj02 import wgs84_to_gcj02
from geo.partition import as_multipolygons, voronoi_cells
from render.view import TILE_PX, _mercator_y, fit_view
from services.access.privacy import Clearance, mask_names, mask_phones
from services.basemaps import make_basemap
from services.mapping.choropleth import NO_DATA_COLOUR, RAMPS, classify_counts, classify_shares
from services.mapping.selection import Selection
from services.settings import Settings

COUNTY = "130532"
GRID = "130532101201003"


# --- selection -------------------------------------------------------------------------------


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


# --- privacy ---------------------------------------------------------------------------------


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


# --- choropleth ------------------------------------------------------------------------------


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


# --- view and display geometry ---------------------------------------------------------------


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


def test_points_are_shifted_for_gcj02_tiles_and_left_alone_otherwise() -> None:
    frame = pd.DataFrame({"lon": [115.0, 115.1], "lat": [37.0, 37.1], "id": ["a", "b"]})
    shifted = display_points(frame, "gcj02")
    expected = np.column_stack(wgs84_to_gcj02(frame["lon"], frame["lat"]))
    assert np.allclose(shifted[["lon", "lat"]].to_numpy(), expected) and shifted["id"].tolist() == ["a", "b"]
    assert display_points(frame, "wgs84") is frame
