"""Open intake (issue 17a): the keys other systems post cases with (only their SHA-256 kept) and
the requests that came in through them or from 12345 work-order files, unique on the sender's own
id so that the same request sent twice makes one case; households get an index on their address
(an address-only request finds its point by it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import UtcDateTime


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_keys",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("county_code", "name", name=op.f("pk_intake_keys")),
        sa.UniqueConstraint("county_code", "key_hash", name="uq_intake_keys_key_hash"),
    )
    op.create_table(
        "intake_requests",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("service_code", sa.String(length=32), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=True),
        sa.Column("media_url", sa.String(length=512), nullable=True),
        sa.Column("first_name", sa.String(length=32), nullable=True),
        sa.Column("last_name", sa.String(length=32), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code", "incident_id"],
            ["incidents.county_code", "incidents.incident_id"],
            name=op.f("fk_intake_requests_county_code_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("county_code", "incident_id", name=op.f("pk_intake_requests")),
        sa.UniqueConstraint("county_code", "source", "external_id", name="uq_intake_requests_external_id"),
    )
    op.create_index(
        op.f("ix_intake_requests_county_code_received_at"), "intake_requests", ["county_code", "received_at"]
    )

    op.create_index(op.f("ix_households_county_code_address"), "households", ["county_code", "address"])


def downgrade() -> None:
    op.drop_index(op.f("ix_households_county_code_address"), table_name="households")
    op.drop_table("intake_requests")
    op.drop_table("intake_keys")
