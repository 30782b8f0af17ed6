"""网格员月度考核 (issue 16): each worker's month scored by the county's rule table, from the
event log and the patrol records, every point with the cases, logs and days behind it; awards
(加分) by supervisors; 十佳网格员 per county and township.

A handful of reads for the whole area (never one per worker), then vectorised pandas.  What
counts, per worker and local calendar month (the running month up to `now`, its quotas pro-rated
to the elapsed share of the month):
- 巡查日志: their patrol logs written in the month;
- 有效上报: their patrol reports of the month not judged invalid; invalid: those judged invalid;
- 时效: cases assigned to them whose handling deadline (dispatch + limit) fell in the month and
  whose first handling came after it (or had not come by the cut-off); and their own reports whose
  24 h judging mark fell in the month and that were judged after it or not at all by the cut-off
  (our workflow has no 退回补正 step, so a report the validator could not judge in time stands for
  one they had to fix);
- 质量: reopenings in the month of cases assigned to them, and their cases closed in the month
  with a 不满意 evaluation;
- 巡查覆盖: the DESIGN.md coverage of their grids over the month (households visited by anyone);
- 应报未报: confirmed misses of the month in their grids (`services.patrol.misses`);
- 加分: the supervisors' awards of the month.
Suspicious patrol days are listed as flags and never change a score.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, or_, select, true

from services.access.actor import Actor
from services.access.audit import Who, add_entry, refuse_item, require_area, require_permission
from services.access.scope import Scope
from services.cases.frames import query_incidents, select_incidents
from services.domain import CODE_LENGTHS, LOCAL_TZ, VALIDATION_LIMIT_HOURS
from services.errors import InvalidArgumentError, MissingInputError, UnknownItemError
from services.patrol.assessment_rules import AssessmentRules, RuleVersion, current_month, rules_for_month
from services.patrol.coverage import area_grids, households_per_grid, visited_per_grid
from services.patrol.misses import WORKER_CHANNEL, confirmed_misses, month_bounds
from services.patrol.supervision import FLAG_NAMES, joined_per_worker
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import (
    Area,
    AssessmentAward,
    Incident,
    IncidentEvent,
    PatrolDay,
    PatrolLog,
    Worker,
    WorkerGrid,
)

FEW_WORKERS = 50  # up to this many, an area's month is read by worker id (see `_load`)

ITEMS = {
    "logs": "巡查日志",
    "reports": "有效上报",
    "timeliness": "时效",
    "quality": "质量",
    "coverage": "巡查覆盖",
    "misses": "应报未报",
    "awards": "加分",
    "flags": "可疑巡查",
}
SCORED_ITEMS = ("logs", "reports", "timeliness", "quality", "coverage")
# A case's deadline can fall in the month only if it was dispatched this long before the month.
LONGEST_LIMIT = dt.timedelta(days=62)
MAX_REASON = 500


@dataclasses.dataclass(frozen=True)
class Assessment:
    """The scores of one area's workers for one month."""

    area_code: str
    month: dt.date
    cutoff: dt.datetime  # the data cut-off: the month's end, or `now` while it runs
    running: bool
    elapsed_share: float  # of the month before the cut-off (1 for a complete month)
    rule_version: RuleVersion
    quotas: tuple[float, float]  # patrol logs, valid reports (pro-rated while the month runs)
    # One row per worker: worker_id, name, township_code, township_name, grids, the counts (logs,
    # valid_reports, invalid_reports, late_cases, deadline_cases, late_validations, reopened,
    # unsatisfied, households, visited, coverage, misses, awarded, flagged_days), the points of each
    # item (logs_points … awards_points, misses_points ≤ 0), total, grade, failed_items, flags,
    # quota_met, on_time_share, eligible, county_rank / township_rank (十佳; <NA> outside it).
    scores: pd.DataFrame
    # What earned or cost each point: worker_id, item, ref (case id, day, grid, award id), at (local
    # text), points (that row's own effect, before caps), detail.
    evidence: pd.DataFrame

    @property
    def rules(self) -> AssessmentRules:
        return self.rule_version.rules


