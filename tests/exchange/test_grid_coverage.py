"""Grid files as real counties deliver them (tests/coverages.py): they import as a correctly noded
coverage, draw on the map and the wall screen, and keep the figures; a store that already holds an
unnoded coverage draws too."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import select, update

from geo.coverage import SLIVER_WIDTH_M, needs_noding, node_coverage
from geo.crs import WGS84
from geo.display import dissolve_by_prefix, simplify_grids
from services.cli.bootstrap import open_store
from services.exchange.exports import export_grids
from services.exchange.imports.problems import ImportFileError
from services.figures.area_figures import compute_area_figures, compute_grid_figures
from services.mapping.areas import load_areas
from services.mapping.map_data import load_area_shapes
from services.screen.wall_figures import load_screen
from services.settings import Settings
from services.store.models import Area
from tests.apptest import open_app
from tests.coverages import METRIC, SPOILED, TOWNSHIP, grids_layer, jitter_vertices, square_cells, t_junctions
from tests.factories import COUNTY, OPERATOR, T, run_import


def import_grids(store, layer: gpd.GeoDataFrame, path: Path, **options) -> dict[str, int]:  # type: ignore[no-untyped-def]
    layer.to_file(path)
    return run_import(store, "grids", path, **options)


def stored_grid_geoms(store) -> gpd.GeoSeries:  # type: ignore[no-untyped-def]
    grids = load_areas(store.session_factory, actor=OPERATOR, levels=("grid",))
    return grids.set_index("code").geometry


def area_m2(geoms) -> np.ndarray:  # type: ignore[no-untyped-def]
    return gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=WGS84).to_crs(METRIC).area.to_numpy()


# --- the builders spoil, noding repairs --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPOILED))
def test_each_spoiled_layer_has_valid_polygons_but_is_no_coverage(name: str) -> None:
    geoms = SPOILED[name]().geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert needs_noding(geoms)


@pytest.mark.parametrize("name", sorted(SPOILED))
def test_noding_makes_a_valid_coverage_that_moves_each_grid_by_slivers_only(name: str) -> None:
    layer = SPOILED[name]()
    noded = node_coverage(layer.geometry.to_numpy())
    assert shapely.coverage_is_valid(noded.geometries)
    assert noded.overlaps == ()
    perimeter = gpd.GeoSeries(layer.geometry, crs=WGS84).to_crs(METRIC).length.to_numpy()
    change = np.abs(area_m2(noded.geometries) - area_m2(layer.geometry))
    assert (change <= perimeter * SLIVER_WIDTH_M).all()
    # no ground is lost, and the only ground gained is the gap slivers between neighbours
    before, after = layer.union_all(), shapely.union_all(noded.geometries)
    outline_m = gpd.GeoSeries([before], crs=WGS84).to_crs(METRIC).length.iloc[0]
    assert area_m2([shapely.difference(before, after)])[0] < 1e-3 * outline_m
    assert area_m2([after])[0] - area_m2([before])[0] < 1e-4 * area_m2([before])[0]


def test_noding_reports_a_wide_overlap_and_leaves_a_valid_coverage() -> None:
    cells = square_cells()
    cells[1] = shapely.buffer(cells[1], 40.0, join_style="mitre")  # 40 m into three neighbours
    noded = node_coverage(grids_layer(cells).geometry.to_numpy())
    assert {(o.first, o.second) for o in noded.overlaps} >= {(0, 1), (1, 2), (1, 5)}
    assert all(o.area_m2 > 1000 for o in noded.overlaps if (o.first, o.second) == (1, 2))
    assert shapely.coverage_is_valid(noded.geometries)


def test_an_exact_coverage_needs_no_noding() -> None:
    assert not needs_noding(grids_layer(square_cells()).geometry.to_numpy())


@pytest.mark.parametrize("name", sorted(SPOILED))
def test_the_display_path_draws_an_unnoded_coverage(name: str) -> None:
    layer = SPOILED[name]()
    grids = gpd.GeoDataFrame(
        {"code": layer["grid_code"], "name": layer["grid_name"]}, geometry=layer.geometry, crs=WGS84
    )
    simple = simplify_grids(grids)
    assert shapely.coverage_is_valid(simple.geometry.to_numpy())
    villages = dissolve_by_prefix(simple, 12, {})
    county = dissolve_by_prefix(simple, 6, {})
    assert len(villages) == layer["village_code"].nunique() and len(county) == 1
    assert abs(area_m2(county.geometry)[0] - area_m2([layer.union_all()])[0]) / area_m2([layer.union_all()])[0] < 0.01


# --- import ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPOILED))
def test_a_spoiled_grid_file_imports_as_a_noded_coverage_and_reimports_unchanged(store, tmp_path, name) -> None:
    layer = SPOILED[name]()
    written = import_grids(store, layer, tmp_path / f"{name}.geojson")
    assert written["grids_inserted"] == len(layer)
    stored = stored_grid_geoms(store)
    assert shapely.coverage_is_valid(stored.to_numpy())
    shapes = load_area_shapes(store.session_factory, actor=OPERATOR)
    assert len(shapes.grids) == len(layer) and len(shapes.townships) == 1 and len(shapes.county) == 1
    again = import_grids(store, layer, tmp_path / f"{name}.geojson")
    assert (again["grids_unchanged"], again["grids_updated"], again["neighbours_reshaped"]) == (len(layer), 0, 0)


def test_a_township_imported_beside_a_stored_one_is_noded_with_it(store, tmp_path) -> None:
    """The stored township's top edge is one segment per 500 m cell; the new township above it
    was digitised with vertices every 50 m, a few mm off: the county must still dissolve."""
    lower = grids_layer(square_cells(4, 1))
    import_grids(store, lower, tmp_path / "lower.geojson")
    x0, y0, _, _ = shapely.total_bounds(square_cells(4, 1))
    upper_cells = np.array([shapely.box(x0 + c * 1000, y0 + 500, x0 + (c + 1) * 1000, y0 + 1000) for c in range(2)])
    upper = grids_layer(jitter_vertices(upper_cells, crs=METRIC, seed=5), per_village=2)
    upper["grid_code"] = ["130532102201001", "130532102201002"]
    upper["village_code"] = "130532102201"
    upper["township_code"], upper["township_name"] = "130532102", "河古庙镇"
    written = import_grids(store, upper, tmp_path / "upper.geojson")
    assert written["grids_inserted"] == 2 and written["neighbours_reshaped"] >= 1
    assert shapely.coverage_is_valid(stored_grid_geoms(store).to_numpy())
    shapes = load_area_shapes(store.session_factory, actor=OPERATOR)
    assert len(shapes.townships) == 2 and shapes.county.geometry.iloc[0].geom_type in ("Polygon", "MultiPolygon")
    again = import_grids(store, upper, tmp_path / "upper.geojson")
    assert (again["grids_unchanged"], again["neighbours_reshaped"]) == (2, 0)


def test_a_wide_overlap_between_villages_is_refused_by_feature(store, tmp_path) -> None:
    cells = square_cells()
    cells[3] = shapely.buffer(cells[3], 30.0, join_style="mitre")  # village 201 into village 202
    with pytest.raises(ImportFileError) as caught:
        import_grids(store, grids_layer(cells), tmp_path / "overlap.geojson")
    message = str(caught.value)
    assert "第 4 个要素" in message and f"网格 {TOWNSHIP}201004 与网格 {TOWNSHIP}202004 重叠" in message
    assert load_areas(store.session_factory, actor=OPERATOR, levels=("grid",)).empty


# --- what reads the stored coverage ------------------------------------------------------------


def store_unnoded(store, layer: gpd.GeoDataFrame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Import `layer` exactly, then overwrite the stored grids with a jittered copy, as a GIS
    technician editing the PostGIS table in QGIS would (no import runs)."""
    import_grids(store, layer, tmp_path / "exact.geojson")
    spoiled = jitter_vertices(layer.geometry.to_numpy(), crs=WGS84, seed=9)
    with store.session_factory.begin() as session:
        for code, geom in zip(layer["grid_code"], spoiled, strict=True):
            session.execute(update(Area).where(Area.code == code).values(geom=geom))
    assert needs_noding(stored_grid_geoms(store).to_numpy())


