"""A county re-imports its grid file every year: boundaries revised, names corrected, grids merged
away.  Households, workers and cases stay attached; nothing changes for an unchanged file; a grid
that vanishes while still referred to is refused unless the user asks for it."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import select

from geo.crs import WGS84, transform_xy
from pages.components import ACTOR_KEY
from services.access.users import add_user
from services.cli.bootstrap import open_store
from services.exchange.imports.problems import ImportFileError
from services.settings import Settings
from services.store.models import Area, Household, Incident, WorkerGrid
from tests.apptest import open_app
from tests.coverages import CELL_M, METRIC, _origin, grids_layer, square_cells
from tests.factories import ADMIN, COUNTY, OPERATOR, T, incident, run_import

G = [f"130532101{201 + i // 4:03d}{1 + i % 4:03d}" for i in range(8)]  # 2 villages of 4 grids, in a row each


def point(x_m: float, y_m: float) -> tuple[float, float]:
    """WGS84 lon/lat of a point `x_m`, `y_m` metres east and north of the coverage's corner."""
    x0, y0 = _origin()
    lon, lat = transform_xy([x0 + x_m], [y0 + y_m], METRIC, WGS84)
    return float(lon[0]), float(lat[0])


NEAR_EDGE = point(480, 250)  # in G[0], 20 m from G[1]
CENTRE = point(250, 250)  # in G[0], far from any edge
IN_SECOND = point(750, 250)  # in G[1]


def write_grids(layer: gpd.GeoDataFrame, path: Path) -> Path:
    layer.to_file(path)
    return path


def revised(*, shift_m: float = 0.0, drop: int | None = None, rename: dict[int, str] | None = None) -> gpd.GeoDataFrame:
    """The 4 × 2 grid file, with the G[0] | G[1] boundary moved `shift_m` east (negative: west),
    G[drop] merged into G[0] (the file no longer holds it), and grids renamed."""
    cells = square_cells(4, 2)
    if shift_m:
        minx, miny, maxx, maxy = cells[0].bounds
        cells[0] = shapely.box(minx, miny, maxx + shift_m, maxy)
        cells[1] = shapely.box(maxx + shift_m, miny, maxx + CELL_M, maxy)
    layer = grids_layer(cells)
    if drop is not None:
        layer.loc[0, "geometry"] = shapely.union(layer.geometry.iloc[0], layer.geometry.iloc[drop])
        layer = layer.drop(index=drop).reset_index(drop=True)
    for index, name in (rename or {}).items():
        layer.loc[layer["grid_code"] == G[index], "grid_name"] = name
    return layer


@pytest.fixture
def county(store, tmp_path):
    """The grids, three households, two workers and three cases at known points."""
    run_import(store, "grids", write_grids(revised(), tmp_path / "grids.geojson"))
    households = pd.DataFrame(
        [
            {
                "household_id": hid,
                "head_name": "王秀英",
                "address": "测试村",
                "members": 2,
                "phone": "",
                "lon": lon,
                "lat": lat,
                "tags": "",
            }
            for hid, (lon, lat) in (("H-edge", NEAR_EDGE), ("H-centre", CENTRE), ("H-second", IN_SECOND))
        ]
    )
    households.to_csv(tmp_path / "households.csv", index=False)
    run_import(store, "households", tmp_path / "households.csv")
    workers = pd.DataFrame(
        [
            {"worker_id": "W1", "name": "李强", "phone": "", "role": "网格员", "grid_codes": G[0]},
            {"worker_id": "W2", "name": "赵敏", "phone": "", "role": "网格员", "grid_codes": f"{G[1]}|{G[2]}"},
        ]
    )
    workers.to_csv(tmp_path / "workers.csv", index=False)
    run_import(store, "workers", tmp_path / "workers.csv")
    with store.session_factory.begin() as session:
        for incident_id, (lon, lat), state in (
            ("E-open-edge", NEAR_EDGE, "registered"),
            ("E-closed-edge", NEAR_EDGE, "closed"),
            ("E-open-centre", CENTRE, "dispatched"),
        ):
            session.add(incident(incident_id, G[0], lon=lon, lat=lat, state=state, reported_at=T))
    return store


def grid_of(store, model, key: str) -> str:  # type: ignore[no-untyped-def]
    with store.session_factory() as session:
        column = model.household_id if model is Household else model.incident_id
        return session.scalar(select(model.grid_code).where(column == key))


def snapshot(store) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with store.session_factory() as session:
        return {
            "areas": sorted(session.execute(select(Area.code, Area.name)).all()),
            "grid_geoms": [g.wkb for g in session.scalars(select(Area.geom).order_by(Area.code))],
            "households": sorted(session.execute(select(Household.household_id, Household.grid_code)).all()),
            "incidents": sorted(session.execute(select(Incident.incident_id, Incident.grid_code)).all()),
            "assignments": sorted(session.execute(select(WorkerGrid.worker_id, WorkerGrid.grid_code)).all()),
        }


def test_the_unchanged_file_changes_nothing(county, tmp_path) -> None:
    before = snapshot(county)
    written = run_import(county, "grids", write_grids(revised(), tmp_path / "again.geojson"))
    assert (written["grids_inserted"], written["grids_updated"], written["grids_unchanged"]) == (0, 0, 8)
    assert (written["households_moved"], written["incidents_moved"], written["grids_removed"]) == (0, 0, 0)
    assert snapshot(county) == before


