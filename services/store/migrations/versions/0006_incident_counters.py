"""Per county and day counters of report numbers: simultaneous reports no longer read the same
`max + 1` (issue 13).  Existing SJ ids need no copying: a report skips numbers already stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_counters",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "day", name=op.f("pk_incident_counters")),
    )


def downgrade() -> None:
    op.drop_table("incident_counters")
