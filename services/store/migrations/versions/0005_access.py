"""Access control: the areas each user holds, the audit log, the household head's ID number.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:40:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # users is rebuilt (SQLite drops a column by copying the table) before anything references it.
    held = op.get_bind().exec_driver_sql("SELECT county_code, username, area_code FROM users").all()
    with op.batch_alter_table("users") as batch:
        batch.drop_column("area_code")
    user_areas = op.create_table(
        "user_areas",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("area_code", sa.String(length=15), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["users.username"], name=op.f("fk_user_areas_username_users")),
        sa.PrimaryKeyConstraint("county_code", "username", "area_code", name=op.f("pk_user_areas")),
    )
    if held:
        op.bulk_insert(user_areas, [{"county_code": c, "username": u, "area_code": a} for c, u, a in held])
    op.create_table(
        "audit_log",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("county_code", "entry_id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_county_code_at"), "audit_log", ["county_code", "at"])
    op.create_index(op.f("ix_audit_log_county_code_username_at"), "audit_log", ["county_code", "username", "at"])
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("id_number", sa.String(length=18), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.drop_column("id_number")
    op.drop_index(op.f("ix_audit_log_county_code_username_at"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_county_code_at"), table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("area_code", sa.String(length=15), nullable=True))
    op.execute(
        "UPDATE users SET area_code = (SELECT MIN(a.area_code) FROM user_areas a WHERE a.username = users.username)"
    )
    op.drop_table("user_areas")
