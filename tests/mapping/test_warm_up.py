"""The server's warm-up at start (web/warm_up.py): what the first county-wide page reads is built
before anyone signs in, and a store it cannot read only costs a line in the log."""

from __future__ import annotations

import datetime as dt
import logging

from pages import components
from services.figures.area_figures import compute_grid_figures
from services.patrol import coverage
from services.settings import Settings
from tests.factories import COUNTY, GRID_A, GRID_B, OPERATOR, household, make_actor, seed_areas
from tests.threads import run_together
from web import map_shapes
from web.map_shapes import DOCUMENTS
from web.shared import store_for
from web.warm_up import start_warm_up

AT = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)


def test_the_first_county_pages_find_the_outlines_and_counts_built(store, monkeypatch) -> None:
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add(household("h1", GRID_A))
    url = store.engine.url.render_as_string(hide_password=False)
    settings = Settings.from_env({"DATABASE_URL": url, "COUNTY_CODE": COUNTY, "BASEMAPS": "none,amap"})
    builds: list[tuple[str, ...]] = []
    counts: list[str] = []
    real_load, real_count = map_shapes.load_area_shapes, coverage.count_county_households_per_grid

    def counted_load(session_factory, *, actor):  # type: ignore[no-untyped-def]
        builds.append(actor.area_codes)
        return real_load(session_factory, actor=actor)

    def counted_count(session, county_code, special_tags):  # type: ignore[no-untyped-def]
        counts.append(county_code)
        return real_count(session, county_code, special_tags)

    monkeypatch.setattr(map_shapes, "load_area_shapes", counted_load)
    monkeypatch.setattr(coverage, "count_county_households_per_grid", counted_count)
    start_warm_up(lambda: store, lambda: settings).join(timeout=60)
    warmed = (len(builds), len(counts))
    assert builds == [(COUNTY,), (COUNTY,)]  # GCJ-02 (amap) and WGS84 (none)
    assert len(counts) >= 2  # all households, and those of the tags each county role sees
    for actor in (OPERATOR, make_actor("viewer")):
        for crs in ("wgs84", "gcj02"):
            assert DOCUMENTS.get(store, actor, crs).shapes.grids["code"].tolist() == [GRID_A, GRID_B]
        figures = compute_grid_figures(
            store.session_factory,
            actor=actor,
            area_code=COUNTY,
            at=AT,
            days=7,
            special_tags=actor.clearance.highlighted_tags(),
        )
        assert figures.loc[GRID_A, "households"] == 1
    assert (len(builds), len(counts)) == warmed  # nothing read again


def test_a_store_that_cannot_be_read_leaves_a_warning_and_no_traceback_behind(caplog, monkeypatch) -> None:
    def broken_store():  # type: ignore[no-untyped-def]
        raise OSError("数据库无法打开")

    # Caught on the logger itself and not passed on: the same records whether or not an earlier
    # test configured the app's logging (which stops "web" lines before the root logger).
    logger = logging.getLogger("web.warm_up")
    monkeypatch.setattr(logger, "propagate", False)
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="web.warm_up"):
            start_warm_up(broken_store, Settings.from_env).join(timeout=60)
    finally:
        logger.removeHandler(caplog.handler)
    assert [record.getMessage().startswith("warm-up failed after") for record in caplog.records] == [True]


def test_the_pages_the_routes_and_the_warm_up_share_one_store_per_database(tmp_path) -> None:
    """What the warm-up builds is kept per engine: the pages must be handed the very store it
    warmed, however many ask for it at once, and another database gets a store of its own."""
    first, second = (
        {"DATABASE_URL": f"sqlite:///{tmp_path / name}", "DATA_DIR": str(tmp_path)} for name in ("a.db", "b.db")
    )
    opened = []
    errors = run_together(
        lambda n: opened.append(store_for(Settings.from_env({**first, "SESSION_IDLE_MIN": str(n + 5)})))
    )
    other = store_for(Settings.from_env(second))
    try:
        assert errors == [] and len(opened) == 16
        assert all(store is opened[0] for store in opened) and other is not opened[0]
        assert components._open_store(Settings.from_env(first)) is opened[0]  # the pages' own
    finally:
        for store in (opened[0], other):
            store.engine.dispose()
