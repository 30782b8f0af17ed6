"""Patrol supervision: one worker's day (route, stops, households reached, who is still waiting
for a visit) and the monthly compliance table (平安e格: ≥ 20 patrol logs and ≥ 6 valid reports
a month)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import geopandas as gpd
import pandas as pd
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from geo.crs import WGS84, metric_crs_for, transform_xy
from geo.tracks import MAX_GAP, VISIT_RADIUS_M
from services.access.actor import Actor
from services.access.audit import require_area
from services.access.privacy import SPECIAL_GROUP_TAGS, shown_names
from services.access.scope import Scope
from services.domain import LOCAL_TZ
from services.errors import InvalidArgumentError, UnknownItemError
from services.patrol.coverage import area_grids, count_coverage, households_per_grid, visited_between, visited_per_grid
from services.patrol.results import compute_patrol_results
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import (
    Area,
    Household,
    HouseholdTag,
    Incident,
    PatrolDay,
    PatrolFix,
    PatrolLog,
    Worker,
    WorkerGrid,
)

LOG_TARGET = 20
REPORT_TARGET = 6
FLAG_NAMES = {"still": "定位不动", "outside": "多在网格外", "regular": "定位过于规律"}


@dataclasses.dataclass(frozen=True)
class WorkerDay:
    worker_id: str
    name: str
    day: dt.date
    grid_codes: tuple[str, ...]
    track: pd.DataFrame  # lon, lat, ts (UTC), line (a new line after a gap over 5 min)
    stops: pd.DataFrame  # lon, lat, start_ts, end_ts, minutes
    visited: pd.DataFrame  # household_id, lon, lat, label
    waiting: pd.DataFrame  # special-group households of the worker's grids not visited in the 7 days to `day`
    distance_m: float
    patrol_s: int
    flags: tuple[str, ...]  # Chinese
    coverage_7d: float | None  # of the worker's grids, by anyone, over the 7 days to the end of `day`


def _local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), LOCAL_TZ)
    return start, start + dt.timedelta(days=1)


def load_worker_day(session_factory: SessionFactory, *, actor: Actor, worker_id: str, day: dt.date) -> WorkerDay:
    """The worker's track on a local day, built and judged exactly as the import stores it."""
    scope = actor.scope
    clearance = actor.clearance
    county = scope.county_code
    start, end = _local_day_bounds(day)
    with session_factory() as session:
        worker = session.get(Worker, (county, worker_id))
        grid_codes = tuple(
            session.scalars(
                select(WorkerGrid.grid_code).where(WorkerGrid.county_code == county, WorkerGrid.worker_id == worker_id)
            ).all()
        )
        if worker is None or not any(scope.allows(g) for g in grid_codes):
            raise UnknownItemError("网格员", worker_id)
        fixes = query_frame(
            session,
            select(PatrolFix.ts, PatrolFix.lon, PatrolFix.lat, PatrolFix.accuracy_m).where(
                PatrolFix.county_code == county,
                PatrolFix.worker_id == worker_id,
                PatrolFix.ts >= start,
                PatrolFix.ts < end,
            ),
        )
        grid_rows = session.execute(
            select(Area.code, Area.geom).where(Area.county_code == county, Area.code.in_(grid_codes))
        ).all()
        special = query_frame(
            session,
            select(
                Household.household_id,
                Household.head_name,
                Household.address,
                Household.lon,
                Household.lat,
                HouseholdTag.tag,
            )
            .join(
                HouseholdTag,
                and_(
                    HouseholdTag.county_code == Household.county_code,
                    HouseholdTag.household_id == Household.household_id,
                ),
            )
            .where(
                Household.county_code == county,
                Household.grid_code.in_([g for g in grid_codes if scope.allows(g)]),
                HouseholdTag.tag.in_(SPECIAL_GROUP_TAGS),
            ),
        )
        week = visited_between(
            county, lambda column: column.in_(grid_codes), day - dt.timedelta(days=6), day + dt.timedelta(days=1)
        )
        seen = set(session.scalars(select(week.c.household_id)).all())
        fixes["ts"] = pd.to_datetime(fixes["ts"], utc=True)
        crs = metric_crs_for(float(fixes["lon"].mean()) if len(fixes) else float(worker.last_lon or 115.0))
        fx, fy = transform_xy(fixes["lon"], fixes["lat"], WGS84, crs)
        minx, maxx = (fx.min(), fx.max()) if len(fixes) else (0.0, 0.0)
        miny, maxy = (fy.min(), fy.max()) if len(fixes) else (0.0, 0.0)
        # Households near the track only: the bounding box, widened by the visit radius.
        lon_lo, lat_lo = transform_xy([minx - VISIT_RADIUS_M], [miny - VISIT_RADIUS_M], crs, WGS84)
        lon_hi, lat_hi = transform_xy([maxx + VISIT_RADIUS_M], [maxy + VISIT_RADIUS_M], crs, WGS84)
        nearby = query_frame(
            session,
            select(
                Household.household_id, Household.grid_code, Household.head_name, Household.lon, Household.lat
            ).where(
                Household.county_code == county,
                Household.lon.between(float(lon_lo[0]), float(lon_hi[0])),
                Household.lat.between(float(lat_lo[0]), float(lat_hi[0])),
            ),
        )
    fixes_xy = fixes.assign(worker_id=worker_id, x=fx, y=fy)
    hx, hy = transform_xy(nearby["lon"], nearby["lat"], WGS84, crs)
    grids = gpd.GeoDataFrame(
        {"code": [r.code for r in grid_rows]}, geometry=[r.geom for r in grid_rows], crs=WGS84
    ).to_crs(crs)
    results = compute_patrol_results(
        fixes_xy,
        nearby.assign(x=hx, y=hy),
        grids,
        pd.DataFrame({"worker_id": worker_id, "grid_code": list(grid_codes)}),
    )
    visits, days, stops = results.visits, results.days, results.stops
    clean = results.clean.sort_values("ts")
    slon, slat = transform_xy(stops["x"], stops["y"], crs, WGS84)
    # The track is judged against all the worker's grids, as the import judged it; the households
    # shown are only those inside the actor's scope.
    reached = nearby[nearby["household_id"].isin(visits["household_id"]) & nearby["grid_code"].map(scope.allows)]
    waiting = special[~special["household_id"].isin(seen)]
    waiting = (
        waiting.assign(first=waiting["tag"].map({t: i for i, t in enumerate(SPECIAL_GROUP_TAGS)}))
        .groupby(["household_id", "head_name", "address", "lon", "lat"], as_index=False)
        .agg(tags=("tag", lambda t: "、".join(sorted(t, key=SPECIAL_GROUP_TAGS.index))), first=("first", "min"))
        .sort_values(["first", "household_id"])
        .drop(columns="first")
    )
    waiting["head_name"] = shown_names(waiting["head_name"], clearance)
    summary = days.iloc[0] if len(days) else None
    gap = clean["ts"].diff() > MAX_GAP  # where build_segments starts a new line
    return WorkerDay(
        worker_id=worker_id,
        name=worker.name,
        day=day,
        grid_codes=tuple(g for g in grid_codes if scope.allows(g)),
        track=pd.DataFrame(
            {"lon": clean["lon"], "lat": clean["lat"], "ts": clean["ts"], "line": gap.cumsum()}
        ).reset_index(drop=True),
        stops=pd.DataFrame(
            {
                "lon": slon,
                "lat": slat,
                "start_ts": stops["start_ts"],
                "end_ts": stops["end_ts"],
                "minutes": stops["minutes"],
            }
        ),
        visited=reached.assign(label=shown_names(reached["head_name"], clearance) + " 户")[
            ["household_id", "lon", "lat", "label"]
        ],
        waiting=waiting.reset_index(drop=True),
        distance_m=float(summary["distance_m"]) if summary is not None else 0.0,
        patrol_s=int(summary["patrol_s"]) if summary is not None else 0,
        flags=tuple(FLAG_NAMES[f] for f in str(summary["flags"]).split("|") if f) if summary is not None else (),
        coverage_7d=_coverage(session_factory, scope, grid_codes, end),
    )


