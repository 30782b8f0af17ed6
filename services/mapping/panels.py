"""What the side panels of the 民情地图 page show for a selection: the children of an area with
their figures, a grid's people and cases, and the cards of one household, incident or worker.
Figures come from `services.figures.area_figures`, the same functions as `services.cli kpi`."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from services.access.actor import Actor
from services.access.audit import Who, add_entry, refuse_item, require_area, require_permission
from services.access.privacy import shown_id_numbers, shown_names, shown_phones
from services.access.scope import Scope
from services.cases import rules
from services.cases.frames import query_incidents, select_incidents
from services.domain import (
    CODE_LENGTHS,
    INCIDENT_TIMES,
    LOCAL_TZ,
    OPEN_STATES,
    SEVERITY_NAMES,
    STATE_NAMES,
    worker_posts,
)
from services.errors import UnknownItemError
from services.mapping.map_data import load_visible_tags
from services.patrol.assessment import worker_month
from services.patrol.assessment_rules import current_month
from services.patrol.coverage import last_visit_day
from services.patrol.misses import confirmed_misses
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, Household, HouseholdTag, Incident, PatrolFix, Worker, WorkerGrid


def _local(times: pd.Series, pattern: str = "%Y-%m-%d %H:%M") -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.tz_convert(LOCAL_TZ).dt.strftime(pattern).fillna("")


def summarise_children(
    grid_figures: pd.DataFrame, *, area_code: str, child_level: str, names: dict[str, str]
) -> pd.DataFrame:
    """The children of `area_code` (one row each: code, name, households, special_households,
    open, overdue, at_risk, coverage), summed from the per-grid figures."""
    inside = grid_figures[grid_figures.index.str.startswith(area_code)]
    child = inside.index.str[: CODE_LENGTHS[child_level]]
    sums = inside.drop(columns="coverage").groupby(child).sum()
    sums["coverage"] = sums["visited"] / sums["households"].where(sums["households"] > 0)
    sums.index.name = "code"
    sums = sums.reset_index()
    sums.insert(1, "name", [names.get(code, code) for code in sums["code"]])
    return sums[["code", "name", "households", "special_households", "open", "overdue", "at_risk", "coverage"]]


@dataclasses.dataclass(frozen=True)
class GridPanel:
    grid_code: str
    grid_name: str
    workers: pd.DataFrame  # name, role, on_duty, phone, last_seen
    tag_counts: pd.DataFrame  # tag, households
    open_cases: pd.DataFrame  # incident_id, category, state, severity, deadline, alarm
    households: pd.DataFrame  # household_id, head_name, address, members, phone, tags


def load_grid_panel(session_factory: SessionFactory, *, actor: Actor, grid_code: str, at: dt.datetime) -> GridPanel:
    scope = actor.scope
    clearance = actor.clearance
    require_area(session_factory, actor, grid_code, at)
    county = scope.county_code
    with session_factory() as session:
        grid = session.get(Area, (county, grid_code))
        if grid is None or grid.level != "grid":
            raise UnknownItemError("网格", grid_code)
        earlier = select(func.max(PatrolFix.ts)).where(
            PatrolFix.county_code == county, PatrolFix.worker_id == WorkerGrid.worker_id, PatrolFix.ts <= at
        )
        workers = query_frame(
            session,
            select(
                Worker.name,
                Worker.role,
                Worker.role_title,
                Worker.on_duty,
                Worker.phone,
                earlier.scalar_subquery().label("last_seen"),
            )
            .join(
                WorkerGrid, and_(WorkerGrid.county_code == Worker.county_code, WorkerGrid.worker_id == Worker.worker_id)
            )
            .where(WorkerGrid.county_code == county, WorkerGrid.grid_code == grid_code)
            .order_by(Worker.role.desc(), Worker.name),
        )
        households = query_frame(
            session,
            select(Household.household_id, Household.head_name, Household.address, Household.members, Household.phone)
            .where(Household.county_code == county, Household.grid_code == grid_code)
            .order_by(Household.household_id),
        )
        tags = load_visible_tags(session, scope, grid_code, clearance)
        open_cases = _open_cases(session, scope, grid_code, at)
    # Work phones of grid staff are public (网格公示牌); residents' personal data is masked.
    workers = workers.assign(
        role=worker_posts(workers["role_title"], workers["role"]),
        on_duty=workers["on_duty"].astype(bool).map({True: "在岗", False: "不在岗"}),
        last_seen=_local(workers["last_seen"], "%m-%d %H:%M"),
    ).drop(columns="role_title")
    tag_counts = (
        tags.groupby("tag")["household_id"]
        .nunique()
        .reindex(clearance.visible_tags())
        .dropna()
        .astype(int)
        .rename("households")
        .rename_axis("tag")
        .reset_index()
    )
    tag_text = tags.groupby("household_id")["tag"].agg("、".join)
    households = households.assign(
        head_name=shown_names(households["head_name"], clearance),
        phone=shown_phones(households["phone"], clearance),
        tags=[tag_text.get(h, "") for h in households["household_id"]],
    )
    return GridPanel(grid_code, grid.name, workers, tag_counts, open_cases, households)


def _open_cases(session: Session, scope: Scope, grid_code: str, at: dt.datetime) -> pd.DataFrame:
    """The grid's open cases at `at`, oldest first, with state, deadline and alarm."""
    columns = ("incident_id", "category", "subcategory", "state", "severity", *INCIDENT_TIMES, "limit_hours")
    frame = query_incidents(
        session,
        select_incidents(columns)
        .where(
            Incident.county_code == scope.county_code,
            Incident.grid_code == grid_code,
            Incident.state.in_(OPEN_STATES),
            Incident.reported_at <= at,
        )
        .order_by(Incident.reported_at),
    )
    frame = frame[rules.is_open(frame, at)].reset_index(drop=True)
    alarm = pd.Series("", index=frame.index)
    alarm[rules.is_at_risk(frame, at)] = "临期"
    alarm[rules.is_overdue(frame, at)] = "超期"
    alarm[rules.is_validation_overdue(frame, at)] = "核实超时"
    return pd.DataFrame(
        {
            "incident_id": frame["incident_id"],
            "category": frame["category"] + "/" + frame["subcategory"].fillna(""),
            "state": frame["state"].map(STATE_NAMES),
            "severity": frame["severity"].map(SEVERITY_NAMES),
            "reported_at": _local(frame["reported_at"]),
            "deadline": _local(rules.deadline(frame)),
            "alarm": alarm,
        }
    )