def last_complete_month(now: dt.datetime) -> dt.date:
    return (current_month(now) - dt.timedelta(days=1)).replace(day=1)


def default_month(now: dt.datetime, *, first_days: int = 5) -> dt.date:
    """The month the 巡查考核 page opens on: the last complete month during the first days of a
    month (on the 1st every worker would show red against the new month's quotas), else the
    running one."""
    return last_complete_month(now) if now.astimezone(LOCAL_TZ).day <= first_days else current_month(now)


def compute_assessment(
    session_factory: SessionFactory,
    *,
    actor: Actor,
    area_code: str,
    month: dt.date,
    now: dt.datetime,
) -> Assessment:
    """The scores of the workers responsible for a grid of the area (the part in the actor's scope)
    for the local calendar month of `month` (its first day), read at `now`.  Raises OutOfScopeError
    (audited), InvalidArgumentError (not a month's first day, a month not yet begun, a naive `now`)."""
    if now.tzinfo is None:
        raise InvalidArgumentError("时间必须带时区")
    start, end = month_bounds(month)
    if now <= start:
        raise InvalidArgumentError(f"{month:%Y年%m月} 尚未开始")
    require_area(session_factory, actor, area_code, now)
    scope = actor.scope
    cutoff = min(now, end)
    share = (cutoff - start) / (end - start)
    version = rules_for_month(session_factory, county_code=actor.county_code, month=month)
    rules = version.rules
    inputs = _load(session_factory, scope, area_code, month, start, end, cutoff)
    quotas = (rules.log_quota * share, rules.report_quota * share)
    scores, evidence = _score(inputs, rules, quotas, start, end, cutoff)
    return Assessment(
        area_code=area_code,
        month=month,
        cutoff=cutoff,
        running=now < end,
        elapsed_share=share,
        rule_version=version,
        quotas=quotas,
        scores=scores,
        evidence=evidence,
    )


@dataclasses.dataclass(frozen=True)
class _Inputs:
    workers: pd.DataFrame  # worker_id, name, grid_code
    townships: dict[str, str]
    logs: pd.DataFrame  # worker_id, logged_at
    incidents: pd.DataFrame
    handles: pd.DataFrame  # incident_id, first_handled (UTC)
    reopens: pd.DataFrame  # incident_id, at
    households: pd.DataFrame  # grid_code, households, visited
    days: pd.DataFrame  # worker_id, day, flags
    awards: pd.DataFrame  # award_id, worker_id, points, reason, awarded_at, awarder_name
    misses: pd.DataFrame  # incident_id, grid_code


