"""登录会话 under AppTest: a user's own sessions, ending one left open elsewhere, and a county
admin issuing a wall screen's one-time link (issue 17)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.access.sign_in import SessionPolicy, start_session
from services.cli.bootstrap import open_store
from services.settings import Settings
from tests.apptest import open_app

PAGE = "pages/access/sessions_page.py"


@pytest.fixture
def demo_database(copy_small_demo, tmp_path) -> str:
    return copy_small_demo(tmp_path / "sessions.db")


def test_a_user_ends_a_session_they_left_open_elsewhere(monkeypatch, demo_database) -> None:
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    start_session(
        store.session_factory,
        county_code="130532",
        username="operator",
        now=dt.datetime.now(dt.UTC),
        policy=SessionPolicy(),
    )
    store.engine.dispose()
    app = open_app(monkeypatch, demo_database, PAGE).run()
    assert not app.exception and app.title[0].value == "登录会话"
    shown = [m.value for m in app.markdown]
    assert sum("本浏览器" in m for m in shown) == 1 and sum("其他浏览器" in m for m in shown) == 1
    assert not app.subheader  # the wall screens' part is for county admins
    (end,) = [b for b in app.button if b.label == "结束"]
    end.click().run()
    assert app.success[0].value.startswith("该会话已结束")
    assert sum("其他浏览器" in m.value for m in app.markdown) == 0


def test_a_county_admin_issues_a_wall_screen_link_and_revokes_it(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, PAGE, user="admin").run()
    assert app.subheader[0].value == "指挥大屏会话"
    app.text_input(key="sessions.screen_name").input("wall-1")
    app.button(key="FormSubmitter:sessions.screen-发放一次性链接").click().run()
    assert not app.exception and "/auth/session?token=" in app.code[0].value
    assert "next=%2F%3Fview%3Dscreen" in app.code[0].value
    assert any("**wall-1** · 区域 130532 · 在用" in m.value for m in app.markdown)
    (revoke,) = [b for b in app.button if b.label == "撤销"]
    revoke.click().run()
    assert app.success[0].value.startswith("已撤销大屏 wall-1 的 1 个会话")
    assert any("**wall-1** · 区域 130532 · 无有效会话" in m.value for m in app.markdown)
