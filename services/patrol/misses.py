"""问题回溯 (应报未报, issue 16; 平乡: each month problems that surfaced through other channels are
traced back to the grid whose workers should have reported them).

A candidate is a case of the month reported through a non-worker channel, of a category on the
county's 应报清单, in a grid with workers, that no worker of that grid reported (any patrol
report of theirs of the same category, judged valid or not) within `miss_radius_m` metres from
`miss_before_h` hours before to `miss_after_h` hours after it.  A supervisor of the grid's
township confirms or dismisses each with a reason (audited); only confirmed misses cost points.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select

from geo.crs import WGS84, metric_crs_for, transform_xy
from services.access.actor import Actor
from services.access.audit import Who, add_entry, refuse_item, require_area, require_permission
from services.access.scope import Scope
from services.cases.frames import query_incidents, select_incidents
from services.domain import LOCAL_TZ
from services.errors import InvalidArgumentError, MissingInputError, StoreConflictError, UnknownItemError
from services.patrol.assessment_rules import AssessmentRules, rules_for_month
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Incident, MissDecision, WorkerGrid

WORKER_CHANNEL = "patrol"
DECISIONS = {"confirmed": "已确认应报未报", "dismissed": "已排除"}
PENDING = "待认定"
MAX_REASON = 500


class MissAlreadyDecidedError(InvalidArgumentError):
    """Someone else decided the candidate first."""


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local calendar month of `month` (its first day) as [start, end)."""
    if month.day != 1:
        raise InvalidArgumentError("月份请给出当月 1 日")
    start = dt.datetime.combine(month, dt.time(), LOCAL_TZ)
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, dt.datetime.combine(following, dt.time(), LOCAL_TZ)


def match_misses(
    cases: pd.DataFrame, reports: pd.DataFrame, grid_workers: pd.DataFrame, rules: AssessmentRules
) -> pd.DataFrame:
    """The cases of `cases` that are 问题回溯 candidates under `rules`.  Pure and vectorised.

    `cases`: incident_id, grid_code, category, channel, lon, lat, reported_at (UTC);
    `reports`: the workers' patrol reports: reporter, category, lon, lat, reported_at;
    `grid_workers`: grid_code, worker_id.  Returns the candidate rows of `cases`, with `workers`
    (the grid's worker ids, '、'-joined)."""
    listed = cases[(cases["channel"] != WORKER_CHANNEL) & cases["category"].isin(rules.miss_categories)]
    staffed = listed[listed["grid_code"].isin(grid_workers["grid_code"])]
    if staffed.empty:
        return staffed.assign(workers=pd.Series(dtype=object))
    pairs = staffed[["incident_id", "grid_code", "category", "lon", "lat", "reported_at"]].merge(
        grid_workers[["grid_code", "worker_id"]], on="grid_code"
    )
    near = pairs.merge(
        reports[["reporter", "category", "lon", "lat", "reported_at"]].rename(
            columns={"reporter": "worker_id", "lon": "r_lon", "lat": "r_lat", "reported_at": "r_at"}
        ),
        on=["worker_id", "category"],
    )
    lag = near["r_at"] - near["reported_at"]
    in_window = (lag >= -pd.Timedelta(hours=rules.miss_before_h)) & (lag <= pd.Timedelta(hours=rules.miss_after_h))
    near = near[in_window]
    if len(near):
        crs = metric_crs_for(float(near["lon"].mean()))
        cx, cy = transform_xy(near["lon"], near["lat"], WGS84, crs)
        rx, ry = transform_xy(near["r_lon"], near["r_lat"], WGS84, crs)
        near = near[np.hypot(np.asarray(cx) - np.asarray(rx), np.asarray(cy) - np.asarray(ry)) <= rules.miss_radius_m]
    reported = set(near["incident_id"])
    found = staffed[~staffed["incident_id"].isin(reported)]
    workers = grid_workers.groupby("grid_code")["worker_id"].agg(lambda ids: "、".join(sorted(ids)))
    return found.assign(workers=found["grid_code"].map(workers)).reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class _Inputs:
    cases: pd.DataFrame
    reports: pd.DataFrame
    grid_workers: pd.DataFrame


