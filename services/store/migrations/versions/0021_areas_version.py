"""A version token for the areas (topic "areas" of data_versions, as migration 0017 made it for
households), moved by triggers on every write to `areas`: the map's outlines document, ~1 s to
build for a county, is kept by each process until the county's areas change, instead of for ten
minutes (issue 18).  A database upgraded with areas in it starts at token 0, as 0017's did.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 09:40:00
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TOPIC, TABLE = "areas", "areas"  # frozen here: a later topic is a later migration
EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(
            f"CREATE FUNCTION move_{TOPIC}_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO data_versions (county_code, topic, version) "
            f"SELECT DISTINCT county_code, '{TOPIC}', txid_current() FROM changed_rows "
            f"ON CONFLICT (county_code, topic) DO UPDATE SET version = excluded.version; "
            f"RETURN NULL; END $$"
        )
    for event, row in EVENTS.items():
        name = f"{TABLE}_{event}_moves_{TOPIC}"
        if postgres:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {TABLE} "
                f"REFERENCING {row} TABLE AS changed_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION move_{TOPIC}_version()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {TABLE} BEGIN "
                f"INSERT INTO data_versions (county_code, topic, version) "
                f"VALUES ({row}.county_code, '{TOPIC}', random()) "
                f"ON CONFLICT (county_code, topic) DO UPDATE SET version = excluded.version; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for event in EVENTS:
        name = f"{TABLE}_{event}_moves_{TOPIC}"
        op.execute(f"DROP TRIGGER {name} ON {TABLE}" if postgres else f"DROP TRIGGER {name}")
    if postgres:
        op.execute(f"DROP FUNCTION move_{TOPIC}_version()")
    op.execute(f"DELETE FROM data_versions WHERE topic = '{TOPIC}'")
