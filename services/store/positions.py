"""Workers' last known position, derived from their fixes (kept on `workers` for fast reads)."""

from __future__ import annotations

from typing import TypeVar

import pandas as pd
from sqlalchemy import Connection, ScalarSelect, bindparam, or_, select, update
from sqlalchemy.orm import QueryableAttribute, aliased

from services.store.models import PatrolFix, Worker

T = TypeVar("T")


def refresh_last_positions(connection: Connection, county_code: str) -> None:
    """Set each worker's last_lon/last_lat/last_fix_at from their latest fix (one index seek per
    worker on the (county, worker, ts) key, in every day partition on PostgreSQL: for a whole
    load, such as the demo's; writers of new fixes call `advance_last_positions`)."""
    latest = aliased(PatrolFix)

    def newest(column: QueryableAttribute[T]) -> ScalarSelect[T]:
        return (
            select(column)
            .where(latest.county_code == Worker.county_code, latest.worker_id == Worker.worker_id)
            .order_by(latest.ts.desc())
            .limit(1)
            .scalar_subquery()
        )

    connection.execute(
        update(Worker)
        .where(Worker.county_code == county_code)
        .values(last_lon=newest(latest.lon), last_lat=newest(latest.lat), last_fix_at=newest(latest.ts))
    )


def advance_last_positions(connection: Connection, fixes: pd.DataFrame) -> None:
    """Move each worker's last position to their latest fix in `fixes` (county_code, worker_id,
    ts, lon, lat) unless the position held is newer: one keyed update per worker.  Every writer
    of fixes calls it, so the position held is the latest stored; reading the latest fix back
    instead costs a seek in each of a year's day partitions per worker."""
    if fixes.empty:
        return
    latest = fixes.sort_values("ts", kind="stable").drop_duplicates(["county_code", "worker_id"], keep="last")
    statement = (
        update(Worker)
        .where(
            Worker.county_code == bindparam("county"),
            Worker.worker_id == bindparam("worker"),
            or_(Worker.last_fix_at.is_(None), Worker.last_fix_at <= bindparam("at")),
        )
        .values(last_lon=bindparam("lon"), last_lat=bindparam("lat"), last_fix_at=bindparam("at"))
    )
    rows = [
        {"county": county, "worker": worker, "at": at.to_pydatetime(), "lon": float(lon), "lat": float(lat)}
        for county, worker, at, lon, lat in zip(
            latest["county_code"],
            latest["worker_id"],
            pd.to_datetime(latest["ts"], utc=True),
            latest["lon"],
            latest["lat"],
            strict=True,
        )
    ]
    connection.execute(statement, rows)