def _load_inputs(
    session_factory: SessionFactory,
    scope: Scope,
    area_code: str,
    start: dt.datetime,
    end: dt.datetime,
    rules: AssessmentRules,
    incident_id: str | None = None,
) -> _Inputs:
    county = scope.county_code
    case_filter = [
        Incident.county_code == county,
        scope.within(Incident.grid_code, area_code),
        Incident.reported_at >= start,
        Incident.reported_at < end,
        Incident.channel != WORKER_CHANNEL,
        Incident.category.in_(rules.miss_categories),
        Incident.rejected_at.is_(None),
    ]
    if incident_id is not None:
        case_filter.append(Incident.incident_id == incident_id)
    with session_factory() as session:
        cases = query_incidents(
            session,
            select_incidents(
                ["incident_id", "grid_code", "category", "channel", "lon", "lat", "reported_at", "description"]
            ).where(*case_filter),
        )
        grid_workers = query_frame(
            session,
            select(WorkerGrid.grid_code, WorkerGrid.worker_id).where(
                WorkerGrid.county_code == county,
                WorkerGrid.grid_code.in_(cases["grid_code"].unique().tolist())
                if incident_id is not None
                else scope.within(WorkerGrid.grid_code, area_code),
            ),
        )
        reports = query_incidents(
            session,
            select_incidents(["reporter", "category", "lon", "lat", "reported_at"]).where(
                Incident.county_code == county,
                Incident.channel == WORKER_CHANNEL,
                Incident.category.in_(rules.miss_categories),
                Incident.reported_at >= start - dt.timedelta(hours=rules.miss_before_h),
                Incident.reported_at <= end + dt.timedelta(hours=rules.miss_after_h),
            ),
        )
    reports = reports[reports["reporter"].isin(grid_workers["worker_id"])]
    return _Inputs(cases, reports, grid_workers)


def _decisions(session_factory: SessionFactory, county: str, incident_ids: list[str]) -> pd.DataFrame:
    with session_factory() as session:
        return query_frame(
            session,
            select(
                MissDecision.incident_id,
                MissDecision.grid_code,
                MissDecision.decision,
                MissDecision.reason,
                MissDecision.decided_at,
                MissDecision.decider_name,
            ).where(MissDecision.county_code == county, MissDecision.incident_id.in_(incident_ids)),
        )


def confirmed_misses(session_factory: SessionFactory, *, scope: Scope, area_code: str, month: dt.date) -> pd.DataFrame:
    """The confirmed misses of `month` in the area: incident_id, grid_code."""
    with session_factory() as session:
        return query_frame(
            session,
            select(MissDecision.incident_id, MissDecision.grid_code).where(
                MissDecision.county_code == scope.county_code,
                MissDecision.month == month,
                MissDecision.decision == "confirmed",
                scope.within(MissDecision.grid_code, area_code),
            ),
        )


