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


def test_import_page_offers_every_kind_and_waits_for_a_file(monkeypatch, demo_database) -> None:
    monkeypatch.setenv("DATABASE_URL", demo_database)
    app = AppTest.from_file("../pages/import_page.py", default_timeout=60)
    app.run()
    assert not app.exception
    assert app.title[0].value == "数据导入"
    assert app.selectbox(key="import.kind").options == ["网格", "住户", "网格员", "历史事件", "GPS 定位点"]
    assert app.radio(key="import.crs").value == "wgs84"
