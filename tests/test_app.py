"""The dashboard as Streamlit runs it (AppTest), on a seeded SQLite store."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from services.bootstrap import create_demo, open_store
from services.settings import Settings


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('app') / 'app.db'}"
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    create_demo(store, scale="small", seed=7, now=dt.datetime.now(dt.UTC))
    store.engine.dispose()
    return url


def run_app(monkeypatch, url: str) -> AppTest:
    monkeypatch.setenv("DATABASE_URL", url)
    app = AppTest.from_file("../app.py", default_timeout=60)
    app.run()
    return app


def test_map_page_shows_the_county_figures(monkeypatch, demo_database) -> None:
    app = run_app(monkeypatch, demo_database)
    assert not app.exception
    assert app.title[0].value == "民情地图"
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["住户"].replace(",", "")) > 7000
    assert "合成" in app.caption[0].value


def test_an_empty_database_tells_how_to_create_the_demo(monkeypatch, tmp_path) -> None:
    app = run_app(monkeypatch, f"sqlite:///{tmp_path / 'empty.db'}")
    assert not app.exception
    assert "make run" in app.warning[0].value
