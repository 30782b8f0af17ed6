"""Synthesised areas of the demo county: townships, villages and grids inside the real outline.

Villages of the 邢台 plain are compact settlements about 1.3 km apart amid fields: their seats are
laid on a jittered hexagonal lattice and grouped into the 7 real township-level units.  Each
village is split into grids by seeds around its settlement, so that its grids divide the
households between them; the grids are the Voronoi cells of those seeds, which tile the region
exactly, and villages and townships are the unions of their grids (DESIGN.md).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import WGS84, metric_crs_for
from geo.partition import as_multipolygons, voronoi_cells
from services.cli.demo.vocabulary import COMMUNITY_NAMES, VILLAGE_CORES, VILLAGE_PREFIXES
from services.settings import PROJECT_DIR

DATA_DIR = PROJECT_DIR / "data" / "pingxiang"
COORD_PRECISION_DEG = 1e-6  # ≈ 0.1 m


@dataclasses.dataclass(frozen=True)
class CountySource:
    code: str
    name: str
    outline: BaseGeometry  # WGS84
    townships: pd.DataFrame  # township_code, township_name


def read_county_source(directory: Path = DATA_DIR) -> CountySource:
    feature = json.loads((directory / "county.geojson").read_text(encoding="utf-8"))["features"][0]
    townships = pd.read_csv(directory / "townships.csv", dtype=str)
    return CountySource(
        code=feature["properties"]["county_code"],
        name=feature["properties"]["county_name"],
        outline=shapely.geometry.shape(feature["geometry"]),
        townships=townships,
    )


@dataclasses.dataclass(frozen=True)
class Layout:
    crs_metric: str
    areas: gpd.GeoDataFrame  # code, level, name, parent_code, geometry (WGS84 MultiPolygon)
    villages: pd.DataFrame  # village_code, village_name, township_code, township_name, x, y, households
    grid_seeds: pd.DataFrame  # grid_code, village_code, x, y


def _hex_lattice(region: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    spacing = np.sqrt(region.area / count * 2 / np.sqrt(3))
    minx, miny, maxx, maxy = region.bounds
    rows = np.arange(miny, maxy + spacing, spacing * np.sqrt(3) / 2)
    cols = np.arange(minx, maxx + spacing, spacing)
    xx, yy = np.meshgrid(cols, rows)
    xx = xx + (np.arange(len(rows))[:, None] % 2) * spacing / 2
    pts = np.column_stack([xx.ravel(), yy.ravel()])
    pts += rng.uniform(-0.22, 0.22, pts.shape) * spacing
    inside = shapely.contains_xy(region.buffer(-spacing * 0.25), pts[:, 0], pts[:, 1])
    return pts[inside]


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 30) -> np.ndarray:
    centers = points[rng.choice(len(points), k, replace=False)]
    for _ in range(rounds):
        label = np.argmin(((points[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
        centers = np.array([points[label == j].mean(0) for j in range(k)])
    return label


def _village_names(count: int, rng: np.random.Generator) -> list[str]:
    combos = np.array([p + c for p in VILLAGE_PREFIXES for c in VILLAGE_CORES])
    names = rng.permutation(np.unique(combos))[:count]
    return [name if name.endswith("村") else name + "村" for name in names]


def _largest_remainder(weights: np.ndarray, total: int, minimum: int = 0) -> np.ndarray:
    raw = weights / weights.sum() * (total - minimum * len(weights))
    counts = np.floor(raw).astype(int) + minimum
    counts[np.argsort(raw - np.floor(raw))[::-1][: total - counts.sum()]] += 1
    return counts


def build_layout(
    source: CountySource,
    *,
    township_codes: tuple[str, ...] | None,
    villages_in_county: int,
    grids: int,
    households: int,
    rng: np.random.Generator,
) -> Layout:
    crs = metric_crs_for(source.outline.centroid.x)
    outline = gpd.GeoSeries([source.outline], crs=WGS84).to_crs(crs).iloc[0]

    seats = _hex_lattice(outline, villages_in_county, rng)
    cluster = _kmeans(seats, len(source.townships), rng)
    # The 街道 (urban subdistrict) takes the cluster nearest the county's centre, the others
    # follow clockwise from north, so that the same seed always names the same places.
    centers = np.array([seats[cluster == j].mean(0) for j in range(len(source.townships))])
    offset = centers - np.array(outline.centroid.coords[0])
    urban = int(np.argmin(np.hypot(*offset.T)))
    others = [j for j in np.argsort(-np.arctan2(offset[:, 0], offset[:, 1]) % (2 * np.pi)) if j != urban]
    township_of_cluster = np.empty(len(centers), dtype=int)
    township_of_cluster[[urban, *others]] = np.arange(len(centers))
    seat_township = township_of_cluster[cluster]

    village_cells = voronoi_cells(seats, outline)
    keep = (
        np.ones(len(seats), bool)
        if township_codes is None
        else np.isin(source.townships["township_code"].to_numpy()[seat_township], township_codes)
    )
    region = shapely.union_all(village_cells[keep])

    villages = pd.DataFrame({"x": seats[keep, 0], "y": seats[keep, 1], "t": seat_township[keep]})
    villages["township_code"] = source.townships["township_code"].to_numpy()[villages["t"]]
    villages["township_name"] = source.townships["township_name"].to_numpy()[villages["t"]]
    villages = villages.sort_values(["township_code", "y", "x"], ascending=[True, False, True])
    # Division-code practice: 社区 of a 街道 are numbered from 001, 村 of a 镇/乡 from 201.
    urban_village = villages["township_name"].str.endswith("街道").to_numpy()
    villages["seq"] = villages.groupby("township_code").cumcount() + np.where(urban_village, 1, 201)
    villages["village_code"] = villages["township_code"] + villages["seq"].map("{:03d}".format)
    names = np.array(_village_names(len(villages), rng), dtype=object)
    community = np.array([n + "社区" for n in COMMUNITY_NAMES], dtype=object)
    names[urban_village] = community[np.arange(urban_village.sum()) % len(community)]
    villages["village_name"] = names
    weight = rng.lognormal(0.0, 0.45, len(villages)) * np.where(urban_village, 1.6, 1.0)
    villages["households"] = _largest_remainder(weight, households, minimum=20)
    villages["grids"] = _largest_remainder(villages["households"].to_numpy().astype(float), grids, minimum=1)
    villages = villages.drop(columns=["t", "seq"]).reset_index(drop=True)

    grid_seeds = _grid_seeds(villages, rng)
    cells = as_multipolygons(voronoi_cells(grid_seeds[["x", "y"]].to_numpy(), region))
    grid_geoms = gpd.GeoSeries(cells, crs=crs).to_crs(WGS84)
    grid_geoms = gpd.GeoSeries(shapely.set_precision(grid_geoms.values, COORD_PRECISION_DEG), crs=WGS84)
    areas = _areas(source, villages, grid_seeds, grid_geoms)
    return Layout(crs_metric=crs, areas=areas, villages=villages, grid_seeds=grid_seeds)


def _grid_seeds(villages: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Seeds for each village's grids: the village seat when it has one grid, else a ring around
    it (two rings past six grids), so the cells cut the settlement into sectors."""
    n = villages["grids"].to_numpy()
    owner = np.repeat(np.arange(len(villages)), n)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)
    size = n[owner]
    outer = (size > 6) & (rank >= 6)
    ring_size = np.where(size > 6, np.where(outer, size - 6, 6), size)
    ring_rank = np.where(outer, rank - 6, rank)
    settlement_radius = 11.0 * np.sqrt(villages["households"].to_numpy())[owner]
    radius = np.where(size == 1, 0.0, np.where(outer, 1.6, 0.7) * settlement_radius)
    angle = 2 * np.pi * ring_rank / ring_size + rng.uniform(0, 2 * np.pi, len(villages))[owner]
    return pd.DataFrame(
        {
            "grid_code": villages["village_code"].to_numpy()[owner]
            + pd.Series(rank + 1).map("{:03d}".format).to_numpy(),
            "village_code": villages["village_code"].to_numpy()[owner],
            "x": villages["x"].to_numpy()[owner] + radius * np.cos(angle),
            "y": villages["y"].to_numpy()[owner] + radius * np.sin(angle),
        }
    )


