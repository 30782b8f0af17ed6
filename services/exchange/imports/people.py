"""Households and workers import."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, select

from geo.assign import NO_GRID, assign_grids
from services.domain import HOUSEHOLD_TAGS, WORKER_ROLE_WORDS, WORKER_ROLES, WORKER_TITLES
from services.exchange.formats import HOUSEHOLD_FIELDS, WORKER_FIELDS
from services.exchange.id_numbers import check_characters
from services.exchange.imports.fields import check_unique, list_rows, parse_int, parse_lon_lat, split_list
from services.exchange.imports.grids import stored_grids
from services.exchange.imports.problems import ProblemList
from services.exchange.imports.readers import header_key, require_columns
from services.exchange.imports.write import delete_keys, find_changes, replace_rows
from services.store.bulk import insert_frame
from services.store.models import Household, HouseholdTag, Worker, WorkerGrid, table_of


def locate_in_grids(
    connection: Connection, county_code: str, lon: np.ndarray, lat: np.ndarray, usable: np.ndarray
) -> np.ndarray:
    """Grid code of each usable point (DESIGN.md edge rule), '' where it lies in no grid."""
    grids = stored_grids(connection, county_code)
    result = np.full(len(lon), "", dtype=object)
    if grids.empty:
        return result
    hit = assign_grids(shapely.points(lon[usable], lat[usable]), grids.geometry.to_numpy(), grids["code"].to_numpy())
    codes = np.where(hit == NO_GRID, "", grids["code"].to_numpy()[np.maximum(hit, 0)])
    result[usable] = codes
    return result


def check_households(
    connection: Connection, frame: pd.DataFrame, filename: str, *, county_code: str, crs: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Household rows and tag rows ready to write, or ImportFileError listing every problem."""
    require_columns(frame, HOUSEHOLD_FIELDS, filename)
    problems = ProblemList(filename)
    check_unique(frame, "household_id", problems)
    problems.add_rows(frame.index[frame["head_name"] == ""], "head_name", "必填，不能为空")
    members = parse_int(frame, "members", problems, minimum=1)
    lon, lat, usable = parse_lon_lat(frame, problems, crs=crs)
    grid_code = locate_in_grids(connection, county_code, lon, lat, usable)
    problems.add_rows(frame.index[usable & (grid_code == "")], "lon/lat", "坐标不在任何网格内")
    if "grid_code" in frame.columns:
        given = frame["grid_code"].to_numpy()
        differs = usable & (grid_code != "") & (given != "") & (given != grid_code)
        for row, stated, found in zip(frame.index[differs], given[differs], grid_code[differs], strict=True):
            problems.add(int(row), "grid_code", f"填写的网格 {stated} 与坐标所在网格 {found} 不一致")
    id_numbers = _check_id_numbers(connection, frame, problems, county_code)
    tags = split_list(frame["tags"])
    unknown = tags.map(lambda items: [t for t in items if t not in HOUSEHOLD_TAGS])
    for row, items in unknown[unknown.map(len) > 0].items():
        problems.add(int(row), "tags", f"未知标签 {'、'.join(items)}（可用：{'、'.join(HOUSEHOLD_TAGS)}）")
    problems.raise_if_any()

    households = pd.DataFrame(
        {
            "county_code": county_code,
            "household_id": frame["household_id"],
            "grid_code": grid_code,
            "head_name": frame["head_name"],
            "address": frame["address"],
            "members": members,
            "phone": frame["phone"].replace("", None),
            "id_number": id_numbers,
            "lon": lon,
            "lat": lat,
        }
    )
    return households, list_rows(frame, tags, county_code=county_code, owner="household_id", item="tag")


def _check_id_numbers(
    connection: Connection, frame: pd.DataFrame, problems: ProblemList, county_code: str
) -> pd.Series:
    """The heads' ID numbers (GB 11643: 17 digits and a MOD 11-2 check character), upper-cased.
    A file without the column keeps the numbers already stored: a register from a system that
    does not carry them must not wipe them."""
    if "id_number" not in frame.columns:
        stored = dict(
            connection.execute(
                select(Household.household_id, Household.id_number).where(
                    Household.county_code == county_code, Household.household_id.in_(frame["household_id"].tolist())
                )
            ).all()
        )
        return pd.Series([stored.get(h) for h in frame["household_id"]], index=frame.index, dtype=object)
    numbers = frame["id_number"].str.strip().str.upper()
    given = numbers != ""
    shaped = numbers.str.fullmatch(r"\d{17}[\dX]")
    for row in frame.index[given & ~shaped]:
        problems.add(int(row), "id_number", "身份证号应为 18 位（末位可为 X）")
    well = numbers[given & shaped]
    if len(well):
        expected = check_characters(well.str[:17].tolist())
        for row in well.index[well.str[-1].to_numpy() != expected]:
            problems.add(int(row), "id_number", "身份证号校验位不正确")
    return numbers.where(given, None)


