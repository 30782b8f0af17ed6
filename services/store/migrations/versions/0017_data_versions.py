"""A version token per county and topic, moved by triggers on every write to the topic's tables
(data_versions, issue 18): the per-minute grid figures keep the county's household counts per
grid until an import changes households or their tags, instead of counting 300,000 rows a minute.
Also an index of the audit log by action, for the health check's last import (issue 19).

PostgreSQL: statement-level triggers with transition tables, one upsert per statement, the token
the writing transaction's id (unique, never reused, also after a rollback).  SQLite has row-level
triggers only; the token is a random 64-bit number.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 21:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# topic -> the tables whose writes move it (frozen here: a later topic is a later migration)
TOPICS = {"households": ("households", "household_tags")}
EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "topic", name=op.f("pk_data_versions")),
    )
    op.create_index(op.f("ix_audit_log_county_code_action_at"), "audit_log", ["county_code", "action", "at"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for topic, tables in TOPICS.items():
        if postgres:
            op.execute(
                f"CREATE FUNCTION move_{topic}_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO data_versions (county_code, topic, version) "
                f"SELECT DISTINCT county_code, '{topic}', txid_current() FROM changed_rows "
                f"ON CONFLICT (county_code, topic) DO UPDATE SET version = excluded.version; "
                f"RETURN NULL; END $$"
            )
        for table in tables:
            for event, row in EVENTS.items():
                name = f"{table}_{event}_moves_{topic}"
                if postgres:
                    op.execute(
                        f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} "
                        f"REFERENCING {row} TABLE AS changed_rows FOR EACH STATEMENT "
                        f"EXECUTE FUNCTION move_{topic}_version()"
                    )
                else:
                    op.execute(
                        f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} BEGIN "
                        f"INSERT INTO data_versions (county_code, topic, version) "
                        f"VALUES ({row}.county_code, '{topic}', random()) "
                        f"ON CONFLICT (county_code, topic) DO UPDATE SET version = excluded.version; END"
                    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for topic, tables in TOPICS.items():
        for table in tables:
            for event in EVENTS:
                name = f"{table}_{event}_moves_{topic}"
                op.execute(f"DROP TRIGGER {name} ON {table}" if postgres else f"DROP TRIGGER {name}")
        if postgres:
            op.execute(f"DROP FUNCTION move_{topic}_version()")
    op.drop_table("data_versions")
    op.drop_index(op.f("ix_audit_log_county_code_action_at"), table_name="audit_log")
