"""The dashboard as Streamlit runs it (AppTest), on a seeded SQLite store."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
import streamlit_folium
from streamlit.testing.v1 import AppTest

from services.bootstrap import create_demo, open_store
from services.figures import compute_grid_figures
from services.scope import Scope
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


def grid_with_households(url: str) -> tuple[str, int]:
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    by_grid = compute_grid_figures(
        store.session_factory,
        scope=Scope.whole_county("130532"),
        area_code="130532",
        at=dt.datetime.now(dt.UTC),
        days=7,
        special_tags=(),
    )
    store.engine.dispose()
    code = by_grid["households"].idxmax()
    return code, int(by_grid.loc[code, "households"])


def test_a_link_to_a_grid_opens_its_panel_with_the_figures_of_the_kpi_service(monkeypatch, demo_database) -> None:
    code, households = grid_with_households(demo_database)
    monkeypatch.setenv("DATABASE_URL", demo_database)
    app = AppTest.from_file("../app.py", default_timeout=60)
    app.query_params["area"] = code
    app.run()
    assert not app.exception
    assert app.subheader[0].value.startswith("网格 · ")
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["住户"].replace(",", "")) == households
    assert [t.label.split(" ")[0] for t in app.tabs] == ["在办事件", "住户", "网格员", "特殊人群"]
    assert [b.label for b in app.button if b.key and b.key.startswith("crumb-")] == [
        "平乡县",
        "平乡镇",
        app.subheader[0].value.split(" · ")[1].split("第")[0],
    ]


def test_clicking_the_map_drills_into_the_township_and_the_breadcrumb_goes_back(monkeypatch, demo_database) -> None:
    code, _ = grid_with_households(demo_database)
    clicks = [{"last_active_drawing": {"properties": {"kind": "grid", "id": code}}}]

    def fake_st_folium(fig, *, key, on_change=None, **kwargs):  # what the component does on a click
        if clicks:
            st.session_state[key] = clicks.pop()
            on_change()
        return {}

    monkeypatch.setattr(streamlit_folium, "st_folium", fake_st_folium)
    monkeypatch.setenv("DATABASE_URL", demo_database)
    app = AppTest.from_file("../app.py", default_timeout=60)
    app.run()
    app.run()  # the click set the URL during the first run; the second shows it
    assert not app.exception
    assert app.query_params["area"] == code[:9]
    assert app.subheader[0].value == "乡镇(街道) · 平乡镇"
    app.button(key="crumb-130532").click().run()
    assert app.query_params["area"] == "130532"
    assert app.subheader[0].value == "县 · 平乡县"


def test_search_lists_hits_and_a_hit_opens_its_area(monkeypatch, demo_database) -> None:
    code, _ = grid_with_households(demo_database)
    monkeypatch.setenv("DATABASE_URL", demo_database)
    app = AppTest.from_file("../app.py", default_timeout=60)
    app.run()
    app.text_input(key="map.search").input(code).run()
    hits = [b for b in app.button if b.key and b.key.startswith("hit-")]
    assert [b.label for b in hits] == [f"网格 · {hits[0].label.split(' · ')[1]}"] and code in hits[0].label
    hits[0].click().run()
    assert app.query_params["area"] == code
    assert app.subheader[0].value.startswith("网格 · ")
