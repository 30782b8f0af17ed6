"""The schema on both engines: migrations, county codes everywhere, real PostGIS columns."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest
import sqlalchemy as sa

from services.errors import StoreError
from services.store.migrate import upgrade_schema
from services.store.models import POINT_TABLES, Base

HEAD = "0024"  # the newest migration: the tests upgrade to it


def test_every_table_carries_the_county_code() -> None:
    assert all("county_code" in table.columns for table in Base.metadata.tables.values())


def test_distributed_tables_key_on_the_county_first() -> None:
    keyed = [t for t in Base.metadata.tables.values() if t.name != "users"]
    assert all(t.primary_key.columns.values()[0].name == "county_code" for t in keyed)


def test_migrations_create_the_models_tables_and_run_twice(store) -> None:
    upgrade_schema(store.engine)
    names = set(sa.inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= names
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD


@pytest.mark.postgis
def test_postgis_has_real_geometry_columns_with_gist_indexes(postgis_store) -> None:
    with postgis_store.engine.connect() as connection:
        columns = connection.exec_driver_sql(
            "SELECT f_table_name, type, srid FROM geometry_columns ORDER BY f_table_name"
        ).all()
        indexes = {
            row[0]
            for row in connection.exec_driver_sql(
                "SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%%USING gist%%'"
            )
        }
    assert ("areas", "MULTIPOLYGON", 4326) in columns
    assert {(t, "POINT", 4326) for t in POINT_TABLES} <= set(columns)
    # the fixes' points are indexed per day partition, once the day's fixes are in (test_maintain)
    assert {"areas", *POINT_TABLES} - {"patrol_fixes"} <= indexes


@pytest.mark.postgis
def test_postgis_point_column_follows_lon_lat(postgis_store) -> None:
    from tests.factories import GRID_A, household, seed_areas

    seed_areas(postgis_store)
    with postgis_store.session_factory.begin() as session:
        session.add(household("h1", GRID_A))
    with postgis_store.engine.connect() as connection:
        x, y, inside = connection.exec_driver_sql(
            "SELECT ST_X(h.geom), ST_Y(h.geom), ST_Contains(a.geom, h.geom) FROM households h "
            "JOIN areas a ON a.county_code = h.county_code AND a.code = h.grid_code"
        ).one()
    assert (x, y, inside) == (115.005, 37.005, True)


def test_the_migrated_schema_equals_the_models(store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def ours(diff) -> bool:
        # PostGIS-only extras of the migrations (generated point columns, GiST indexes, the
        # extension's own tables, the fixes' day partitions) are not in the models by design.
        text = repr(diff)
        extras = ("spatial_ref_sys", "'geom'", "_geom'", "topology", "patrol_fixes_default", "patrol_fixes_d2")
        return not any(extra in text for extra in extras)

    def made_here(item, _name, type_, _reflected, _compare_to) -> bool:
        # an index the models make on one engine only (`ddl_if`) is expected there alone
        only_on = getattr(item, "_ddl_if", None) if type_ == "index" else None
        return only_on is None or only_on.dialect in (None, store.engine.dialect.name)

    with store.engine.connect() as connection, warnings.catch_warnings():
        # SQLAlchemy cannot reflect PostGIS's `geometry` type; the columns are checked above.
        warnings.filterwarnings("ignore", "Did not recognize type 'geometry'", sa.exc.SAWarning)
        # nor SQLite's expression indexes: the fixes' local-day index is checked on its own
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", sa.exc.SAWarning)
        warnings.filterwarnings(
            "ignore", "autogenerate skipping metadata-specified expression-based index", UserWarning
        )
        context = MigrationContext.configure(connection, opts={"include_object": made_here})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if ours(d)] == []


@pytest.mark.postgis
def test_postgis_keeps_no_time_of_the_latest_visits_in_an_index(postgis_store) -> None:
    """The fixes import's updates of patrol_visit_latest are HOT only while no index holds a
    column they change, and while its pages have room for the new versions (migration 0022)."""
    from services.store.models import LATEST_FILLFACTOR

    with postgis_store.engine.connect() as connection:
        indexed = (
            connection.exec_driver_sql(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = 'patrol_visit_latest'::regclass"
            )
            .scalars()
            .all()
        )
        options = connection.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'patrol_visit_latest'"
        ).scalar()
    assert set(indexed) == {"county_code", "household_id", "grid_code"}
    assert options == [f"fillfactor={LATEST_FILLFACTOR}"]


def test_users_of_a_database_from_before_sign_in_keep_their_areas_through_the_upgrade(store) -> None:
    from alembic import command

    from services.store.migrate import alembic_config

    config = alembic_config(store.engine)
    command.downgrade(config, "0004")
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO users (username, county_code, display_name, role, area_code, password_hash, disabled) "
            "VALUES ('leader', '130532', '乡镇领导', 'township_leader', '130532101', NULL, false)"
        )
    command.upgrade(config, "head")
    with store.engine.connect() as connection:
        held = connection.exec_driver_sql("SELECT county_code, username, area_code FROM user_areas").all()
        columns = {c["name"] for c in sa.inspect(connection).get_columns("users")}
    assert [tuple(r) for r in held] == [("130532", "leader", "130532101")] and "area_code" not in columns


def test_a_migration_that_fails_leaves_the_database_as_it_was(store) -> None:
    from alembic import command

    from services.store.migrate import alembic_config

    command.downgrade(alembic_config(store.engine), "0004")
    with store.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE audit_log (stray INTEGER)")  # 0005 creates audit_log: it will fail
    with pytest.raises(StoreError):
        upgrade_schema(store.engine)
    inspector = sa.inspect(store.engine)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0004"
    assert not {"user_areas", "_alembic_tmp_users"} & set(inspector.get_table_names())  # no half-made table
    assert "area_code" in {c["name"] for c in inspector.get_columns("users")}


def test_the_role_title_migration_goes_down_and_up_on_a_filled_database(store) -> None:
    from alembic import command

    from services.store.migrate import alembic_config
    from services.store.models import Worker, WorkerGrid
    from tests.factories import COUNTY, GRID_A, seed_areas

    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add(Worker(county_code=COUNTY, worker_id="W1", name="李强", role="worker", role_title="专职网格员"))
        session.flush()
        session.add(WorkerGrid(county_code=COUNTY, worker_id="W1", grid_code=GRID_A))
    config = alembic_config(store.engine)
    command.downgrade(config, "0006")
    assert "role_title" not in {c["name"] for c in sa.inspect(store.engine).get_columns("workers")}
    command.upgrade(config, "head")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT worker_id, grid_code FROM worker_grids").all() == [("W1", GRID_A)]


def test_the_fixes_table_goes_without_rowid_and_back_on_a_filled_sqlite_database(store) -> None:
    from alembic import command

    from services.store.bulk import insert_frame
    from services.store.migrate import alembic_config
    from services.store.models import PatrolFix, table_of
    from tests.factories import COUNTY, T

    fixes = pd.DataFrame(
        {
            "county_code": COUNTY,
            "worker_id": ["W2", "W1", "W1"],
            "ts": [T, T + dt.timedelta(seconds=30), T],
            "lon": [115.0051, 115.0052, 115.0053],
            "lat": 37.005,
            "accuracy_m": [5.0, 6.5, 7.25],
        }
    )
    config = alembic_config(store.engine)
    with store.engine.begin() as connection:
        insert_frame(connection, table_of(PatrolFix), fixes)

    def stored() -> list[tuple]:
        with store.engine.connect() as connection:
            return connection.execute(sa.select(table_of(PatrolFix)).order_by("worker_id", "ts")).all()

    def table_sql() -> str:
        with store.engine.connect() as connection:
            return connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'patrol_fixes'").scalar()

    rows = stored()
    command.downgrade(config, "0019")
    if store.engine.dialect.name == "sqlite":
        assert "WITHOUT ROWID" not in table_sql()
    assert stored() == rows
    command.upgrade(config, "head")
    if store.engine.dialect.name == "sqlite":
        assert table_sql().endswith("WITHOUT ROWID")
        assert set(_sqlite_indexes(store.engine, "patrol_fixes")) == {"ix_patrol_fixes_local_day"}
    assert stored() == rows and len(rows) == 3


def _sqlite_indexes(engine: sa.Engine, table: str) -> dict[str, str]:
    """name → CREATE INDEX text of a SQLite table's indexes (SQLAlchemy does not reflect those on
    an expression)."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        ).all()
    return dict(rows)