def _areas(
    source: CountySource, villages: pd.DataFrame, grid_seeds: pd.DataFrame, grid_geoms: gpd.GeoSeries
) -> gpd.GeoDataFrame:
    village_name = villages.set_index("village_code")["village_name"]
    grid_rank = grid_seeds["grid_code"].str[-3:].astype(int)
    grids = gpd.GeoDataFrame(
        {
            "code": grid_seeds["grid_code"],
            "level": "grid",
            "name": village_name.loc[grid_seeds["village_code"]].to_numpy() + "第" + grid_rank.astype(str) + "网格",
            "parent_code": grid_seeds["village_code"],
        },
        geometry=grid_geoms.values,
        crs=WGS84,
    )
    village_geoms = grids.dissolve(by="parent_code", method="coverage")
    village_rows = villages.set_index("village_code").loc[village_geoms.index]
    village_areas = gpd.GeoDataFrame(
        {
            "code": village_geoms.index,
            "level": "village",
            "name": village_rows["village_name"].to_numpy(),
            "parent_code": village_rows["township_code"].to_numpy(),
        },
        geometry=village_geoms.geometry.values,
        crs=WGS84,
    )
    township_geoms = village_areas.dissolve(by="parent_code", method="coverage")
    names = source.townships.set_index("township_code")["township_name"]
    township_areas = gpd.GeoDataFrame(
        {
            "code": township_geoms.index,
            "level": "township",
            "name": names.loc[township_geoms.index].to_numpy(),
            "parent_code": source.code,
        },
        geometry=township_geoms.geometry.values,
        crs=WGS84,
    )
    county = gpd.GeoDataFrame(
        {"code": [source.code], "level": "county", "name": source.name, "parent_code": None},
        geometry=[source.outline],
        crs=WGS84,
    )
    areas = pd.concat([county, township_areas, village_areas, grids], ignore_index=True)
    areas["geometry"] = as_multipolygons(areas.geometry.values)
    areas["synthetic"] = areas["level"] != "county"
    return gpd.GeoDataFrame(areas, geometry="geometry", crs=WGS84)
