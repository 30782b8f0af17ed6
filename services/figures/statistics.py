"""The statistics read model (统计分析, 月报 · 周报): every figure of one area over one period, with
the previous period (环比) and the same period a year earlier (同比), and the breakdowns behind
them, from a few reads (incident rows of the three periods, reopen events, names, households and
visits per grid, the compliance table, suspicious days) counted with vectorised pandas.

The incident figures are `services.figures.area_figures.incident_flags` summed, overall or per
category, channel, severity, child area or department, so a complete period's figures equal
`compute_area_figures(at=period.end, days=period.days)` for every key the two share; the new
figures are defined once in `services.figures.definitions`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.access.actor import Actor
from services.access.audit import require_area
from services.access.scope import Scope, code_within
from services.cases import rules
from services.cases.frames import query_incidents, select_incidents
from services.domain import (
    AREA_LEVELS,
    CODE_LENGTHS,
    INCIDENT_TIMES,
    LEVEL_NAMES,
    LEVELS,
    LOCAL_TZ,
    SATISFACTION,
    VALIDATION_LIMIT_HOURS,
)
from services.errors import InvalidArgumentError, UnknownAreaError
from services.figures.area_figures import figures_from_counts, incident_flags
from services.figures.definitions import SATISFIED, STAGES, TIMED_STAGES, UNSATISFIED
from services.figures.periods import Period
from services.figures.ranking import LEVEL_AIM, rank_areas
from services.patrol.coverage import area_grids, check_period, households_per_grid, visited_per_grid
from services.patrol.supervision import FLAG_NAMES, LOG_TARGET, REPORT_TARGET, compute_compliance_between
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, Department, Incident, IncidentEvent, PatrolDay, Worker

ROW_COLUMNS = (
    "incident_id",
    "grid_code",
    "category",
    "subcategory",
    "severity",
    "channel",
    "satisfaction",
    "assignee_department_id",
    *INCIDENT_TIMES,
    "limit_hours",
    "close_reason",
    "level",
)
OLDEST_SHOWN = 10
QUOTA_DAYS = 30  # a week's or a range's quota is the monthly one × days ÷ 30

Figures = dict[str, float | int | None]


@dataclasses.dataclass(frozen=True)
class AreaStatistics:
    """What `compute_statistics` returns: plain values and DataFrames (NaN where a rate has no
    denominator), no personal data of residents."""

    area_code: str
    area_name: str
    area_level: str
    period: Period
    at: dt.datetime  # T: the period's end, or the cut-off while the period runs
    cutoff: dt.datetime  # when the figures were read (`now`)
    figures: Figures  # keys of services.figures.definitions.FIGURE_DEFINITIONS
    previous: Figures  # the incident figures of period.previous(); empty when no data reaches it
    year_ago: Figures  # … of period.year_ago()
    previous_period: Period
    year_ago_period: Period
    quotas: tuple[float, float]  # patrol logs, valid reports a worker needs over the period
    by_category: pd.DataFrame  # one row per category (CATEGORIES order), the breakdown columns
    by_subcategory: pd.DataFrame  # category, subcategory, the breakdown columns
    by_channel: pd.DataFrame
    by_severity: pd.DataFrame
    by_level: pd.DataFrame  # level, closed (fixed, in P), share, aim, gap
    by_child_area: pd.DataFrame  # code, name, rank (<NA>: too few closures), breakdown columns, households, coverage
    by_department: pd.DataFrame  # department_id, name, breakdown columns (吹哨报到 cases)
    backlog: pd.DataFrame  # unit, unit_kind, open, overdue, at_risk, validation_overdue at T
    oldest_open: pd.DataFrame  # incident_id, category, grid_name, state, reported_at (local), age_days, overdue
    speed: pd.DataFrame  # stage, name, count, median_h, p90_h, on_time_share (NaN: no limit)
    satisfaction: pd.DataFrame  # rating, count, share
    unsatisfied_cases: pd.DataFrame  # incident_id, category, grid_name, closed_at (local), level
    reopened_cases: pd.DataFrame  # incident_id, category, grid_name, times (reopenings in P)
    workers: pd.DataFrame  # the compliance table over the period (services.patrol.supervision)
    suspicious_days: pd.DataFrame  # day, worker_id, name, flags (Chinese)
    trend: pd.DataFrame  # day (local), reports, closed


def compute_statistics(
    session_factory: SessionFactory, *, actor: Actor, area_code: str, period: Period, now: dt.datetime
) -> AreaStatistics:
    """The statistics of `area_code` (the part of it in the actor's scope) over `period`, read at `now`.

    Raises OutOfScopeError (audited) when no part of the area is in the scope, UnknownAreaError when
    it does not exist, InvalidArgumentError for a naive `now` or a period that has not begun.
    """
    check_period(now, 1)
    if now <= period.start:
        raise InvalidArgumentError(f"统计期间 {period.name} 尚未开始")
    require_area(session_factory, actor, area_code, now)
    scope = actor.scope
    at = min(period.end, now)
    previous, year_ago = period.previous(), period.year_ago()
    with session_factory() as session:
        area = session.get(Area, (scope.county_code, area_code))
        if area is None:
            raise UnknownAreaError(area_code)
        area_name, area_level = area.name, area.level
        first_reported = session.scalar(
            select(func.min(Incident.reported_at)).where(
                Incident.county_code == scope.county_code, scope.within(Incident.grid_code, area_code)
            )
        )
        has_data = {
            key: first_reported is not None and _utc(first_reported) < other.end
            for key, other in (("previous", previous), ("year_ago", year_ago))
        }
        # The period and the one before it in one read: they adjoin, and most open cases are in both.
        loaded = _load_rows(
            session, scope, area_code, previous.start if has_data["previous"] else period.start, period.end
        )
        rows = _rows_of(loaded, period)
        earlier = {"previous": _rows_of(loaded, previous)} if has_data["previous"] else {}
        if has_data["year_ago"]:
            earlier["year_ago"] = _load_rows(session, scope, area_code, year_ago.start, year_ago.end)
        reopen_events = query_frame(
            session,
            select(IncidentEvent.incident_id, IncidentEvent.at)
            .join(
                Incident,
                and_(
                    Incident.county_code == IncidentEvent.county_code, Incident.incident_id == IncidentEvent.incident_id
                ),
            )
            .where(
                IncidentEvent.county_code == scope.county_code,
                IncidentEvent.action == "reopen",
                IncidentEvent.at > year_ago.start,
                IncidentEvent.at <= period.end,
                scope.within(Incident.grid_code, area_code),
            ),
        )
        child_level = _child_level(area_level)
        names = _area_names(session, scope, area_code, child_level)
        departments = dict(
            session.execute(
                select(Department.department_id, Department.name).where(Department.county_code == scope.county_code)
            ).all()
        )
        per_grid = _households_and_visits(session, scope, area_code, period)
    reopen_events["at"] = pd.to_datetime(reopen_events["at"], utc=True)

    counts = _flags(rows, period, at, reopen_events)
    figures = _incident_figures(counts)
    figures.update(_speed_figures(rows, counts))
    households, visited = int(per_grid["households"].sum()), int(per_grid["visited"].sum())
    figures.update(households=households, visited=visited, coverage=_share(visited, households))

    quotas = _quotas(period)
    workers = compute_compliance_between(
        session_factory,
        actor=actor,
        area_code=area_code,
        first_day=period.first_day,
        end_day=period.last_day + dt.timedelta(days=1),
        now=now,
        targets=quotas,
        per_grid=per_grid,
    )
    suspicious = _suspicious_days(session_factory, scope, workers, period)
    figures.update(
        workers=len(workers),
        patrol_logs=int(workers["logs"].sum()),
        patrol_reports=int(workers["valid_reports"].sum()),
        workers_below_quota=int(workers["below_target"].sum()),
        suspicious_days=int(workers["flagged_days"].sum()),
    )

    comparisons: dict[str, Figures] = {}
    for key, other in (("previous", previous), ("year_ago", year_ago)):
        if key in earlier:
            other_counts = _flags(earlier[key], other, min(other.end, now), reopen_events)
            comparisons[key] = {**_incident_figures(other_counts), **_speed_figures(earlier[key], other_counts)}
        else:
            comparisons[key] = {}

    child_of = rows["grid_code"].str[: CODE_LENGTHS[child_level]] if child_level else None
    return AreaStatistics(
        area_code=area_code,
        area_name=area_name,
        area_level=area_level,
        period=period,
        at=at,
        cutoff=now,
        figures=figures,
        previous=comparisons["previous"],
        year_ago=comparisons["year_ago"],
        previous_period=previous,
        year_ago_period=year_ago,
        quotas=quotas,
        by_category=_breakdown(counts, rows["category"]),
        by_subcategory=_breakdown(counts, [rows["category"], rows["subcategory"].fillna("（未分小类）")]),
        by_channel=_breakdown(counts, rows["channel"]),
        by_severity=_breakdown(counts, rows["severity"]),
        by_level=_by_level(counts),
        by_child_area=_by_child_area(counts, child_of, names, per_grid, child_level),
        by_department=_by_department(counts, rows["assignee_department_id"], departments),
        backlog=_backlog(rows, counts, child_of, names, departments),
        oldest_open=_oldest_open(rows, counts, at, names),
        speed=_speed_table(figures),
        satisfaction=_satisfaction(rows, counts),
        unsatisfied_cases=_case_list(rows[counts["unsatisfied"]], names, "closed_at"),
        reopened_cases=_reopened(rows, reopen_events, period, names),
        workers=workers,
        suspicious_days=suspicious,
        trend=_trend(rows, period, at),
    )


# Reading


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value  # SQLite returns naive UTC


def _load_rows(session: Session, scope: Scope, area_code: str, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """The incident rows any figure of a period [start, end) can count: reported by its end, and
    neither rejected nor closed before it began."""
    query = select_incidents(ROW_COLUMNS).where(
        Incident.county_code == scope.county_code,
        scope.within(Incident.grid_code, area_code),
        Incident.reported_at <= end,
        or_(Incident.rejected_at.is_(None), Incident.rejected_at > start),
        or_(Incident.closed_at.is_(None), Incident.closed_at > start),
    )
    rows = query_incidents(session, query)
    for column in ("incident_id", "grid_code", "category", "subcategory", "severity", "channel", "level"):
        rows[column] = rows[column].astype(object)
    return rows.reset_index(drop=True)


def _rows_of(rows: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The rows of a wider `_load_rows` that `period`'s own read would have given."""
    kept = (
        (rows["reported_at"] <= period.end)
        & (rows["rejected_at"].isna() | (rows["rejected_at"] > period.start))
        & (rows["closed_at"].isna() | (rows["closed_at"] > period.start))
    )
    return rows[kept].reset_index(drop=True)


def _child_level(level: str) -> str | None:
    index = AREA_LEVELS.index(level)
    return AREA_LEVELS[index + 1] if index + 1 < len(AREA_LEVELS) else None


def _area_names(session: Session, scope: Scope, area_code: str, child_level: str | None) -> dict[str, str]:
    """Names of the area's children and grids inside the scope (for tables), code → name."""
    levels = {"grid", child_level} - {None}
    rows = session.execute(
        select(Area.code, Area.name).where(
            Area.county_code == scope.county_code,
            Area.level.in_(levels),
            code_within(Area.code, area_code),
        )
    ).all()
    return {code: name for code, name in rows if scope.reaches(code)}


def _households_and_visits(session: Session, scope: Scope, area_code: str, period: Period) -> pd.DataFrame:
    """Per grid (index) of the area inside the scope: households, and those visited in P (the
    same queries `kpi` counts with, grouped by grid: a period is whole local days)."""
    grids = area_grids(scope, area_code)
    households = households_per_grid(session, scope.county_code, grids)
    visited = visited_per_grid(
        session, scope.county_code, grids, period.first_day, period.last_day + dt.timedelta(days=1)
    )
    return pd.DataFrame({"households": households, "visited": visited}).fillna(0).astype(int)


def _suspicious_days(
    session_factory: SessionFactory, scope: Scope, workers: pd.DataFrame, period: Period
) -> pd.DataFrame:
    with session_factory() as session:
        days = query_frame(  # the county's few flagged days, narrowed to the table's workers here
            session,
            select(PatrolDay.day, PatrolDay.worker_id, Worker.name, PatrolDay.flags)
            .join(Worker, and_(Worker.county_code == PatrolDay.county_code, Worker.worker_id == PatrolDay.worker_id))
            .where(
                PatrolDay.county_code == scope.county_code,
                PatrolDay.day >= period.first_day,
                PatrolDay.day <= period.last_day,
                PatrolDay.flags != "",
            )
            .order_by(PatrolDay.day, PatrolDay.worker_id),
        )
    days = days[days["worker_id"].isin(workers["worker_id"])]
    if days.empty:
        return pd.DataFrame(columns=["day", "worker_id", "name", "flags"])
    days["flags"] = days["flags"].map(lambda text: "，".join(FLAG_NAMES[f] for f in str(text).split("|") if f))
    return days.reset_index(drop=True)


# Counting


def _flags(rows: pd.DataFrame, period: Period, at: dt.datetime, reopen_events: pd.DataFrame) -> pd.DataFrame:
    """`incident_flags` at T = period end over its days, the states at `at` (the cut-off of a
    running period), and one column per further counted thing."""
    end, days = period.end, period.days
    flags = incident_flags(rows, end, days)
    if at < end:
        for column, rule in (
            ("open", rules.is_open),
            ("overdue", rules.is_overdue),
            ("at_risk", rules.is_at_risk),
            ("validation_overdue", rules.is_validation_overdue),
        ):
            flags[column] = rule(rows, at)
    reported_in_p = rules.in_period(rows["reported_at"], end, days)
    closed_in_p = rules.in_period(rows["closed_at"], end, days)
    rated = closed_in_p & rows["satisfaction"].notna()
    reopened = reopen_events[rules.in_period(reopen_events["at"], end, days)]["incident_id"]
    decided = _decided_at(rows)
    validate_done = rules.in_period(decided, end, days)
    handle_done = rules.in_period(rows["handled_at"], end, days)
    extra = pd.DataFrame(
        {
            "reports": reported_in_p,
            "valid": reported_in_p & (rows["validated_at"] <= end),
            "rejected": reported_in_p & (rows["rejected_at"] <= end),
            "closed_other": flags["closed"] & ~flags["closed_fixed"],
            "rated": rated,
            "satisfied": rated & rows["satisfaction"].isin(SATISFIED),
            "unsatisfied": rated & (rows["satisfaction"] == UNSATISFIED),
            "reopened": rows["incident_id"].isin(set(reopened)),
            "validate_done": validate_done,
            "validate_on_time": validate_done
            & (decided - rows["reported_at"] <= pd.Timedelta(hours=VALIDATION_LIMIT_HOURS)),
            "dispatch_done": rules.in_period(rows["dispatched_at"], end, days) & rows["validated_at"].notna(),
            "handle_done": handle_done,
            "handle_on_time": handle_done & (rows["handled_at"] <= rules.deadline(rows)),
            "close_done": closed_in_p & rows["handled_at"].notna(),
            "total_done": flags["closed_in_period_fixed"],
        },
        index=rows.index,
    )
    return pd.concat([flags, extra], axis=1).astype(bool)


def _decided_at(rows: pd.DataFrame) -> pd.Series:
    """When a report was judged: validated or rejected, whichever came first."""
    return rows[["validated_at", "rejected_at"]].min(axis=1)


def _share(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def _incident_figures(counts: pd.DataFrame) -> Figures:
    """The headline incident figures from the flags of a period (DESIGN.md ones by
    `figures_from_counts`, exactly as `kpi`)."""
    total = counts.sum()
    design = figures_from_counts(total)
    figures: Figures = {
        "reports": int(total["reports"]),
        "valid": int(total["valid"]),
        "rejected": int(total["rejected"]),
        "reported": design.reported,
        "closed": design.closed,
        "closed_fixed": design.closed_fixed,
        "closed_other": int(total["closed_other"]),
        "open": design.open,
        "closure_rate": design.closure_rate,
        "fixed_closure_rate": design.fixed_closure_rate,
        "closed_in_period_fixed": design.closed_in_period_fixed,
        "on_time_rate": design.on_time_rate,
        **{f"level_share.{level}": design.level_share[level] for level in LEVELS},
        "overdue": design.overdue,
        "at_risk": design.at_risk,
        "validation_overdue": design.validation_overdue,
        "rated": int(total["rated"]),
        "satisfaction_rate": _share(int(total["satisfied"]), int(total["rated"])),
        "unsatisfied": int(total["unsatisfied"]),
        "reopened": int(total["reopened"]),
    }
    return figures


def _stage_hours(rows: pd.DataFrame, stage: str) -> pd.Series:
    key, _, start, end = next(s for s in STAGES if s[0] == stage)
    finish = _decided_at(rows) if end == "decided_at" else rows[end]
    return (finish - rows[start]).dt.total_seconds() / 3600


def _speed_figures(rows: pd.DataFrame, counts: pd.DataFrame) -> Figures:
    figures: Figures = {}
    for stage, *_ in STAGES:
        done = counts[f"{stage}_done"]
        hours = _stage_hours(rows, stage)[done]
        figures[f"{stage}_count"] = int(done.sum())
        figures[f"{stage}_hours_median"] = _number(hours.quantile(0.5)) if len(hours) else None
        figures[f"{stage}_hours_p90"] = _number(hours.quantile(0.9)) if len(hours) else None
        if stage in TIMED_STAGES:
            figures[f"{stage}_on_time_share"] = _share(int(counts[f"{stage}_on_time"].sum()), int(done.sum()))
    return figures


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _rate(part: pd.Series, whole: pd.Series) -> pd.Series:
    return (part / whole.where(whole > 0)).astype(float)


BREAKDOWN_COLUMNS = (
    "reports",
    "valid",
    "rejected",
    "reported",
    "closed",
    "closed_fixed",
    "closure_rate",
    "closed_in_period_fixed",
    "on_time_rate",
    "open",
    "overdue",
    "share_of_reports",
)


def _rates(grouped: pd.DataFrame, reports_total: int) -> pd.DataFrame:
    """The breakdown columns from summed flags (one row per group); rates NaN without a denominator."""
    out = grouped[["reports", "valid", "rejected", "reported", "closed", "closed_fixed"]].astype(int)
    out["closure_rate"] = _rate(grouped["closed"], grouped["reported"])
    out["closed_in_period_fixed"] = grouped["closed_in_period_fixed"].astype(int)
    out["on_time_rate"] = _rate(grouped["on_time"], grouped["closed_in_period_fixed"])
    out["open"] = grouped["open"].astype(int)
    out["overdue"] = grouped["overdue"].astype(int)
    out["share_of_reports"] = grouped["reports"] / reports_total if reports_total else np.nan
    return out[list(BREAKDOWN_COLUMNS)]


def _breakdown(counts: pd.DataFrame, keys: pd.Series | list[pd.Series]) -> pd.DataFrame:
    """The breakdown columns per value of `keys` (one Series, or several for nested levels)."""
    grouped = counts.astype(int).groupby(keys, dropna=False).sum()
    grouped = grouped[grouped[["reports", "reported", "closed_in_period_fixed", "open"]].any(axis=1)]
    table = _rates(grouped, int(counts["reports"].sum()))
    return table.sort_values("reports", ascending=False, kind="stable").reset_index()


def _by_level(counts: pd.DataFrame) -> pd.DataFrame:
    closed = counts["closed_in_period_fixed"].sum()
    rows = []
    for level in LEVELS:
        n = int(counts[f"level_{level}"].sum())
        share = n / closed if closed else np.nan
        rows.append(
            {"level": level, "closed": n, "share": share, "aim": LEVEL_AIM[level], "gap": share - LEVEL_AIM[level]}
        )
    return pd.DataFrame(rows)


def _by_child_area(
    counts: pd.DataFrame,
    child_of: pd.Series | None,
    names: dict[str, str],
    per_grid: pd.DataFrame,
    child_level: str | None,
) -> pd.DataFrame:
    columns = ["code", "name", "rank", *BREAKDOWN_COLUMNS, "households", "visited", "coverage"]
    if child_of is None or child_level is None:
        return pd.DataFrame(columns=columns)
    length = CODE_LENGTHS[child_level]
    children = sorted(code for code in names if len(code) == length)
    grouped = counts.astype(int).groupby(child_of).sum().reindex(children, fill_value=0)
    table = _rates(grouped, int(counts["reports"].sum()))
    patrol = per_grid.groupby(per_grid.index.astype(str).str[:length]).sum().reindex(children, fill_value=0)
    table["households"] = patrol["households"].astype(int)
    table["visited"] = patrol["visited"].astype(int)
    table["coverage"] = _rate(patrol["visited"], patrol["households"])
    table["rank"] = rank_areas(table).to_numpy()
    table.index.name = "code"
    table = table.reset_index()
    table["name"] = table["code"].map(names)
    table = table.sort_values(["rank", "code"], na_position="last", kind="stable").reset_index(drop=True)
    return table[columns]


def _by_department(counts: pd.DataFrame, department: pd.Series, names: dict[str, str]) -> pd.DataFrame:
    routed = department.notna()
    if not routed.any():
        return pd.DataFrame(columns=["department_id", "name", *BREAKDOWN_COLUMNS])
    table = _breakdown(counts[routed], department[routed].rename("department_id"))
    table.insert(1, "name", table["department_id"].map(lambda d: names.get(d, d)))
    return table


def _unit_of(
    rows: pd.DataFrame, child_of: pd.Series | None, names: dict[str, str], departments: dict[str, str]
) -> tuple[pd.Series, pd.Series]:
    """Each case's responsible unit: its department when called in (吹哨报到), else its child area
    (a township of the county, a village of a township …), else its grid."""
    area = (child_of if child_of is not None else rows["grid_code"]).map(lambda code: names.get(code, code))
    department = rows["assignee_department_id"].map(lambda d: departments.get(d, d), na_action="ignore")
    routed = rows["assignee_department_id"].notna()
    return area.where(~routed, department), pd.Series(np.where(routed, "部门", "区域"), index=rows.index)


def _backlog(
    rows: pd.DataFrame,
    counts: pd.DataFrame,
    child_of: pd.Series | None,
    names: dict[str, str],
    departments: dict[str, str],
) -> pd.DataFrame:
    columns = ["unit", "unit_kind", "open", "overdue", "at_risk", "validation_overdue"]
    open_now = counts["open"]
    if not open_now.any():
        return pd.DataFrame(columns=columns)
    unit, kind = _unit_of(rows, child_of, names, departments)
    table = (
        counts.loc[open_now, ["open", "overdue", "at_risk", "validation_overdue"]]
        .astype(int)
        .groupby([unit[open_now].rename("unit"), kind[open_now].rename("unit_kind")])
        .sum()
        .reset_index()
    )
    return table.sort_values(["overdue", "validation_overdue", "open"], ascending=False, kind="stable").reset_index(
        drop=True
    )[columns]


_STATE_AT = (  # the stage a case has reached by T, from its times (the stored state is today's)
    ("handled_at", "待核查"),
    ("accepted_at", "处置中"),
    ("dispatched_at", "已派遣"),
    ("validated_at", "待派遣"),
)


def _state_at(rows: pd.DataFrame, at: dt.datetime) -> pd.Series:
    state = pd.Series("待核实", index=rows.index, dtype=object)
    for column, name in reversed(_STATE_AT):
        state = state.mask(rows[column] <= at, name)
    return state


def _oldest_open(rows: pd.DataFrame, counts: pd.DataFrame, at: dt.datetime, names: dict[str, str]) -> pd.DataFrame:
    oldest = rows[counts["open"]].sort_values(["reported_at", "incident_id"]).head(OLDEST_SHOWN)
    return pd.DataFrame(
        {
            "incident_id": oldest["incident_id"],
            "category": oldest["category"],
            "grid_name": oldest["grid_code"].map(lambda code: names.get(code, code)),
            "state": _state_at(oldest, at),
            "reported_at": oldest["reported_at"].dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m-%d %H:%M"),
            "age_days": ((pd.Timestamp(at) - oldest["reported_at"]).dt.total_seconds() / 86400).round(1),
            "overdue": counts.loc[oldest.index, "overdue"],
        }
    ).reset_index(drop=True)


def _speed_table(figures: Figures) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "stage": stage,
                "name": name,
                "count": figures[f"{stage}_count"],
                "median_h": figures[f"{stage}_hours_median"],
                "p90_h": figures[f"{stage}_hours_p90"],
                "on_time_share": figures.get(f"{stage}_on_time_share"),
            }
            for stage, name, *_ in STAGES
        ]
    ).astype({"median_h": float, "p90_h": float, "on_time_share": float})