def test_a_revised_boundary_and_a_new_name_update_in_place_and_move_what_it_moved(county, tmp_path) -> None:
    written = run_import(
        county, "grids", write_grids(revised(shift_m=-50, rename={0: "东街网格"}), tmp_path / "r.geojson")
    )
    # G[0] and G[1] moved; G[4] above them gains a vertex where the new boundary meets its edge
    assert (written["grids_updated"], written["grids_unchanged"]) == (3, 5)
    assert (written["households_moved"], written["incidents_moved"]) == (1, 1)
    with county.session_factory() as session:
        assert session.get(Area, (COUNTY, G[0])).name == "东街网格"
    assert grid_of(county, Household, "H-edge") == G[1]
    assert grid_of(county, Household, "H-centre") == G[0]
    assert grid_of(county, Incident, "E-open-edge") == G[1]  # its point left its grid
    assert grid_of(county, Incident, "E-closed-edge") == G[0]  # handled there: history stays
    assert grid_of(county, Incident, "E-open-centre") == G[0]
    with county.session_factory() as session:
        assert session.get(Incident, (COUNTY, "E-open-edge")).version == 2  # an open panel sees it changed


def test_an_open_case_keeps_its_grid_while_its_point_stays_inside(county, tmp_path) -> None:
    run_import(county, "grids", write_grids(revised(shift_m=100), tmp_path / "grow.geojson"))
    assert grid_of(county, Incident, "E-open-edge") == G[0]
    assert grid_of(county, Household, "H-edge") == G[0]


def test_a_vanished_grid_still_referred_to_is_refused_and_nothing_is_written(county, tmp_path) -> None:
    before = snapshot(county)
    with pytest.raises(ImportFileError) as caught:
        run_import(county, "grids", write_grids(revised(drop=1), tmp_path / "merged.geojson"))
    message = str(caught.value)
    assert f"网格 {G[1]}" in message and "1 户住户" in message and "1 名网格员" in message
    assert "--remove-missing" in message
    assert snapshot(county) == before


def test_a_vanished_grid_is_removed_when_asked_and_what_it_held_moves(county, tmp_path) -> None:
    written = run_import(
        county, "grids", write_grids(revised(drop=1), tmp_path / "merged.geojson"), remove_missing=True
    )
    assert (written["grids_removed"], written["households_moved"], written["worker_grids_removed"]) == (1, 1, 1)
    assert grid_of(county, Household, "H-second") == G[0]
    with county.session_factory() as session:
        assert session.get(Area, (COUNTY, G[1])) is None
        assert session.scalars(select(WorkerGrid.grid_code).where(WorkerGrid.worker_id == "W2")).all() == [G[2]]
        village = session.get(Area, (COUNTY, G[0][:12]))
    assert village.geom.area == pytest.approx(shapely.union_all(revised().geometry.iloc[:4].to_numpy()).area, rel=1e-5)


def test_a_vanished_grid_that_nothing_refers_to_is_simply_removed(county, tmp_path) -> None:
    written = run_import(county, "grids", write_grids(revised(drop=7), tmp_path / "merged.geojson"))
    assert written["grids_removed"] == 1
    with county.session_factory() as session:
        assert session.get(Area, (COUNTY, G[7])) is None


def test_a_grid_a_user_holds_is_never_removed_by_an_import(county, tmp_path) -> None:
    add_user(
        county.session_factory,
        actor=ADMIN,
        now=T,
        username="sup",
        display_name="督导员",
        role="grid_supervisor",
        area_codes=(G[7],),
        password="a-long-password-1",
    )
    before = snapshot(county)
    with pytest.raises(ImportFileError) as caught:
        run_import(county, "grids", write_grids(revised(drop=7), tmp_path / "merged.geojson"), remove_missing=True)
    assert f"网格 {G[7]}" in str(caught.value) and "用户管理" in str(caught.value)
    assert snapshot(county) == before


def test_a_revision_that_leaves_a_household_outside_every_grid_is_refused(county, tmp_path) -> None:
    layer = revised()
    layer.loc[0, "geometry"] = shapely.difference(layer.geometry.iloc[0], shapely.buffer(shapely.Point(CENTRE), 0.0005))
    before = snapshot(county)
    with pytest.raises(ImportFileError) as caught:
        run_import(county, "grids", write_grids(layer, tmp_path / "hole.geojson"))
    assert "住户 H-centre" in str(caught.value) and "不在修订后的任何网格内" in str(caught.value)
    assert snapshot(county) == before


def test_the_import_page_offers_removing_missing_grids_only_for_grids(monkeypatch, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'page.db'}"
    open_store(Settings.from_env({"DATABASE_URL": url})).engine.dispose()
    app = open_app(monkeypatch, url, "pages/exchange/import_page.py", user=None)
    app.session_state[ACTOR_KEY] = OPERATOR
    app.run()
    assert not app.exception and app.checkbox(key="import.remove_missing").value is False
    app.selectbox(key="import.kind").select("households").run()
    assert [c.key for c in app.checkbox] == []