def test_the_fixes_are_indexed_by_local_day_on_sqlite_and_by_nothing_but_their_key_on_postgis(store) -> None:
    """Migration 0024; alembic's compare cannot see an index on an expression."""
    from services.store.models import SQLITE_FIX_DAY

    if store.engine.dialect.name == "sqlite":
        made = _sqlite_indexes(store.engine, "patrol_fixes")
        assert list(made) == ["ix_patrol_fixes_local_day"] and made["ix_patrol_fixes_local_day"].endswith(
            f"({SQLITE_FIX_DAY})"
        )
    else:
        with store.engine.connect() as connection:
            parent = connection.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'patrol_fixes' ORDER BY 1"
            ).scalars()
            assert list(parent) == ["pk_patrol_fixes"]  # a day partition gets these, and its GiST index later


UPGRADE_WHEN_RELEASED = """
import pathlib, sys, time
from services.store.engine import make_engine
from services.store.migrate import upgrade_schema
release = pathlib.Path(sys.argv[2])
while not release.exists():
    time.sleep(0.01)
upgrade_schema(make_engine(sys.argv[1]))
"""


def test_threads_and_processes_starting_at_once_on_an_older_schema_upgrade_it_without_errors(store, tmp_path) -> None:
    """The pages, the routes and the warm-up of a process, and the simulator and the CLI beside
    it, each open the store at start; after an upgrade of the code they all find the schema behind."""
    import subprocess
    import sys

    from alembic import command

    from services.store.engine import make_engine
    from services.store.migrate import alembic_config
    from tests.factories import seed_areas
    from tests.threads import run_together

    seed_areas(store)
    url = store.engine.url.render_as_string(hide_password=False)

    def revision() -> str:
        with store.engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    command.downgrade(alembic_config(store.engine), "0019")
    engines = [make_engine(url) for _ in range(16)]
    try:
        errors = run_together(lambda n: upgrade_schema(engines[n]))
    finally:
        for engine in engines:
            engine.dispose()
    assert errors == [] and revision() == HEAD
    command.downgrade(alembic_config(store.engine), "0019")
    release = tmp_path / "release"
    processes = [
        subprocess.Popen([sys.executable, "-c", UPGRADE_WHEN_RELEASED, url, str(release)], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    release.touch()
    failures = [process.communicate(timeout=120)[1].decode() for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, failures
    assert revision() == HEAD
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM areas").scalar() == 5