def _load(
    session_factory: SessionFactory,
    scope: Scope,
    area_code: str,
    month: dt.date,
    start: dt.datetime,
    end: dt.datetime,
    cutoff: dt.datetime,
) -> _Inputs:
    county = scope.county_code
    first_day, end_day = month, end.date()
    with session_factory() as session:
        workers = query_frame(
            session,
            select(Worker.worker_id, Worker.name, WorkerGrid.grid_code)
            .join(
                WorkerGrid, and_(WorkerGrid.county_code == Worker.county_code, WorkerGrid.worker_id == Worker.worker_id)
            )
            .where(Worker.county_code == county, scope.within(WorkerGrid.grid_code, area_code)),
        )
        townships = dict(
            session.execute(
                select(Area.code, Area.name).where(Area.county_code == county, Area.level == "township")
            ).all()
        )
        # A few workers (a worker's card, a village) are read by id; more (a township, the county)
        # county-wide by time and narrowed in pandas: an IN list of 1,500 ids costs more than the
        # rows it saves, while a worker's card would fetch the whole county's month.
        ids = workers["worker_id"].unique().tolist()
        few = len(ids) <= FEW_WORKERS
        logs = query_frame(
            session,
            select(PatrolLog.worker_id, PatrolLog.logged_at).where(
                PatrolLog.county_code == county,
                PatrolLog.worker_id.in_(ids) if few else true(),
                PatrolLog.logged_at >= start,
                PatrolLog.logged_at < cutoff,
            ),
        )
        late_mark = dt.timedelta(hours=VALIDATION_LIMIT_HOURS)
        incidents = query_incidents(
            session,
            select_incidents(
                [
                    "incident_id",
                    "grid_code",
                    "category",
                    "channel",
                    "reporter",
                    "assignee_worker_id",
                    "limit_hours",
                    "satisfaction",
                    "reported_at",
                    "validated_at",
                    "rejected_at",
                    "dispatched_at",
                    "closed_at",
                ]
            ).where(
                Incident.county_code == county,
                or_(Incident.reporter.in_(ids), Incident.assignee_worker_id.in_(ids)) if few else true(),
                or_(
                    and_(Incident.reported_at >= start - late_mark, Incident.reported_at < end),
                    and_(Incident.dispatched_at >= start - LONGEST_LIMIT, Incident.dispatched_at < end),
                    and_(Incident.closed_at >= start, Incident.closed_at < end),
                ),
            ),
        )
        events = query_frame(
            session,
            select(IncidentEvent.incident_id, IncidentEvent.action, IncidentEvent.at).where(
                IncidentEvent.county_code == county,
                IncidentEvent.incident_id.in_(incidents["incident_id"].tolist()) if few else true(),
                IncidentEvent.action.in_(("handle", "reopen")),
                IncidentEvent.at >= start - LONGEST_LIMIT,
                IncidentEvent.at < cutoff,
            ),
        )
        grids = area_grids(scope, area_code)
        households = households_per_grid(session, county, grids).rename("households").reset_index()
        visited = visited_per_grid(session, county, grids, first_day, end_day)
        days = query_frame(
            session,
            select(PatrolDay.worker_id, PatrolDay.day, PatrolDay.flags).where(
                PatrolDay.county_code == county,
                PatrolDay.day >= first_day,
                PatrolDay.day < end_day,
                PatrolDay.flags != "",
            ),
        )
        awards = query_frame(
            session,
            select(
                AssessmentAward.award_id,
                AssessmentAward.worker_id,
                AssessmentAward.points,
                AssessmentAward.reason,
                AssessmentAward.awarded_at,
                AssessmentAward.awarder_name,
            ).where(AssessmentAward.county_code == county, AssessmentAward.month == month),
        )
    events["at"] = pd.to_datetime(events["at"], utc=True)
    handles = (events[events["action"] == "handle"].groupby("incident_id", as_index=False)["at"].min()).rename(
        columns={"at": "first_handled"}
    )
    reopens = events[(events["action"] == "reopen") & (events["at"] >= start)][["incident_id", "at"]]
    logs["logged_at"] = pd.to_datetime(logs["logged_at"], utc=True)
    awards["awarded_at"] = pd.to_datetime(awards["awarded_at"], utc=True)
    mine = incidents["reporter"].isin(ids) | incidents["assignee_worker_id"].isin(ids)
    return _Inputs(
        workers=workers,
        townships=townships,
        logs=logs[logs["worker_id"].isin(ids)],
        incidents=incidents[mine],
        handles=handles,
        reopens=reopens,
        households=households.assign(visited=households["grid_code"].map(visited).fillna(0)),
        days=days[days["worker_id"].isin(ids)],
        awards=awards[awards["worker_id"].isin(ids)],
        misses=confirmed_misses(session_factory, scope=scope, area_code=area_code, month=month),
    )


def _local_text(times: pd.Series, pattern: str = "%Y-%m-%d %H:%M") -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.tz_convert(LOCAL_TZ).dt.strftime(pattern)


