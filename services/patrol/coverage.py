"""Patrol coverage (DESIGN.md): the households of some areas, and those a worker's track reached
in the period P = (T − days, T].  The coverage figure of `services.figures` and the patrol pages
count them by these queries, so the two cannot disagree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
from sqlalchemy import Subquery, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from services.access.scope import Scope
from services.domain import LOCAL_TZ
from services.errors import InvalidArgumentError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import (
    Household,
    HouseholdTag,
    PatrolVisit,
    PatrolVisitLatest,
    PatrolVisitLatestEnd,
    PatrolVisitMonth,
    PatrolVisitMonthGrid,
)
from services.store.versions import HOUSEHOLDS, VersionedCache
from services.store.visit_months import next_month


def check_period(at: dt.datetime, days: int) -> None:
    if at.tzinfo is None:
        raise InvalidArgumentError("时间必须带时区（无时区的时间按北京时间理解时请先转换）")
    if days < 1:
        raise InvalidArgumentError("统计天数必须为正整数")


def count_coverage(
    session_factory: SessionFactory, *, scope: Scope, area_codes: tuple[str, ...], at: dt.datetime, days: int
) -> tuple[int, int]:
    """(households, visited in P) of the areas together, as far as they lie in `scope`: the
    coverage part of `compute_area_figures`, by the same queries, without the incident figures."""
    check_period(at, days)
    area_codes = tuple(code for code in area_codes if scope.reaches(code))
    with session_factory() as session:
        households = sum(count_households(session, scope, code) for code in area_codes)
        visited = sum(count_visited(session, scope, code, at, days) for code in area_codes)
    return households, visited


def count_households(session: Session, scope: Scope, area_code: str) -> int:
    counts = county_households_per_grid(session, scope.county_code)
    return int(counts[scope.within_codes(counts.index, area_code)].sum())


# Each (county, special tags) counted once per change of households or tags, in any process: the
# live map's per-minute figures read 2,000 counts instead of counting 300,000 households twice.
COUNTY_HOUSEHOLDS: VersionedCache[pd.Series] = VersionedCache(HOUSEHOLDS)


def county_households_per_grid(session: Session, county_code: str, special_tags: tuple[str, ...] = ()) -> pd.Series:
    """Households per grid of the whole county (index: grid_code, sorted; grids without households
    left out); with `special_tags`, only households carrying any of them.  Shared by every caller:
    take a part of it, do not change it."""
    key = ("special", tuple(sorted(set(special_tags)))) if special_tags else ("all",)
    return COUNTY_HOUSEHOLDS.get(
        session, county_code, key, lambda: count_county_households_per_grid(session, county_code, special_tags)
    )


def count_county_households_per_grid(session: Session, county_code: str, special_tags: tuple[str, ...]) -> pd.Series:
    """`county_households_per_grid` counted now, without the cache."""
    query = select(Household.grid_code, func.count().label("n")).where(Household.county_code == county_code)
    if special_tags:
        tagged = (
            select(HouseholdTag.county_code, HouseholdTag.household_id)
            .distinct()
            .where(HouseholdTag.county_code == county_code, HouseholdTag.tag.in_(special_tags))
            .subquery()
        )
        query = query.join(
            tagged,
            and_(tagged.c.county_code == Household.county_code, tagged.c.household_id == Household.household_id),
        )
    return _per_grid(query_frame(session, query.group_by(Household.grid_code))).sort_index()


GridFilter = Callable[[InstrumentedAttribute[str]], ColumnElement[bool]]


def households_per_grid(session: Session, county_code: str, grids: GridFilter) -> pd.Series:
    """Households per grid (index: grid_code; grids without households are left out) of the grids
    `grids` selects: the statistics, the compliance table and the assessment count with it."""
    counts = query_frame(
        session,
        select(Household.grid_code, func.count().label("n"))
        .where(Household.county_code == county_code, grids(Household.grid_code))
        .group_by(Household.grid_code),
    )
    return _per_grid(counts)


def area_grids(scope: Scope, area_code: str) -> GridFilter:
    """The grid condition of `area_code`'s part inside the scope, for `visited_between`."""
    return lambda column: scope.within(column, area_code)