def _coverage(
    session_factory: SessionFactory, scope: Scope, grid_codes: tuple[str, ...], at: dt.datetime
) -> float | None:
    """7-day coverage of the worker's grids, counted as the `kpi` command counts it."""
    households, visited = count_coverage(session_factory, scope=scope, area_codes=grid_codes, at=at, days=7)
    return None if households == 0 else visited / households


def patrol_days_of(session_factory: SessionFactory, *, actor: Actor, worker_id: str) -> list[dt.date]:
    """The days the worker patrolled, newest first (for the day picker); none for a worker
    outside the actor's scope."""
    scope = actor.scope
    with session_factory() as session:
        return list(
            session.scalars(
                select(PatrolDay.day)
                .where(
                    PatrolDay.county_code == scope.county_code,
                    PatrolDay.worker_id == worker_id,
                    scope.holds_worker(PatrolDay.worker_id),
                )
                .order_by(PatrolDay.day.desc())
            )
        )


def compute_compliance(
    session_factory: SessionFactory, *, actor: Actor, area_code: str, month: dt.date, now: dt.datetime
) -> pd.DataFrame:
    """Per worker responsible for a grid of the area, for the local calendar month of `month`:
    worker_id, name, grids, logs, valid_reports, patrol_days, distance_km, coverage (DESIGN.md's
    coverage of their grids over the month: the share of their households visited, by anyone, as
    the assessment's 巡查覆盖 counts it), flagged_days, flags, below_target."""
    if month.day != 1:
        raise InvalidArgumentError("月份请给出当月 1 日")
    next_month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return compute_compliance_between(
        session_factory, actor=actor, area_code=area_code, first_day=month, end_day=next_month, now=now
    )


