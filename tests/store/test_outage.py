"""The database going away: PostgreSQL really stopped and started again under the running app
(AppTest), an unreachable SQLite file, and the command line.  Every page shows a clear Chinese
notice (never a traceback, a server path, the database host or port), and comes back by itself."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from devtools.pgcluster import PG_BIN, ClusterUnavailableError, _as_owner, throwaway_postgis
from pages.components import RETRY_ARMED_KEY, SIGNED_IN_KEY
from services.access.sign_in import SignedIn
from services.cases.queue import load_queue
from services.cli.bootstrap import open_store
from services.cli.demo.load import load_demo
from services.errors import StoreUnavailableError
from services.settings import Settings
from tests.factories import OPERATOR, T
from tests.paths import ARTIFACTS, ROOT

NOTICE = "数据库暂时无法连接"
# What the raw error would have shown: the driver's text, the exception's name, where the code lives.
LEAKS = ("OperationalError", "Traceback", "127.0.0.1", "port", "psycopg", "sqlalchemy", ".py", "connection")
PAGES = {  # page script: (user, what the working page shows)
    "pages/map/map_page.py": ("operator", "民情地图"),
    "pages/cases/queue_page.py": ("operator", "案件队列"),
    "pages/patrol/compliance_page.py": ("operator", "巡查考核"),
    "pages/screen/screen_page.py": ("operator", "今日上报"),
    "pages/exchange/import_page.py": ("admin", "数据导入"),
    "pages/access/users_page.py": ("admin", "用户管理"),
    "pages/access/audit_page.py": ("admin", "审计日志"),
}


class Cluster:
    """A PostgreSQL cluster of its own that a test can stop and start again on the same port."""

    def __init__(self, url: str) -> None:
        self.url = url
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            self.data = connection.exec_driver_sql("SHOW data_directory").scalar()
            self.port = connection.exec_driver_sql("SHOW port").scalar()
            self.sockets = connection.exec_driver_sql("SHOW unix_socket_directories").scalar()
        engine.dispose()

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_owner([str(PG_BIN / "pg_ctl"), "-D", self.data, "-w", *args]), check=True, capture_output=True
        )

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("-l", f"{self.data}/../log", "start", "-o", f"-h 127.0.0.1 -p {self.port} -k {self.sockets}")


@pytest.fixture(scope="module")
def cluster(small_demo) -> Iterator[Cluster]:
    """A cluster of its own (the tests stop it) holding the small demo."""
    try:
        with throwaway_postgis("outage") as url:
            store = open_store(Settings.from_env({"DATABASE_URL": url}))
            load_demo(store.engine, small_demo.county)
            store.engine.dispose()
            yield Cluster(url)
    except ClusterUnavailableError as error:
        if os.environ.get("REQUIRE_POSTGIS") == "1":
            pytest.fail(f"PostGIS is required here but could not start: {error}")
        pytest.skip(f"PostGIS not available: {error}")


@pytest.fixture
def stopped(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster, stopped for the test (and running again after it, whatever happened)."""
    cluster.stop()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already started by the test
            cluster.start()


