"""Incident workflow: photos of events, the limits table, and workers' last known position.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:40:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("last_lon", sa.Float(), nullable=True))
        batch.add_column(sa.Column("last_lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("last_fix_at", UtcDateTime(), nullable=True))
    # Existing databases: positions from the fixes already stored.
    op.execute(
        "UPDATE workers SET "
        + ", ".join(
            f"{target} = (SELECT f.{source} FROM patrol_fixes f WHERE f.county_code = workers.county_code "
            f"AND f.worker_id = workers.worker_id ORDER BY f.ts DESC LIMIT 1)"
            for target, source in (("last_lon", "lon"), ("last_lat", "lat"), ("last_fix_at", "ts"))
        )
    )
    op.create_table(
        "incident_photos",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("photo_id", sa.String(length=36), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=256), nullable=False),
        sa.Column("original_name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code", "incident_id", "event_seq"],
            ["incident_events.county_code", "incident_events.incident_id", "incident_events.seq"],
            name=op.f("fk_incident_photos_county_code_incident_id_event_seq_incident_events"),
        ),
        sa.PrimaryKeyConstraint("county_code", "incident_id", "photo_id", name=op.f("pk_incident_photos")),
    )
    op.create_table(
        "handling_limits",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "category", "severity", "stage", name=op.f("pk_handling_limits")),
    )


def downgrade() -> None:
    op.drop_table("handling_limits")
    op.drop_table("incident_photos")
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("last_fix_at")
        batch.drop_column("last_lat")
        batch.drop_column("last_lon")
