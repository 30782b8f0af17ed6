"""End to end (issue 17): a sign-in survives a reload, a sign-out does not; a disabled user's
cookie stops working at the next run; a forged cookie is refused and on the record; a wall
screen's session comes back by itself after a reload.  serve.py on 127.0.0.1, headless Chromium."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from devtools.app_server import running_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.map_probe import wait_for_grids
from services.access.screens import SCREEN_PATH, issue_screen_session
from services.access.sessions import COOKIE_NAME
from services.access.users import set_disabled
from services.cli.bootstrap import open_store
from services.cli.demo.people import DEMO_PASSWORD
from services.settings import Settings
from tests.factories import ADMIN
from tests.paths import ARTIFACTS

SIGNED_IN = "当前用户："


@pytest.fixture(scope="module")
def served(copy_small_demo, tmp_path_factory) -> Iterator[tuple[str, str]]:
    url = copy_small_demo(tmp_path_factory.mktemp("sessions") / "sessions.db")
    with running_app({"DATABASE_URL": url, "SCREEN_REFRESH_S": "2"}) as (app_url, _):
        yield app_url, url


@pytest.fixture
def browser_context() -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_context(viewport={"width": 1440, "height": 1000})
        browser.close()


def sign_in(page: Page, url: str, user: str) -> None:
    """Signs in through the form and waits until the browser has fetched its session cookie."""
    page.goto(url)
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    with page.expect_response(lambda response: "/auth/session?token=" in response.url, timeout=60_000) as fetched:
        page.get_by_role("button", name="登录", exact=True).click()
    assert fetched.value.status == 200
    page.get_by_text(SIGNED_IN).wait_for(timeout=60_000)


def session_cookie(context: BrowserContext) -> dict:
    (cookie,) = [c for c in context.cookies() if c["name"] == COOKIE_NAME]
    return cookie


def audit_actions(database_url: str, action: str) -> list[tuple[str, str]]:
    store = open_store(Settings.from_env({"DATABASE_URL": database_url}))
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT username, detail FROM audit_log WHERE action = ? ORDER BY at", (action,)
        ).all()
    store.engine.dispose()
    return [tuple(r) for r in rows]


@pytest.mark.browser
def test_a_reload_keeps_the_user_signed_in_until_they_sign_out(served, browser_context) -> None:
    app_url, _ = served
    page = browser_context.new_page()
    sign_in(page, app_url, "operator")
    cookie = session_cookie(browser_context)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"], cookie["secure"]) == (True, "Strict", "/", False)
    assert page.evaluate("document.cookie").find(COOKIE_NAME) == -1  # scripts cannot read it
    page.reload()
    page.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
    assert page.get_by_label("密码").count() == 0
    other = browser_context.new_page()  # a second tab of the same browser
    other.goto(app_url)
    other.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
    other.close()
    with page.expect_response(lambda response: "/auth/sign-out" in response.url, timeout=60_000):
        page.get_by_role("button", name="退出登录").click()
    page.get_by_text("已退出登录").wait_for(timeout=30_000)
    assert [c for c in browser_context.cookies() if c["name"] == COOKIE_NAME] == []
    page.reload()
    page.get_by_label("密码").wait_for(timeout=60_000)
    assert page.get_by_text(SIGNED_IN).count() == 0


@pytest.mark.browser
def test_a_disabled_users_cookie_stops_working_at_the_next_run(served, browser_context) -> None:
    app_url, database_url = served
    page = browser_context.new_page()
    sign_in(page, app_url, "viewer")
    store = open_store(Settings.from_env({"DATABASE_URL": database_url}))
    set_disabled(store.session_factory, actor=ADMIN, now=dt.datetime.now(dt.UTC), username="viewer", disabled=True)
    try:
        page.reload()
        page.get_by_text("该账号已停用").wait_for(timeout=60_000)
        # The notice is drawn before the form below it: wait for the form, then check there is one.
        page.get_by_label("密码").wait_for(timeout=30_000)
        assert page.get_by_label("密码").count() == 1
        assert page.get_by_text(SIGNED_IN).count() == 0
    finally:
        set_disabled(store.session_factory, actor=ADMIN, now=dt.datetime.now(dt.UTC), username="viewer", disabled=False)
        store.engine.dispose()
    page.reload()  # enabling again does not bring the old session back
    page.get_by_label("密码").wait_for(timeout=60_000)


@pytest.mark.browser
def test_a_forged_cookie_is_refused_and_on_the_record(served, browser_context) -> None:
    app_url, database_url = served
    host = urllib.parse.urlsplit(app_url).hostname
    browser_context.add_cookies([{"name": COOKIE_NAME, "value": "forged-" + "x" * 40, "domain": host, "path": "/"}])
    page = browser_context.new_page()
    page.goto(app_url)
    page.get_by_label("密码").wait_for(timeout=60_000)
    assert page.get_by_text(SIGNED_IN).count() == 0
    page.get_by_label("用户名").fill("leader")  # a rerun of the form: refused once, not again on each run
    page.wait_for_timeout(1500)
    assert audit_actions(database_url, "session_refused").count(("（未知）", "会话凭证无效")) == 1


@pytest.mark.browser
def test_a_wall_screen_opens_its_one_time_link_and_comes_back_after_a_reload(served, browser_context) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    app_url, database_url = served
    store = open_store(Settings.from_env({"DATABASE_URL": database_url}))
    issued = issue_screen_session(
        store.session_factory, actor=ADMIN, name="wall-1", area_code="130532", now=dt.datetime.now(dt.UTC)
    )
    store.engine.dispose()
    link = f"{app_url.rstrip('/')}/auth/session?" + urllib.parse.urlencode(
        {"token": issued.handover, "next": SCREEN_PATH}
    )
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(link)
    page.get_by_text("平乡县网格化综合指挥中心").wait_for(timeout=60_000)
    assert "view=screen" in page.url and "token" not in page.url
    page.reload()  # a power cut, a kiosk restart
    page.get_by_text("平乡县网格化综合指挥中心").wait_for(timeout=60_000)
    wait_for_grids(page)
    page.wait_for_timeout(2000)
    page.screenshot(path=str(ARTIFACTS / "screen_session.png"))
    again = browser_context.new_page()
    again.goto(link)  # the link works once
    again.get_by_text("登录链接无效").wait_for(timeout=30_000)
    page.goto(app_url + "?area=130532")  # the screen's account has no map page: it lands on the screen
    page.get_by_text("平乡县网格化综合指挥中心").wait_for(timeout=60_000)
    assert [u for u, _ in audit_actions(database_url, "session_resume")].count("wall-1") >= 2


@pytest.mark.browser
@pytest.mark.parametrize("path", ["", "auth/session?token=nothing", "auth/sign-out", "_stcore/health"])
def test_every_response_of_the_app_carries_the_security_headers(served, path) -> None:
    app_url, _ = served
    try:
        with urllib.request.urlopen(app_url + path, timeout=30) as response:  # noqa: S310 — our own server
            headers = response.headers
    except urllib.error.HTTPError as refused:  # a refused one-time token is still a response of the app
        with refused:
            headers = refused.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    if path.startswith("auth/"):
        assert headers["Cache-Control"] == "no-store"
