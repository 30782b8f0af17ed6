"""Index of events by action and time: the reopenings of a period (statistics, assessment) were a
walk over every case of the county and its events (0.5 s on the county demo), now an index range.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 15:00:00
"""

from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_incident_events_county_code_action_at"), "incident_events", ["county_code", "action", "at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_events_county_code_action_at"), table_name="incident_events")