@dataclasses.dataclass(frozen=True)
class HouseholdCard:
    household_id: str
    grid_code: str
    head_name: str
    address: str
    members: int
    phone: str
    id_number: str
    tags: tuple[str, ...]
    last_visited: str  # local date of the latest patrol visit up to `at`, or ""
    unmasked: bool  # name, phone and ID number shown in full


def load_household_card(
    session_factory: SessionFactory, *, actor: Actor, household_id: str, at: dt.datetime, unmask: bool = False
) -> HouseholdCard:
    """One household, its personal data masked; with `unmask`, in full for roles allowed to
    see it, and the look goes on the audit log (a refusal does too)."""
    scope = actor.scope
    clearance = actor.clearance
    if unmask:
        require_permission(session_factory, actor, "unmask_personal_data", at, f"住户 {household_id}")
        clearance = dataclasses.replace(clearance, personal_data=True)
    county = scope.county_code
    with session_factory() as session:  # a refusal goes on record in a write transaction of its own
        grid_code = session.scalar(
            select(Household.grid_code).where(Household.county_code == county, Household.household_id == household_id)
        )
    if grid_code is None:
        raise UnknownItemError("住户", household_id)
    if not scope.allows(grid_code):
        raise refuse_item(session_factory, actor, at, "住户", household_id)
    with session_factory.begin() as session:
        household = session.get(Household, (county, household_id))
        if household is None:
            raise UnknownItemError("住户", household_id)
        if unmask:
            add_entry(session, Who.of(actor), "unmask", at, f"住户 {household_id}", "户主姓名、电话、身份证号")
        tags = session.scalars(
            select(HouseholdTag.tag).where(
                HouseholdTag.county_code == county,
                HouseholdTag.household_id == household_id,
                HouseholdTag.tag.in_(clearance.visible_tags()),
            )
        ).all()
        last_day = last_visit_day(session, county, household_id, at)
        head = shown_names(pd.Series([household.head_name]), clearance).iloc[0]
        phone = shown_phones(pd.Series([household.phone]), clearance).iloc[0]
        id_number = shown_id_numbers(pd.Series([household.id_number]), clearance).iloc[0]
        order = {tag: i for i, tag in enumerate(clearance.visible_tags())}
        return HouseholdCard(
            household_id=household.household_id,
            grid_code=household.grid_code,
            head_name=head,
            address=household.address,
            members=household.members,
            phone=phone,
            id_number=id_number,
            tags=tuple(sorted(tags, key=order.__getitem__)),
            last_visited="" if last_day is None else last_day.isoformat(),
            unmasked=clearance.personal_data,
        )


