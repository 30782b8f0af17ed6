"""Grids import: polygons with 15-digit codes; villages and townships are the union of their grids.

A grid file replaces the grids of the townships it holds.  What is stored is a correctly noded
coverage (geo.coverage): a file whose neighbours do not share vertices is noded together with the
county's other stored grids, slivers go to a neighbour, and wide overlaps are refused.  Re-importing
updates grids in place, so households, workers and cases stay attached:

- households follow their point: a revised boundary re-derives their grid (counted as moved);
- open cases keep their grid unless their point is no longer in it; closed and rejected cases keep
  the grid they were handled in (past figures do not change), unless that grid is removed;
- a grid of the file's townships that the file no longer holds is removed only when nothing refers
  to it, or when the caller asks for it (`remove_missing`): then its households and cases move to
  the grid now holding their point and its worker assignments end.  Users whose areas would vanish
  are always a refusal: their scope is changed in 用户管理 first.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Column, Connection, delete, func, select

from geo.assign import NO_GRID, assign_grids
from geo.coverage import needs_noding, node_coverage, same_shape, snap_to_lattice, union_coverage
from geo.crs import WGS84
from geo.gcj02 import gcj02_to_wgs84
from geo.partition import as_multipolygons
from services.domain import OPEN_STATES
from services.exchange.formats import GRID_FIELDS
from services.exchange.imports.problems import MAX_LISTED, ImportFileError, Problem, ProblemList
from services.exchange.imports.write import delete_keys, find_changes, update_rows, upsert_rows
from services.store.models import Area, Household, Incident, UserArea, WorkerGrid, table_of

CODE_LENGTHS = {"grid_code": 15, "village_code": 12, "township_code": 9}
AREA_KEY = ["county_code", "code"]


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


def stored_grids(connection: Connection, county_code: str) -> gpd.GeoDataFrame:
    """The county's stored grids: code, name, geometry (WGS84)."""
    rows = connection.execute(
        select(Area.code, Area.name, Area.geom).where(Area.county_code == county_code, Area.level == "grid")
    ).all()
    return gpd.GeoDataFrame(
        {
            "code": pd.Series([r.code for r in rows], dtype=object),
            "name": pd.Series([r.name for r in rows], dtype=object),
        },
        geometry=[r.geom for r in rows],
        crs=WGS84,
    )


@dataclasses.dataclass(frozen=True)
class GridPlan:
    """What a checked grids file will write (computed before anything is written)."""

    grids: gpd.GeoDataFrame  # the file's grids as they will be stored (noded when needed)
    neighbours: gpd.GeoDataFrame  # stored grids outside the file reshaped by the noding: code, geometry
    removed: tuple[str, ...]  # stored grids of the file's townships that the file no longer holds
    moved_households: pd.DataFrame  # household_id, grid_code (the new one)
    moved_incidents: pd.DataFrame  # incident_id, grid_code (the new one)
    slivers_absorbed: int


@dataclasses.dataclass(frozen=True)
class _Holders:
    """Who refers to each of some grids: households, worker assignments, cases, users."""

    counts: pd.DataFrame  # index grid code; columns households, workers, incidents, users

    def describe(self, code: str) -> str:
        row = self.counts.loc[code]
        parts = [
            f"{int(row[column])} {unit}"
            for column, unit in (("households", "户住户"), ("workers", "名网格员"), ("incidents", "件事件"))
            if row[column]
        ]
        if row["users"]:
            parts.append(f"{int(row['users'])} 个用户的管辖范围")
        return "、".join(parts)


def _count_by_grid(connection: Connection, column: Column[str], county: str, codes: list[str]) -> pd.Series:
    rows = connection.execute(
        select(column, func.count()).where(column.table.c.county_code == county, column.in_(codes)).group_by(column)
    ).all()
    return pd.Series({code: n for code, n in rows}, dtype="int64").reindex(codes, fill_value=0)


def _holders(connection: Connection, county: str, codes: list[str]) -> _Holders:
    counts = pd.DataFrame(
        {
            "households": _count_by_grid(connection, table_of(Household).c.grid_code, county, codes),
            "workers": _count_by_grid(connection, table_of(WorkerGrid).c.grid_code, county, codes),
            "incidents": _count_by_grid(connection, table_of(Incident).c.grid_code, county, codes),
            "users": _count_by_grid(connection, table_of(UserArea).c.area_code, county, codes),
        },
        index=codes,
    )
    return _Holders(counts)


