"""Initial schema: the DESIGN.md domain.

On PostgreSQL also: the postgis extension, a GiST index on area polygons, and for each point
table a stored generated `geom geometry(Point,4326)` column (from lon/lat) with a GiST index.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:21:15.749497
"""

from alembic import op
import sqlalchemy as sa

from services.store.types import Geometry, UtcDateTime


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


POINT_TABLES = ("households", "incidents", "patrol_fixes")


def upgrade() -> None:
    postgis = op.get_bind().dialect.name == "postgresql"
    if postgis:
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "areas",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("parent_code", sa.String(length=15), nullable=True),
        sa.Column("geom", Geometry("MultiPolygon"), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "code", name=op.f("pk_areas")),
    )

    op.create_table(
        "departments",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("department_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "department_id", name=op.f("pk_departments")),
    )
    op.create_table(
        "patrol_fixes",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("ts", UtcDateTime(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "worker_id", "ts", name=op.f("pk_patrol_fixes")),
    )

    op.create_table(
        "patrol_logs",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("logged_at", UtcDateTime(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("households_visited", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "worker_id", "logged_at", name=op.f("pk_patrol_logs")),
    )

    op.create_table(
        "patrol_visits",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("household_id", sa.String(length=32), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("first_start", UtcDateTime(), nullable=False),
        sa.Column("first_end", UtcDateTime(), nullable=False),
        sa.Column("last_start", UtcDateTime(), nullable=False),
        sa.Column("last_end", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "county_code",
            "household_id",
            "worker_id",
            "day",
            name=op.f("pk_patrol_visits"),
        ),
    )

    op.create_table(
        "users",
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("display_name", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("area_code", sa.String(length=15), nullable=False),
        sa.Column("password_hash", sa.String(length=128), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    op.create_table(
        "workers",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "worker_id", name=op.f("pk_workers")),
    )
    op.create_table(
        "department_categories",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("department_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code", "department_id"],
            ["departments.county_code", "departments.department_id"],
            name=op.f("fk_department_categories_county_code_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "county_code",
            "department_id",
            "category",
            name=op.f("pk_department_categories"),
        ),
    )
    op.create_table(
        "households",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("household_id", sa.String(length=32), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("head_name", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code", "grid_code"],
            ["areas.county_code", "areas.code"],
            name=op.f("fk_households_county_code_grid_code_areas"),
        ),
        sa.PrimaryKeyConstraint("county_code", "household_id", name=op.f("pk_households")),
    )

    op.create_table(
        "incidents",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("subcategory", sa.String(length=32), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reporter", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("limit_hours", sa.Float(), nullable=False),
        sa.Column("assignee_worker_id", sa.String(length=32), nullable=True),
        sa.Column("assignee_department_id", sa.String(length=32), nullable=True),
        sa.Column("reported_at", UtcDateTime(), nullable=False),
        sa.Column("validated_at", UtcDateTime(), nullable=True),
        sa.Column("rejected_at", UtcDateTime(), nullable=True),
        sa.Column("dispatched_at", UtcDateTime(), nullable=True),
        sa.Column("accepted_at", UtcDateTime(), nullable=True),
        sa.Column("handled_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("close_reason", sa.String(length=24), nullable=True),
        sa.Column("satisfaction", sa.String(length=8), nullable=True),
        sa.Column("duplicate_of", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code", "grid_code"],
            ["areas.county_code", "areas.code"],
            name=op.f("fk_incidents_county_code_grid_code_areas"),
        ),
        sa.PrimaryKeyConstraint("county_code", "incident_id", name=op.f("pk_incidents")),
    )

    op.create_table(
        "worker_grids",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code", "grid_code"],
            ["areas.county_code", "areas.code"],
            name=op.f("fk_worker_grids_county_code_grid_code_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["county_code", "worker_id"],
            ["workers.county_code", "workers.worker_id"],
            name=op.f("fk_worker_grids_county_code_worker_id_workers"),
        ),
        sa.PrimaryKeyConstraint("county_code", "worker_id", "grid_code", name=op.f("pk_worker_grids")),
    )

    op.create_table(
        "household_tags",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("household_id", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code", "household_id"],
            ["households.county_code", "households.household_id"],
            name=op.f("fk_household_tags_county_code_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("county_code", "household_id", "tag", name=op.f("pk_household_tags")),
    )

    op.create_table(
        "incident_events",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("photo", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code", "incident_id"],
            ["incidents.county_code", "incidents.incident_id"],
            name=op.f("fk_incident_events_county_code_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("county_code", "incident_id", "seq", name=op.f("pk_incident_events")),
    )

    op.create_index(op.f("ix_areas_county_code_level"), "areas", ["county_code", "level"], unique=False)
    op.create_index(op.f("ix_areas_county_code_parent_code"), "areas", ["county_code", "parent_code"], unique=False)
    op.create_index(op.f("ix_patrol_fixes_county_code_ts"), "patrol_fixes", ["county_code", "ts"], unique=False)
    op.create_index(
        op.f("ix_patrol_logs_county_code_grid_code"), "patrol_logs", ["county_code", "grid_code"], unique=False
    )
    op.create_index(
        op.f("ix_patrol_visits_county_code_grid_code_day"),
        "patrol_visits",
        ["county_code", "grid_code", "day"],
        unique=False,
    )
    op.create_index(
        op.f("ix_households_county_code_grid_code"), "households", ["county_code", "grid_code"], unique=False
    )
    op.create_index(op.f("ix_incidents_county_code_closed_at"), "incidents", ["county_code", "closed_at"], unique=False)
    op.create_index(op.f("ix_incidents_county_code_grid_code"), "incidents", ["county_code", "grid_code"], unique=False)
    op.create_index(
        op.f("ix_incidents_county_code_reported_at"), "incidents", ["county_code", "reported_at"], unique=False
    )
    op.create_index(op.f("ix_incidents_county_code_state"), "incidents", ["county_code", "state"], unique=False)
    op.create_index(
        op.f("ix_worker_grids_county_code_grid_code"), "worker_grids", ["county_code", "grid_code"], unique=False
    )
    op.create_index(op.f("ix_household_tags_county_code_tag"), "household_tags", ["county_code", "tag"], unique=False)
    op.create_index(op.f("ix_incident_events_county_code_at"), "incident_events", ["county_code", "at"], unique=False)
    if postgis:
        _add_postgis_columns()


def _add_postgis_columns() -> None:
    op.create_index("ix_areas_geom", "areas", ["geom"], postgresql_using="gist")
    for table in POINT_TABLES:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN geom geometry(Point, 4326) "
            "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
        )
        op.create_index(f"ix_{table}_geom", table, ["geom"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_events_county_code_at"), table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index(op.f("ix_household_tags_county_code_tag"), table_name="household_tags")
    op.drop_table("household_tags")
    op.drop_index(op.f("ix_worker_grids_county_code_grid_code"), table_name="worker_grids")
    op.drop_table("worker_grids")
    op.drop_index(op.f("ix_incidents_county_code_state"), table_name="incidents")
    op.drop_index(op.f("ix_incidents_county_code_reported_at"), table_name="incidents")
    op.drop_index(op.f("ix_incidents_county_code_grid_code"), table_name="incidents")
    op.drop_index(op.f("ix_incidents_county_code_closed_at"), table_name="incidents")
    op.drop_table("incidents")
    op.drop_index(op.f("ix_households_county_code_grid_code"), table_name="households")
    op.drop_table("households")
    op.drop_table("department_categories")
    op.drop_table("workers")
    op.drop_table("users")
    op.drop_index(op.f("ix_patrol_visits_county_code_grid_code_day"), table_name="patrol_visits")
    op.drop_table("patrol_visits")
    op.drop_index(op.f("ix_patrol_logs_county_code_grid_code"), table_name="patrol_logs")
    op.drop_table("patrol_logs")
    op.drop_index(op.f("ix_patrol_fixes_county_code_ts"), table_name="patrol_fixes")
    op.drop_table("patrol_fixes")
    op.drop_table("departments")
    op.drop_index(op.f("ix_areas_county_code_parent_code"), table_name="areas")
    op.drop_index(op.f("ix_areas_county_code_level"), table_name="areas")
    op.drop_table("areas")
