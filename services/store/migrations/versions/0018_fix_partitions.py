"""GPS fixes partitioned by local day on PostgreSQL (issue 19): `patrol_fixes` becomes a table
partitioned by range of `ts`, one partition per Asia/Shanghai day (`patrol_fixes_d20261123`)
plus a default partition, keeping its county-first key, its index and its generated PostGIS
point; the stored fixes move into partitions of their days.  Retention then drops a day's
partition instead of deleting rows (`services.operations.maintain`).  SQLite keeps the one table.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 21:10:00
"""

import datetime as dt

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LOCAL = dt.timezone(dt.timedelta(hours=8))
COLUMNS = "county_code, worker_id, ts, lon, lat, accuracy_m"


def _create(table: str, partitioned: bool) -> None:
    op.execute(
        f"CREATE TABLE {table} ("
        "county_code VARCHAR(6) NOT NULL, worker_id VARCHAR(32) NOT NULL, ts TIMESTAMP WITH TIME ZONE NOT NULL, "
        "lon FLOAT NOT NULL, lat FLOAT NOT NULL, accuracy_m FLOAT NOT NULL, "
        "geom geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED, "
        f"CONSTRAINT pk_{table} PRIMARY KEY (county_code, worker_id, ts))" + (" PARTITION BY RANGE (ts)" if partitioned else "")
    )
    op.execute(f"CREATE INDEX ix_{table}_county_code_ts ON {table} (county_code, ts)")
    op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING gist (geom)")


def _rename_away(old: str, new: str) -> None:
    op.execute(f"ALTER TABLE {old} RENAME TO {new}")
    op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}")
    op.execute(f"ALTER INDEX ix_{old}_county_code_ts RENAME TO ix_{new}_county_code_ts")
    op.execute(f"ALTER INDEX ix_{old}_geom RENAME TO ix_{new}_geom")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rename_away("patrol_fixes", "patrol_fixes_unpartitioned")
    _create("patrol_fixes", partitioned=True)
    op.execute("CREATE TABLE patrol_fixes_default PARTITION OF patrol_fixes DEFAULT")
    days = op.get_bind().exec_driver_sql(
        "SELECT DISTINCT (ts AT TIME ZONE 'Asia/Shanghai')::date FROM patrol_fixes_unpartitioned ORDER BY 1"
    )
    for (day,) in days.all():
        start = dt.datetime.combine(day, dt.time(), LOCAL)
        end = start + dt.timedelta(days=1)
        op.execute(
            f"CREATE TABLE patrol_fixes_d{day:%Y%m%d} PARTITION OF patrol_fixes "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    op.execute(f"INSERT INTO patrol_fixes ({COLUMNS}) SELECT {COLUMNS} FROM patrol_fixes_unpartitioned")
    op.execute("DROP TABLE patrol_fixes_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rename_away("patrol_fixes", "patrol_fixes_partitioned")
    _create("patrol_fixes", partitioned=False)
    op.execute(f"INSERT INTO patrol_fixes ({COLUMNS}) SELECT {COLUMNS} FROM patrol_fixes_partitioned")
    op.execute("DROP TABLE patrol_fixes_partitioned")  # with its partitions
