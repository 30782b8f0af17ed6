"""GPS fixes by local day: on PostgreSQL `patrol_fixes` is partitioned by range of `ts`, one
partition per Asia/Shanghai day (`patrol_fixes_d20261123`) and a default partition that takes any
fix whose day has none yet (migration 0018).  A day's partition is made before the fixes of that
day are written — by the fixes import, ahead of time by `maintain` — in a short transaction of
its own, since attaching takes a lock on the whole table; `maintain` also moves fixes that landed
in the default partition into partitions of their days, and retention drops whole partitions.
The GiST index of a partition's points (for QGIS; no query here reads it) is built by `maintain`
once the day's fixes have stopped arriving (migration 0019): kept up fix by fix it made storing a
county day of fixes take 9.1 s instead of 5.1 s, built in bulk afterwards it takes 0.9 s.
SQLite keeps the one table (`is_partitioned` is false there), indexed by local day (migration 0024)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, and_, func, literal_column, select, text
from sqlalchemy.sql.elements import ColumnElement

from services.domain import LOCAL_TZ
from services.store.models import SQLITE_FIX_DAY, PatrolFix

TABLE = "patrol_fixes"
DAY_PREFIX = "patrol_fixes_d"
DEFAULT_PARTITION = "patrol_fixes_default"
_TURN = "patrol-fix-partitions"  # one maker of partitions at a time, across counties
# One builder of point indexes at a time, on a turn of its own: a build holds its day's partition
# for a while, and partitions for imports must not wait on it.
_INDEX_TURN = "patrol-fix-point-indexes"
# A day's fixes keep arriving on the next day (phones upload late; a day's file is imported the
# next morning): its points are indexed after that.
ARRIVING_DAYS = 1


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.scalar(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE})
    return kind == "p"


def partition_name(day: dt.date) -> str:
    return f"{DAY_PREFIX}{day:%Y%m%d}"


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants [start, end) of a local day: a partition's range."""
    start = dt.datetime.combine(day, dt.time(), LOCAL_TZ)
    return start, start + dt.timedelta(days=1)


_EPOCH_DAY = dt.date(1970, 1, 1)


def fixes_of_day(connection: Connection, day: dt.date) -> ColumnElement[bool]:
    """The fixes of a local day, as each engine finds them fast: on SQLite by the local-day index
    (its expression spelled as the index's), on PostgreSQL by the day partition's range."""
    if connection.dialect.name == "sqlite":
        return _sqlite_fix_day() == (day - _EPOCH_DAY).days
    start, end = day_bounds(day)
    return and_(PatrolFix.ts >= start, PatrolFix.ts < end)


def sqlite_fix_days_before(connection: Connection, day: dt.date) -> list[dt.date]:
    """The local days of SQLite's stored fixes before `day`, whichever county they belong to,
    oldest first: read from the local-day index alone."""
    fix_day = _sqlite_fix_day()
    numbers = connection.scalars(
        select(fix_day).select_from(PatrolFix).where(fix_day < (day - _EPOCH_DAY).days).distinct().order_by(fix_day)
    )
    return [_EPOCH_DAY + dt.timedelta(days=number) for number in numbers]


def _sqlite_fix_day() -> ColumnElement[int]:
    return literal_column(SQLITE_FIX_DAY)


def day_partitions(connection: Connection) -> list[dt.date]:
    """The days that have a partition, oldest first."""
    names = connection.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t) AND c.relname ~ :p"
        ),
        {"t": TABLE, "p": f"^{DAY_PREFIX}[0-9]{{8}}$"},
    )
    return sorted(dt.datetime.strptime(name.removeprefix(DAY_PREFIX), "%Y%m%d").date() for name in names)


def ensure_day_partitions(connection: Connection, days: Iterable[dt.date]) -> list[dt.date]:
    """Make the partitions of `days` that are missing (inside the caller's transaction, which
    should be short: commit it before writing fixes); fixes of those days already in the default
    partition move into them.  The days made, oldest first; nothing on SQLite."""
    wanted = sorted(set(days))
    if not wanted or not is_partitioned(connection):
        return []
    connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(_TURN))))
    present = set(day_partitions(connection))
    made = []
    for day in wanted:
        if day in present:
            continue
        start, end = day_bounds(day)
        name = partition_name(day)
        bounds = {"start": start, "end": end}
        # Fixes of the day in the default partition would refuse the new one: they move with it.
        connection.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING GENERATED)"))
        connection.execute(
            text(
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE ts >= :start AND ts < :end RETURNING "
                "county_code, worker_id, ts, lon, lat, accuracy_m) "
                f"INSERT INTO {name} (county_code, worker_id, ts, lon, lat, accuracy_m) SELECT * FROM moved"
            ),
            bounds,
        )
        # DDL takes no parameters: the bounds are written out (made from a date, never from input).
        connection.execute(
            text(
                f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        )
        made.append(day)
    return made


def geom_index_name(day: dt.date) -> str:
    return f"ix_{partition_name(day)}_geom"


def unindexed_days(connection: Connection, today: dt.date) -> list[dt.date]:
    """The day partitions whose fixes have stopped arriving and whose points have no GiST index yet."""
    if not is_partitioned(connection):
        return []
    last = today - dt.timedelta(days=ARRIVING_DAYS + 1)
    indexes = set(
        connection.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename ~ :p"), {"p": f"^{DAY_PREFIX}"})
    )
    return [day for day in day_partitions(connection) if day <= last and geom_index_name(day) not in indexes]


def index_day_points(connection: Connection, day: dt.date) -> bool:
    """Build the GiST index of a day partition's points, in the caller's transaction (the
    partition takes no writes until it commits: ~1 s a county day); False where another maker
    built it first or the day has no partition."""
    connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(_INDEX_TURN))))
    if day not in day_partitions(connection) or connection.scalar(
        text("SELECT to_regclass(:i)"), {"i": geom_index_name(day)}
    ):
        return False
    connection.execute(text(f"CREATE INDEX {geom_index_name(day)} ON {partition_name(day)} USING gist (geom)"))
    return True


def days_in_default(connection: Connection) -> list[dt.date]:
    """Local days of the fixes that wait in the default partition."""
    if not is_partitioned(connection):
        return []
    days = connection.scalars(text(f"SELECT DISTINCT (ts AT TIME ZONE 'Asia/Shanghai')::date FROM {DEFAULT_PARTITION}"))
    return sorted(days)


def drop_day_partition(connection: Connection, day: dt.date) -> None:
    connection.execute(text(f"DROP TABLE {partition_name(day)}"))


def local_days_between(first: dt.datetime, last: dt.datetime) -> list[dt.date]:
    """Every local day from the one of `first` to the one of `last`."""
    day, end = first.astimezone(LOCAL_TZ).date(), last.astimezone(LOCAL_TZ).date()
    days = []
    while day <= end:
        days.append(day)
        day += dt.timedelta(days=1)
    return days