def write_households(connection: Connection, households: pd.DataFrame, tags: pd.DataFrame) -> dict[str, int]:
    key = ["county_code", "household_id"]
    changes = find_changes(connection, table_of(Household), households, key)
    tag_changes = find_changes(connection, table_of(HouseholdTag), tags, [*key, "tag"])
    # Tags of a household whose tags changed are rewritten whole.
    retag = pd.concat([tag_changes.inserted[key], _tags_dropped(connection, households, tags)]).drop_duplicates()
    replace_rows(connection, table_of(Household), changes, key)  # cascades the tags of replaced households
    delete_keys(connection, table_of(HouseholdTag), retag)
    rewrite = tags.merge(pd.concat([retag, changes.updated[key]]).drop_duplicates(), on=key)
    insert_frame(connection, table_of(HouseholdTag), rewrite)
    return {
        **changes.counts("households"),
        "tags": len(tags),
    }


def _tags_dropped(connection: Connection, households: pd.DataFrame, tags: pd.DataFrame) -> pd.DataFrame:
    """Households of the file that lost a tag they had."""
    county = households["county_code"].iloc[0]
    stored = pd.DataFrame(
        connection.execute(
            select(HouseholdTag.household_id, HouseholdTag.tag).where(HouseholdTag.county_code == county)
        ).all(),
        columns=["household_id", "tag"],
    )
    stored = stored[stored["household_id"].isin(households["household_id"])]
    kept = stored.merge(tags[["household_id", "tag"]], how="left", indicator=True)
    lost = kept.loc[kept["_merge"] == "left_only", ["household_id"]].drop_duplicates()
    return lost.assign(county_code=county)[["county_code", "household_id"]]


def check_workers(
    connection: Connection, frame: pd.DataFrame, filename: str, *, county_code: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    require_columns(frame, WORKER_FIELDS, filename)
    problems = ProblemList(filename)
    check_unique(frame, "worker_id", problems)
    problems.add_rows(frame.index[frame["name"] == ""], "name", "必填，不能为空")
    titles = frame["role"].map(header_key)  # 专职网格员 and ` 专职 网格员 ` alike
    roles = titles.map({header_key(word): role for word, role in WORKER_ROLE_WORDS.items()})
    problems.add_rows(frame.index[frame["role"] == ""], "role", "必填，不能为空")
    accepted = "、".join(title for role in WORKER_ROLES for title in WORKER_TITLES[role])
    for row in frame.index[roles.isna() & (frame["role"] != "")]:
        problems.add(
            int(row), "role", f"未知岗位“{frame.at[row, 'role']}”，可用：{accepted}（或 {' / '.join(WORKER_ROLES)}）"
        )
    known = set(stored_grids(connection, county_code)["code"])
    grid_lists = split_list(frame["grid_codes"])
    problems.add_rows(frame.index[grid_lists.map(len) == 0], "grid_codes", "至少填写一个负责网格")
    for row, codes in grid_lists.items():
        missing = [g for g in codes if g not in known]
        if missing:
            problems.add(int(row), "grid_codes", f"网格 {', '.join(missing)} 不存在，请先导入网格")
    problems.raise_if_any()
    workers = pd.DataFrame(
        {
            "county_code": county_code,
            "worker_id": frame["worker_id"],
            "name": frame["name"],
            "phone": frame["phone"].replace("", None),
            "role": roles,
            # The register's wording where it names a post (a code such as `worker` names none).
            "role_title": titles.where(~titles.isin(WORKER_ROLES), None),
            "on_duty": True,
        }
    )
    return workers, list_rows(frame, grid_lists, county_code=county_code, owner="worker_id", item="grid_code")


def write_workers(connection: Connection, workers: pd.DataFrame, assignments: pd.DataFrame) -> dict[str, int]:
    key = ["county_code", "worker_id"]
    stored = pd.DataFrame(
        connection.execute(
            select(Worker.worker_id, Worker.on_duty).where(Worker.county_code == workers["county_code"].iloc[0])
        ).all(),
        columns=["worker_id", "on_duty"],
    )
    # On-duty status is live state, not part of the register: keep what is stored.
    workers = workers.drop(columns="on_duty").merge(stored, on="worker_id", how="left").fillna({"on_duty": True})
    changes = find_changes(connection, table_of(Worker), workers, key)
    delete_keys(connection, table_of(WorkerGrid), workers[key])  # the file's assignments replace the stored ones
    replace_rows(connection, table_of(Worker), changes, key)
    insert_frame(connection, table_of(WorkerGrid), assignments)
    return {
        **changes.counts("workers"),
        "grid_assignments": len(assignments),
    }