def signed_in_app(monkeypatch, url: str, script: str, user: str, **query: str) -> AppTest:
    """app.py on `url` with `user` signed in, on the page `script` (switched to after a first run
    when that run could choose pages)."""
    monkeypatch.setenv("DATABASE_URL", url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for name, value in query.items():
        app.query_params[name] = value
    now = dt.datetime.now(dt.UTC)
    app.session_state[SIGNED_IN_KEY] = SignedIn("130532", user, now, now)
    return app


def shown(app: AppTest) -> str:
    parts = [
        str(element.value)
        for kind in ("title", "markdown", "warning", "error", "info", "caption", "subheader", "success")
        for element in getattr(app, kind)
    ]
    return " ".join(parts + [str(e.value) for e in app.exception])


def assert_notice(app: AppTest) -> None:
    text = shown(app)
    assert not app.exception, text
    assert NOTICE in text, text
    assert not [leak for leak in LEAKS if leak in text], text
    assert app.session_state[RETRY_ARMED_KEY]  # the notice will run the app again by itself


@pytest.mark.postgis
def test_every_page_open_while_postgres_is_down_shows_the_notice_and_comes_back(monkeypatch, stopped: Cluster) -> None:
    apps = {}
    for script, (user, _) in PAGES.items():
        view = {"view": "screen"} if script == "pages/screen/screen_page.py" else {}
        apps[script] = app = signed_in_app(monkeypatch, stopped.url, script, user, **view)
        app.run()
        assert_notice(app)  # the sign-in check runs first, and fails
    stopped.start()
    for script, app in apps.items():
        app.run()  # what the notice's timer does
        if script not in ("pages/map/map_page.py", "pages/screen/screen_page.py"):
            app.switch_page(script).run()
        text = shown(app)
        assert not app.exception and NOTICE not in text, text
        assert PAGES[script][1] in text, text


@pytest.mark.postgis
def test_pages_in_use_when_postgres_stops_show_the_notice_then_their_figures_again(monkeypatch, cluster) -> None:
    apps = {}
    for script, (user, expected) in PAGES.items():
        view = {"view": "screen"} if script == "pages/screen/screen_page.py" else {}
        apps[script] = app = signed_in_app(monkeypatch, cluster.url, script, user, **view)
        app.run()
        if script not in ("pages/map/map_page.py", "pages/screen/screen_page.py"):
            app.switch_page(script).run()
        assert not app.exception and expected in shown(app), shown(app)
    cluster.stop()
    try:
        for app in apps.values():
            app.run()
            assert_notice(app)
    finally:
        cluster.start()
    for script, app in apps.items():
        app.run()
        text = shown(app)
        assert not app.exception and NOTICE not in text and PAGES[script][1] in text, text


@pytest.mark.postgis
def test_a_service_reports_a_stopped_postgres_in_chinese_and_works_again_once_it_is_back(cluster) -> None:
    store = open_store(Settings.from_env({"DATABASE_URL": cluster.url}))
    before = load_queue(store.session_factory, actor=OPERATOR, area_code="130532", at=T)
    assert not before.empty
    cluster.stop()
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            load_queue(store.session_factory, actor=OPERATOR, area_code="130532", at=T)
        assert str(caught.value) == "数据库暂时无法连接，请稍后再试"
    finally:
        cluster.start()
    again = load_queue(store.session_factory, actor=OPERATOR, area_code="130532", at=T)
    assert again["incident_id"].tolist() == before["incident_id"].tolist()
    store.engine.dispose()


def test_a_sqlite_file_that_cannot_be_opened_gives_the_notice_and_then_the_page(
    monkeypatch, tmp_path, copy_small_demo
) -> None:
    copy_small_demo(tmp_path / "app.db")
    gone = tmp_path / "not-yet"
    url = f"sqlite:///{gone / 'app.db'}"
    app = signed_in_app(monkeypatch, url, "pages/map/map_page.py", "operator")
    app.run()
    assert_notice(app)
    gone.mkdir()
    (tmp_path / "app.db").rename(gone / "app.db")  # the disk is back
    app.run()
    assert not app.exception and NOTICE not in shown(app) and app.title[0].value == "民情地图"


def test_the_command_line_says_so_in_one_chinese_line_and_logs_the_details(tmp_path) -> None:
    env = {
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/minqing",  # nobody listens on port 9
        "DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "kpi", "--area", "130532"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.strip() == f"错误: {NOTICE}，请稍后再试（详情见 {tmp_path / 'cli.log'}）"
    log = (tmp_path / "cli.log").read_text()
    # the details are kept, off the screen, one line per event
    assert "ERROR user=- services.store.engine: database error: OperationalError" in log
    assert all(line.count(" user=") == 1 for line in log.splitlines())


@pytest.mark.postgis
@pytest.mark.browser
def test_in_the_browser_a_page_whose_store_stops_says_so_and_comes_back_by_itself(cluster) -> None:
    from playwright.sync_api import sync_playwright

    from devtools.app_server import running_app
    from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.test_browser import sign_in

    ARTIFACTS.mkdir(exist_ok=True)
    with running_app({"DATABASE_URL": cluster.url}) as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        sign_in(page, url)
        page.get_by_role("link", name="案件队列").click()
        page.get_by_role("heading", name="案件队列").wait_for(timeout=60_000)
        search = page.get_by_label("网格编码或事件编号包含")
        # The whole page, not just its heading, must be drawn before the store stops (else the run
        # still drawing it meets the outage first, and the search box never appears).
        search.wait_for(timeout=60_000)
        page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
        cluster.stop()
        try:
            search.fill("SJ")
            search.press("Enter")  # a rerun: the page reads the store again
            page.get_by_text(NOTICE).wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "store_unavailable.png"))
            body = page.inner_text("body")
            assert not [leak for leak in LEAKS if leak in body], body
        finally:
            cluster.start()
        # No click: the notice runs the app again by itself, on the page the user was on.
        page.get_by_role("heading", name="案件队列").wait_for(timeout=60_000)
        assert NOTICE not in page.inner_text("body") and page.url.rstrip("/").endswith("/queue")
        browser.close()


def test_a_widget_callback_that_meets_a_database_error_leaves_its_message_for_the_next_run() -> None:
    def script() -> None:
        import streamlit as st

        from pages.components import guarded, show_callback_error
        from services.errors import StoreUnavailableError

        def export() -> None:  # what the audit page's export records, with the database gone
            raise StoreUnavailableError("数据库暂时无法连接，请稍后再试")

        show_callback_error()
        st.button("导出", on_click=guarded(export))

    app = AppTest.from_function(script, default_timeout=30)
    app.run()
    app.button[0].click().run()  # callbacks run before the script, outside app.py's guard
    assert not app.exception and [e.value for e in app.error] == ["数据库暂时无法连接，请稍后再试"]
    app.run()
    assert not app.error  # shown once


@pytest.mark.postgis
def test_the_simulator_reports_a_tick_without_database_and_carries_on(cluster, tmp_path) -> None:
    from services.cli.simulator import Simulator, run_simulator

    store = open_store(Settings.from_env({"DATABASE_URL": cluster.url}))
    simulator = Simulator(store.session_factory, county_code="130532", photo_dir=tmp_path, reports_per_hour=3600)
    lines: list[str] = []
    cluster.stop()
    try:
        run_simulator(simulator, interval_s=0.0, cycles=2, echo=lines.append)
    finally:
        cluster.start()
    run_simulator(simulator, interval_s=0.0, cycles=1, echo=lines.append)
    store.engine.dispose()
    assert lines[:2] == ["数据库暂时无法连接，请稍后再试；下个周期重试"] * 2
    assert lines[2].startswith("新上报 ")
