"""The 统计分析 page under AppTest on the small demo: it shows the report's own figures, opens the
area a link names (within the user's areas only), and issues a report."""

from __future__ import annotations

import datetime as dt

import pytest

from services.access.sign_in import load_actor
from services.cli.bootstrap import open_store
from services.domain import LOCAL_TZ
from services.figures.issued_reports import list_issued_reports, load_issued_report
from services.figures.periods import month_period
from services.figures.report_build import build_report
from services.figures.statistics import compute_statistics
from services.figures.values import sentence_value
from services.settings import Settings
from tests.apptest import open_app

PAGE = "pages/figures/statistics_page.py"
TOWNSHIP = "130532101"


@pytest.fixture(scope="module")
def demo_database(copy_small_demo, tmp_path_factory) -> str:
    """A copy of the run's small demo (conftest.py) for this module: issuing writes to it."""
    return copy_small_demo(tmp_path_factory.mktemp("stats") / "stats.db")


def expected_report(url: str, user: str, area_code: str):  # type: ignore[no-untyped-def]
    """The report of last month as the services build it (a month wholly past does not move)."""
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    now = dt.datetime.now(dt.UTC)
    with store.session_factory() as session:
        actor = load_actor(session, "130532", user)
    period = month_period(now.astimezone(LOCAL_TZ).date()).previous()
    report = build_report(
        compute_statistics(store.session_factory, actor=actor, area_code=area_code, period=period, now=now)
    )
    store.engine.dispose()
    return report


def test_the_page_shows_last_months_report_with_the_reports_own_figures(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, PAGE)
    app.run()
    assert not app.exception
    report = expected_report(demo_database, "operator", "130532")
    assert app.subheader[0].value == report.title
    tiles = {metric.label: metric.value for metric in app.metric}
    for figure in report.headline:
        if figure.label in tiles:
            assert tiles[figure.label] == sentence_value(figure.value, figure.kind), figure.key
    assert {"上报", "办结率", "按时办结率"} <= set(tiles)
    assert int(tiles["上报"].replace(",", "")) > 0


def test_a_link_opens_the_area_it_names_within_the_users_areas(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, PAGE, area=TOWNSHIP)
    app.run()
    assert not app.exception
    assert app.selectbox(key="stats.area").value == TOWNSHIP
    supervisor = open_app(monkeypatch, demo_database, PAGE, user="supervisor", area="130532")
    supervisor.run()
    assert not supervisor.exception
    picker = supervisor.selectbox(key="stats.area")
    assert picker.value != "130532"  # the county is not theirs: their home area instead
    assert not [option for option in picker.options if option.endswith("（130532）")]
    assert "只针对您负责的完整区域" in supervisor.caption[-1].value  # no report for an area held in part


def test_an_operator_issues_the_report_and_sees_it_listed(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, PAGE)
    app.run()
    app.button(key="stats.issue").click().run()
    assert not app.exception
    assert "已签发" in app.success[0].value
    assert any("第 1 版" in caption.value for caption in app.caption)
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    now = dt.datetime.now(dt.UTC)
    with store.session_factory() as session:
        operator = load_actor(session, "130532", "operator")
    (issued, *_) = list_issued_reports(store.session_factory, actor=operator, area_code="130532", now=now)
    _, sent = load_issued_report(store.session_factory, actor=operator, report_id=issued.report_id, now=now)
    store.engine.dispose()
    shown = [s.key for s in expected_report(demo_database, "operator", "130532").sections]
    assert "assessment" not in shown  # the page's read leaves the scores to their own page …
    assert [s.key for s in sent.sections] == [
        *shown[: shown.index("workers") + 1],
        "assessment",
        *shown[shown.index("workers") + 1 :],
    ]  # … the issued 月报 carries them
    viewer = open_app(monkeypatch, demo_database, PAGE, user="viewer")
    viewer.run()
    assert not viewer.exception
    assert "stats.issue" not in [button.key for button in viewer.button]
