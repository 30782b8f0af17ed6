"""Read models of areas for maps and pickers."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import exists, or_, select

from geo.crs import WGS84
from services.access.actor import Actor
from services.domain import CODE_LENGTHS
from services.store.engine import SessionFactory
from services.store.models import Area


def load_areas(session_factory: SessionFactory, *, actor: Actor, levels: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Areas of the given levels inside the actor's scope, and the areas holding them (a
    supervisor's village, township and county: boundaries are public, and their names head the
    breadcrumb), as a WGS84 GeoDataFrame: code, level, name, parent_code, synthetic, geometry."""
    scope = actor.scope
    holding = {code[:length] for code in scope.area_codes for length in CODE_LENGTHS.values() if length < len(code)}
    query = (
        select(Area.code, Area.level, Area.name, Area.parent_code, Area.synthetic, Area.geom)
        .where(
            Area.county_code == scope.county_code,
            Area.level.in_(levels),
            or_(scope.filter(Area.code), Area.code.in_(sorted(holding))),
        )
        .order_by(Area.code)
    )
    with session_factory() as session:
        rows = session.execute(query).all()
    columns = ["code", "level", "name", "parent_code", "synthetic"]
    data = {c: [getattr(r, c) for r in rows] for c in columns}
    return gpd.GeoDataFrame(data, geometry=[r.geom for r in rows], crs=WGS84)


def county_is_synthetic(session_factory: SessionFactory, county_code: str) -> bool:
    """Whether the county's grids are all synthetic (the demo county): a county with one real
    grid, imported from its own files, is real data, and an empty county is neither."""
    grids = (Area.county_code == county_code, Area.level == "grid")
    with session_factory() as session:
        any_grid = session.scalar(select(exists().where(*grids)))
        any_real = session.scalar(select(exists().where(*grids, Area.synthetic.is_(False))))
    return bool(any_grid) and not any_real
