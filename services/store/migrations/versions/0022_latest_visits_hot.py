"""patrol_visit_latest without an index on its times (issue 18): the newest end it holds is kept
in `patrol_visit_latest_ends`, and on PostgreSQL no index holds last_start either, in pages kept
half empty, so the fixes import's updates of a county day (~180,000 rows) are HOT ones, written in
place with no index entry: 2.8 → 1.3 s.  SQLite keeps its per-grid index on last_start, which
counts the county's 7 days in 0.02 s instead of 0.06 s.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 15:10:00
"""

import sqlalchemy as sa
from alembic import op

from services.store.types import UtcDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

FILLFACTOR = 50  # frozen here; the models' LATEST_FILLFACTOR


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "patrol_visit_latest_ends",
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("last_end", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", name="pk_patrol_visit_latest_ends"),
    )
    op.execute(
        "INSERT INTO patrol_visit_latest_ends (county_code, last_end) "
        "SELECT county_code, max(last_end) FROM patrol_visit_latest GROUP BY county_code"
    )
    op.drop_index("ix_patrol_visit_latest_county_code_last_end", table_name="patrol_visit_latest")
    if postgres:
        op.drop_index("ix_patrol_visit_latest_county_code_grid_code_last_start", table_name="patrol_visit_latest")
        op.execute(f"ALTER TABLE patrol_visit_latest SET (fillfactor = {FILLFACTOR})")
        # rewritten, so the rows already there leave the room too
        op.execute("CLUSTER patrol_visit_latest USING pk_patrol_visit_latest")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE patrol_visit_latest RESET (fillfactor)")
        op.create_index(
            "ix_patrol_visit_latest_county_code_grid_code_last_start",
            "patrol_visit_latest",
            ["county_code", "grid_code", "last_start"],
        )
    op.create_index("ix_patrol_visit_latest_county_code_last_end", "patrol_visit_latest", ["county_code", "last_end"])
    op.drop_table("patrol_visit_latest_ends")
