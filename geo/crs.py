"""Coordinate reference systems.

Storage is WGS84 lon/lat (EPSG:4326; CGCS2000/EPSG:4490 is numerically the same at this scale).
Distances, buffers and areas are computed in a CGCS2000 3-degree Gauss–Krüger zone, in metres.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

WGS84 = "EPSG:4326"


def metric_crs_for(lon: float) -> str:
    """The CGCS2000 3-degree Gauss–Krüger CRS (metres) whose central meridian is nearest `lon`
    (degrees east): EPSG:4534 is 75°E, each next code 3° further east; 平乡 (115°E) → EPSG:4547."""
    central_meridian = 3 * round(lon / 3)
    if not 75 <= central_meridian <= 135:
        raise ValueError(f"longitude {lon} is outside China's Gauss–Krüger zones (75–135°E)")
    return f"EPSG:{4534 + (central_meridian - 75) // 3}"


@cache
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def transform_xy(
    x: ArrayLike, y: ArrayLike, source: str, target: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Coordinates from `source` to `target` CRS (x = longitude or easting, in that CRS's units)."""
    tx, ty = _transformer(source, target).transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(tx), np.asarray(ty)
