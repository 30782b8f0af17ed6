"""Read models of areas for maps and pickers."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import select

from geo.crs import WGS84
from services.scope import Scope
from services.store.engine import SessionFactory
from services.store.models import Area


def load_areas(session_factory: SessionFactory, *, scope: Scope, levels: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Areas of the given levels inside `scope` (and the county outline when it is in scope),
    as a WGS84 GeoDataFrame: code, level, name, parent_code, synthetic, geometry."""
    query = (
        select(Area.code, Area.level, Area.name, Area.parent_code, Area.synthetic, Area.geom)
        .where(Area.county_code == scope.county_code, Area.level.in_(levels), scope.filter(Area.code))
        .order_by(Area.code)
    )
    with session_factory() as session:
        rows = session.execute(query).all()
    columns = ["code", "level", "name", "parent_code", "synthetic"]
    data = {c: [getattr(r, c) for r in rows] for c in columns}
    return gpd.GeoDataFrame(data, geometry=[r.geom for r in rows], crs=WGS84)
