"""Keeping `patrol_visit_latest` (each household's latest visit per grid) equal to the latest
segment starts and ends of its rows in patrol_visits.

The fixes import adds visits of new worker-days far more often than it replaces stored ones: new
visits are merged in (the later of the stored and the new times), and only the households whose
stored visits were replaced are read again from patrol_visits.  The demo load rebuilds the
county; visits written or deleted through the ORM refresh their households at flush.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Set

import pandas as pd
from sqlalchemy import Connection, Select, Table, delete, event, func, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.sql.elements import ColumnElement

from services.store.models import PatrolVisit, PatrolVisitLatest, PatrolVisitLatestEnd, table_of

CHUNK = 500  # households per statement when re-reading replaced ones


def rebuild_latest_visits(
    connection: Connection,
    county_code: str,
    household_ids: Iterable[str] | None = None,
    grid_codes: Iterable[str] = (),
) -> None:
    """The rollup rows of `household_ids` (None: the whole county) read again from patrol_visits,
    in the caller's transaction.  Their visits are read in the grids the rollup holds for them and
    in `grid_codes` (those of visits written since): patrol_visits is keyed by worker-day, and
    reaches a household through its grid."""
    latest = table_of(PatrolVisitLatest)
    if household_ids is None:
        _rebuild(connection, county_code, None)
        # the county's rows all rewritten: its newest end is set anew, here alone lowered
        connection.execute(
            delete(table_of(PatrolVisitLatestEnd)).where(PatrolVisitLatestEnd.county_code == county_code)
        )
        _keep_newest_end(connection, latest, latest.c.county_code == county_code)
        return
    ids = sorted(set(household_ids))
    if not ids:
        return
    extra = set(grid_codes)
    for first in range(0, len(ids), CHUNK):
        _rebuild(connection, county_code, ids[first : first + CHUNK], extra)
    _keep_newest_end(connection, latest, latest.c.county_code == county_code)


def _rebuild(connection: Connection, county_code: str, ids: list[str] | None, grids: Set[str] = frozenset()) -> None:
    latest, visits = table_of(PatrolVisitLatest), table_of(PatrolVisit)
    drop = delete(latest).where(latest.c.county_code == county_code)
    source = _latest_of_visits(county_code)
    if ids is not None:
        held = connection.scalars(
            select(latest.c.grid_code)
            .distinct()
            .where(latest.c.county_code == county_code, latest.c.household_id.in_(ids))
        ).all()
        drop = drop.where(latest.c.household_id.in_(ids))
        source = source.where(visits.c.grid_code.in_(sorted(grids | set(held))), visits.c.household_id.in_(ids))
    connection.execute(drop)
    connection.execute(
        insert(latest).from_select(["county_code", "household_id", "grid_code", "last_start", "last_end"], source)
    )


def _latest_of_visits(county_code: str) -> Select:
    """The rollup's rows as patrol_visits gives them (the county's; narrow with `.where`)."""
    visits = table_of(PatrolVisit)
    return (
        select(
            visits.c.county_code,
            visits.c.household_id,
            visits.c.grid_code,
            func.max(visits.c.last_start),
            func.max(visits.c.last_end),
        )
        .where(visits.c.county_code == county_code)
        .group_by(visits.c.county_code, visits.c.household_id, visits.c.grid_code)
    )


def merge_latest_visits(
    connection: Connection, county_code: str, worker_ids: Iterable[str], first_day: dt.date, last_day: dt.date
) -> None:
    """Merge the stored visits of `worker_ids` on the days [first_day, last_day] (those an import
    just wrote) into the rollup, in one statement: each row keeps the later of its times."""
    workers = sorted(set(worker_ids))
    if not workers:
        return
    latest, visits = table_of(PatrolVisitLatest), table_of(PatrolVisit)
    written = (visits.c.worker_id.in_(workers), visits.c.day >= first_day, visits.c.day <= last_day)
    source = _latest_of_visits(county_code).where(*written)
    postgres = connection.dialect.name == "postgresql"
    statement = (postgresql.insert if postgres else sqlite.insert)(latest).from_select(
        ["county_code", "household_id", "grid_code", "last_start", "last_end"], source
    )
    later = func.greatest if postgres else func.max  # SQLite's two-argument max() is the scalar one
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["county_code", "household_id", "grid_code"],
            set_={
                "last_start": later(latest.c.last_start, statement.excluded.last_start),
                "last_end": later(latest.c.last_end, statement.excluded.last_end),
            },
        )
    )
    _keep_newest_end(connection, visits, visits.c.county_code == county_code, *written)


def _keep_newest_end(connection: Connection, table: Table, *where: ColumnElement[bool]) -> None:
    """Raise the county's kept newest end to the latest `last_end` of `table`'s rows `where`
    (the county's first), never lower it (PatrolVisitLatestEnd)."""
    ends = table_of(PatrolVisitLatestEnd)
    newest = select(table.c.county_code, func.max(table.c.last_end)).where(*where).group_by(table.c.county_code)
    postgres = connection.dialect.name == "postgresql"
    statement = (postgresql.insert if postgres else sqlite.insert)(ends).from_select(
        ["county_code", "last_end"], newest
    )
    later = func.greatest if postgres else func.max
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["county_code"], set_={"last_end": later(ends.c.last_end, statement.excluded.last_end)}
        )
    )


def households_to_rebuild(replaced: pd.DataFrame, written: pd.DataFrame) -> list[str]:
    """Of the households whose visits were deleted (`replaced`) and rewritten (`written`, the
    same worker-days recomputed; both: household_id, grid_code, last_start, last_end), those the
    merge would leave too late: a deleted visit held a later time than every new one, so their
    rows must be read again.  Recomputing a day from more fixes rarely moves a visit earlier."""
    if replaced.empty:
        return []
    keys = ["household_id", "grid_code"]
    old = replaced.groupby(keys)[["last_start", "last_end"]].max()
    new = written.groupby(keys)[["last_start", "last_end"]].max().reindex(old.index)
    lowered = new["last_start"].isna() | (new["last_start"] < old["last_start"]) | (new["last_end"] < old["last_end"])
    return sorted(set(old.index[lowered.to_numpy()].get_level_values("household_id")))


@event.listens_for(Session, "after_flush")
def _refresh_after_flush(session: Session, _flush: UOWTransaction) -> None:
    touched: dict[str, tuple[set[str], set[str]]] = {}
    for instance in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(instance, PatrolVisit):
            continue
        state = inspect(instance)
        counties = {instance.county_code, *state.attrs["county_code"].history.deleted}
        households = {instance.household_id, *state.attrs["household_id"].history.deleted}
        grids = {instance.grid_code, *state.attrs["grid_code"].history.deleted}
        for county in counties:
            held_households, held_grids = touched.setdefault(county, (set(), set()))
            held_households.update(households)
            held_grids.update(grids)
    for county, (households, grids) in touched.items():
        rebuild_latest_visits(session.connection(), county, households, grids)
