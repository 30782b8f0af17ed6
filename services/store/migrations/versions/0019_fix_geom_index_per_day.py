"""The GiST index of the fixes' points per day partition, built once the day's fixes are in,
instead of one on the whole partitioned table kept up fix by fix (PostgreSQL only; issue 18).

Keeping it up row by row was the costliest part of storing a county day of fixes: COPY of
425,000 fixes took 9.1 s with it and 5.1 s without, and building it afterwards in bulk 0.9 s.  No
query of the application reads it; it is there for GIS staff opening the fixes in QGIS.  This
migration builds it on the partitions of the days before yesterday (~1 s a county day: ~7 minutes
for a county keeping 400 days), and leaves yesterday, today and the days ahead to `maintain`,
which builds it once a day's fixes have stopped arriving (`services.store.fix_partitions`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 16:00:00
"""

import datetime as dt

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

LOCAL = dt.timezone(dt.timedelta(hours=8))
ARRIVING_DAYS = 1  # as services.store.fix_partitions had it when this was written
DAY_PARTITIONS = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'patrol_fixes'::regclass AND c.relname ~ '^patrol_fixes_d[0-9]{8}$' ORDER BY 1"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_patrol_fixes_geom")  # with the index of every partition
    last = f"patrol_fixes_d{dt.datetime.now(LOCAL).date() - dt.timedelta(days=ARRIVING_DAYS + 1):%Y%m%d}"
    for (partition,) in op.get_bind().exec_driver_sql(DAY_PARTITIONS).all():
        if partition <= last:  # the names sort by day
            op.execute(f"CREATE INDEX ix_{partition}_geom ON {partition} USING gist (geom)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for (partition,) in op.get_bind().exec_driver_sql(DAY_PARTITIONS).all():
        op.execute(f"DROP INDEX IF EXISTS ix_{partition}_geom")
    op.execute("CREATE INDEX ix_patrol_fixes_geom ON patrol_fixes USING gist (geom)")
