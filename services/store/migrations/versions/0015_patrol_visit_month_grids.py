"""The monthly visit rollup counted per grid (patrol_visit_month_grids): a county month's coverage
reads one row per grid.  Filled from patrol_visit_months.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrol_visit_month_grids",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("visited", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "month", "grid_code", name=op.f("pk_patrol_visit_month_grids")),
    )
    op.execute(
        "INSERT INTO patrol_visit_month_grids (county_code, month, grid_code, visited) "
        "SELECT county_code, month, grid_code, count(*) FROM patrol_visit_months GROUP BY county_code, month, grid_code"
    )


def downgrade() -> None:
    op.drop_table("patrol_visit_month_grids")
