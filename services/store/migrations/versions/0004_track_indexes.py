"""Indexes for patrol reads: households by longitude (the households near one day's track) and
visits by worker and day (recomputing a worker-day's visits on import).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:20:00
"""

from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_households_county_code_lon"), "households", ["county_code", "lon"])
    op.create_index(op.f("ix_patrol_visits_county_code_worker_id_day"), "patrol_visits", ["county_code", "worker_id", "day"])


def downgrade() -> None:
    op.drop_index(op.f("ix_patrol_visits_county_code_worker_id_day"), table_name="patrol_visits")
    op.drop_index(op.f("ix_households_county_code_lon"), table_name="households")