@dataclasses.dataclass(frozen=True)
class WorkerCard:
    worker_id: str
    name: str
    role: str
    on_duty: bool
    phone: str
    grid_codes: tuple[str, ...]
    last_seen: str
    month_score: str = ""  # the running month's 网格员月度考核, e.g. 「2026年11月（进行中）87.5 分 · 合格」
    missed_cases: tuple[str, ...] = ()  # the running month's confirmed 应报未报 in their grids


def _month_score(session_factory: SessionFactory, actor: Actor, worker_id: str, at: dt.datetime) -> str:
    month = current_month(at)
    row = worker_month(session_factory, actor=actor, worker_id=worker_id, month=month, now=at)
    if row is None:
        return ""
    misses = f" · 应报未报 {int(row['misses'])} 件" if row["misses"] else ""
    return f"{month:%Y年%m月}（进行中）考核 {row['total']:g} 分 · {row['grade']}{misses}"


def load_worker_card(session_factory: SessionFactory, *, actor: Actor, worker_id: str, at: dt.datetime) -> WorkerCard:
    scope = actor.scope
    county = scope.county_code
    with session_factory() as session:
        worker = session.get(Worker, (county, worker_id))
        grids = session.scalars(
            select(WorkerGrid.grid_code)
            .where(WorkerGrid.county_code == county, WorkerGrid.worker_id == worker_id)
            .order_by(WorkerGrid.grid_code)
        ).all()
        if worker is None:
            raise UnknownItemError("网格员", worker_id)
        grids = [g for g in grids if scope.allows(g)]
        if not grids:
            raise refuse_item(session_factory, actor, at, "网格员", worker_id)
        last = session.scalar(
            select(func.max(PatrolFix.ts)).where(
                PatrolFix.county_code == county, PatrolFix.worker_id == worker_id, PatrolFix.ts <= at
            )
        )
        return WorkerCard(
            worker_id=worker.worker_id,
            name=worker.name,
            role=worker_posts(pd.Series([worker.role_title], dtype=object), pd.Series([worker.role])).iloc[0],
            on_duty=bool(worker.on_duty),
            phone=worker.phone or "",
            grid_codes=tuple(grids),
            last_seen="" if last is None else _local(pd.Series([last])).iloc[0],
            month_score=_month_score(session_factory, actor, worker_id, at),
            missed_cases=_missed_cases(session_factory, actor, grids, at),
        )


def _missed_cases(session_factory: SessionFactory, actor: Actor, grids: list[str], at: dt.datetime) -> tuple[str, ...]:
    misses = confirmed_misses(session_factory, scope=actor.scope, area_code=actor.county_code, month=current_month(at))
    return tuple(sorted(misses.loc[misses["grid_code"].isin(grids), "incident_id"]))