def find_miss_candidates(
    session_factory: SessionFactory, *, actor: Actor, area_code: str, month: dt.date, now: dt.datetime
) -> pd.DataFrame:
    """The 问题回溯 candidates of `month` (its first day) in the part of the area in the actor's
    scope, oldest first: incident_id, grid_code, category, channel, reported_at (UTC),
    description, workers, status (待认定 / 已确认应报未报 / 已排除), reason, decided_at, decider_name.
    Raises OutOfScopeError (audited)."""
    require_area(session_factory, actor, area_code, now)
    start, end = month_bounds(month)
    rules = rules_for_month(session_factory, county_code=actor.county_code, month=month).rules
    inputs = _load_inputs(session_factory, actor.scope, area_code, start, min(end, now), rules)
    found = match_misses(inputs.cases, inputs.reports, inputs.grid_workers, rules)
    decided = _decisions(session_factory, actor.county_code, found["incident_id"].tolist())
    decided = decided.drop(columns="grid_code").astype(object)
    table = found.merge(decided, on="incident_id", how="left")
    return (
        table.assign(
            status=table["decision"].map(DECISIONS).fillna(PENDING).astype(str),
            reason=table["reason"].astype(object).fillna(""),
            decided_at=pd.to_datetime(table["decided_at"], utc=True),
            decider_name=table["decider_name"].astype(object).fillna(""),
        )
        .drop(columns="decision")
        .sort_values(["reported_at", "incident_id"])
        .reset_index(drop=True)
    )


def decide_miss(
    session_factory: SessionFactory,
    *,
    actor: Actor,
    incident_id: str,
    decision: str,
    reason: str,
    now: dt.datetime,
) -> str:
    """Confirms (`confirmed`) or dismisses (`dismissed`) one 问题回溯 candidate, with a reason, on
    the audit record.  Only a supervisor of the grid's township (someone holding part of it) may;
    the first decision stands.  Returns the decision.  Raises PermissionDeniedError, UnknownItemError
    (not a candidate, or outside the actor's township; audited), MissingInputError (no reason),
    MissAlreadyDecidedError (decided already, by someone else first)."""
    if decision not in DECISIONS:
        raise InvalidArgumentError(f"未知的认定结果：{decision}")
    require_permission(session_factory, actor, "decide_misses", now, f"问题回溯 {incident_id}")
    text = (reason or "").strip()
    if not text:
        raise MissingInputError("请填写认定理由")
    if len(text) > MAX_REASON:
        raise InvalidArgumentError(f"认定理由过长（最多 {MAX_REASON} 个字）")
    county = actor.county_code
    with session_factory() as session:
        case = session.execute(
            select(Incident.grid_code, Incident.reported_at).where(
                Incident.county_code == county, Incident.incident_id == incident_id
            )
        ).one_or_none()
    if case is None:
        raise UnknownItemError("问题回溯线索", incident_id)
    township = case.grid_code[:9]
    if not actor.scope.reaches(township):
        raise refuse_item(session_factory, actor, now, "问题回溯线索", incident_id)
    month = case.reported_at.astimezone(LOCAL_TZ).date().replace(day=1)
    start, end = month_bounds(month)
    rules = rules_for_month(session_factory, county_code=county, month=month).rules
    inputs = _load_inputs(session_factory, Scope(county, (township,)), township, start, end, rules, incident_id)
    if match_misses(inputs.cases, inputs.reports, inputs.grid_workers, rules).empty:
        raise UnknownItemError("问题回溯线索", incident_id)
    try:
        with session_factory.begin() as session:
            earlier = session.get(MissDecision, (county, incident_id))
            if earlier is not None:
                raise MissAlreadyDecidedError(
                    f"问题回溯线索 {incident_id} 已由{earlier.decider_name}认定为「{DECISIONS[earlier.decision]}」"
                )
            session.add(
                MissDecision(
                    county_code=county,
                    incident_id=incident_id,
                    grid_code=case.grid_code,
                    month=month,
                    decision=decision,
                    reason=text,
                    decided_at=now,
                    decided_by=actor.username[:32],
                    decider_name=actor.display_name[:32],
                )
            )
            action = "miss_confirm" if decision == "confirmed" else "miss_dismiss"
            add_entry(session, Who.of(actor), action, now, f"问题回溯 {incident_id}", f"网格 {case.grid_code}：{text}")
    except StoreConflictError:
        # PostgreSQL: a simultaneous decision took the key between our read and our insert.
        raise MissAlreadyDecidedError(f"问题回溯线索 {incident_id} 已由他人同时认定，请刷新后查看") from None
    return decision
