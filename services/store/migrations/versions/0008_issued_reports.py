"""Issued reports (签发的月报 / 周报, issue 15): the figures as sent, with their data cut-off and
rule version, one numbered version per re-issue.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_reports",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("area_code", sa.String(length=15), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("period_start", UtcDateTime(), nullable=False),
        sa.Column("period_end", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("period_label", sa.Text(), nullable=False),
        sa.Column("cutoff", UtcDateTime(), nullable=False),
        sa.Column("rule_version", sa.String(length=32), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=32), nullable=False),
        sa.Column("issuer_name", sa.String(length=32), nullable=False),
        sa.Column("issuer_role", sa.String(length=24), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "report_id", name=op.f("pk_issued_reports")),
        sa.UniqueConstraint(
            "county_code", "area_code", "kind", "period_start", "period_end", "version",
            name="uq_issued_reports_version",
        ),
    )


def downgrade() -> None:
    op.drop_table("issued_reports")