def compute_compliance_between(
    session_factory: SessionFactory,
    *,
    actor: Actor,
    area_code: str,
    first_day: dt.date,
    end_day: dt.date,
    now: dt.datetime,
    targets: tuple[float, float] = (LOG_TARGET, REPORT_TARGET),
    per_grid: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The compliance table over the local days [first_day, end_day) (a week's report, say), each
    worker below target when under either of `targets` (patrol logs, valid reports).  `per_grid`:
    the area's households and those visited over those days per grid (index: grid_code), when the
    caller has them."""
    scope = actor.scope
    require_area(session_factory, actor, area_code, now)
    county = scope.county_code
    start = dt.datetime.combine(first_day, dt.time(), LOCAL_TZ)
    end = dt.datetime.combine(end_day, dt.time(), LOCAL_TZ)
    with session_factory() as session:
        workers = query_frame(
            session,
            select(Worker.worker_id, Worker.name, WorkerGrid.grid_code)
            .join(
                WorkerGrid, and_(WorkerGrid.county_code == Worker.county_code, WorkerGrid.worker_id == Worker.worker_id)
            )
            .where(Worker.county_code == county, scope.within(WorkerGrid.grid_code, area_code)),
        )
        # County-wide and grouped in the database, narrowed to the area's workers by the table
        # below: an IN list of 1,500 ids cost PostgreSQL more than the groups it saved.
        logs = _count_by_worker(
            session,
            select(PatrolLog.worker_id, func.count())
            .where(PatrolLog.county_code == county, PatrolLog.logged_at >= start, PatrolLog.logged_at < end)
            .group_by(PatrolLog.worker_id),
        )
        reports = _count_by_worker(
            session,
            select(Incident.reporter, func.count())
            .where(
                Incident.county_code == county,
                Incident.channel == "patrol",
                Incident.reported_at >= start,
                Incident.reported_at < end,
                Incident.rejected_at.is_(None),
            )
            .group_by(Incident.reporter),
        )
        in_days = and_(PatrolDay.county_code == county, PatrolDay.day >= first_day, PatrolDay.day < end_day)
        days = query_frame(
            session,
            select(PatrolDay.worker_id, func.count().label("days"), func.sum(PatrolDay.distance_m).label("distance_m"))
            .where(in_days)
            .group_by(PatrolDay.worker_id),
        ).set_index("worker_id")
        flagged = query_frame(
            session, select(PatrolDay.worker_id, PatrolDay.flags).where(in_days, PatrolDay.flags != "")
        )
        if per_grid is None:
            grids = area_grids(scope, area_code)
            per_grid = pd.DataFrame(
                {
                    "households": households_per_grid(session, county, grids),
                    "visited": visited_per_grid(session, county, grids, first_day, end_day),
                }
            )
    per_grid = per_grid.reindex(workers["grid_code"]).fillna(0)
    per_worker = workers.assign(n=per_grid["households"].to_numpy(), visited=per_grid["visited"].to_numpy())
    table = per_worker.groupby(["worker_id", "name"], as_index=False)[["n", "visited"]].sum()
    table = table.rename(columns={"n": "households", "visited": "reached"})
    grid_lists = joined_per_worker(per_worker.sort_values(["worker_id", "grid_code"]), "grid_code", "、")
    flag_counts = (
        flagged.assign(flag=flagged["flags"].str.split("|"))
        .explode("flag")
        .groupby(["worker_id", "flag"])
        .size()
        .reset_index(name="n")
    )
    flag_text = joined_per_worker(
        flag_counts.assign(text=flag_counts["flag"].map(FLAG_NAMES) + "×" + flag_counts["n"].astype(str)), "text", "，"
    )
    table["logs"] = table["worker_id"].map(logs).fillna(0).astype(int)
    table["valid_reports"] = table["worker_id"].map(reports).fillna(0).astype(int)
    table["patrol_days"] = table["worker_id"].map(days["days"]).fillna(0).astype(int)
    table["distance_km"] = (table["worker_id"].map(days["distance_m"]).astype(float).fillna(0) / 1000).round(1)
    table["coverage"] = (table["reached"] / table["households"].where(table["households"] > 0)).round(3)
    table["flagged_days"] = table["worker_id"].map(flagged.groupby("worker_id").size()).fillna(0).astype(int)
    table["flags"] = [flag_text.get(w, "") for w in table["worker_id"]]
    table.insert(2, "grids", table["worker_id"].map(grid_lists))
    table["below_target"] = (table["logs"] < targets[0]) | (table["valid_reports"] < targets[1])
    return (
        table.drop(columns=["households", "reached"])
        .sort_values(["below_target", "logs"], ascending=[False, True])
        .reset_index(drop=True)
    )


def joined_per_worker(frame: pd.DataFrame, column: str, separator: str) -> pd.Series:
    """Each worker's texts of `column`, in the frame's order, joined by `separator` (index:
    worker_id).  Each text after a worker's first carries the separator, so a plain sum joins
    them: a join per group costs 2½ times as much at 1,500 workers."""
    texts = frame[column].astype(str)
    texts = texts.where(~frame["worker_id"].duplicated(), separator + texts)
    return texts.groupby(frame["worker_id"]).sum()


def _count_by_worker(session: Session, query: Select[str | None, int]) -> pd.Series:
    rows = session.execute(query).all()
    return pd.Series({r[0]: int(r[1]) for r in rows}, dtype=int)
