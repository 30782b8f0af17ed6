"""The DESIGN.md figures of one area at a moment T over a period P = (T − days, T].

`compute_area_figures` is the one place these numbers come from: `services.cli kpi`, the map's
panels and the big screen all call it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.access.actor import Actor
from services.access.audit import require_area
from services.access.scope import Scope
from services.cases import rules
from services.cases.frames import query_incidents, select_incidents
from services.domain import INCIDENT_TIMES, LEVELS
from services.errors import UnknownAreaError
from services.patrol.coverage import (
    check_period,
    count_households,
    count_visited,
    county_households_per_grid,
    visited_rows,
)
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, Incident

# The live map, the wall screen and their warm-up at start show the last 7 days (DESIGN.md, Figures).
LIVE_DAYS = 7
INCIDENT_COLUMNS = ("grid_code", *INCIDENT_TIMES, "limit_hours", "close_reason", "level")
GRID_FIGURE_COLUMNS = (
    "households",
    "special_households",
    "open",
    "overdue",
    "at_risk",
    "validation_overdue",
    "visited",
    "coverage",
)


@dataclasses.dataclass(frozen=True)
class AreaFigures:
    area_code: str
    area_name: str
    area_level: str
    at: dt.datetime
    days: int
    households: int
    open: int
    overdue: int
    at_risk: int
    validation_overdue: int
    reported: int  # reported in P and not rejected by T: the closure-rate denominator
    closed: int  # of those, closed by T (any close reason)
    closed_fixed: int  # of those, closed by T as fixed
    closure_rate: float | None
    fixed_closure_rate: float | None
    closed_in_period_fixed: int  # closed as fixed in P: the on-time and level-share denominator
    on_time_rate: float | None
    level_share: dict[str, float | None]
    visited: int
    coverage: float | None

    def as_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["at"] = self.at.isoformat()
        return data


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclasses.dataclass(frozen=True)
class IncidentFigures:
    """The incident part of the DESIGN.md figures (AreaFigures adds households and coverage)."""

    open: int
    overdue: int
    at_risk: int
    validation_overdue: int
    reported: int
    closed: int
    closed_fixed: int
    closure_rate: float | None
    fixed_closure_rate: float | None
    closed_in_period_fixed: int
    on_time_rate: float | None
    level_share: dict[str, float | None]


def incident_flags(incidents: pd.DataFrame, at: dt.datetime, days: int) -> pd.DataFrame:
    """One boolean column per counted thing, one row per incident: summing them (over all rows,
    or per area with a groupby) gives the counts behind every incident figure."""
    reported_in_p = rules.in_period(incidents["reported_at"], at, days) & ~(incidents["rejected_at"] <= at)
    fixed = incidents["close_reason"] == "fixed"
    closed = reported_in_p & (incidents["closed_at"] <= at)
    closed_in_p_fixed = rules.in_period(incidents["closed_at"], at, days) & fixed
    flags = pd.DataFrame(
        {
            "open": rules.is_open(incidents, at),
            "overdue": rules.is_overdue(incidents, at),
            "at_risk": rules.is_at_risk(incidents, at),
            "validation_overdue": rules.is_validation_overdue(incidents, at),
            "reported": reported_in_p,
            "closed": closed,
            "closed_fixed": closed & fixed,
            "closed_in_period_fixed": closed_in_p_fixed,
            "on_time": closed_in_p_fixed & (incidents["handled_at"] <= rules.deadline(incidents)),
        }
    )
    for level in LEVELS:
        flags[f"level_{level}"] = closed_in_p_fixed & (incidents["level"] == level)
    return flags


def figures_from_counts(counts: pd.Series) -> IncidentFigures:
    """The incident figures from the column sums of `incident_flags`."""
    count = {name: int(value) for name, value in counts.items()}
    denominator = count["closed_in_period_fixed"]
    return IncidentFigures(
        open=count["open"],
        overdue=count["overdue"],
        at_risk=count["at_risk"],
        validation_overdue=count["validation_overdue"],
        reported=count["reported"],
        closed=count["closed"],
        closed_fixed=count["closed_fixed"],
        closure_rate=_share(count["closed"], count["reported"]),
        fixed_closure_rate=_share(count["closed_fixed"], count["reported"]),
        closed_in_period_fixed=denominator,
        on_time_rate=_share(count["on_time"], denominator),
        level_share={level: _share(count[f"level_{level}"], denominator) for level in LEVELS},
    )


def summarise_incidents(incidents: pd.DataFrame, at: dt.datetime, days: int) -> IncidentFigures:
    """The figures of a set of incident rows (with the INCIDENT_COLUMNS) at `at` over the `days`
    before it."""
    return figures_from_counts(incident_flags(incidents, at, days).sum())


def compute_area_figures(
    session_factory: SessionFactory, *, actor: Actor, area_code: str, at: dt.datetime, days: int
) -> AreaFigures:
    """Figures of `area_code` at `at` over the `days` before it.

    Raises OutOfScopeError (audited) when no part of the area is in the actor's scope, UnknownAreaError when it does not
    exist, InvalidArgumentError for a naive `at` or `days` < 1.
    """
    scope = actor.scope
    check_period(at, days)
    require_area(session_factory, actor, area_code, at)
    with session_factory() as session:
        area = session.get(Area, (scope.county_code, area_code))
        if area is None:
            raise UnknownAreaError(area_code)
        households = count_households(session, scope, area_code)
        incidents = _load_incidents(session, scope, area_code, at, days)
        visited = count_visited(session, scope, area_code, at, days)

    counted = summarise_incidents(incidents, at, days)
    return AreaFigures(
        area_code=area.code,
        area_name=area.name,
        area_level=area.level,
        at=at,
        days=days,
        households=households,
        **dataclasses.asdict(counted),
        visited=visited,
        coverage=_share(visited, households),
    )


def _load_incidents(session: Session, scope: Scope, area_code: str, at: dt.datetime, days: int) -> pd.DataFrame:
    """Only the rows a figure can count: reported by T, not rejected by T, not closed before P."""
    start = at - dt.timedelta(days=days)
    query = select_incidents(INCIDENT_COLUMNS).where(
        Incident.county_code == scope.county_code,
        scope.within(Incident.grid_code, area_code),
        Incident.reported_at <= at,
        or_(Incident.rejected_at.is_(None), Incident.rejected_at > at),
        or_(Incident.closed_at.is_(None), Incident.closed_at > start),
    )
    return query_incidents(session, query)


def compute_grid_figures(
    session_factory: SessionFactory,
    *,
    actor: Actor,
    area_code: str,
    at: dt.datetime,
    days: int,
    special_tags: tuple[str, ...],
) -> pd.DataFrame:
    """The same figures per grid of `area_code` (index: grid code; columns GRID_FIGURE_COLUMNS),
    for the map's choropleth and the children tables.  Each household, incident and visit
    belongs to one grid, so the grids' counts add up to `compute_area_figures` of the area.
    `special_households` counts households carrying any of `special_tags`."""
    scope = actor.scope
    check_period(at, days)
    require_area(session_factory, actor, area_code, at)
    county = scope.county_code
    special_tags = tuple(tag for tag in special_tags if tag in actor.clearance.visible_tags())
    with session_factory() as session:
        grids = session.scalars(
            select(Area.code).where(
                Area.county_code == county, Area.level == "grid", scope.within(Area.code, area_code)
            )
        ).all()
        households = county_households_per_grid(session, county)
        special = county_households_per_grid(session, county, special_tags) if special_tags else households.iloc[:0]
        visited_pairs = visited_rows(session, scope, area_code, at, days)
        visited = query_frame(
            session,
            select(visited_pairs.c.grid_code, func.count().label("n")).group_by(visited_pairs.c.grid_code),
        )
        incidents = _load_incidents(session, scope, area_code, at, days)
    frame = pd.DataFrame(index=pd.Index(sorted(grids), name="grid_code"))
    frame["households"] = households.reindex(frame.index).fillna(0).astype(int)
    frame["special_households"] = special.reindex(frame.index).fillna(0).astype(int)
    frame["visited"] = visited.set_index("grid_code")["n"].reindex(frame.index).fillna(0).astype(int)
    for column, rule in (
        ("open", rules.is_open),
        ("overdue", rules.is_overdue),
        ("at_risk", rules.is_at_risk),
        ("validation_overdue", rules.is_validation_overdue),
    ):
        flags = rule(incidents, at)
        frame[column] = flags.groupby(incidents["grid_code"]).sum().reindex(frame.index).fillna(0).astype(int)
    frame["coverage"] = (frame["visited"] / frame["households"].where(frame["households"] > 0)).astype(float)
    return frame[list(GRID_FIGURE_COLUMNS)]
