"""Tiling a region into cells: used to synthesise demo grids that cover a county exactly."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray


def voronoi_cells(seeds: NDArray[np.float64], region: shapely.Geometry) -> NDArray[np.object_]:
    """One polygon per seed (an ``(n, 2)`` array of x/y in a metric CRS): the part of `region`
    nearer to that seed than to any other.  The cells tile `region` with no gap or overlap
    beyond floating-point noise, which the caller removes with `shapely.set_precision`."""
    if len(seeds) == 1:
        return np.array([region], dtype=object)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=region, ordered=True)
    cells = shapely.get_parts(diagram)
    return shapely.intersection(cells, region)


def as_multipolygons(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Normalise polygons and collections to MultiPolygons (the storage type of areas), dropping
    the points and lines an intersection can leave on a boundary; None where nothing is left."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    out = np.full(len(geoms), None, dtype=object)
    return shapely.multipolygons(parts[keep], indices=owner[keep], out=out)
