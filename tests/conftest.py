"""Fixtures: stores on SQLite (a file in tmp_path) and on a throwaway PostGIS cluster, and the small
demo county, generated once per run and loaded once into each engine.

Under `make test` (REQUIRE_POSTGIS=1) the PostGIS cluster must start and no test may be skipped:
a skipped PostGIS test would hide exactly what CI is there to prove.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from devtools.pgcluster import ClusterUnavailableError, throwaway_postgis
from services.cli.bootstrap import Store
from services.cli.demo import generate_demo
from services.cli.demo.load import load_demo
from services.store.engine import make_engine, make_session_factory
from services.store.migrate import upgrade_schema
from tests import county_filters  # noqa: F401  (records the services' statements for the Citus check)
from tests.demo import DEMO_SEED, SmallDemo, copy_sqlite

REQUIRE_POSTGIS = os.environ.get("REQUIRE_POSTGIS") == "1"
TEMPLATE_DB = "minqing_template"
DEMO_TEMPLATE_DB = "minqing_demo"


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


def _postgis_store(server_url: str, template: str = TEMPLATE_DB) -> Iterator[Store]:
    admin = sa.create_engine(server_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
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


# --- the small demo county ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def small_demo() -> SmallDemo:
    """The small demo county's rows, generated once per run for the moment the run starts (the
    pages and the browser tests read it with the wall clock, as `make run` does)."""
    now = dt.datetime.now(dt.UTC)
    return SmallDemo(county=generate_demo("small", seed=DEMO_SEED, now=now), now=now)


@pytest.fixture(scope="session")
def small_demo_sqlite(small_demo: SmallDemo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the small demo, loaded once per run; tests only ever open copies."""
    path = tmp_path_factory.mktemp("small_demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade_schema(engine)
        load_demo(engine, small_demo.county)
    finally:
        engine.dispose()
    return path


@pytest.fixture(scope="session")
def copy_small_demo(small_demo_sqlite: Path) -> Callable[[Path], str]:
    """Writes a copy of the small demo's SQLite file to the path given and returns its URL: each
    test (or module) that writes to the demo does so in a copy of its own."""
    return lambda target: copy_sqlite(small_demo_sqlite, target)


@pytest.fixture(scope="session")
def small_demo_postgis(small_demo: SmallDemo, postgis_server: str) -> str:
    """A database on the PostGIS cluster holding the small demo, loaded once per run: the template
    that `demo_store` copies (nobody connects to it afterwards, as a template requires)."""
    base = postgis_server.rsplit("/", 1)[0]
    admin = sa.create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {DEMO_TEMPLATE_DB} TEMPLATE {TEMPLATE_DB}")
    admin.dispose()
    engine = make_engine(f"{base}/{DEMO_TEMPLATE_DB}")
    try:
        load_demo(engine, small_demo.county)
    finally:
        engine.dispose()
    return DEMO_TEMPLATE_DB


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def demo_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A copy of the small demo of the test's own, on each engine."""
    if request.param == "sqlite":
        copy = request.getfixturevalue("copy_small_demo")(tmp_path / "demo.db")
        engine = make_engine(copy)
        try:
            yield Store(engine=engine, session_factory=make_session_factory(engine))
        finally:
            engine.dispose()
    else:
        template = request.getfixturevalue("small_demo_postgis")
        yield from _postgis_store(request.getfixturevalue("postgis_server"), template)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `after_all` run last: they check what the others did."""
    items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if REQUIRE_POSTGIS and skipped:
        reporter.write_line(f"REQUIRE_POSTGIS=1: {skipped} test(s) skipped — failing the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
