"""Grids import: polygons with 15-digit codes; villages and townships are the union of their grids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, select

from geo.crs import WGS84
from geo.gcj02 import gcj02_to_wgs84
from geo.partition import as_multipolygons
from services.formats import GRID_FIELDS
from services.imports.problems import ImportFileError, Problem, ProblemList
from services.imports.write import find_changes, replace_rows
from services.store.models import Area

CODE_LENGTHS = {"grid_code": 15, "village_code": 12, "township_code": 9}
OVERLAP_TOLERANCE_DEG2 = 1e-10  # ≈ 1 m²: less is digitising noise on a shared edge


def _gcj02_to_wgs84_coords(coords: np.ndarray) -> np.ndarray:
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def check_grids(layer: gpd.GeoDataFrame, filename: str, *, crs: str) -> gpd.GeoDataFrame:
    """The checked grids in WGS84 (columns of GRID_FIELDS, geometry as MultiPolygon, county_code);
    raises ImportFileError listing every problem by feature number and field."""
    problems = ProblemList(filename, unit="个要素")
    # Shapefile field names stop at 10 characters: township_code arrives as township_c.
    layer = layer.rename(columns={name[:10]: name for name in GRID_FIELDS if name[:10] not in GRID_FIELDS})
    missing = [c for c in GRID_FIELDS if c not in layer.columns]
    if missing:
        raise ImportFileError(filename, [Problem(None, c, "缺少必填字段") for c in missing], unit="个要素")
    if layer.empty:
        raise ImportFileError(filename, [Problem(None, None, "文件中没有网格要素")], unit="个要素")
    grids = layer[list(GRID_FIELDS)].astype(str).apply(lambda c: c.str.strip())
    if layer.crs is not None and not layer.crs.equals(WGS84) and layer.crs.to_epsg() != 4490:
        layer = layer.to_crs(WGS84)
    geoms = layer.geometry.to_numpy()
    if crs == "gcj02":
        geoms = shapely.transform(geoms, _gcj02_to_wgs84_coords)

    for field, length in CODE_LENGTHS.items():
        bad = ~grids[field].str.fullmatch(rf"\d{{{length}}}")
        problems.add_rows(grids.index[bad], field, f"应为 {length} 位数字编码")
    bad_parent = ~grids.apply(lambda r: r["grid_code"].startswith(r["village_code"]), axis=1)
    problems.add_rows(grids.index[bad_parent], "grid_code", "网格编码应以其村（社区）编码开头")
    bad_township = ~grids.apply(lambda r: r["village_code"].startswith(r["township_code"]), axis=1)
    problems.add_rows(grids.index[bad_township], "village_code", "村（社区）编码应以其乡镇编码开头")
    duplicated = grids["grid_code"].duplicated(keep="first")
    for row in grids.index[duplicated]:
        problems.add(int(row), "grid_code", f"网格编码 {grids.at[row, 'grid_code']} 重复")
    counties = grids["grid_code"].str[:6].unique()
    if len(counties) > 1:
        problems.add(None, "grid_code", f"一个文件只能包含一个县的网格，发现 {', '.join(sorted(counties))}")
    for field in ("village", "township"):
        names = grids.groupby(f"{field}_code")[f"{field}_name"].nunique()
        for code in names.index[names > 1]:
            row = grids.index[grids[f"{field}_code"] == code][0]
            problems.add(int(row), f"{field}_name", f"编码 {code} 对应了多个名称")

    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems.add_rows(grids.index[empty], "geometry", "缺少几何图形")
    kind = shapely.get_type_id(geoms)
    polygonal = np.isin(kind, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]) & ~empty
    problems.add_rows(grids.index[~polygonal & ~empty], "geometry", "几何类型应为面（Polygon / MultiPolygon）")
    valid = shapely.is_valid(geoms)
    for row, reason in zip(
        grids.index[polygonal & ~valid], shapely.is_valid_reason(geoms[polygonal & ~valid]), strict=True
    ):
        problems.add(int(row), "geometry", f"多边形无效：{_explain(reason)}")
    problems.raise_if_any()

    grids = gpd.GeoDataFrame(grids, geometry=as_multipolygons(geoms), crs=WGS84)
    grids["county_code"] = grids["grid_code"].str[:6]
    return grids


def _explain(reason: str) -> str:
    if reason.startswith("Self-intersection"):
        return f"边界自相交，位置 {reason.removeprefix('Self-intersection')}"
    if reason.startswith("Ring Self-intersection"):
        return f"环自相交，位置 {reason.removeprefix('Ring Self-intersection')}"
    return reason


def check_overlaps(grids: gpd.GeoDataFrame, stored: gpd.GeoDataFrame, filename: str) -> None:
    """Grids of one village must not overlap, among themselves or with the village's stored grids."""
    others = stored[~stored["code"].isin(grids["grid_code"])]
    codes = np.concatenate([grids["grid_code"].to_numpy(), others["code"].to_numpy()])
    geoms = np.concatenate([grids.geometry.to_numpy(), others.geometry.to_numpy()])
    rows = np.concatenate([grids.index.to_numpy(), np.full(len(others), -1)])
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = (left < right) & (pd.Series(codes[left]).str[:12].to_numpy() == pd.Series(codes[right]).str[:12].to_numpy())
    left, right = left[pairs], right[pairs]
    area = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    problems = ProblemList(filename, unit="个要素")
    for a, b, overlap in zip(left, right, area, strict=True):
        if overlap > OVERLAP_TOLERANCE_DEG2:
            row = rows[a] if rows[a] >= 0 else rows[b]
            problems.add(
                int(row), "geometry", f"网格 {codes[a]} 与同村网格 {codes[b]} 重叠（约 {overlap * 1e10:.0f} 平方米）"
            )
    problems.raise_if_any()


