"""Composition root of 民情地图: page set-up, the sign-in gate and the pages of the user's role.

A database error that reaches this file (the store turns every driver error into a StoreError)
is shown as its Chinese message in place of the page, never as a traceback; while the database
cannot be reached the notice retries by itself (`pages.components.show_store_error`)."""

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from pages.access.sign_in import require_signed_in, show_account
from pages.components import (
    AppPage,
    require_data,
    show_callback_error,
    show_store_error,
    store,
    store_error_navigation,
)
from services.errors import StoreError
from services.operations.logs import log_as

PAGES = (
    AppPage("", "pages/map/map_page.py", "民情地图", "map", "browse"),
    AppPage("", "pages/cases/queue_page.py", "案件队列", "queue", "browse"),
    AppPage("", "pages/figures/statistics_page.py", "统计分析", "statistics", "browse"),
    AppPage("", "pages/patrol/compliance_page.py", "巡查考核", "compliance", "browse"),
    AppPage("", "pages/screen/screen_page.py", "指挥大屏", "screen"),  # the one page of a wall screen's account
    AppPage("管理", "pages/exchange/import_page.py", "数据导入", "import", "import_data"),
    AppPage("管理", "pages/access/users_page.py", "用户管理", "users", "manage_users"),
    AppPage("管理", "pages/access/audit_page.py", "审计日志", "audit", "read_audit"),
    AppPage("管理", "pages/intake/intake_page.py", "接入管理", "intake", "manage_intake"),
    AppPage("账号", "pages/access/sessions_page.py", "登录会话", "sessions", "browse"),
)

st.set_page_config(page_title="民情地图", page_icon="🗺️", layout="wide")
show_callback_error()
# The wall screen opens http://host:8501/?view=screen: as the default page it needs no deep link
# (a deep link to another page shows a spurious "Page not found" in headless mode, streamlit#8860).
default = "screen" if st.query_params.get("view") == "screen" else "map"


def navigation() -> StreamlitPage:
    """The page to run: the user's choice among the pages of their role (after the sign-in gate)."""
    store()  # create the engine and bring the schema up to date once, before any page runs
    require_data()  # an empty database has nobody to sign in: say how to create the demo
    actor = require_signed_in()
    log_as(actor.username)  # this run's log lines name its user
    show_account(actor)
    home = default if actor.may("browse") else "screen"
    sections: dict[str, list[StreamlitPage]] = {}
    for page in PAGES:
        if page.permission is None or actor.may(page.permission):
            sections.setdefault(page.section, []).append(
                st.Page(page.script, title=page.title, url_path=page.url_path, default=page.url_path == home)
            )
    return st.navigation(sections)


try:
    page = navigation()
except StoreError as error:  # before a page could be chosen: a notice under every page's address
    page = store_error_navigation(error, PAGES, default)
try:
    page.run()
except StoreError as error:  # the page's own reads failed: the notice in its place
    show_store_error(error)