def test_an_unnoded_stored_coverage_still_draws_and_counts(store, tmp_path) -> None:
    store_unnoded(store, grids_layer(square_cells()), tmp_path)
    shapes = load_area_shapes(store.session_factory, actor=OPERATOR)
    assert len(shapes.villages) == 4 and len(shapes.county) == 1
    screen = load_screen(store.session_factory, actor=OPERATOR, at=T, fresh=dt.timedelta(minutes=10))
    assert screen.reported_today == 0 and screen.alarms.empty
    figures = compute_area_figures(store.session_factory, actor=OPERATOR, area_code=TOWNSHIP, at=T, days=30)
    assert figures.households == 0


def test_t_junctions_across_villages_dissolve_into_township_and_county(store, tmp_path) -> None:
    import_grids(store, t_junctions(), tmp_path / "t.geojson")
    with store.session_factory() as session:
        township = session.scalar(select(Area.geom).where(Area.code == TOWNSHIP))
    assert (
        township.is_valid and abs(area_m2([township])[0] - (4 * 500 * 500 + 2 * 1000 * 500)) < 5.0
    )  # the ~1 cm lattice


# --- the demo county after a round trip through desktop GIS --------------------------------------


def figures_by_grid(store, at: dt.datetime) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    frame = compute_grid_figures(
        store.session_factory, actor=OPERATOR, area_code=COUNTY, at=at, days=30, special_tags=("独居老人",)
    )
    return {code: (int(row.households), int(row.open)) for code, row in frame.iterrows()}


