"""Which grid a point lies in: a vectorised point-in-polygon join with DESIGN.md's edge rule."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

NO_GRID = -1


def assign_grids(points: ArrayLike, grids: ArrayLike, grid_codes: ArrayLike) -> NDArray[np.intp]:
    """Index into `grids` of the grid containing each point, or `NO_GRID`.

    `points` and `grids` are shapely geometries in the same CRS (WGS84 lon/lat in storage).  A point
    on the boundary of several grids (a shared edge or corner) goes to the grid with the smallest
    code, so the answer never depends on the order of the grids.
    """
    points_a = np.asarray(points, dtype=object)
    codes = np.asarray(grid_codes)
    tree = shapely.STRtree(np.asarray(grids, dtype=object))
    # `intersects` keeps boundary points (which `within` would drop); the edge rule picks one.
    point_idx, grid_idx = tree.query(points_a, predicate="intersects")
    result = np.full(len(points_a), NO_GRID, dtype=np.intp)
    if len(point_idx) == 0:
        return result
    order = np.lexsort((codes[grid_idx], point_idx))
    point_idx, grid_idx = point_idx[order], grid_idx[order]
    first = np.r_[True, point_idx[1:] != point_idx[:-1]]
    result[point_idx[first]] = grid_idx[first]
    return result