def plan_grids(connection: Connection, grids: gpd.GeoDataFrame, filename: str, *, remove_missing: bool) -> GridPlan:
    """Check the file's grids against the stored county and plan the write; raises
    ImportFileError (nothing written) for wide overlaps, grids that vanish while still referred
    to, and households or cases that the revised boundaries leave outside every grid."""
    county = grids["county_code"].iloc[0]
    problems = ProblemList(filename, unit="个要素")
    stored = stored_grids(connection, county)
    in_file = stored["code"].isin(grids["grid_code"])
    missing = stored[~in_file & stored["code"].str[:9].isin(grids["township_code"])]
    others = stored[~in_file & ~stored["code"].isin(missing["code"])].reset_index(drop=True)

    grids, neighbours, slivers = _noded(grids, stored, others, problems)
    problems.raise_if_any()
    removed = _check_removals(connection, county, missing, problems, remove_missing=remove_missing)
    problems.raise_if_any()

    coverage = pd.concat(
        [
            gpd.GeoDataFrame({"code": grids["grid_code"].to_numpy()}, geometry=grids.geometry.to_numpy(), crs=WGS84),
            others.drop(columns="name").set_geometry(
                neighbours.set_index("code")
                .geometry.reindex(others["code"])
                .fillna(others.set_index("code").geometry)
                .to_numpy()
            ),
        ],
        ignore_index=True,
    )
    reshaped = _reshaped_codes(stored, grids, neighbours) | set(removed)
    households, incidents = (
        _rederive(connection, county, coverage, reshaped, set(removed), problems)
        if reshaped
        else (pd.DataFrame(columns=["household_id", "grid_code"]), pd.DataFrame(columns=["incident_id", "grid_code"]))
    )
    problems.raise_if_any()
    return GridPlan(grids, neighbours, tuple(removed), households, incidents, slivers)


def _noded(
    grids: gpd.GeoDataFrame, stored: gpd.GeoDataFrame, others: gpd.GeoDataFrame, problems: ProblemList
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, int]:
    """The file's grids noded together with the county's other stored grids (when the whole is not
    a valid coverage), the stored grids that the noding reshaped, and the slivers absorbed."""
    grids = grids.set_geometry(as_multipolygons(snap_to_lattice(grids.geometry.to_numpy())))
    # A grid the file leaves as it was is kept as stored (the file still carries the faults that
    # the noding repaired last time): re-importing the same file changes nothing.
    kept = stored.set_index("code").geometry.reindex(grids["grid_code"]).to_numpy()
    known = ~shapely.is_missing(kept)
    unchanged = np.zeros(len(grids), dtype=bool)
    unchanged[known] = same_shape(grids.geometry.to_numpy()[known], kept[known])
    grids = grids.set_geometry(np.where(unchanged, kept, grids.geometry.to_numpy()))
    geoms = np.concatenate([grids.geometry.to_numpy(), others.geometry.to_numpy()])
    no_neighbours = gpd.GeoDataFrame({"code": []}, geometry=[], crs=WGS84)
    if not needs_noding(geoms):
        return grids, no_neighbours, 0
    noded = node_coverage(geoms)
    codes = np.concatenate([grids["grid_code"].to_numpy(), others["code"].to_numpy()])
    villages = pd.Series(codes).str[:12].to_numpy()
    rows = np.concatenate([grids.index.to_numpy(), np.full(len(others), -1)])
    for overlap in noded.overlaps:
        a, b = overlap.first, overlap.second
        row = rows[a] if rows[a] >= 0 else rows[b]
        same = "同村网格" if villages[a] == villages[b] else "网格"
        problems.add(
            int(row) if row >= 0 else None,
            "geometry",
            f"网格 {codes[a]} 与{same} {codes[b]} 重叠（约 {overlap.area_m2:.0f} 平方米），请在 GIS 软件中修正边界",
        )
    for index in np.flatnonzero(shapely.is_missing(noded.geometries[: len(grids)])):
        problems.add(int(rows[index]), "geometry", f"网格 {codes[index]} 完全落在其他网格之内或只是一条缝隙")
    file_geoms = noded.geometries[: len(grids)]
    other_geoms = noded.geometries[len(grids) :]
    changed = ~shapely.equals_exact(
        shapely.normalize(other_geoms), shapely.normalize(others.geometry.to_numpy()), tolerance=0
    )
    neighbours = gpd.GeoDataFrame(
        {"code": others["code"].to_numpy()[changed]}, geometry=other_geoms[changed], crs=WGS84
    )
    return (
        grids.set_geometry(np.where(shapely.is_missing(file_geoms), grids.geometry.to_numpy(), file_geoms)),
        neighbours,
        noded.slivers_absorbed,
    )  # noqa: E711


