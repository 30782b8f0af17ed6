"""The 巡查考核 page's 月度考核 under AppTest on the small demo: scores as the service computes
them, the township filter, and the county admin's rule form starting a new version."""

from __future__ import annotations

import datetime as dt

import pytest

from services.access.actor import Actor
from services.cli.bootstrap import open_store
from services.patrol.assessment import compute_assessment, default_month
from services.patrol.assessment_rules import rules_for_month
from services.settings import Settings
from tests.apptest import open_app

PAGE = "pages/patrol/compliance_page.py"
OPERATOR = Actor("operator", "值班员", "county_operator", "130532", ("130532",))


@pytest.fixture
def demo_database(copy_small_demo, tmp_path) -> str:
    return copy_small_demo(tmp_path / "assess.db")


def test_the_page_shows_each_workers_score_and_filters_by_township(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, PAGE)
    app.run()
    assert not app.exception
    now = dt.datetime.now(dt.UTC)
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    expected = compute_assessment(
        store.session_factory, actor=OPERATOR, area_code="130532", month=default_month(now), now=now
    ).scores
    store.engine.dispose()
    table = next(frame.value for frame in app.dataframe if "总分" in frame.value.columns)
    assert len(table) == len(expected) > 0
    assert table.set_index("工号")["总分"].to_dict() == pytest.approx(
        expected.set_index("worker_id")["total"].to_dict(), abs=0.2
    )
    assert not [column for column in table.columns if column.isascii()]
    assert "十佳网格员" in [h.value for h in app.subheader]
    township = app.selectbox(key="compliance.township").options[1]
    app.selectbox(key="compliance.township").select_index(1).run()
    filtered = next(frame.value for frame in app.dataframe if "总分" in frame.value.columns)
    assert set(filtered["乡镇(街道)"]) == {township}
    assert "rules.from" not in [box.key for box in app.selectbox]  # the rule form is the county admin's


def test_the_county_admin_starts_a_new_rule_version_from_the_page(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, PAGE, user="admin")
    app.run()
    assert not app.exception
    app.number_input(key="rules.late_case_penalty").set_value(3.0)
    start = app.selectbox(key="rules.from").value
    app.button(key="FormSubmitter:rules.form-保存为新版本").click().run()
    assert not app.exception and "已保存考核规则第 1 版" in app.success[0].value
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    version = rules_for_month(store.session_factory, county_code="130532", month=start)
    before = rules_for_month(
        store.session_factory, county_code="130532", month=(start - dt.timedelta(days=1)).replace(day=1)
    )
    store.engine.dispose()
    assert (version.version, version.rules.late_case_penalty) == (1, 3.0)
    assert (before.version, before.rules.late_case_penalty) == (0, 2.0)
