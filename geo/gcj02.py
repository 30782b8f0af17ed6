"""GCJ-02 ("Mars coordinates", used by 高德 and 腾讯) to and from WGS84.

The forward transform is the published algorithm (eviltransform / coordtransform).  Its inverse has
no closed form; the common one-step inverse is off by up to ~3 m, so `gcj02_to_wgs84` refines it by
fixed-point iteration until every point is within `tolerance_deg` (1e-9° ≈ 0.1 mm), which the tests
check by round trip.  All functions take and return NumPy arrays of longitude/latitude in degrees.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as in the published algorithm
_EE = 0.00669342162296594323  # its first eccentricity squared

FloatArray = NDArray[np.float64]


def _offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 105.0
    y = lat - 35.0
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS84 lon/lat (degrees) to GCJ-02. Used only when drawing over GCJ-02 tiles."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    d_lon, d_lat = _offset(lon_a, lat_a)
    return lon_a + d_lon, lat_a + d_lat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tolerance_deg: float = 1e-9, max_iterations: int = 10
) -> tuple[FloatArray, FloatArray]:
    """Invert `wgs84_to_gcj02` by fixed-point iteration (2–3 rounds reach the tolerance)."""
    target_lon = np.asarray(lon, dtype=np.float64)
    target_lat = np.asarray(lat, dtype=np.float64)
    wgs_lon, wgs_lat = target_lon.copy(), target_lat.copy()
    for _ in range(max_iterations):
        gcj_lon, gcj_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
        err_lon, err_lat = gcj_lon - target_lon, gcj_lat - target_lat
        wgs_lon -= err_lon
        wgs_lat -= err_lat
        if max(np.abs(err_lon).max(initial=0.0), np.abs(err_lat).max(initial=0.0)) < tolerance_deg:
            break
    return wgs_lon, wgs_lat
