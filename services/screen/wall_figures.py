"""Figures of the command-centre big screen (指挥大屏), from a few reads per refresh: the incident
rows of the last 30 days (and every open case), township names, the best workers (of last month's
published 考核, else by this month's patrol reports) and the workers' last fixes.  Every rate comes from `services.figures.area_figures.incident_flags`, the counting
behind `kpi` and the map's panels."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.access.actor import Actor
from services.access.scope import Scope
from services.cases import rules
from services.cases.frames import query_incidents, select_incidents
from services.domain import CATEGORIES, INCIDENT_TIMES, LOCAL_TZ, OPEN_STATES, STATE_NAMES
from services.figures.area_figures import IncidentFigures, figures_from_counts, incident_flags
from services.figures.ranking import rank_areas
from services.mapping.map_data import describe_open_incidents
from services.patrol.assessment_rules import current_month
from services.patrol.publication import published_ranking
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, Incident, Worker

WINDOW_DAYS = 30
ON_PATROL_WITHIN = dt.timedelta(minutes=10)
RANKED_WORKERS = 5
STAGES = {
    "待核实": ("reported",),
    "待派遣": ("registered",),
    "处置中": ("dispatched", "in_progress"),
    "待核查": ("handled",),
}


@dataclasses.dataclass(frozen=True)
class ScreenFigures:
    at: dt.datetime
    reported_today: int
    closed_today: int
    overdue: int
    validation_overdue: int
    closure_rate: float | None  # over WINDOW_DAYS
    on_time_rate: float | None
    satisfaction_rate: float | None  # 满意 + 基本满意 among rated closures in the window
    on_patrol: int  # workers with a fix in the last 10 minutes
    stages: dict[str, int]
    alarms: (
        pd.DataFrame
    )  # overdue and urgent open cases, newest first: incident_id, category, grid_code, state, alarm, reported_at
    oldest: pd.DataFrame  # the oldest open cases
    township_ranking: pd.DataFrame  # name, closed, closure_rate, on_time_rate (ranked ones only)
    # The best workers: of the last month's published 考核 (name, total, grade) once it is
    # published, else by valid patrol reports this month (name, reports); the top 5.
    worker_ranking: pd.DataFrame
    worker_ranking_month: dt.date | None  # the published month ranked, None: this month's reports
    trend: pd.DataFrame  # day, reported, closed
    categories: pd.Series  # category → reported in the window
    level_share: dict[str, float | None]
    newest_ids: tuple[str, ...]  # reported in the last refresh interval: briefly highlighted
    open_points: pd.DataFrame  # the open cases as map points (see map_data.describe_open_incidents)


def load_screen(
    session_factory: SessionFactory, *, actor: Actor, at: dt.datetime, fresh: dt.timedelta
) -> ScreenFigures:
    """The screen's figures at `at`; incidents reported within `fresh` before it are `newest_ids`.
    Raises StoreUnavailableError when the database cannot be reached (the store translates it)."""
    return _load_screen(session_factory, actor.scope, at, fresh)


def _load_screen(session_factory: SessionFactory, scope: Scope, at: dt.datetime, fresh: dt.timedelta) -> ScreenFigures:
    start = at - dt.timedelta(days=WINDOW_DAYS)
    columns = (
        "incident_id",
        "grid_code",
        "category",
        "severity",
        "state",
        "satisfaction",
        "lon",
        "lat",
        *(t for t in INCIDENT_TIMES if t != "accepted_at"),
        "limit_hours",
        "close_reason",
        "level",
    )
    with session_factory() as session:
        rows = query_incidents(
            session,
            select_incidents(columns).where(
                Incident.county_code == scope.county_code,
                scope.filter(Incident.grid_code),
                Incident.reported_at <= at,
                or_(Incident.reported_at > start, Incident.state.in_(OPEN_STATES), Incident.closed_at > start),
            ),
        )
        townships = dict(
            session.execute(
                select(Area.code, Area.name).where(
                    Area.county_code == scope.county_code, Area.level == "township", scope.filter(Area.code)
                )
            ).all()
        )
        published = published_ranking(session, scope, at, RANKED_WORKERS)
        ranked_month, best_workers = published if published else (None, _best_reporters(session, scope, at))
        on_patrol = session.scalar(
            select(func.count()).where(
                Worker.county_code == scope.county_code,
                scope.holds_worker(Worker.worker_id),
                Worker.last_fix_at > at - ON_PATROL_WITHIN,
            )
        )
    flags = incident_flags(rows, at, WINDOW_DAYS)
    figures = figures_from_counts(flags.sum())
    today = pd.Timestamp(dt.datetime.combine(at.astimezone(LOCAL_TZ).date(), dt.time(), LOCAL_TZ))
    open_now = rows[flags["open"]]
    overdue = flags.loc[flags["open"], "overdue"]
    alarm = pd.Series("", index=open_now.index).mask(open_now["severity"] == "urgent", "紧急").mask(overdue, "超期")
    # Named before the rows are picked: pandas gives an empty frame the index of a column assigned
    # to it, which would bring back the left-out cases as rows of NaN.
    alarms = open_now.assign(alarm=alarm)[alarm != ""].sort_values("reported_at", ascending=False)
    rated = rules.in_period(rows["closed_at"], at, WINDOW_DAYS) & rows["satisfaction"].notna()
    satisfied = rows.loc[rated, "satisfaction"].isin(["满意", "基本满意"]).sum()
    return ScreenFigures(
        at=at,
        reported_today=int(((rows["reported_at"] >= today) & (rows["reported_at"] <= at)).sum()),
        closed_today=int(((rows["closed_at"] >= today) & (rows["closed_at"] <= at)).sum()),
        overdue=figures.overdue,
        validation_overdue=figures.validation_overdue,
        closure_rate=figures.closure_rate,
        on_time_rate=figures.on_time_rate,
        satisfaction_rate=None if not rated.any() else float(satisfied / rated.sum()),
        on_patrol=int(on_patrol or 0),
        stages={name: int(open_now["state"].isin(states).sum()) for name, states in STAGES.items()},
        alarms=_case_list(alarms.head(12)),
        oldest=_case_list(open_now.sort_values("reported_at").head(6).assign(alarm="")),
        worker_ranking=best_workers,
        worker_ranking_month=ranked_month,
        township_ranking=_rank_townships(flags.groupby(rows["grid_code"].str[:9]).sum(), townships),
        trend=_trend(rows, at),
        categories=rows.loc[rules.in_period(rows["reported_at"], at, WINDOW_DAYS), "category"]
        .value_counts()
        .reindex(list(CATEGORIES), fill_value=0),
        level_share=figures.level_share,
        newest_ids=tuple(rows.loc[rows["reported_at"] > at - fresh, "incident_id"]),
        open_points=describe_open_incidents(open_now, at),
    )


def _best_reporters(session: Session, scope: Scope, at: dt.datetime) -> pd.DataFrame:
    """The workers with the most valid patrol reports this month (name, reports)."""
    month_start = dt.datetime.combine(current_month(at), dt.time(), LOCAL_TZ)
    return query_frame(
        session,
        select(Worker.name, func.count().label("reports"))
        .join(Incident, (Incident.county_code == Worker.county_code) & (Incident.reporter == Worker.worker_id))
        .where(
            Worker.county_code == scope.county_code,
            scope.filter(Incident.grid_code),
            Incident.channel == "patrol",
            Incident.reported_at >= month_start,
            Incident.reported_at <= at,
            Incident.rejected_at.is_(None),
        )
        .group_by(Worker.worker_id, Worker.name)
        .order_by(func.count().desc(), Worker.name)
        .limit(RANKED_WORKERS),
    )


def _case_list(cases: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "incident_id": cases["incident_id"],
            "category": cases["category"],
            "grid_code": cases["grid_code"],
            "state": cases["state"].map(STATE_NAMES),
            "alarm": cases["alarm"],
            "reported_at": cases["reported_at"].dt.tz_convert(LOCAL_TZ).dt.strftime("%m-%d %H:%M"),
        }
    ).reset_index(drop=True)


def _rank_townships(counts: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Townships ranked by `services.figures.ranking.rank_areas` (the unranked ones left out)."""
    rows = []
    for code, row in counts.iterrows():
        figures: IncidentFigures = figures_from_counts(row)
        rows.append(
            {
                "name": names.get(code, code),
                "closed": figures.closed,
                "closure_rate": figures.closure_rate,
                "on_time_rate": figures.on_time_rate,
            }
        )
    table = pd.DataFrame(rows, columns=["name", "closed", "closure_rate", "on_time_rate"])
    rank = rank_areas(table)
    return table.assign(rank=rank)[rank.notna()].sort_values("rank").drop(columns="rank").reset_index(drop=True)


def _trend(rows: pd.DataFrame, at: dt.datetime) -> pd.DataFrame:
    days = pd.date_range(end=at.astimezone(LOCAL_TZ).date(), periods=WINDOW_DAYS, freq="D").date
    reported = rows["reported_at"].dt.tz_convert(LOCAL_TZ).dt.date.value_counts()
    closed = rows["closed_at"].dropna().dt.tz_convert(LOCAL_TZ).dt.date.value_counts()
    return pd.DataFrame(
        {
            "day": days,
            "reported": reported.reindex(days, fill_value=0).to_numpy(),
            "closed": closed.reindex(days, fill_value=0).to_numpy(),
        }
    )
