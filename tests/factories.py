"""Small hand-made data for tests: one county, one township, one village, two grids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import shapely

from services.access.actor import USER_ROLE_NAMES, Actor
from services.cli.bootstrap import Store
from services.exchange.imports.service import import_file
from services.store.models import Area, Household, Incident, PatrolVisit

COUNTY = "130532"
TOWNSHIP = "130532101"
VILLAGE = "130532101201"
GRID_A = "130532101201001"
GRID_B = "130532101201002"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
T = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)


def make_actor(role: str = "county_operator", *areas: str, username: str = "", name: str = "") -> Actor:
    """A signed-in user of the test county (by default over the whole county)."""
    return Actor(username or role, name or USER_ROLE_NAMES[role], role, COUNTY, areas or (COUNTY,))


OPERATOR = make_actor("county_operator", username="operator", name="值班员")
ADMIN = make_actor("county_admin", username="admin", name="县管理员")

_WEST = shapely.box(115.00, 37.00, 115.01, 37.01)
_EAST = shapely.box(115.01, 37.00, 115.02, 37.01)


def seed_areas(store: Store) -> None:
    both = shapely.union(_WEST, _EAST)
    rows = [
        (COUNTY, "county", "平乡县", None, both),
        (TOWNSHIP, "township", "平乡镇", COUNTY, both),
        (VILLAGE, "village", "测试村", TOWNSHIP, both),
        (GRID_A, "grid", "测试村第1网格", VILLAGE, _WEST),
        (GRID_B, "grid", "测试村第2网格", VILLAGE, _EAST),
    ]
    add_areas(store, rows)


def add_areas(store: Store, rows: list[tuple[str, str, str, str | None, shapely.Geometry]]) -> None:
    """Areas as (code, level, name, parent code, polygon) of the test county."""
    with store.session_factory.begin() as session:
        session.add_all(
            Area(
                county_code=COUNTY,
                code=code,
                level=level,
                name=name,
                parent_code=parent,
                geom=shapely.multipolygons([geom]) if geom.geom_type == "Polygon" else geom,
                synthetic=True,
            )
            for code, level, name, parent, geom in rows
        )


def household(household_id: str, grid_code: str) -> Household:
    return Household(
        county_code=COUNTY,
        household_id=household_id,
        grid_code=grid_code,
        head_name="张三",
        address="平乡镇测试村1号",
        members=3,
        phone="13800000000",
        lon=115.005,
        lat=37.005,
    )


def incident(incident_id: str, grid_code: str = GRID_A, **fields: object) -> Incident:
    values: dict[str, object] = dict(
        county_code=COUNTY,
        incident_id=incident_id,
        grid_code=grid_code,
        category="环境卫生",
        severity="normal",
        lon=115.005,
        lat=37.005,
        description="测试",
        channel="patrol",
        state="reported",
        level="grid",
        limit_hours=72.0,
    )
    values.update(fields)
    return Incident(**values)


def visit(
    household_id: str,
    worker_id: str,
    grid_code: str,
    first: tuple[dt.datetime, dt.datetime],
    last: tuple[dt.datetime, dt.datetime],
) -> PatrolVisit:
    return PatrolVisit(
        county_code=COUNTY,
        household_id=household_id,
        worker_id=worker_id,
        grid_code=grid_code,
        day=first[0].astimezone(SHANGHAI).date(),
        first_start=first[0],
        first_end=first[1],
        last_start=last[0],
        last_end=last[1],
    )


def run_import(store: Store, kind: str, path: Path, **options: object) -> dict[str, int]:
    """Import the file at `path` as the county operator at T; the summary's written counts."""
    summary = import_file(
        store.session_factory, kind=kind, path=path, filename=path.name, crs="wgs84", actor=OPERATOR, now=T, **options
    )
    return summary.written
