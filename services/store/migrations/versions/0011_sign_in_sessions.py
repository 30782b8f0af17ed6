"""Sign-in sessions that survive a reload (issue 17): the server-side row behind each browser's
HttpOnly cookie, and the wall screens' long-lived sessions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_sessions",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("session_key", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("handover_hash", sa.String(length=64), nullable=True),
        sa.Column("handover_until", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["username"], ["users.username"], name=op.f("fk_sign_in_sessions_username_users")),
        sa.PrimaryKeyConstraint("county_code", "session_key", name=op.f("pk_sign_in_sessions")),
        sa.UniqueConstraint("county_code", "token_hash", name="uq_sign_in_sessions_token_hash"),
        sa.UniqueConstraint("county_code", "handover_hash", name="uq_sign_in_sessions_handover_hash"),
    )
    op.create_index(op.f("ix_sign_in_sessions_county_code_username"), "sign_in_sessions", ["county_code", "username"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_sessions_county_code_username"), table_name="sign_in_sessions")
    op.drop_table("sign_in_sessions")