def _check_removals(
    connection: Connection, county: str, missing: gpd.GeoDataFrame, problems: ProblemList, *, remove_missing: bool
) -> list[str]:
    """Codes of the grids to remove; a problem for each one still referred to (unless the caller
    asked for removal) and for each one a user still holds."""
    if missing.empty:
        return []
    codes = missing["code"].tolist()
    holders = _holders(connection, county, codes)
    names = dict(zip(missing["code"], missing["name"], strict=True))
    for code in codes:
        row = holders.counts.loc[code]
        if row["users"]:
            problems.add(
                None,
                "grid_code",
                f"网格 {code}（{names[code]}）不在文件中，但仍属于{holders.describe(code)}；请先在「用户管理」中调整这些用户的管辖范围",
            )
        elif not remove_missing and row[["households", "workers", "incidents"]].any():
            problems.add(
                None,
                "grid_code",
                f"网格 {code}（{names[code]}）不在文件中，但仍有{holders.describe(code)}属于它；"
                "如确需撤销该网格，请勾选「撤销文件中没有的网格」（命令行加 --remove-missing），"
                "其住户和事件将按坐标归入新网格，其网格员分工将解除",
            )
    return codes


def _reshaped_codes(stored: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, neighbours: gpd.GeoDataFrame) -> set[str]:
    """Stored grids whose boundary this import changes."""
    old = stored.set_index("code").geometry
    new = grids.set_index("grid_code").geometry
    common = new.index[new.index.isin(old.index)]
    same = shapely.equals_exact(
        shapely.normalize(new.loc[common].to_numpy()), shapely.normalize(old.loc[common].to_numpy()), tolerance=0
    )
    return set(common[~same]) | set(neighbours["code"])