def _evidence(
    worker_ids: pd.Series, item: str, refs: pd.Series, at: pd.Series, points: float, detail: pd.Series
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "worker_id": worker_ids.to_numpy(),
            "item": item,
            "ref": refs.astype(str).to_numpy(),
            "at": at.to_numpy(),
            "points": float(points),
            "detail": detail.to_numpy(),
        }
    )


def _score(
    inputs: _Inputs,
    rules: AssessmentRules,
    quotas: tuple[float, float],
    start: dt.datetime,
    end: dt.datetime,
    cutoff: dt.datetime,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    workers = inputs.workers.sort_values(["worker_id", "grid_code"])
    table = workers.groupby(["worker_id", "name"], as_index=False)["grid_code"].min()
    table = table.rename(columns={"grid_code": "township_code"})
    table.insert(2, "grids", table["worker_id"].map(joined_per_worker(workers, "grid_code", "、")))
    table["township_code"] = table["township_code"].str[:9]
    table["township_name"] = table["township_code"].map(inputs.townships).fillna("")
    index = table["worker_id"]
    evidence: list[pd.DataFrame] = []

    def count(series: pd.Series) -> pd.Series:
        return index.map(series.value_counts()).fillna(0).astype(int)

    # 巡查日志
    logs = inputs.logs.assign(day=_local_text(inputs.logs["logged_at"], "%Y-%m-%d"))
    table["logs"] = count(logs["worker_id"]).to_numpy()
    per_day = logs.groupby(["worker_id", "day"], as_index=False).size()
    evidence.append(
        _evidence(
            per_day["worker_id"], "logs", per_day["day"], per_day["day"], 0.0, per_day["size"].astype(str) + " 篇"
        )
    )
    log_quota, report_quota = quotas
    table["logs_points"] = rules.log_points * np.minimum(table["logs"], log_quota) / log_quota if log_quota else 0.0

    # 有效上报
    rows = inputs.incidents
    own = rows[(rows["channel"] == WORKER_CHANNEL) & rows["reporter"].isin(index)]
    own_month = own[(own["reported_at"] >= start) & (own["reported_at"] < cutoff)]
    valid = own_month[own_month["rejected_at"].isna()]
    invalid = own_month[own_month["rejected_at"].notna()]
    table["valid_reports"] = count(valid["reporter"]).to_numpy()
    table["invalid_reports"] = count(invalid["reporter"]).to_numpy()
    evidence.append(
        _evidence(
            valid["reporter"],
            "reports",
            valid["incident_id"],
            _local_text(valid["reported_at"]),
            0.0,
            valid["category"] + "（有效）",
        )
    )
    evidence.append(
        _evidence(
            invalid["reporter"],
            "reports",
            invalid["incident_id"],
            _local_text(invalid["reported_at"]),
            -rules.invalid_penalty,
            invalid["category"] + "（判为无效）",
        )
    )
    base = (
        rules.report_points * np.minimum(table["valid_reports"], report_quota) / report_quota if report_quota else 0.0
    )
    extra = np.minimum(
        (table["valid_reports"] - rules.report_quota).clip(lower=0) * rules.extra_report_point, rules.extra_report_cap
    )
    penalty = np.minimum(table["invalid_reports"] * rules.invalid_penalty, rules.invalid_cap)
    table["reports_points"] = (base + extra - penalty).clip(lower=0)

    # 时效: handling past the deadline, judging past the 24 h mark
    assigned = rows[rows["assignee_worker_id"].isin(index) & rows["dispatched_at"].notna()]
    deadline = assigned["dispatched_at"] + pd.to_timedelta(assigned["limit_hours"], unit="h")
    first = pd.Series(
        pd.to_datetime(
            assigned[["incident_id"]].merge(inputs.handles, on="incident_id", how="left")["first_handled"], utc=True
        ).to_numpy(),
        index=assigned.index,
    )
    due = (deadline >= start) & (deadline < end) & (deadline < cutoff)
    late = due & ((first > deadline) | (first.isna()))
    due_cases, late_cases = assigned[due], assigned[late]
    table["deadline_cases"] = count(due_cases["assignee_worker_id"]).to_numpy()
    table["late_cases"] = count(late_cases["assignee_worker_id"]).to_numpy()
    handled_text = _local_text(first[late]).fillna("截至统计时未处置")
    evidence.append(
        _evidence(
            late_cases["assignee_worker_id"],
            "timeliness",
            late_cases["incident_id"],
            _local_text(deadline[late]),
            -rules.late_case_penalty,
            "处置期限 " + _local_text(deadline[late]) + "，处置于 " + handled_text,
        )
    )
    mark = own["reported_at"] + pd.Timedelta(hours=VALIDATION_LIMIT_HOURS)
    judged = own["validated_at"].fillna(own["rejected_at"])
    waited = (mark >= start) & (mark < end) & (mark < cutoff) & ((judged > mark) | judged.isna())
    slow = own[waited]
    table["late_validations"] = count(slow["reporter"]).to_numpy()
    evidence.append(
        _evidence(
            slow["reporter"],
            "timeliness",
            slow["incident_id"],
            _local_text(slow["reported_at"]),
            -rules.late_validation_penalty,
            "上报超 24 小时未判定，判定于 " + _local_text(judged[waited]).fillna("截至统计时未判定"),
        )
    )
    table["timeliness_points"] = (
        rules.timeliness_points
        - table["late_cases"] * rules.late_case_penalty
        - table["late_validations"] * rules.late_validation_penalty
    ).clip(lower=0)
    table["on_time_share"] = 1 - table["late_cases"] / table["deadline_cases"].where(table["deadline_cases"] > 0)

    # 质量: reopenings, 不满意
    reopened = inputs.reopens.merge(rows[["incident_id", "assignee_worker_id"]], on="incident_id")
    reopened = reopened[reopened["assignee_worker_id"].isin(index) & (reopened["at"] < cutoff)]
    table["reopened"] = count(reopened["assignee_worker_id"]).to_numpy()
    evidence.append(
        _evidence(
            reopened["assignee_worker_id"],
            "quality",
            reopened["incident_id"],
            _local_text(reopened["at"]),
            -rules.reopen_penalty,
            pd.Series("核查后重新处置", index=reopened.index),
        )
    )
    closed = rows[rows["assignee_worker_id"].isin(index) & (rows["closed_at"] >= start) & (rows["closed_at"] < cutoff)]
    unhappy = closed[closed["satisfaction"] == "不满意"]
    table["unsatisfied"] = count(unhappy["assignee_worker_id"]).to_numpy()
    evidence.append(
        _evidence(
            unhappy["assignee_worker_id"],
            "quality",
            unhappy["incident_id"],
            _local_text(unhappy["closed_at"]),
            -rules.unsatisfied_penalty,
            pd.Series("评价：不满意", index=unhappy.index),
        )
    )
    table["quality_points"] = (
        rules.quality_points
        - table["reopened"] * rules.reopen_penalty
        - table["unsatisfied"] * rules.unsatisfied_penalty
    ).clip(lower=0)

    # 巡查覆盖
    grids = workers.merge(inputs.households, on="grid_code", how="left").fillna({"households": 0, "visited": 0})
    per_worker = grids.groupby("worker_id")[["households", "visited"]].sum()
    table["households"] = index.map(per_worker["households"]).fillna(0).astype(int).to_numpy()
    table["visited"] = index.map(per_worker["visited"]).fillna(0).astype(int).to_numpy()
    table["coverage"] = table["visited"] / table["households"].where(table["households"] > 0)
    # Grids without households leave nothing to visit: the item is not lost for them.
    table["coverage_points"] = rules.coverage_points * table["coverage"].fillna(1.0)
    evidence.append(
        _evidence(
            grids["worker_id"],
            "coverage",
            grids["grid_code"],
            pd.Series("", index=grids.index),
            0.0,
            grids["visited"].astype(int).astype(str) + " / " + grids["households"].astype(int).astype(str) + " 户",
        )
    )

    # 应报未报
    missed = workers.merge(inputs.misses, on="grid_code")
    table["misses"] = count(missed["worker_id"]).to_numpy()
    evidence.append(
        _evidence(
            missed["worker_id"],
            "misses",
            missed["incident_id"],
            pd.Series("", index=missed.index),
            -rules.miss_penalty,
            "网格 " + missed["grid_code"] + " 应报未报（已确认）",
        )
    )
    table["misses_points"] = -table["misses"] * rules.miss_penalty

    # 加分
    awards = inputs.awards
    table["awarded"] = index.map(awards.groupby("worker_id")["points"].sum()).fillna(0.0).to_numpy()
    table["awards_points"] = table["awarded"].clip(upper=rules.award_cap)
    evidence.append(
        _evidence(
            awards["worker_id"],
            "awards",
            awards["award_id"],
            _local_text(awards["awarded_at"]),
            0.0,
            awards["awarder_name"] + "：" + awards["reason"],
        ).assign(points=awards["points"].astype(float).to_numpy())
    )

    # Suspicious days: shown, not scored.
    days = inputs.days
    day_flags = days["flags"].str.split("|").map(lambda f: "，".join(FLAG_NAMES[k] for k in f if k))
    table["flagged_days"] = count(days["worker_id"]).to_numpy()
    flag_text = days.assign(text=day_flags).groupby("worker_id")["text"].agg(lambda t: "；".join(sorted(set(t))))
    table["flags"] = index.map(flag_text).astype(object).fillna("").to_numpy()
    evidence.append(
        _evidence(days["worker_id"], "flags", days["day"].astype(str), days["day"].astype(str), 0.0, day_flags)
    )

    for item in (*SCORED_ITEMS, "misses", "awards"):
        table[f"{item}_points"] = table[f"{item}_points"].astype(float).round(2)
    total = sum(table[f"{item}_points"] for item in (*SCORED_ITEMS, "misses", "awards"))
    table["total"] = total.clip(lower=0).round(1)
    table["grade"] = rules.grade_of(table["total"], table["misses"])
    floor = rules.basic_from / 100
    failed = pd.DataFrame(
        {item: table[f"{item}_points"] < floor * limit for item, limit in rules.item_max.items()}, index=table.index
    )
    failed_names = pd.Series("", index=table.index, dtype=object)
    for item in failed.columns:  # item by item, not row by row
        separator = np.where(failed_names == "", "", "、")
        failed_names = failed_names.where(~failed[item], failed_names + separator + ITEMS[item])
    table["failed_items"] = failed_names
    table["quota_met"] = (table["logs"] >= log_quota) & (table["valid_reports"] >= report_quota)
    table["eligible"] = table["quota_met"] & (table["misses"] == 0) & (table["failed_items"] == "")
    table["county_rank"] = _top_ranks(table, rules.top_count, None)
    table["township_rank"] = _top_ranks(table, rules.top_count, "township_code")
    table = table.sort_values(["total", "valid_reports", "worker_id"], ascending=[False, False, True]).reset_index(
        drop=True
    )
    found = (
        pd.concat([e for e in evidence if len(e)], ignore_index=True)
        if any(len(e) for e in evidence)
        else _evidence(
            pd.Series(dtype=object),
            "logs",
            pd.Series(dtype=object),
            pd.Series(dtype=object),
            0.0,
            pd.Series(dtype=object),
        )
    )
    return table, found.sort_values(["worker_id", "item", "at", "ref"], kind="stable").reset_index(drop=True)


def _top_ranks(table: pd.DataFrame, count: int, group: str | None) -> pd.Series:
    """十佳: the eligible workers ranked by total, then valid reports, then on-time share (none
    due counts as fully on time); workers tied on all three share a rank, so a tie at the last
    place names everyone in it."""
    eligible = table[table["eligible"]].assign(on_time=lambda t: t["on_time_share"].fillna(1.0))
    keys = ["total", "valid_reports", "on_time"]
    if eligible.empty:
        return pd.Series(pd.NA, index=table.index, dtype="Int64")
    groups = eligible.groupby(group) if group else [(None, eligible)]
    ranks = []
    for _, part in groups:
        ordered = part.sort_values(keys, ascending=False)
        starts_tie = (ordered[keys] != ordered[keys].shift()).any(axis=1)
        position = pd.Series(np.arange(1, len(ordered) + 1), index=ordered.index)
        rank = position.where(starts_tie).ffill().astype(int)
        ranks.append(rank[rank <= count])
    found = pd.concat(ranks) if ranks else pd.Series(dtype=int)
    return found.reindex(table.index).astype("Int64")


def top_workers(assessment: Assessment, township_code: str | None = None) -> pd.DataFrame:
    """十佳网格员 of the county (or of one township), best first."""
    column = "township_rank" if township_code else "county_rank"
    scores = assessment.scores
    chosen = scores[scores[column].notna()]
    if township_code:
        chosen = chosen[chosen["township_code"] == township_code]
    return chosen.sort_values([column, "worker_id"]).reset_index(drop=True)


def award_points(
    session_factory: SessionFactory,
    *,
    actor: Actor,
    worker_id: str,
    month: dt.date,
    points: float,
    reason: str,
    now: dt.datetime,
) -> float:
    """Awards a worker points for a month (加分) with a reason, on the audit record; the worker's
    awards of the month stay within the rules' cap.  Returns the month's awards so far.  Raises
    PermissionDeniedError (audited), UnknownItemError (a worker outside the actor's grids; audited),
    MissingInputError, InvalidArgumentError (bad points, a month closed or not begun, over the cap)."""
    require_permission(session_factory, actor, "award_points", now, f"网格员 {worker_id}")
    text = (reason or "").strip()
    if not text:
        raise MissingInputError("请填写加分理由")
    if len(text) > MAX_REASON:
        raise InvalidArgumentError(f"加分理由过长（最多 {MAX_REASON} 个字）")
    if not np.isfinite(points) or points <= 0:
        raise InvalidArgumentError("加分须为正数")
    start, _ = month_bounds(month)
    if now <= start:
        raise InvalidArgumentError(f"{month:%Y年%m月} 尚未开始")
    if month < last_complete_month(now):
        raise InvalidArgumentError(f"{month:%Y年%m月} 的考核已结束，不能再加分")
    rules = rules_for_month(session_factory, county_code=actor.county_code, month=month).rules
    county = actor.county_code
    with session_factory() as session:
        grids = session.scalars(
            select(WorkerGrid.grid_code).where(WorkerGrid.county_code == county, WorkerGrid.worker_id == worker_id)
        ).all()
    if not grids:
        raise UnknownItemError("网格员", worker_id)
    if not any(actor.scope.allows(g) for g in grids):
        raise refuse_item(session_factory, actor, now, "网格员", worker_id)
    with session_factory.begin() as session:
        # The worker's row as a lock: two supervisors awarding at once on PostgreSQL take turns,
        # so the cap holds (SQLite runs write transactions one at a time anyway).
        session.execute(
            select(Worker.worker_id)
            .where(Worker.county_code == county, Worker.worker_id == worker_id)
            .with_for_update()
        )
        so_far = float(
            session.scalar(
                select(func.coalesce(func.sum(AssessmentAward.points), 0.0)).where(
                    AssessmentAward.county_code == county,
                    AssessmentAward.worker_id == worker_id,
                    AssessmentAward.month == month,
                )
            )
            or 0.0
        )
        if so_far + points > rules.award_cap + 1e-9:
            raise InvalidArgumentError(
                f"加分超出上限：本月已加 {so_far:g} 分，上限 {rules.award_cap:g} 分，最多还可加 {max(rules.award_cap - so_far, 0):g} 分"
            )
        session.add(
            AssessmentAward(
                county_code=county,
                award_id=uuid.uuid4().hex,
                worker_id=worker_id,
                month=month,
                points=float(points),
                reason=text,
                awarded_at=now,
                awarded_by=actor.username[:32],
                awarder_name=actor.display_name[:32],
            )
        )
        add_entry(
            session,
            Who.of(actor),
            "assessment_award",
            now,
            f"网格员 {worker_id}",
            f"{month:%Y年%m月} +{points:g} 分：{text}",
        )
    return so_far + points


def worker_month(
    session_factory: SessionFactory, *, actor: Actor, worker_id: str, month: dt.date, now: dt.datetime
) -> pd.Series | None:
    """One worker's row of the month's scores (for the worker card), None when they hold no grid
    in the actor's scope.  Scored within the smallest area holding their grids in the actor's
    scope: their points do not depend on the area, only the 十佳 places do, which the card omits."""
    with session_factory() as session:
        grids = session.scalars(
            select(WorkerGrid.grid_code).where(
                WorkerGrid.county_code == actor.county_code, WorkerGrid.worker_id == worker_id
            )
        ).all()
    allowed = sorted(g for g in grids if actor.scope.allows(g))
    if not allowed:
        return None
    # The smallest area holding all their grids (their grid, else village …): a few workers' reads.
    area = next(
        allowed[0][:n]
        for n in sorted(CODE_LENGTHS.values(), reverse=True)
        if all(g[:n] == allowed[0][:n] for g in allowed)
    )
    scores = compute_assessment(session_factory, actor=actor, area_code=area, month=month, now=now).scores
    row = scores[scores["worker_id"] == worker_id]
    return None if row.empty else row.iloc[0]


# Column labels of the scores and their evidence, as the page and the XLSX show them.
SCORE_LABELS = {
    "worker_id": "工号",
    "name": "网格员",
    "township_name": "乡镇(街道)",
    "grids": "负责网格",
    "total": "总分",
    "grade": "等级",
    "county_rank": "县十佳名次",
    "township_rank": "乡镇十佳名次",
    "logs_points": "巡查日志分",
    "reports_points": "有效上报分",
    "timeliness_points": "时效分",
    "quality_points": "质量分",
    "coverage_points": "巡查覆盖分",
    "misses_points": "应报未报扣分",
    "awards_points": "加分",
    "logs": "巡查日志（篇）",
    "valid_reports": "有效上报（件）",
    "invalid_reports": "无效上报（件）",
    "late_cases": "超时办结（件）",
    "late_validations": "超时未判定（件）",
    "reopened": "重新处置（次）",
    "unsatisfied": "不满意（件）",
    "coverage": "网格走访覆盖",
    "misses": "应报未报（件）",
    "failed_items": "不合格项",
    "flags": "可疑巡查（不计分）",
}
EVIDENCE_LABELS = {"item_name": "考核项", "ref": "事件 / 日期 / 网格", "at": "时间", "points": "分值", "detail": "说明"}


def score_sheet(scores: pd.DataFrame) -> pd.DataFrame:
    """The scores in their Chinese labels, in reading order (for the page and the export)."""
    return scores[list(SCORE_LABELS)].rename(columns=SCORE_LABELS)


def evidence_of(assessment: Assessment, worker_id: str) -> pd.DataFrame:
    """What earned or cost one worker's points, by item, in the Chinese labels."""
    rows = assessment.evidence[assessment.evidence["worker_id"] == worker_id]
    rows = rows.assign(item_name=rows["item"].map(ITEMS))
    return rows[list(EVIDENCE_LABELS)].rename(columns=EVIDENCE_LABELS).reset_index(drop=True)
