"""Incident history (from an older platform) and GPS fixes import."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from geo.crs import WGS84, metric_crs_for, transform_xy
from geo.tracks import local_days
from services.cases.history import events_from_stage_times, state_from_stage_times
from services.cases.limits import find_limits
from services.domain import (
    CATEGORIES,
    CHANNEL_NAMES,
    CHANNELS,
    LEVEL_NAMES,
    LEVELS,
    LOCAL_TZ,
    SATISFACTION,
    SEVERITIES,
    SEVERITY_NAMES,
)
from services.exchange.formats import FIX_FIELDS, INCIDENT_FIELDS
from services.exchange.imports.fields import check_choice, check_unique, codes_from_names, parse_lon_lat, parse_times
from services.exchange.imports.grids import stored_grids
from services.exchange.imports.people import locate_in_grids
from services.exchange.imports.problems import ProblemList
from services.exchange.imports.readers import require_columns
from services.exchange.imports.write import Changes, compare_rows, delete_keys, find_changes, replace_rows
from services.patrol.results import PatrolResults, clean_fixes, compute_patrol_results
from services.store.bulk import insert_frame
from services.store.engine import take_county_turn
from services.store.frames import query_frame
from services.store.models import (
    Household,
    Incident,
    IncidentEvent,
    PatrolDay,
    PatrolFix,
    PatrolVisit,
    Worker,
    WorkerGrid,
    table_of,
)
from services.store.positions import advance_last_positions
from services.store.versions import HOUSEHOLDS, VersionedCache
from services.store.visit_latest import households_to_rebuild, merge_latest_visits, rebuild_latest_visits
from services.store.visit_months import merge_visit_month_pairs, recount_visit_months, refresh_visit_months

STAGES = ("reported_at", "validated_at", "rejected_at", "dispatched_at", "handled_at", "closed_at")
# (later stage, the stage it must not precede)
ORDER = (
    ("validated_at", "reported_at"),
    ("rejected_at", "reported_at"),
    ("dispatched_at", "validated_at"),
    ("handled_at", "dispatched_at"),
    ("closed_at", "reported_at"),
    ("closed_at", "handled_at"),
)


def _known_workers(connection: Connection, county_code: str) -> set[str]:
    return set(connection.scalars(select(Worker.worker_id).where(Worker.county_code == county_code)))


def check_incidents(
    connection: Connection, frame: pd.DataFrame, filename: str, *, county_code: str, crs: str
) -> pd.DataFrame:
    require_columns(frame, INCIDENT_FIELDS, filename)
    choices = {"severity": SEVERITY_NAMES, "channel": CHANNEL_NAMES, "level": LEVEL_NAMES}
    frame = frame.assign(**{field: codes_from_names(frame[field], names) for field, names in choices.items()})
    problems = ProblemList(filename)
    check_unique(frame, "incident_id", problems)
    check_choice(frame, "category", tuple(CATEGORIES), problems)
    check_choice(frame, "severity", SEVERITIES, problems, names=SEVERITY_NAMES)
    check_choice(frame, "channel", CHANNELS, problems, names=CHANNEL_NAMES)
    check_choice(frame, "level", LEVELS, problems, required=False, names=LEVEL_NAMES)
    check_choice(frame, "satisfaction", SATISFACTION, problems, required=False)
    times = {field: parse_times(frame, field, problems, required=field == "reported_at") for field in STAGES}
    for later, earlier in ORDER:
        wrong = (times[later] < times[earlier]).to_numpy()
        problems.add_rows(frame.index[wrong], later, f"早于 {earlier}，时间顺序不对")
    both = times["validated_at"].notna() & times["rejected_at"].notna()
    problems.add_rows(frame.index[both], "rejected_at", "同一事件不能既核实有效又判定无效")
    orphan = times["dispatched_at"].notna() & times["validated_at"].isna()
    problems.add_rows(frame.index[orphan], "dispatched_at", "未核实（validated_at 为空）的事件不能派遣")
    workers = _known_workers(connection, county_code)
    unknown = (frame["assignee_worker_id"] != "") & ~frame["assignee_worker_id"].isin(workers)
    for row in frame.index[unknown]:
        problems.add(
            int(row), "assignee_worker_id", f"网格员 {frame.at[row, 'assignee_worker_id']} 不存在，请先导入网格员"
        )
    lon, lat, usable = parse_lon_lat(frame, problems, crs=crs)
    grid_code = locate_in_grids(connection, county_code, lon, lat, usable)
    problems.add_rows(frame.index[usable & (grid_code == "")], "lon/lat", "坐标不在任何网格内")
    problems.raise_if_any()

    incidents = pd.DataFrame(
        {
            "county_code": county_code,
            "incident_id": frame["incident_id"],
            "grid_code": grid_code,
            "category": frame["category"],
            "subcategory": None,
            "severity": frame["severity"],
            "lon": lon,
            "lat": lat,
            "description": frame["description"],
            "channel": frame["channel"],
            "reporter": None,
            "level": frame["level"].replace("", "grid"),
            "limit_hours": find_limits(connection, county_code, frame, "handling")["hours"],
            "assignee_worker_id": frame["assignee_worker_id"].replace("", None),
            "assignee_department_id": None,
            **{field: times[field] for field in STAGES},
            # The exchange format has no acceptance time: taken as the dispatch time.
            "accepted_at": times["dispatched_at"],
            # A case closed without a handling time was closed without being handled.
            "close_reason": np.where(  # type: ignore[call-overload]  # numpy's stubs leave None out of ArrayLike; np.where takes it as an object
                times["closed_at"].isna(), None, np.where(times["handled_at"].isna(), "no_action_needed", "fixed")
            ),
            "satisfaction": frame["satisfaction"].replace("", None),
            "duplicate_of": None,
            "version": 1,
        }
    )
    incidents["state"] = state_from_stage_times(incidents)
    return incidents


def write_incidents(connection: Connection, incidents: pd.DataFrame) -> dict[str, int]:
    key = ["county_code", "incident_id"]
    changes = find_changes(connection, table_of(Incident), incidents, key, ignore=("version",))
    delete_keys(connection, table_of(IncidentEvent), changes.updated[key])
    replace_rows(connection, table_of(Incident), changes, key)
    written = pd.concat([changes.inserted, changes.updated], ignore_index=True)
    # When a case climbed above the grid is not in the format: recorded at its acceptance.
    escalated_at = written["accepted_at"].where(written["level"] != "grid")
    events = events_from_stage_times(written, escalated_at) if len(written) else pd.DataFrame()
    insert_frame(connection, table_of(IncidentEvent), events)
    return {
        **changes.counts("incidents"),
        "events": len(events),
    }


def days_the_fixes_touch(frame: pd.DataFrame) -> list[dt.date]:
    """The local days a fixes file may write, before it is checked: each written date, with the
    day before and after (an offset can move a time across midnight), so their partitions can be
    made ahead of the import's transaction (`services.store.fix_partitions`)."""
    if "ts" not in frame.columns:
        return []
    dates = pd.to_datetime(pd.Series(frame["ts"].astype(str).str[:10].unique()), format="%Y-%m-%d", errors="coerce")
    days = {day.date() + dt.timedelta(days=shift) for day in dates.dropna() for shift in (-1, 0, 1)}
    return sorted(days)


