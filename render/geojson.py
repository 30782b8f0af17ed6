"""Compact GeoJSON text for the browser, built column-wise (GEOS writes the geometries; no
per-feature Python objects), with only the properties the map's JavaScript reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from render.markup import script_json

COORD_DECIMALS = 5  # ≈ 1 m


def _properties(frame: pd.DataFrame) -> list[str]:
    records = frame.to_dict(orient="records")
    return [script_json(r) for r in records]  # inline in the map's <script>: names cannot end it


def _collection(geometries: np.ndarray | list[str], properties: list[str]) -> str:
    features = [
        f'{{"type":"Feature","properties":{p},"geometry":{g}}}' for p, g in zip(properties, geometries, strict=True)
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def shapes_json(geometries: np.ndarray, properties: pd.DataFrame) -> str:
    """Features of the given (already rounded) shapely geometries."""
    return _collection(shapely.to_geojson(np.asarray(geometries, dtype=object)), _properties(properties))


def points_json(lon: pd.Series, lat: pd.Series, properties: pd.DataFrame) -> str:
    """Point features from lon/lat columns, rounded to ~1 m."""
    xs = np.round(lon.to_numpy(dtype=float), COORD_DECIMALS).astype(str)
    ys = np.round(lat.to_numpy(dtype=float), COORD_DECIMALS).astype(str)
    geometries = [f'{{"type":"Point","coordinates":[{x},{y}]}}' for x, y in zip(xs, ys, strict=True)]
    return _collection(geometries, _properties(properties))
