"""`python -m services.cli maintain`: what keeps the store fast for years, run daily from cron.

GPS fixes older than the kept days go — on PostgreSQL by dropping their days' partitions, on
SQLite by deleting their rows — but only days whose every worker-day with fixes has its summary
(`patrol_days`, written with its visits by the import that brought the fixes): a day that lacks
one is kept and named.  The figures never read fixes (visits, their rollups and the patrol days
hold everything they count), so no figure of an old period changes when its fixes go.  On
PostgreSQL the next days' partitions are also made ahead, fixes that landed in the default
partition move into partitions of their days, and the days whose fixes have stopped arriving get
the GiST index of their points."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Connection, delete, exists, select

from services.domain import LOCAL_TZ
from services.errors import InvalidArgumentError
from services.store.engine import SessionFactory
from services.store.fix_partitions import (
    day_partitions,
    days_in_default,
    drop_day_partition,
    ensure_day_partitions,
    fixes_of_day,
    index_day_points,
    is_partitioned,
    sqlite_fix_days_before,
    unindexed_days,
)
from services.store.models import PatrolDay, PatrolFix

AHEAD_DAYS = 7  # partitions made ahead: a week of imports and simulator fixes without a maintain


@dataclasses.dataclass(frozen=True)
class MaintainSummary:
    keep_from: dt.date  # the oldest local day whose fixes are kept
    partitions_made: tuple[dt.date, ...]
    partitions_indexed: tuple[dt.date, ...]  # days whose points got their GiST index
    days_dropped: tuple[dt.date, ...]
    fixes_deleted: int  # rows deleted (SQLite, or old fixes waiting in the default partition)
    days_kept_unsummarised: tuple[dt.date, ...]  # old days with a worker-day lacking its summary

    def as_dict(self) -> dict[str, object]:
        return {
            name: value.isoformat()
            if isinstance(value, dt.date)
            else [d.isoformat() for d in value]
            if isinstance(value, tuple)
            else value
            for name, value in dataclasses.asdict(self).items()
        }


def maintain_store(session_factory: SessionFactory, *, now: dt.datetime, keep_days: int) -> MaintainSummary:
    if keep_days < 1:
        raise InvalidArgumentError("保留天数必须为正整数")
    today = now.astimezone(LOCAL_TZ).date()
    keep_from = today - dt.timedelta(days=keep_days)
    with session_factory.begin() as session:
        connection = session.connection()
        partitioned = is_partitioned(connection)
        made = ensure_day_partitions(
            connection, [*days_in_default(connection), *(today + dt.timedelta(days=n) for n in range(AHEAD_DAYS + 1))]
        )
    with session_factory() as session:
        connection = session.connection()
        old_days = (
            [d for d in day_partitions(connection) if d < keep_from]
            if partitioned
            else sqlite_fix_days_before(connection, keep_from)
        )
        unsummarised = tuple(d for d in old_days if _lacks_summary(connection, d))
    dropped, deleted = [], 0
    for day in old_days:
        if day in unsummarised:
            continue
        with session_factory.begin() as session:  # one day per transaction: short locks, progress kept
            connection = session.connection()
            if partitioned:
                drop_day_partition(connection, day)
            else:
                deleted += _delete_day(connection, day)
        dropped.append(day)
    indexed = index_finished_days(session_factory, today)
    return MaintainSummary(
        keep_from=keep_from,
        partitions_made=tuple(made),
        partitions_indexed=tuple(indexed),
        days_dropped=tuple(dropped),
        fixes_deleted=deleted,
        days_kept_unsummarised=unsummarised,
    )


def index_finished_days(session_factory: SessionFactory, today: dt.date) -> list[dt.date]:
    """Build the GiST index of the points of every day partition whose fixes have stopped
    arriving and that has none yet; the days indexed, oldest first (none on SQLite)."""
    with session_factory() as session:
        unindexed = unindexed_days(session.connection(), today)
    indexed = []
    for day in unindexed:
        with session_factory.begin() as session:  # one day per transaction: each partition locked ~1 s
            if index_day_points(session.connection(), day):
                indexed.append(day)
    return indexed


def _lacks_summary(connection: Connection, day: dt.date) -> bool:
    workers = (
        select(PatrolFix.county_code, PatrolFix.worker_id).where(fixes_of_day(connection, day)).distinct().subquery()
    )
    summarised = exists().where(
        PatrolDay.county_code == workers.c.county_code, PatrolDay.worker_id == workers.c.worker_id, PatrolDay.day == day
    )
    return bool(connection.scalar(select(exists().select_from(workers).where(~summarised))))


def _delete_day(connection: Connection, day: dt.date) -> int:
    return connection.execute(delete(PatrolFix).where(fixes_of_day(connection, day))).rowcount
