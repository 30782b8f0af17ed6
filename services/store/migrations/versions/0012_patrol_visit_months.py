"""The monthly rollup of patrol visits (issue 15): the distinct households visited per grid and
local calendar month, so a month's coverage does not read every worker-day's visit.  Filled from
the visits already stored.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The first day of the visit's month, as each engine stores a DATE (SQLite: ISO text).
MONTH_OF_DAY = {
    "sqlite": "date(day, 'start of month')",
    "postgresql": "CAST(date_trunc('month', CAST(day AS timestamp)) AS date)",
}


def upgrade() -> None:
    op.create_table(
        "patrol_visit_months",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("household_id", sa.String(length=32), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.PrimaryKeyConstraint(
            "county_code", "month", "household_id", "grid_code", name=op.f("pk_patrol_visit_months")
        ),
    )
    op.create_index(
        op.f("ix_patrol_visit_months_county_code_month_grid_code"),
        "patrol_visit_months",
        ["county_code", "month", "grid_code"],
    )
    month = MONTH_OF_DAY[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO patrol_visit_months (county_code, month, household_id, grid_code) "
        f"SELECT DISTINCT county_code, {month}, household_id, grid_code FROM patrol_visits"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_patrol_visit_months_county_code_month_grid_code"), table_name="patrol_visit_months")
    op.drop_table("patrol_visit_months")