def whole_months(first_day: dt.date, end_day: dt.date) -> list[dt.date] | None:
    """The calendar months that [first_day, end_day) consists of, or None when it is not whole months."""
    if first_day.day != 1 or end_day.day != 1 or end_day <= first_day:
        return None
    months = [first_day]
    while (following := next_month(months[-1])) < end_day:
        months.append(following)
    return months


def visited_between(county_code: str, grids: GridFilter, first_day: dt.date, end_day: dt.date) -> Subquery:
    """Distinct (household_id, grid_code) visited on the local days [first_day, end_day) in the
    grids `grids` selects: the one home of "visited" for whole days (statistics, the assessment,
    the compliance table, the worker's day, and `visited_rows` for day-aligned periods).

    Whole calendar months read the rollup patrol_visit_months: one month's rows are the distinct
    pairs already, several months' are made distinct again (a household visited in two months
    counts once).  Other spans read the visits themselves."""
    if whole_months(first_day, end_day) is not None:
        query = select(PatrolVisitMonth.household_id, PatrolVisitMonth.grid_code).where(
            PatrolVisitMonth.county_code == county_code,
            grids(PatrolVisitMonth.grid_code),
            PatrolVisitMonth.month >= first_day,
            PatrolVisitMonth.month < end_day,
        )
        return (query.distinct() if next_month(first_day) < end_day else query).subquery()
    # DISTINCT in a subquery, not count(DISTINCT …): PostgreSQL hashes the one, sorts for the other
    # (0.52 s against 0.81 s for the county over 7 days).
    return (
        select(PatrolVisit.household_id, PatrolVisit.grid_code)
        .distinct()
        .where(
            PatrolVisit.county_code == county_code,
            grids(PatrolVisit.grid_code),
            PatrolVisit.day >= first_day,
            PatrolVisit.day < end_day,
        )
        .subquery()
    )


def visited_per_grid(
    session: Session, county_code: str, grids: GridFilter, first_day: dt.date, end_day: dt.date
) -> pd.Series:
    """Households visited on the days [first_day, end_day), counted per grid (index: grid_code;
    grids without a visit are left out)."""
    if whole_months(first_day, end_day) == [first_day]:  # one month: its counts are kept per grid
        counts = query_frame(
            session,
            select(PatrolVisitMonthGrid.grid_code, PatrolVisitMonthGrid.visited.label("n")).where(
                PatrolVisitMonthGrid.county_code == county_code,
                PatrolVisitMonthGrid.month == first_day,
                grids(PatrolVisitMonthGrid.grid_code),
                PatrolVisitMonthGrid.visited > 0,
            ),
        )
        return _per_grid(counts)
    pairs = visited_between(county_code, grids, first_day, end_day)
    counts = query_frame(session, select(pairs.c.grid_code, func.count().label("n")).group_by(pairs.c.grid_code))
    return _per_grid(counts)


def _per_grid(counts: pd.DataFrame) -> pd.Series:
    return pd.Series(
        counts["n"].astype(int).to_numpy(),
        index=pd.Index(counts["grid_code"].astype(object), name="grid_code"),
        dtype=int,
    )


def day_aligned(at: dt.datetime) -> bool:
    """T is a local midnight, so P = (T − days, T] is whole local days."""
    return at.astimezone(LOCAL_TZ).timetz().replace(tzinfo=None) == dt.time()


