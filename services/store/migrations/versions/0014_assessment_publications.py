"""Published months of the 网格员月度考核 (issue 16): the wall screen ranks workers by the newest
published month instead of scoring one on every refresh.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 16:00:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_publications",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("cutoff", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=32), nullable=False),
        sa.Column("publisher_name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "month", "version", name=op.f("pk_assessment_publications")),
    )
    op.create_table(
        "assessment_scores",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("township_code", sa.String(length=9), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("valid_reports", sa.Integer(), nullable=False),
        sa.Column("county_rank", sa.Integer(), nullable=True),
        sa.Column("township_rank", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code", "month", "version"],
            [
                "assessment_publications.county_code",
                "assessment_publications.month",
                "assessment_publications.version",
            ],
            name=op.f("fk_assessment_scores_county_code_month_version_assessment_publications"),
        ),
        sa.PrimaryKeyConstraint("county_code", "month", "version", "worker_id", name=op.f("pk_assessment_scores")),
    )


def downgrade() -> None:
    op.drop_table("assessment_scores")
    op.drop_table("assessment_publications")
