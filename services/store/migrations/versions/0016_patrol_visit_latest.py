"""Each household's latest patrol visit per grid (patrol_visit_latest, issue 18): the live map's
7-day coverage counts one row per visited household instead of a week of worker-day visits.
Filled from the visits already stored.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 17:30:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrol_visit_latest",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("household_id", sa.String(length=32), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("last_start", UtcDateTime(), nullable=False),
        sa.Column("last_end", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "household_id", "grid_code", name=op.f("pk_patrol_visit_latest")),
    )
    op.create_index(
        op.f("ix_patrol_visit_latest_county_code_grid_code_last_start"),
        "patrol_visit_latest",
        ["county_code", "grid_code", "last_start"],
    )
    op.create_index(op.f("ix_patrol_visit_latest_county_code_last_end"), "patrol_visit_latest", ["county_code", "last_end"])
    op.execute(
        "INSERT INTO patrol_visit_latest (county_code, household_id, grid_code, last_start, last_end) "
        "SELECT county_code, household_id, grid_code, max(last_start), max(last_end) FROM patrol_visits "
        "GROUP BY county_code, household_id, grid_code"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_patrol_visit_latest_county_code_last_end"), table_name="patrol_visit_latest")
    op.drop_index(op.f("ix_patrol_visit_latest_county_code_grid_code_last_start"), table_name="patrol_visit_latest")
    op.drop_table("patrol_visit_latest")
