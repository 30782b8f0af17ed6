"""Signing in to the dashboard in a browser, as a person does, for browser tests and benchmarks."""

from __future__ import annotations

from playwright.sync_api import Page

from services.cli.demo.people import DEMO_PASSWORD


def sign_in(page: Page, url: str, user: str = "operator") -> None:
    """Opens `url` and signs in through the form as a demo user; the page then shows what the
    link asked for."""
    page.context.clear_cookies()  # a session cookie would resume the last sign-in instead of showing the form
    page.goto(url)
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_text("当前用户：").wait_for(state="attached", timeout=60_000)  # the wall screen hides the sidebar
