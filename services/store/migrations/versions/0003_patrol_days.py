"""Per worker and day patrol summaries (distance, time, stops, flags), kept by the fixes import.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:00:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrol_days",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("fixes", sa.Integer(), nullable=False),
        sa.Column("first_ts", UtcDateTime(), nullable=False),
        sa.Column("last_ts", UtcDateTime(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("patrol_s", sa.Integer(), nullable=False),
        sa.Column("stops", sa.Integer(), nullable=False),
        sa.Column("outside_share", sa.Float(), nullable=False),
        sa.Column("visited", sa.Integer(), nullable=False),
        sa.Column("flags", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "worker_id", "day", name=op.f("pk_patrol_days")),
    )
    op.create_index(op.f("ix_patrol_days_county_code_day"), "patrol_days", ["county_code", "day"])


def downgrade() -> None:
    op.drop_index(op.f("ix_patrol_days_county_code_day"), table_name="patrol_days")
    op.drop_table("patrol_days")
