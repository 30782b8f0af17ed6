"""Fixtures: stores on SQLite (a file in tmp_path) and on a throwaway PostGIS cluster.

Under `make test` (REQUIRE_POSTGIS=1) the PostGIS cluster must start and no test may be skipped:
a skipped PostGIS test would hide exactly what CI is there to prove.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from devtools.pgcluster import ClusterUnavailableError, throwaway_postgis
from services.cli.bootstrap import Store
from services.store.engine import make_engine, make_session_factory
from services.store.migrate import upgrade_schema

REQUIRE_POSTGIS = os.environ.get("REQUIRE_POSTGIS") == "1"
TEMPLATE_DB = "minqing_template"


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[str]:
    """URL of the cluster's maintenance database; a migrated template database is ready in it."""
    try:
        with throwaway_postgis(TEMPLATE_DB) as url:
            engine = make_engine(url)
            upgrade_schema(engine)
            engine.dispose()
            yield url
    except ClusterUnavailableError as error:
        if REQUIRE_POSTGIS:
            pytest.fail(f"PostGIS is required here but could not start: {error}")
        pytest.skip(f"PostGIS not available: {error}")


def _postgis_store(server_url: str) -> Iterator[Store]:
    admin = sa.create_engine(server_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    engine = make_engine(server_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield Store(engine=engine, session_factory=make_session_factory(engine))
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


def _sqlite_store(path: str) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    try:
        yield Store(engine=engine, session_factory=make_session_factory(engine))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    """An empty, migrated store on each engine."""
    if request.param == "sqlite":
        yield from _sqlite_store(str(tmp_path / "test.db"))
    else:
        yield from _postgis_store(request.getfixturevalue("postgis_server"))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def module_store(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Store]:
    """Like `store`, shared by the tests of one module (for data they read and only add to)."""
    if request.param == "sqlite":
        yield from _sqlite_store(str(tmp_path_factory.mktemp("module") / "test.db"))
    else:
        yield from _postgis_store(request.getfixturevalue("postgis_server"))


@pytest.fixture
def postgis_store(postgis_server: str) -> Iterator[Store]:
    yield from _postgis_store(postgis_server)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if REQUIRE_POSTGIS and skipped:
        reporter.write_line(f"REQUIRE_POSTGIS=1: {skipped} test(s) skipped — failing the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
