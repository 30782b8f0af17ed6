"""Workers' last known position, derived from their fixes (kept on `workers` for fast reads)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Connection, ScalarSelect, select, update
from sqlalchemy.orm import QueryableAttribute, aliased

from services.store.models import PatrolFix, Worker

T = TypeVar("T")


def refresh_last_positions(connection: Connection, county_code: str) -> None:
    """Set each worker's last_lon/last_lat/last_fix_at from their latest fix (one index seek per
    worker on the (county, worker, ts) key)."""
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
