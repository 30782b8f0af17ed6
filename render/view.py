"""The Leaflet view (centre and zoom) that fits a bounding box, for moving the live map without
rebuilding it (st_folium's `center`/`zoom`)."""

from __future__ import annotations

import math

TILE_PX = 256
MAX_ZOOM = 18


def _mercator_y(lat: float) -> float:
    radians = math.radians(max(min(lat, 85.0), -85.0))
    return math.log(math.tan(math.pi / 4 + radians / 2))


def fit_view(
    bounds: tuple[float, float, float, float], *, width_px: int, height_px: int, max_zoom: int = MAX_ZOOM
) -> tuple[tuple[float, float], int]:
    """((lat, lon), zoom) showing (minx, miny, maxx, maxy) whole in a map of the given size."""
    minx, miny, maxx, maxy = bounds
    centre = ((miny + maxy) / 2, (minx + maxx) / 2)
    span_x = max(maxx - minx, 1e-6) / 360.0
    span_y = max(_mercator_y(maxy) - _mercator_y(miny), 1e-6) / (2 * math.pi)
    zoom_x = math.log2(width_px / TILE_PX / span_x)
    zoom_y = math.log2(height_px / TILE_PX / span_y)
    return centre, max(0, min(max_zoom, math.floor(min(zoom_x, zoom_y))))
