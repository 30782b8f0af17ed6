"""Folium maps and layers, built without Streamlit so that tests can inspect their HTML."""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely

from geo.assets import use_local_assets

GRID_STYLE = {"color": "#2563eb", "weight": 1, "fillColor": "#60a5fa", "fillOpacity": 0.15}
TOWNSHIP_STYLE = {"color": "#1e3a8a", "weight": 2.5, "fill": False}
COUNTY_STYLE = {"color": "#111827", "weight": 3, "fill": False, "dashArray": "6 4"}
DISPLAY_PRECISION_DEG = 1e-5  # ≈ 1 m: finer digits only cost bytes in the browser


def _rounded(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.set_geometry(shapely.set_precision(frame.geometry.values, DISPLAY_PRECISION_DEG))


def build_area_map(areas: gpd.GeoDataFrame, *, height: int = 640) -> folium.Map:
    """A map of the county outline, township boundaries and grids (WGS84 `areas` with columns
    code, level, name).  No basemap tiles: the map must draw with no internet."""
    use_local_assets()
    minx, miny, maxx, maxy = areas.total_bounds
    fmap = folium.Map(tiles=None, height=height, control_scale=True, prefer_canvas=False)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    for level, style, label in (
        ("grid", GRID_STYLE, "网格"),
        ("township", TOWNSHIP_STYLE, "乡镇(街道)"),
        ("county", COUNTY_STYLE, "县界"),
    ):
        layer = areas[areas["level"] == level][["code", "name", "geometry"]]
        if layer.empty:
            continue
        folium.GeoJson(
            _rounded(layer).to_json(),
            name=label,
            style_function=lambda _feature, style=style, level=level: {**style, "className": f"area-{level}"},
            tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=["名称", "编码"]),
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap
