"""Keeping `patrol_visit_months` (the monthly rollup of patrol_visits) equal to the distinct
(household, grid) pairs of each local calendar month's visits, and `patrol_visit_month_grids`
equal to its rows counted per grid.

Writers in bulk (the fixes import, the demo load) call `refresh_visit_months` in the transaction
that changed the visits — the fixes import only for the grids where it deleted visits, and
`merge_visit_month_pairs` with `recount_visit_months` for the pairs of the visits it added
elsewhere; visits written or deleted through the ORM refresh their months × grids at flush, so no
writer can leave the rollup behind.  Readers: `services.patrol.coverage`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    and_,
    cast,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from services.store.models import PatrolVisit, PatrolVisitMonth, PatrolVisitMonthGrid, table_of


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_of_day(dialect: str, day: ColumnElement[dt.date]) -> ColumnElement[dt.date]:
    """The first day of `day`'s month, as the engine stores a DATE (SQLite: ISO text)."""
    if dialect == "sqlite":
        return func.date(day, literal("start of month"))
    # date_trunc of a plain timestamp: no session time zone can shift the day.
    return cast(func.date_trunc("month", cast(day, DateTime(timezone=False))), Date)


def refresh_visit_months(
    connection: Connection,
    county_code: str,
    *,
    days: Iterable[dt.date] | None = None,
    grid_codes: Iterable[str] | None = None,
) -> None:
    """Rebuild the rollup rows of the months holding `days` × `grid_codes` from patrol_visits, in the
    caller's transaction (None: every month, every grid of the county)."""
    rollup, visits = table_of(PatrolVisitMonth), table_of(PatrolVisit)
    drop = delete(rollup).where(rollup.c.county_code == county_code)
    source = _month_pairs(connection.dialect.name).where(visits.c.county_code == county_code)
    if grid_codes is not None:
        grids = sorted(set(grid_codes))
        if not grids:
            return
        drop = drop.where(rollup.c.grid_code.in_(grids))
        source = source.where(visits.c.grid_code.in_(grids))
    if days is not None:
        months = sorted({day.replace(day=1) for day in days})
        if not months:
            return
        drop = drop.where(rollup.c.month.in_(months))
        source = source.where(or_(*(and_(visits.c.day >= month, visits.c.day < next_month(month)) for month in months)))
    connection.execute(drop)
    connection.execute(insert(rollup).from_select(["county_code", "month", "household_id", "grid_code"], source))
    _recount(connection, county_code, grid_codes, days)


def merge_visit_month_pairs(
    connection: Connection, county_code: str, worker_ids: Iterable[str], first_day: dt.date, last_day: dt.date
) -> None:
    """Merge the month pairs of the stored visits of `worker_ids` on [first_day, last_day] (those
    an import just wrote) into the rollup — a pair already there stays.  Only for grids where no
    visit was deleted: there pairs can only be added.  The caller recounts their grids
    (`recount_visit_months`) once its merges are done."""
    workers = sorted(set(worker_ids))
    if not workers:
        return
    rollup, visits = table_of(PatrolVisitMonth), table_of(PatrolVisit)
    # Most pairs are there already (a household is visited many times a month): looked up first,
    # they cost PostgreSQL an index probe each rather than an insert that conflicts (1.3 → 0.9 s
    # of a county day).  The conflict clause stays for a pair another writer adds meanwhile.
    present = exists().where(
        rollup.c.county_code == visits.c.county_code,
        rollup.c.month == month_of_day(connection.dialect.name, visits.c.day),
        rollup.c.household_id == visits.c.household_id,
        rollup.c.grid_code == visits.c.grid_code,
    )
    source = _month_pairs(connection.dialect.name).where(
        visits.c.county_code == county_code,
        visits.c.worker_id.in_(workers),
        visits.c.day >= first_day,
        visits.c.day <= last_day,
        ~present,
    )
    postgres = connection.dialect.name == "postgresql"
    statement = (postgresql.insert if postgres else sqlite.insert)(rollup).from_select(
        ["county_code", "month", "household_id", "grid_code"], source
    )
    connection.execute(
        statement.on_conflict_do_nothing(index_elements=["county_code", "month", "household_id", "grid_code"])
    )


def recount_visit_months(
    connection: Connection, county_code: str, grid_codes: Iterable[str], days: Iterable[dt.date]
) -> None:
    """The per-grid counts of the rollup rows of the months holding `days` × `grid_codes`, read
    again from the rollup (after `merge_visit_month_pairs`)."""
    grids, months = sorted(set(grid_codes)), sorted({day.replace(day=1) for day in days})
    if grids and months:
        _recount(connection, county_code, grids, months)


def _month_pairs(dialect: str) -> Select:
    """The rollup's rows as patrol_visits gives them (narrow with `.where`)."""
    visits = table_of(PatrolVisit)
    return select(
        visits.c.county_code, month_of_day(dialect, visits.c.day), visits.c.household_id, visits.c.grid_code
    ).distinct()


def _recount(
    connection: Connection, county_code: str, grid_codes: Iterable[str] | None, days: Iterable[dt.date] | None
) -> None:
    """The per-grid counts of the rollup rows just rebuilt (the same months × grids)."""
    rollup, counts = table_of(PatrolVisitMonth), table_of(PatrolVisitMonthGrid)
    drop = delete(counts).where(counts.c.county_code == county_code)
    source = (
        select(rollup.c.county_code, rollup.c.month, rollup.c.grid_code, func.count())
        .where(rollup.c.county_code == county_code)
        .group_by(rollup.c.county_code, rollup.c.month, rollup.c.grid_code)
    )
    if grid_codes is not None:
        grids = sorted(set(grid_codes))
        drop, source = drop.where(counts.c.grid_code.in_(grids)), source.where(rollup.c.grid_code.in_(grids))
    if days is not None:
        months = sorted({day.replace(day=1) for day in days})
        drop, source = drop.where(counts.c.month.in_(months)), source.where(rollup.c.month.in_(months))
    connection.execute(drop)
    connection.execute(insert(counts).from_select(["county_code", "month", "grid_code", "visited"], source))


@event.listens_for(Session, "after_flush")
def _refresh_after_flush(session: Session, _flush: UOWTransaction) -> None:
    touched: dict[str, tuple[set[dt.date], set[str]]] = {}
    for instance in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(instance, PatrolVisit):
            continue
        state = inspect(instance)
        counties = {instance.county_code, *state.attrs["county_code"].history.deleted}
        days = {instance.day, *state.attrs["day"].history.deleted}
        grids = {instance.grid_code, *state.attrs["grid_code"].history.deleted}
        for county in counties:
            months, grid_set = touched.setdefault(county, (set(), set()))
            months.update(days)
            grid_set.update(grids)
    connection = session.connection() if touched else None
    for county, (days, grids) in touched.items():
        assert connection is not None
        refresh_visit_months(connection, county, days=days, grid_codes=grids)