def _rederive(
    connection: Connection,
    county: str,
    coverage: gpd.GeoDataFrame,
    reshaped: set[str],
    removed: set[str],
    problems: ProblemList,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households and cases whose grid the revised coverage changes (household_id / incident_id,
    grid_code): households follow their point; open cases move only when their point left their
    grid; closed cases only when their grid is removed."""
    codes = coverage["code"].to_numpy()
    geoms = coverage.geometry.to_numpy()
    households = pd.DataFrame(
        connection.execute(
            select(Household.household_id, Household.grid_code, Household.lon, Household.lat).where(
                Household.county_code == county
            )
        ).all(),
        columns=["household_id", "grid_code", "lon", "lat"],
    )
    hit = assign_grids(
        shapely.points(households["lon"].to_numpy(float), households["lat"].to_numpy(float)), geoms, codes
    )
    new = np.where(hit == NO_GRID, "", codes[np.maximum(hit, 0)])
    lost = households[(new == "") & households["grid_code"].isin(reshaped)]
    for household_id, old in zip(lost["household_id"][:MAX_LISTED], lost["grid_code"][:MAX_LISTED], strict=True):
        problems.add(None, "geometry", f"住户 {household_id}（原属网格 {old}）的位置不在修订后的任何网格内")
    moved_households = households.assign(grid_code=new)[(new != "") & (new != households["grid_code"].to_numpy())]

    incidents = pd.DataFrame(
        connection.execute(
            select(Incident.incident_id, Incident.grid_code, Incident.lon, Incident.lat, Incident.state).where(
                Incident.county_code == county, Incident.grid_code.in_(sorted(reshaped))
            )
        ).all(),
        columns=["incident_id", "grid_code", "lon", "lat", "state"],
    )
    points = shapely.points(incidents["lon"].to_numpy(float), incidents["lat"].to_numpy(float))
    position = pd.Series(np.arange(len(codes)), index=codes)
    own = geoms[position.reindex(incidents["grid_code"]).fillna(-1).astype(int).to_numpy()]
    own = np.where(incidents["grid_code"].isin(removed).to_numpy(), None, own)
    still_inside = shapely.intersects(own, points) & ~shapely.is_missing(own)
    hit = assign_grids(points, geoms, codes)
    new = np.where(hit == NO_GRID, "", codes[np.maximum(hit, 0)])
    closed = ~incidents["state"].isin(OPEN_STATES).to_numpy()
    must_move = incidents["grid_code"].isin(removed).to_numpy() | (~closed & ~still_inside)
    stranded = incidents[must_move & (new == "")]
    for incident_id, old in zip(stranded["incident_id"][:MAX_LISTED], stranded["grid_code"][:MAX_LISTED], strict=True):
        problems.add(None, "geometry", f"事件 {incident_id}（原属网格 {old}）的位置不在修订后的任何网格内")
    moving = must_move & (new != "") & (new != incidents["grid_code"].to_numpy())
    moved_incidents = incidents.assign(grid_code=new)[moving]
    return moved_households[["household_id", "grid_code"]], moved_incidents[["incident_id", "grid_code"]]


def write_grids(connection: Connection, plan: GridPlan) -> dict[str, int]:
    """Write a planned grids import: grids upserted in place, reshaped neighbours updated,
    households and cases re-attached, removed grids deleted, and every village and township they
    touch rebuilt from all its grids."""
    grids = plan.grids
    county = grids["county_code"].iloc[0]
    table = table_of(Area)
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
    changes = find_changes(connection, table, rows, AREA_KEY)
    upsert_rows(connection, table, changes, AREA_KEY)
    if not plan.neighbours.empty:
        update_rows(
            connection,
            table,
            pd.DataFrame(
                {"county_code": county, "code": plan.neighbours["code"], "geom": plan.neighbours.geometry.to_numpy()}
            ),
            AREA_KEY,
        )
    household_key, incident_key = ["county_code", "household_id"], ["county_code", "incident_id"]
    update_rows(connection, table_of(Household), plan.moved_households.assign(county_code=county), household_key)
    update_rows(
        connection, table_of(Incident), plan.moved_incidents.assign(county_code=county), incident_key, bump="version"
    )
    removed = pd.DataFrame({"county_code": county, "grid_code": list(plan.removed)})
    dropped_assignments = 0
    if len(removed):
        dropped_assignments = connection.execute(
            delete(WorkerGrid).where(WorkerGrid.county_code == county, WorkerGrid.grid_code.in_(plan.removed))
        ).rowcount
        delete_keys(connection, table, removed.rename(columns={"grid_code": "code"}))

    all_grids = stored_grids(connection, county)
    touched = set(grids["grid_code"]) | set(plan.removed) | set(plan.neighbours["code"])
    names = _parent_names(connection, county, grids)
    derived = [
        _rebuild_parents(connection, county, all_grids, {code[:length] for code in touched}, level, names)
        for level, length in (("village", 12), ("township", 9))
    ]
    county_rows = _create_county(connection, county, all_grids)
    return {
        **changes.counts("grids"),
        "grids_removed": len(plan.removed),
        "neighbours_reshaped": len(plan.neighbours),
        "slivers_absorbed": plan.slivers_absorbed,
        "households_moved": len(plan.moved_households),
        "incidents_moved": len(plan.moved_incidents),
        "worker_grids_removed": int(dropped_assignments or 0),
        "villages": derived[0],
        "townships": derived[1],
        "county_created": county_rows,
    }


def _parent_names(connection: Connection, county: str, grids: gpd.GeoDataFrame) -> dict[str, str]:
    """Village and township names: the file's, else the stored ones."""
    stored = dict(
        connection.execute(
            select(Area.code, Area.name).where(Area.county_code == county, Area.level.in_(("village", "township")))
        ).all()
    )
    for level in ("village", "township"):
        stored.update(zip(grids[f"{level}_code"], grids[f"{level}_name"], strict=True))
    return stored


def _rebuild_parents(
    connection: Connection,
    county: str,
    all_grids: gpd.GeoDataFrame,
    codes: set[str],
    level: str,
    names: dict[str, str],
) -> int:
    """Rebuild the `level` areas `codes` as unions of their grids; delete those left with none.
    Returns how many were written."""
    length = len(next(iter(codes))) if codes else 0
    key = all_grids["code"].str[:length]
    wanted = all_grids[key.isin(codes)]
    unions = union_coverage(wanted.geometry.to_numpy(), key[key.isin(codes)].to_numpy())
    parent_length = {"village": 9, "township": 6}[level]
    table = table_of(Area)
    frame = pd.DataFrame(
        {
            "county_code": county,
            "code": unions.index.to_numpy(),
            "level": level,
            "name": [names.get(code, code) for code in unions.index],
            "parent_code": pd.Series(unions.index).str[:parent_length].to_numpy(),
            "geom": as_multipolygons(unions.to_numpy()),
            "synthetic": False,
        }
    )
    upsert_rows(connection, table, find_changes(connection, table, frame, AREA_KEY), AREA_KEY)
    empty = sorted(codes - set(unions.index))
    if empty:
        delete_keys(connection, table, pd.DataFrame({"county_code": county, "code": empty}))
    return len(frame)


def _create_county(connection: Connection, county: str, all_grids: gpd.GeoDataFrame) -> int:
    """The county area, as the union of its grids, when the store has none yet (the demo county
    keeps its real outline)."""
    if connection.execute(select(Area.code).where(Area.county_code == county, Area.level == "county")).first():
        return 0
    outline = union_coverage(all_grids.geometry.to_numpy(), np.full(len(all_grids), county))
    insert = pd.DataFrame(
        {
            "county_code": [county],
            "code": [county],
            "level": ["county"],
            "name": [county],
            "parent_code": [None],
            "geom": as_multipolygons(outline.to_numpy()),
            "synthetic": [False],
        }
    )
    upsert_rows(connection, table_of(Area), find_changes(connection, table_of(Area), insert, AREA_KEY), AREA_KEY)
    return 1
