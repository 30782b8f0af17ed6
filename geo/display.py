"""Geometry prepared for the browser: fewer vertices, ~1 m coordinates, and the GCJ-02 shift when
the basemap needs it.  Storage is never touched: this is the display edge (DESIGN.md Map)."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage import needs_noding, node_coverage, union_coverage
from geo.crs import WGS84, metric_crs_for
from geo.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02

DISPLAY_PRECISION_DEG = 1e-5  # ≈ 1 m: finer digits only cost bytes in the browser
GRID_TOLERANCE_M = 8.0  # below what a grid supervisor can see at village zoom


def simplify_grids(grids: gpd.GeoDataFrame, tolerance_m: float = GRID_TOLERANCE_M) -> gpd.GeoDataFrame:
    """Grids simplified as one coverage (shared edges stay shared: no gaps or slivers appear
    between neighbours), in metres, then rounded to ~1 m."""
    if grids.empty:
        return grids
    if needs_noding(grids.geometry.to_numpy()):
        # A store from before the import noded coverages, or edited in QGIS: simplify what it
        # means, not its noise (an unnoded coverage would simplify into gaps and overlaps).
        noded = node_coverage(grids.geometry.to_numpy()).geometries
        grids = grids.set_geometry(np.where(shapely.is_missing(noded), grids.geometry.to_numpy(), noded))
    metric = metric_crs_for(float(grids.geometry.union_all().centroid.x))
    projected = grids.geometry.to_crs(metric)
    simplified = gpd.GeoSeries(shapely.coverage_simplify(projected.values, tolerance_m), crs=metric).to_crs(WGS84)
    return grids.set_geometry(shapely.set_precision(simplified.values, DISPLAY_PRECISION_DEG))


def dissolve_by_prefix(grids: gpd.GeoDataFrame, digits: int, names: dict[str, str]) -> gpd.GeoDataFrame:
    """The areas made of `grids` whose codes share their first `digits` digits (villages: 12,
    townships: 9, the county: 6), as the exact union of the (already simplified) grid coverage."""
    unions = union_coverage(grids.geometry.to_numpy(), grids["code"].str[:digits].to_numpy())
    dissolved = gpd.GeoDataFrame({"code": unions.index.to_numpy()}, geometry=unions.to_numpy(), crs=grids.crs)
    dissolved["name"] = [names.get(code, code) for code in dissolved["code"]]
    return dissolved


def to_gcj02(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every coordinate shifted to GCJ-02, for drawing over 高德/腾讯 tiles."""

    def shift(coords: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return frame.set_geometry(shapely.transform(frame.geometry.values, shift))


def display_points(frame: pd.DataFrame, crs: str) -> pd.DataFrame:
    """A frame's lon/lat columns (stored WGS84) as drawn over tiles in `crs`."""
    if crs != "gcj02" or frame.empty:
        return frame
    lon, lat = wgs84_to_gcj02(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    return frame.assign(lon=lon, lat=lat)


def display_point(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A stored WGS84 point as drawn over tiles in `crs`."""
    if crs != "gcj02":
        return lon, lat
    shifted_lon, shifted_lat = wgs84_to_gcj02([lon], [lat])
    return float(shifted_lon[0]), float(shifted_lat[0])


def stored_point(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A point clicked over tiles in `crs`, back in WGS84 for storage."""
    if crs != "gcj02":
        return lon, lat
    wgs_lon, wgs_lat = gcj02_to_wgs84([lon], [lat])
    return float(wgs_lon[0]), float(wgs_lat[0])


# How an incident point is flagged on the map (styled by render.map_layers): 0 none.
ALARM_OVERDUE, ALARM_AT_RISK = 2, 1


@dataclasses.dataclass(frozen=True)
class AreaShapes:
    """Display-ready area polygons (WGS84 or shifted for the basemap), columns code, name, geometry."""

    county: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame

    def of_level(self, level: str) -> gpd.GeoDataFrame:
        return {"county": self.county, "township": self.townships, "village": self.villages, "grid": self.grids}[level]

    def children_of(self, code: str) -> gpd.GeoDataFrame | None:
        """The areas one level below `code` (a grid has none: None)."""
        frames = (self.county, self.townships, self.villages, self.grids)
        for parent, child in zip(frames, frames[1:], strict=False):
            if (parent["code"] == code).any():
                return child[child["code"].str.startswith(code)]
        return None

    def in_crs(self, crs: str) -> AreaShapes:
        """The same areas as drawn over tiles in `crs` (shifted for GCJ-02 basemaps)."""
        if crs != "gcj02":
            return self
        return AreaShapes(*(to_gcj02(frame) for frame in (self.county, self.townships, self.villages, self.grids)))

    def names(self) -> dict[str, str]:
        """Name of every area by code."""
        return {
            code: name
            for frame in (self.county, self.townships, self.villages, self.grids)
            for code, name in zip(frame["code"], frame["name"], strict=True)
        }