def check_fixes(
    connection: Connection, frame: pd.DataFrame, filename: str, *, county_code: str, crs: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fixes ready to write, and how many were dropped and why: exact duplicates (same worker,
    same instant), accuracy worse than 100 m, impossible jumps (over 120 km/h)."""
    require_columns(frame, FIX_FIELDS, filename)
    problems = ProblemList(filename)
    workers = _known_workers(connection, county_code)
    unknown = ~frame["worker_id"].isin(workers)
    for row in frame.index[unknown][:200]:
        problems.add(int(row), "worker_id", f"网格员 {frame.at[row, 'worker_id']} 不存在，请先导入网格员")
    ts = parse_times(frame, "ts", problems, required=True)
    accuracy = pd.to_numeric(frame["accuracy_m"], errors="coerce")
    problems.add_rows(frame.index[accuracy.isna() | (accuracy < 0)], "accuracy_m", "应为不小于 0 的数字（米）")
    lon, lat, _ = parse_lon_lat(frame, problems, crs=crs)
    problems.raise_if_any()
    fixes = pd.DataFrame(
        {
            "county_code": county_code,
            "worker_id": frame["worker_id"],
            "ts": ts,
            "lon": lon,
            "lat": lat,
            "accuracy_m": accuracy,
        }
    )
    unique = fixes.drop_duplicates(["worker_id", "ts"])
    metric = metric_crs_for(float(np.nanmean(lon)))
    x, y = transform_xy(unique["lon"], unique["lat"], WGS84, metric)
    kept, dropped = clean_fixes(unique.assign(x=x, y=y))
    return kept.drop(columns=["x", "y"]), {"exact_duplicates": len(fixes) - len(unique), **dropped}


FIX_COLUMNS = ["county_code", "worker_id", "ts", "lon", "lat", "accuracy_m"]
FIX_KEY = ["county_code", "worker_id", "ts"]


def write_fixes(connection: Connection, fixes: pd.DataFrame) -> dict[str, int]:
    # One fixes import of a county at a time: each rebuilds the visit rollups of the months ×
    # grids it touched, and two at once would insert the same rollup rows.
    county = fixes["county_code"].iloc[0]
    take_county_turn(connection, "patrol_visits", county)
    # In key order, each worker's fixes go in side by side (and, on SQLite, at the end of their
    # day in its index), wherever a file has them.
    fixes = fixes.sort_values(["worker_id", "ts"], ignore_index=True)
    worker_days = pd.DataFrame({"worker_id": fixes["worker_id"], "day": local_days(fixes["ts"], LOCAL_TZ)})
    worker_days = worker_days.drop_duplicates(ignore_index=True)
    # Read once, before the write: every stored fix a new one may replace lies in these worker-days,
    # and the worker-days' tracks are these fixes overlaid with the new ones.
    stored = _stored_fixes(connection, county, worker_days)
    changes = compare_rows(fixes, stored, FIX_KEY, FIX_COLUMNS)
    # A new day's tracks are the file's fixes alone (checked: one per worker and instant); a concat
    # with the empty read would also turn their Arrow strings into Python objects, slower to write.
    day_fixes = fixes[FIX_COLUMNS]
    if not stored.empty:
        day_fixes = pd.concat([stored, day_fixes], ignore_index=True)
        day_fixes = day_fixes.drop_duplicates(["worker_id", "ts"], keep="last", ignore_index=True)
    inputs = _patrol_inputs(connection, county, worker_days)
    # One thread writes, in the order submitted: the database stores the fixes and each part's
    # visits while the next part is computed here (on SQLite too: its bulk inserts run a statement
    # a part, without Python's lock, see services.store.bulk).  The connection is never used by
    # both at once: nothing here touches it until the thread is done.
    with ThreadPoolExecutor(max_workers=1) as database:
        stored_write = database.submit(_store_fixes, connection, changes, inputs.keys)
        computed = _computed_parts(day_fixes, inputs, PART_FIXES)
        pending = [database.submit(_write_part, connection, county, part) for part in computed]
        stored_write.result()
        parts = [future.result() for future in pending]
    visits, days = _finish_rollups(connection, inputs, parts)
    advance_last_positions(connection, pd.concat([changes.inserted, changes.updated]))
    return {
        **changes.counts("fixes"),
        "visits": visits,
        "patrol_days": days,
    }


def _stored_fixes(connection: Connection, county: str, worker_days: pd.DataFrame) -> pd.DataFrame:
    """The stored fixes (FIX_COLUMNS) of these worker-days."""
    days = sorted(set(worker_days["day"]))
    start = dt.datetime.combine(days[0], dt.time(), LOCAL_TZ)
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
    stored = query_frame(
        connection,
        select(*(table_of(PatrolFix).c[c] for c in FIX_COLUMNS)).where(
            PatrolFix.county_code == county,
            PatrolFix.worker_id.in_(worker_days["worker_id"].unique().tolist()),
            PatrolFix.ts >= start,
            PatrolFix.ts < end,
        ),
    )
    stored["ts"] = pd.to_datetime(stored["ts"], utc=True)
    of_worker_day = pd.MultiIndex.from_arrays([stored["worker_id"], local_days(stored["ts"], LOCAL_TZ)]).isin(
        pd.MultiIndex.from_frame(worker_days)
    )
    return stored[of_worker_day].reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class HouseholdPoints:
    """A county's households where tracks can reach them: household_id, grid_code, x, y (metres
    in `crs`)."""

    frame: pd.DataFrame
    crs: str


# ~40 MB a county: kept for the next import in the same process (the app, an API client), not many
HOUSEHOLD_POINTS: VersionedCache[HouseholdPoints | None] = VersionedCache(HOUSEHOLDS, size=2)


def _household_points(connection: Connection, county: str) -> HouseholdPoints | None:
    def read() -> HouseholdPoints | None:
        frame = query_frame(
            connection,
            select(Household.household_id, Household.grid_code, Household.lon, Household.lat).where(
                Household.county_code == county
            ),
        )
        if frame.empty:
            return None
        crs = metric_crs_for(float(frame["lon"].mean()))
        x, y = transform_xy(frame["lon"], frame["lat"], WGS84, crs)
        return HouseholdPoints(frame[["household_id", "grid_code"]].assign(x=x, y=y), crs)

    return HOUSEHOLD_POINTS.get(connection, county, "points", read)


@dataclasses.dataclass(frozen=True)
class PatrolInputs:
    """What recomputing the visits and day summaries of some worker-days reads from the store."""

    county: str
    worker_days: pd.DataFrame  # worker_id, day
    replaced: pd.DataFrame  # their stored visits: worker_id, day, household_id, grid_code, last_start, last_end
    households: HouseholdPoints | None
    grids: gpd.GeoDataFrame  # code, polygon: in the households' metric CRS where there are households
    worker_grids: pd.DataFrame  # worker_id, grid_code

    @property
    def keys(self) -> pd.DataFrame:
        return self.worker_days.assign(county_code=self.county)[["county_code", "worker_id", "day"]]


def _patrol_inputs(connection: Connection, county: str, worker_days: pd.DataFrame) -> PatrolInputs:
    replaced = query_frame(
        connection,
        select(
            PatrolVisit.worker_id,
            PatrolVisit.day,
            PatrolVisit.household_id,
            PatrolVisit.grid_code,
            PatrolVisit.last_start,
            PatrolVisit.last_end,
        ).where(
            PatrolVisit.county_code == county,
            PatrolVisit.worker_id.in_(worker_days["worker_id"].unique().tolist()),
            PatrolVisit.day >= worker_days["day"].min(),
            PatrolVisit.day <= worker_days["day"].max(),
        ),
    ).merge(worker_days, on=["worker_id", "day"])
    households = _household_points(connection, county)
    grids = stored_grids(connection, county)
    worker_grids = query_frame(
        connection, select(WorkerGrid.worker_id, WorkerGrid.grid_code).where(WorkerGrid.county_code == county)
    )
    if households is not None:
        grids = grids.to_crs(households.crs)
    return PatrolInputs(county, worker_days, replaced, households, grids, worker_grids)


def _store_fixes(connection: Connection, changes: Changes, keys: pd.DataFrame) -> None:
    """Write the new and changed fixes, and delete the stored results of their worker-days."""
    replace_rows(connection, table_of(PatrolFix), changes, FIX_KEY)
    delete_keys(connection, table_of(PatrolVisit), keys)
    delete_keys(connection, table_of(PatrolDay), keys)


PART_FIXES = 100_000  # fixes of a part computed while the part before it is written (~4 a county day)


def _computed_parts(day_fixes: pd.DataFrame, inputs: PatrolInputs, part_fixes: int) -> Iterator[PatrolResults]:
    """The worker-days' visits and summaries from all their fixes (worker_id, ts, lon, lat,
    accuracy_m), in parts of whole workers of about `part_fixes` fixes; none where there is
    nothing to compute (no fixes, or no households)."""
    households = inputs.households
    if households is None or day_fixes.empty:
        return
    fx, fy = transform_xy(day_fixes["lon"], day_fixes["lat"], WGS84, households.crs)
    located = day_fixes.assign(x=fx, y=fy)
    codes, _ = pd.factorize(located["worker_id"], sort=True)
    per_worker = np.bincount(codes)
    part_of_worker = (np.cumsum(per_worker) - per_worker) // max(part_fixes, 1)  # where each worker's fixes start
    for _, part in located.groupby(part_of_worker[codes], sort=True):
        yield compute_patrol_results(part, households.frame, inputs.grids, inputs.worker_grids)


def _write_part(connection: Connection, county: str, results: PatrolResults) -> PatrolResults:
    """Store a part's visits and day summaries (their worker-days' old ones are deleted) and
    merge its visits into the rollups; their grids are recounted once every part is in."""
    visits = results.visits
    insert_frame(connection, table_of(PatrolVisit), visits.assign(county_code=county))
    insert_frame(connection, table_of(PatrolDay), results.days.assign(county_code=county))
    if not visits.empty:
        first_day, last_day = visits["day"].min(), visits["day"].max()
        workers = visits["worker_id"].unique()  # distinct first: a set of Arrow strings takes them one by one
        merge_visit_month_pairs(connection, county, workers, first_day, last_day)
        merge_latest_visits(connection, county, workers, first_day, last_day)
    return results


def _finish_rollups(connection: Connection, inputs: PatrolInputs, parts: list[PatrolResults]) -> tuple[int, int]:
    """Bring the visit rollups up to date once every part is written; returns (visit rows, day
    rows) written.  Where visits were deleted, a month's pairs may go: those months × grids are
    read again from patrol_visits, as are the households the merges would leave too late."""
    county, worker_days, replaced = inputs.county, inputs.worker_days, inputs.replaced
    visits = pd.concat([part.visits for part in parts]) if parts else pd.DataFrame(columns=replaced.columns)
    if not replaced.empty:
        refresh_visit_months(connection, county, days=worker_days["day"], grid_codes=replaced["grid_code"])
    # (the grids refreshed above are recounted there)
    merged_grids = set(visits["grid_code"].unique()) - set(replaced["grid_code"].unique())
    recount_visit_months(connection, county, merged_grids, worker_days["day"])
    rebuild_latest_visits(connection, county, households_to_rebuild(replaced, visits))
    return len(visits), sum(len(part.days) for part in parts)
