"""Grid coverages as real county files deliver them: neighbours that meet within millimetres but do
not share vertices.  Each builder returns a grids layer in the exchange format (WGS84), drawn in
metres around 平乡 and then spoiled the way desktop GIS work spoils it.

Every spoiled layer here passes the import's per-polygon checks (valid polygons, overlaps under
1 m²) and yet is not a valid coverage (`shapely.coverage_is_valid` is False): the builders' own
test says so, so a builder that stops spoiling is noticed.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import WGS84, metric_crs_for, transform_xy
from geo.partition import voronoi_cells

TOWNSHIP = "130532101"
ORIGIN_LON, ORIGIN_LAT = 115.02, 37.02
METRIC = metric_crs_for(ORIGIN_LON)
CELL_M = 500.0


def _origin() -> tuple[float, float]:
    x, y = transform_xy([ORIGIN_LON], [ORIGIN_LAT], WGS84, METRIC)
    return float(x[0]), float(y[0])


def _codes(count: int, per_village: int) -> list[str]:
    return [f"{TOWNSHIP}{201 + i // per_village:03d}{1 + i % per_village:03d}" for i in range(count)]


def grids_layer(geoms_metric: np.ndarray, per_village: int = 4, *, round_deg: float | None = None) -> gpd.GeoDataFrame:
    """Polygons in METRIC as an exchange-format grids layer in WGS84 (villages of `per_village`
    grids in code order), each polygon rounded on its own to `round_deg` when given."""
    geoms = gpd.GeoSeries(geoms_metric, crs=METRIC).to_crs(WGS84).to_numpy()
    if round_deg is not None:
        geoms = shapely.set_precision(geoms, round_deg)
    codes = _codes(len(geoms), per_village)
    return gpd.GeoDataFrame(
        {
            "grid_code": codes,
            "grid_name": [f"第{c[-3:]}网格" for c in codes],
            "village_code": [c[:12] for c in codes],
            "village_name": [f"村{c[9:12]}" for c in codes],
            "township_code": TOWNSHIP,
            "township_name": "平乡镇",
        },
        geometry=geoms,
        crs=WGS84,
    )


def square_cells(columns: int = 4, rows: int = 4) -> np.ndarray:
    """An exact `columns` × `rows` checkerboard of CELL_M squares (a valid coverage), row by row."""
    x0, y0 = _origin()
    return np.array(
        [
            shapely.box(x0 + c * CELL_M, y0 + r * CELL_M, x0 + (c + 1) * CELL_M, y0 + (r + 1) * CELL_M)
            for r in range(rows)
            for c in range(columns)
        ],
        dtype=object,
    )


def jitter_vertices(geoms: np.ndarray, *, crs: str, seed: int = 1, jitter_m: float = 0.004) -> np.ndarray:
    """`geoms` (polygons in `crs`) as if each was digitised on its own: vertices every 50 m, each
    moved by up to `jitter_m` independently on the two sides of a shared edge."""
    rng = np.random.default_rng(seed)
    metric = gpd.GeoSeries(geoms, crs=crs).to_crs(METRIC).to_numpy()
    dense = shapely.segmentize(metric, 50.0)

    def jittered_ring(ring: shapely.LinearRing) -> np.ndarray:
        coords = shapely.get_coordinates(ring)[:-1]
        moved = coords + rng.uniform(-jitter_m, jitter_m, coords.shape)
        return np.vstack([moved, moved[:1]])  # a ring stays closed

    parts, owner = shapely.get_parts(dense, return_index=True)
    polygons = np.array(
        [shapely.Polygon(jittered_ring(p.exterior), [jittered_ring(r) for r in p.interiors]) for p in parts],
        dtype=object,
    )
    moved = shapely.multipolygons(polygons, indices=owner)
    return gpd.GeoSeries(moved, crs=METRIC).to_crs(crs).to_numpy()


def jittered_vertices(seed: int = 1, jitter_m: float = 0.004) -> gpd.GeoDataFrame:
    """Each grid digitised on its own: vertices a few millimetres apart on the two sides of every
    shared edge (gaps and overlaps of mm width)."""
    return grids_layer(jitter_vertices(square_cells(), crs=METRIC, seed=seed, jitter_m=jitter_m))


def t_junctions() -> gpd.GeoDataFrame:
    """The upper half is digitised with cells twice as wide as the lower half: the lower cells'
    corners lie in the middle of the upper cells' bottom edges, which have no vertex there."""
    x0, y0 = _origin()
    lower = [shapely.box(x0 + c * CELL_M, y0, x0 + (c + 1) * CELL_M, y0 + CELL_M) for c in range(4)]
    upper = [
        shapely.box(x0 + c * 2 * CELL_M, y0 + CELL_M, x0 + (c + 1) * 2 * CELL_M, y0 + 2 * CELL_M) for c in range(2)
    ]
    return grids_layer(np.array(lower + upper, dtype=object), per_village=4)


def slivers(width_m: float = 0.03) -> gpd.GeoDataFrame:
    """An inner grid pulled back by a few centimetres from its eastern neighbour (a sliver gap),
    another pushed a few centimetres into its northern neighbour (a sliver overlap)."""
    cells = list(square_cells())
    minx, miny, maxx, maxy = cells[5].bounds
    cells[5] = shapely.box(minx, miny, maxx - width_m, maxy)
    minx, miny, maxx, maxy = cells[10].bounds
    cells[10] = shapely.box(minx, miny, maxx, maxy + width_m)
    return grids_layer(np.array(cells, dtype=object))


def rounded_voronoi(seed: int = 3, count: int = 40, simplify_m: float = 0.2) -> gpd.GeoDataFrame:
    """Voronoi cells clipped to an irregular outline, with winding edges (a field boundary follows
    a ditch), each polygon simplified on its own and exported with 6 decimals: neighbours keep
    different vertices of the same edge, decimetres apart."""
    rng = np.random.default_rng(seed)
    x0, y0 = _origin()
    angles = np.sort(rng.uniform(0, 2 * np.pi, 23))
    radius = 2500 + rng.uniform(-500, 500, len(angles))
    outline = shapely.Polygon(np.column_stack([x0 + radius * np.cos(angles), y0 + radius * np.sin(angles)]))
    seeds = np.column_stack([rng.uniform(x0 - 2000, x0 + 2000, count), rng.uniform(y0 - 2000, y0 + 2000, count)])
    inside = shapely.contains_xy(outline, seeds[:, 0], seeds[:, 1])
    cells = shapely.segmentize(voronoi_cells(seeds[inside], outline), 5.0)

    def wind(coords: np.ndarray) -> np.ndarray:
        return coords + 25.0 * np.sin(coords[:, ::-1] / 150.0)

    cells = shapely.transform(cells, wind)
    return grids_layer(shapely.simplify(cells, simplify_m), per_village=5, round_deg=1e-6)


SPOILED: dict[str, Callable[[], gpd.GeoDataFrame]] = {
    "jittered_vertices": jittered_vertices,
    "t_junctions": t_junctions,
    "slivers": slivers,
    "rounded_voronoi": rounded_voronoi,
}