def stored_grids(connection: Connection, county_code: str) -> gpd.GeoDataFrame:
    rows = connection.execute(
        select(Area.code, Area.geom).where(Area.county_code == county_code, Area.level == "grid")
    ).all()
    return gpd.GeoDataFrame({"code": [r.code for r in rows]}, geometry=[r.geom for r in rows], crs=WGS84)


def write_grids(connection: Connection, grids: gpd.GeoDataFrame) -> dict[str, int]:
    """Upsert the grids, then rebuild every village and township they touch from all its grids."""
    county = grids["county_code"].iloc[0]
    table = Area.__table__
    rows = pd.DataFrame(
        {
            "county_code": county,
            "code": grids["grid_code"],
            "level": "grid",
            "name": grids["grid_name"],
            "parent_code": grids["village_code"],
            "geom": grids.geometry.to_numpy(),
            "synthetic": False,
        }
    )
    changes = find_changes(connection, table, rows, ["county_code", "code"])
    replace_rows(connection, table, changes, ["county_code", "code"])

    all_grids = stored_grids(connection, county)
    villages = _unions(all_grids, all_grids["code"].str[:12], grids["village_code"].unique())
    villages_rows = _area_rows(
        county, "village", villages, grids.drop_duplicates("village_code").set_index("village_code")["village_name"], 9
    )
    townships = _unions(all_grids, all_grids["code"].str[:9], grids["township_code"].unique())
    township_rows = _area_rows(
        county,
        "township",
        townships,
        grids.drop_duplicates("township_code").set_index("township_code")["township_name"],
        6,
    )
    derived = pd.concat([villages_rows, township_rows], ignore_index=True)
    derived_changes = find_changes(connection, table, derived, ["county_code", "code"])
    replace_rows(connection, table, derived_changes, ["county_code", "code"])
    county_rows = 0
    if connection.execute(select(Area.code).where(Area.county_code == county, Area.level == "county")).first() is None:
        outline = shapely.union_all(all_grids.geometry.to_numpy())
        insert = pd.DataFrame(
            {
                "county_code": [county],
                "code": [county],
                "level": ["county"],
                "name": [county],
                "parent_code": [None],
                "geom": as_multipolygons(np.array([outline])),
                "synthetic": [False],
            }
        )
        replace_rows(
            connection, table, find_changes(connection, table, insert, ["county_code", "code"]), ["county_code", "code"]
        )
        county_rows = 1
    return {
        **changes.counts("grids"),
        "villages": len(villages_rows),
        "townships": len(township_rows),
        "county_created": county_rows,
    }


def _unions(all_grids: gpd.GeoDataFrame, parent: pd.Series, codes: np.ndarray) -> gpd.GeoSeries:
    wanted = all_grids[parent.isin(codes)]
    return wanted.dissolve(by=parent[parent.isin(codes)]).geometry


def _area_rows(county: str, level: str, geoms: gpd.GeoSeries, names: pd.Series, parent_length: int) -> pd.DataFrame:
    codes = geoms.index.to_numpy()
    return pd.DataFrame(
        {
            "county_code": county,
            "code": codes,
            "level": level,
            "name": names.reindex(codes).to_numpy(),
            "parent_code": pd.Series(codes).str[:parent_length].to_numpy(),
            "geom": as_multipolygons(geoms.to_numpy()),
            "synthetic": False,
        }
    )
