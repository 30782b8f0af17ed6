"""网格员月度考核 (issue 16): the county's versioned rule table, supervisors' awards (加分) and
the decisions on 问题回溯 candidates.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_rule_versions",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "version", name=op.f("pk_assessment_rule_versions")),
    )
    op.create_table(
        "assessment_awards",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("award_id", sa.String(length=32), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("awarded_at", UtcDateTime(), nullable=False),
        sa.Column("awarded_by", sa.String(length=32), nullable=False),
        sa.Column("awarder_name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "award_id", name=op.f("pk_assessment_awards")),
    )
    op.create_index(
        op.f("ix_assessment_awards_county_code_month_worker_id"),
        "assessment_awards",
        ["county_code", "month", "worker_id"],
    )
    op.create_table(
        "miss_decisions",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=False),
        sa.Column("decider_name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "incident_id", name=op.f("pk_miss_decisions")),
    )
    op.create_index(op.f("ix_miss_decisions_county_code_month"), "miss_decisions", ["county_code", "month"])


def downgrade() -> None:
    op.drop_index(op.f("ix_miss_decisions_county_code_month"), table_name="miss_decisions")
    op.drop_table("miss_decisions")
    op.drop_index(op.f("ix_assessment_awards_county_code_month_worker_id"), table_name="assessment_awards")
    op.drop_table("assessment_awards")
    op.drop_table("assessment_rule_versions")