def visited_rows(session: Session, scope: Scope, area_code: str, at: dt.datetime, days: int) -> Subquery:
    """(household, grid) pairs visited in P = (T − days, T].

    When T is a local midnight, P is the local days [T − days, T), and a visit is in P exactly when
    its day is: a day's track lies within its day, so its near segments end by the day's end (≤ T)
    and start at or after its first moment.  The one instant the two readings could part is a
    segment starting exactly at local midnight of P's first day, which P (open at its start)
    leaves out — an instant no fix-every-few-seconds track lands on more than by chance.  Other T
    take the instant rule itself: from each household's latest visit while no stored visit ends
    after T (the live map, every minute), else from the visits (`instant_visited_rows`)."""
    if day_aligned(at):
        first_day = (at - dt.timedelta(days=days)).astimezone(LOCAL_TZ).date()
        return visited_between(
            scope.county_code, area_grids(scope, area_code), first_day, at.astimezone(LOCAL_TZ).date()
        )
    if latest_is_exact(session, scope.county_code, at):
        return latest_visited_rows(scope, area_code, at, days)
    return instant_visited_rows(scope, area_code, at, days)


def latest_is_exact(session: Session, county_code: str, at: dt.datetime) -> bool:
    """No stored visit ends after T (the kept newest end is not after it), so each household's
    latest one decides (patrol_visit_latest)."""
    newest = session.scalar(
        select(PatrolVisitLatestEnd.last_end).where(PatrolVisitLatestEnd.county_code == county_code)
    )
    return newest is None or newest <= at


def last_visit_day(session: Session, county_code: str, household_id: str, at: dt.datetime) -> dt.date | None:
    """The latest local day a visit of the household began by T (None: never).  While no stored
    visit ends after T its latest visit decides; otherwise its visits are read through the grids
    it was visited in, which the rollup knows (patrol_visits has no index led by the household)."""
    latest = session.execute(
        select(PatrolVisitLatest.grid_code, PatrolVisitLatest.last_start).where(
            PatrolVisitLatest.county_code == county_code, PatrolVisitLatest.household_id == household_id
        )
    ).all()
    if not latest:
        return None
    if latest_is_exact(session, county_code, at):
        return max(start for _, start in latest).astimezone(LOCAL_TZ).date()
    return session.scalar(
        select(func.max(PatrolVisit.day)).where(
            PatrolVisit.county_code == county_code,
            PatrolVisit.grid_code.in_(sorted({grid for grid, _ in latest})),
            PatrolVisit.household_id == household_id,
            PatrolVisit.first_start <= at,
        )
    )


def latest_visited_rows(scope: Scope, area_code: str, at: dt.datetime, days: int) -> Subquery:
    """DESIGN.md's rule at a T no stored visit ends after: every near segment ends by T, so a
    household was visited in P exactly when its latest near segment started after T − days."""
    return (
        select(PatrolVisitLatest.household_id, PatrolVisitLatest.grid_code)
        .where(
            PatrolVisitLatest.county_code == scope.county_code,
            scope.within(PatrolVisitLatest.grid_code, area_code),
            PatrolVisitLatest.last_start > at - dt.timedelta(days=days),
        )
        .subquery()
    )


def instant_visited_rows(scope: Scope, area_code: str, at: dt.datetime, days: int) -> Subquery:
    """DESIGN.md's rule at any T.  A stored visit keeps the first and the last track segment near
    the household that day; P spans at least one whole day, and a day's track less than one, so
    some near segment lies in P exactly when the first or the last does."""
    start = at - dt.timedelta(days=days)
    first_in = and_(PatrolVisit.first_start > start, PatrolVisit.first_end <= at)
    last_in = and_(PatrolVisit.last_start > start, PatrolVisit.last_end <= at)
    return (
        select(PatrolVisit.household_id, PatrolVisit.grid_code)
        .distinct()
        .where(
            PatrolVisit.county_code == scope.county_code,
            scope.within(PatrolVisit.grid_code, area_code),
            PatrolVisit.day >= start.astimezone(LOCAL_TZ).date(),
            PatrolVisit.day <= at.astimezone(LOCAL_TZ).date(),
            or_(first_in, last_in),
        )
        .subquery()
    )


def count_visited(session: Session, scope: Scope, area_code: str, at: dt.datetime, days: int) -> int:
    query = select(func.count()).select_from(visited_rows(session, scope, area_code, at, days))
    return int(session.scalar(query) or 0)
