"""The fixes' `(county_code, ts)` index goes (issue 18): nothing reads fixes by time alone except
retention.  A fixes import's fixes went into it each at a random place of the day, the dearest
part of storing them: a county day of 425,000 fixes took 2.7 s to COPY on PostgreSQL, 1.7 s
without it, whose day partitions need no index to find a day.  SQLite gets an index by local day
instead (`models.SQLITE_FIX_DAY`), for retention to find and delete a day: ordered by day, then
by the key, a day's fixes written worker by worker go in at its end (SQLite, 425,000 fixes:
1.9 → 0.8 s).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 18:40:00
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

TIME_INDEX = "ix_patrol_fixes_county_code_ts"
DAY_INDEX = "ix_patrol_fixes_local_day"
# frozen here as 0024 made it (UTC+8, microseconds)
SQLITE_DAY = "(ts + 28800000000) / 86400000000"


def upgrade() -> None:
    op.execute(f"DROP INDEX {TIME_INDEX}")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE INDEX {DAY_INDEX} ON patrol_fixes ({SQLITE_DAY})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP INDEX {DAY_INDEX}")
    op.execute(f"CREATE INDEX {TIME_INDEX} ON patrol_fixes (county_code, ts)")
