"""Writing the demo county into a store, in one transaction, in dependency order."""

from __future__ import annotations

from sqlalchemy import Engine, delete

from services.cli.demo import DemoCounty
from services.store.bulk import insert_frame
from services.store.fix_partitions import ensure_day_partitions, local_days_between
from services.store.models import Base
from services.store.positions import refresh_last_positions
from services.store.visit_latest import rebuild_latest_visits
from services.store.visit_months import refresh_visit_months

TABLE_ORDER = (
    "areas",
    "households",
    "household_tags",
    "workers",
    "worker_grids",
    "departments",
    "department_categories",
    "incidents",
    "incident_events",
    "patrol_fixes",
    "patrol_logs",
    "patrol_visits",
    "patrol_days",
    "users",
    "user_areas",
    "handling_limits",
)


def load_demo(engine: Engine, demo: DemoCounty) -> dict[str, int]:
    """Replace the county's rows with the demo's; returns rows written per table."""
    written: dict[str, int] = {}
    fixes = demo.tables["patrol_fixes"]
    if not fixes.empty:
        with engine.begin() as connection:
            ensure_day_partitions(connection, local_days_between(fixes["ts"].min(), fixes["ts"].max()))
    with engine.begin() as connection:
        for name in reversed(TABLE_ORDER):
            table = Base.metadata.tables[name]
            connection.execute(delete(table).where(table.c.county_code == demo.county_code))
        for name in TABLE_ORDER:
            written[name] = insert_frame(connection, Base.metadata.tables[name], demo.tables[name])
        refresh_visit_months(connection, demo.county_code)
        rebuild_latest_visits(connection, demo.county_code)
        refresh_last_positions(connection, demo.county_code)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")  # fresh statistics, so the planners pick the area-code indexes
    return written