def _satisfaction(rows: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    rated = rows.loc[counts["rated"], "satisfaction"]
    table = pd.DataFrame({"rating": list(SATISFACTION)})
    table["count"] = table["rating"].map(rated.value_counts()).fillna(0).astype(int)
    table["share"] = table["count"] / len(rated) if len(rated) else np.nan
    return table


def _case_list(cases: pd.DataFrame, names: dict[str, str], time_column: str) -> pd.DataFrame:
    cases = cases.sort_values([time_column, "incident_id"])
    return pd.DataFrame(
        {
            "incident_id": cases["incident_id"],
            "category": cases["category"],
            "grid_name": cases["grid_code"].map(lambda code: names.get(code, code)),
            time_column: cases[time_column].dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m-%d %H:%M"),
            "level": cases["level"].map(LEVEL_NAMES),
        }
    ).reset_index(drop=True)


def _reopened(rows: pd.DataFrame, events: pd.DataFrame, period: Period, names: dict[str, str]) -> pd.DataFrame:
    in_p = events[rules.in_period(events["at"], period.end, period.days)]
    times = in_p.groupby("incident_id").size()
    cases = rows[rows["incident_id"].isin(times.index)].sort_values("incident_id")
    return pd.DataFrame(
        {
            "incident_id": cases["incident_id"],
            "category": cases["category"],
            "grid_name": cases["grid_code"].map(lambda code: names.get(code, code)),
            "times": cases["incident_id"].map(times).astype(int),
        }
    ).reset_index(drop=True)


def _trend(rows: pd.DataFrame, period: Period, at: dt.datetime) -> pd.DataFrame:
    days = pd.date_range(period.first_day, period.last_day, freq="D").date
    start = pd.Timestamp(period.start)
    # The same (start, end] as every figure, as local days.
    reported = rows.loc[(rows["reported_at"] > start) & (rows["reported_at"] <= at), "reported_at"]
    closed = rows.loc[(rows["closed_at"] > start) & (rows["closed_at"] <= at), "closed_at"]
    return pd.DataFrame(
        {
            "day": days,
            "reports": reported.dt.tz_convert(LOCAL_TZ).dt.date.value_counts().reindex(days, fill_value=0).to_numpy(),
            "closed": closed.dt.tz_convert(LOCAL_TZ).dt.date.value_counts().reindex(days, fill_value=0).to_numpy(),
        }
    )


def _quotas(period: Period) -> tuple[float, float]:
    """(patrol logs, valid reports) a worker needs in the period: 20 / 6 a calendar month, else
    pro rata of a 30-day month, rounded up."""
    if period.kind == "monthly":
        return float(LOG_TARGET), float(REPORT_TARGET)
    return (
        float(math.ceil(LOG_TARGET * period.days / QUOTA_DAYS)),
        float(math.ceil(REPORT_TARGET * period.days / QUOTA_DAYS)),
    )