def test_the_demo_reimports_its_own_grids_after_a_desktop_gis_round_trip(demo_store, small_demo, tmp_path) -> None:
    """Exported, digitised again with millimetre noise on every vertex, imported back: the grids
    are updated in place, every household and case stays in its grid, the figures do not move."""
    before = figures_by_grid(demo_store, small_demo.now)
    exported = export_grids(demo_store.session_factory, actor=OPERATOR, now=T)
    spoiled = exported.set_geometry(jitter_vertices(exported.geometry.to_numpy(), crs=WGS84, seed=11, jitter_m=0.003))
    assert needs_noding(spoiled.geometry.to_numpy())
    written = import_grids(demo_store, spoiled, tmp_path / "round_trip.geojson")
    assert written["grids_inserted"] == 0 and written["grids_updated"] + written["grids_unchanged"] == len(exported)
    assert (written["households_moved"], written["incidents_moved"]) == (0, 0)
    assert shapely.coverage_is_valid(stored_grid_geoms(demo_store).to_numpy())
    assert figures_by_grid(demo_store, small_demo.now) == before
    again = import_grids(demo_store, spoiled, tmp_path / "round_trip.geojson")
    assert again["grids_unchanged"] == len(exported)


def test_the_map_and_the_wall_screen_open_on_an_unnoded_store(monkeypatch, tmp_path, copy_small_demo) -> None:
    """The county's grids edited in QGIS straight in the table (no import noded them)."""
    url = copy_small_demo(tmp_path / "qgis.db")
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    grids = stored_grid_geoms(store)
    spoiled = jitter_vertices(grids.to_numpy(), crs=WGS84, seed=13)
    with store.session_factory.begin() as session:
        for code, geom in zip(grids.index, spoiled, strict=True):
            session.execute(update(Area).where(Area.code == code).values(geom=geom))
    assert needs_noding(stored_grid_geoms(store).to_numpy())
    store.engine.dispose()
    for query in ({}, {"area": grids.index[0][:9]}, {"view": "screen"}):
        app = open_app(monkeypatch, url, **query)
        app.run()
        assert not app.exception, query
        assert app.title or app.markdown, query
