"""Read models behind the 民情地图 map: display-ready area shapes and the point layers of a
selection (open incidents, households, worker positions), each a plain (Geo)DataFrame.  Labels
are plain text (lines separated by LINE_BREAK): the map escapes them where it draws them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from geo.display import ALARM_AT_RISK, ALARM_OVERDUE, AreaShapes, dissolve_by_prefix, simplify_grids
from services.access.actor import Actor
from services.access.audit import require_area
from services.access.privacy import SPECIAL_GROUP_TAGS, Clearance, shown_names
from services.access.scope import Scope
from services.cases import rules
from services.cases.frames import query_incidents, select_incidents
from services.domain import INCIDENT_TIMES, KEY_PERSON_TAGS, LOCAL_TZ, OPEN_STATES, SEVERITY_NAMES, STATE_NAMES
from services.labels import LINE_BREAK
from services.mapping.areas import load_areas
from services.mapping.choropleth import MapLegend, classify_counts, classify_shares
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Household, HouseholdTag, Incident, PatrolFix, Worker, WorkerGrid


def load_area_shapes(session_factory: SessionFactory, *, actor: Actor) -> AreaShapes:
    """The scope's grids simplified as a coverage, and villages, townships and the county as
    exact unions of those grids (so every boundary drawn lies on grid edges)."""
    areas = load_areas(session_factory, actor=actor, levels=("county", "township", "village", "grid"))
    names = dict(zip(areas["code"], areas["name"], strict=True))
    grids = simplify_grids(areas[areas["level"] == "grid"][["code", "name", "geometry"]].reset_index(drop=True))
    return AreaShapes(
        county=dissolve_by_prefix(grids, 6, names),
        townships=dissolve_by_prefix(grids, 9, names),
        villages=dissolve_by_prefix(grids, 12, names),
        grids=grids,
    )


def load_open_incidents(
    session_factory: SessionFactory, *, actor: Actor, area_code: str, at: dt.datetime, alarming_only: bool
) -> pd.DataFrame:
    """Open incidents of the area at `at` with their alarm (2 overdue, 1 at risk, 0 none):
    incident_id, grid_code, lon, lat, state, urgent, alarm, category, label.  `alarming_only`
    keeps the overdue, at-risk and urgent ones (the county view: the rest shows as counts)."""
    scope = actor.scope
    require_area(session_factory, actor, area_code, at)
    columns = (
        "incident_id",
        "grid_code",
        "lon",
        "lat",
        "state",
        "severity",
        "category",
        *INCIDENT_TIMES,
        "limit_hours",
    )
    query = select_incidents(columns).where(
        Incident.county_code == scope.county_code,
        scope.within(Incident.grid_code, area_code),
        Incident.state.in_(OPEN_STATES),
        Incident.reported_at <= at,
    )
    with session_factory() as session:
        frame = query_incidents(session, query)
    return describe_open_incidents(frame[rules.is_open(frame, at)], at, alarming_only=alarming_only)


def describe_open_incidents(frame: pd.DataFrame, at: dt.datetime, *, alarming_only: bool = False) -> pd.DataFrame:
    """Map points of open incident rows (with their stage times, limit_hours, lon, lat, state,
    severity, category): incident_id, grid_code, lon, lat, state, urgent, alarm, category, label."""
    alarm = pd.Series(0, index=frame.index)
    alarm[rules.is_at_risk(frame, at)] = ALARM_AT_RISK
    alarm[rules.is_overdue(frame, at)] = ALARM_OVERDUE
    frame = frame.assign(alarm=alarm, urgent=frame["severity"] == "urgent")
    if alarming_only:
        frame = frame[(frame["alarm"] > 0) | frame["urgent"]]
    alarm_text = frame["alarm"].map({ALARM_OVERDUE: " · 已超期", ALARM_AT_RISK: " · 临期", 0: ""})
    label = (
        frame["incident_id"]
        + " "
        + frame["category"]
        + LINE_BREAK
        + frame["state"].map(STATE_NAMES)
        + " · "
        + frame["severity"].map(SEVERITY_NAMES)
        + alarm_text
    )
    keep = ["incident_id", "grid_code", "lon", "lat", "state", "urgent", "alarm", "category"]
    return frame[keep].assign(label=label).reset_index(drop=True)


def load_household_points(
    session_factory: SessionFactory, *, actor: Actor, area_code: str, at: dt.datetime
) -> pd.DataFrame:
    """Households of a village or grid: household_id, grid_code, lon, lat, family (0 none,
    1 special group, 2 key person — key persons only for cleared viewers), label."""
    scope = actor.scope
    clearance = actor.clearance
    require_area(session_factory, actor, area_code, at)
    county = scope.county_code
    with session_factory() as session:
        households = query_frame(
            session,
            select(Household.household_id, Household.grid_code, Household.lon, Household.lat, Household.head_name)
            .where(Household.county_code == county, scope.within(Household.grid_code, area_code))
            .order_by(Household.household_id),
        )
        tags = load_visible_tags(session, scope, area_code, clearance)
    # `tags` holds only the tags this viewer may see, so key persons are marked for cleared viewers only.
    family = pd.Series(0, index=households["household_id"])
    family.loc[tags.loc[tags["tag"].isin(SPECIAL_GROUP_TAGS), "household_id"].unique()] = 1
    family.loc[tags.loc[tags["tag"].isin(KEY_PERSON_TAGS), "household_id"].unique()] = 2
    tag_text = tags.groupby("household_id")["tag"].agg("、".join)
    names = shown_names(households["head_name"], clearance)
    label = names + " 户"
    label = label + [LINE_BREAK + tag_text[h] if h in tag_text.index else "" for h in households["household_id"]]
    return households.assign(family=family.to_numpy(), label=label)[
        ["household_id", "grid_code", "lon", "lat", "family", "label"]
    ]


def load_visible_tags(session: Session, scope: Scope, area_code: str, clearance: Clearance) -> pd.DataFrame:
    """household_id, tag of the households in the area, only the tags `clearance` may see."""
    return query_frame(
        session,
        select(HouseholdTag.household_id, HouseholdTag.tag)
        .join(
            Household,
            and_(
                Household.county_code == HouseholdTag.county_code, Household.household_id == HouseholdTag.household_id
            ),
        )
        .where(
            HouseholdTag.county_code == scope.county_code,
            scope.within(Household.grid_code, area_code),
            HouseholdTag.tag.in_(clearance.visible_tags()),
        ),
    )


def load_worker_positions(
    session_factory: SessionFactory, *, actor: Actor, area_code: str, at: dt.datetime
) -> pd.DataFrame:
    """Workers responsible for a grid of the area, at their last fix up to `at`: worker_id,
    name, on_duty, lon, lat, last_seen, label.  Workers with no fix are left out."""
    scope = actor.scope
    require_area(session_factory, actor, area_code, at)
    county = scope.county_code
    responsible = (
        select(WorkerGrid.worker_id)
        .distinct()
        .where(WorkerGrid.county_code == county, scope.within(WorkerGrid.grid_code, area_code))
        .subquery()
    )
    # One index seek per worker on the (county, worker, ts) key, not a scan of every fix.
    earlier = aliased(PatrolFix)
    last_ts = (
        select(func.max(earlier.ts))
        .where(earlier.county_code == county, earlier.worker_id == Worker.worker_id, earlier.ts <= at)
        .scalar_subquery()
    )
    query = (
        select(
            Worker.worker_id, Worker.name, Worker.on_duty, PatrolFix.lon, PatrolFix.lat, PatrolFix.ts.label("last_seen")
        )
        .join(responsible, responsible.c.worker_id == Worker.worker_id)
        .join(
            PatrolFix,
            and_(PatrolFix.county_code == county, PatrolFix.worker_id == Worker.worker_id, PatrolFix.ts == last_ts),
        )
        .where(Worker.county_code == county)
        .order_by(Worker.worker_id)
    )
    with session_factory() as session:
        frame = query_frame(session, query)
    frame["on_duty"] = frame["on_duty"].astype(bool)
    frame["last_seen"] = pd.to_datetime(frame["last_seen"], utc=True)
    seen = frame["last_seen"].dt.tz_convert(LOCAL_TZ).dt.strftime("%m-%d %H:%M")
    frame["label"] = (
        frame["name"] + frame["on_duty"].map({True: "（在岗）", False: "（不在岗）"}) + LINE_BREAK + "最后定位 " + seen
    )
    return frame


@dataclasses.dataclass(frozen=True)
class MapMetric:
    label: str
    share: bool  # a 0–1 share (fixed classes) rather than a count (quantile classes)
    ramp: str


MAP_METRICS = {
    "open": MapMetric("在办事件", False, "reds"),
    "overdue": MapMetric("超期事件", False, "reds"),
    "households": MapMetric("住户", False, "blues"),
    "special_households": MapMetric("特殊人群户", False, "purples"),
    "coverage": MapMetric("近7日巡查覆盖率", True, "greens"),
}


def colour_grids(grid_figures: pd.DataFrame, metric: str) -> tuple[dict[str, tuple[str, str]], MapLegend]:
    """Choropleth of `metric` (a MAP_METRICS key): grid code → (colour, tooltip text), and the
    legend."""
    spec = MAP_METRICS[metric]
    values = grid_figures[metric]
    if spec.share:
        colours, legend = classify_shares(values, spec.ramp)
        texts = values.map(lambda v: "无住户" if pd.isna(v) else f"{v:.0%}")
    else:
        colours, legend = classify_counts(values, spec.ramp)
        texts = values.astype(int).astype(str)
    notes = spec.label + " " + texts
    return (
        {code: (colour, note) for code, colour, note in zip(grid_figures.index, colours, notes, strict=True)},
        MapLegend(spec.label, tuple(legend)),
    )
