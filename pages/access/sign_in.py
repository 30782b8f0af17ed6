"""登录: the gate in front of every page.  app.py calls `require_signed_in` before navigation; it
resumes this tab's session — or, in a tab opened later (a reload, a kiosk restart), the session
the browser's HttpOnly cookie names — or shows the form and stops the run.

A script cannot set a cookie: after a sign-in the page shows an invisible image from
`/auth/session?token=…` (web/sessions.py), whose response sets it; after a sign-out one from
`/auth/sign-out`, whose response clears it."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import math
import time

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from pages.components import ACTOR_KEY, SIGNED_IN_KEY, session_policy, settings, store
from render.markup import markdown_text
from services.access.actor import Actor
from services.access.sessions import COOKIE_NAME, end_session
from services.access.sign_in import (
    SignedIn,
    resume_from_cookie,
    resume_session,
    sign_in,
    sign_in_single_sign_on,
    sign_out,
)
from services.errors import SessionExpiredError, SignInError, StoreError, StoreUnavailableError

NOTICE_KEY = "auth.notice"
SKIPPED_COOKIE_KEY = "auth.skipped_cookie"  # hash of a cookie this tab refused or signed out of
CLEAR_COOKIE_KEY = "auth.clear_cookie"  # the form asks the browser to drop its cookie
# The form keeps asking for a while: a rerun that starts before the browser has drawn the image
# (the map's component reports its first value as it goes) would otherwise take it away unfetched.
CLEAR_COOKIE_FOR_S = 20.0
PRELOAD_KEY = "auth-preload"  # also its CSS class, st-key-auth-preload


def require_signed_in() -> Actor:
    now = dt.datetime.now(dt.UTC)
    actor = _resume(now)
    if actor is not None:
        return actor
    if _single_sign_on_configured() and st.user.is_logged_in and not st.session_state.get(NOTICE_KEY):
        try:
            _remember(
                sign_in_single_sign_on(store().session_factory, **_provider_user(), now=now, policy=session_policy())
            )
            st.rerun()
        except SignInError as error:
            st.session_state[NOTICE_KEY] = str(error)
    # A navigation of the form alone: before it, Streamlit would list every file in pages/.
    st.navigation([st.Page(_show_form, title="登录", url_path="sign-in")], position="hidden").run()
    st.stop()


def keep_signed_in() -> Actor:
    """For a fragment that reruns by itself (the wall screen): each run resumes the session as a
    page run does, so a disabled user or an expired session stops the figures too; then the
    whole app reruns to the sign-in form."""
    try:
        actor = _resume(dt.datetime.now(dt.UTC))
    except StoreUnavailableError:
        return st.session_state[ACTOR_KEY]  # cannot check now; the screen keeps its last figures
    if actor is None:
        st.rerun(scope="app")
    return actor


def _resume(now: dt.datetime) -> Actor | None:
    signed_in = st.session_state.get(SIGNED_IN_KEY)
    cookie = None if signed_in is not None else _cookie()
    try:
        if signed_in is not None:
            actor, touched = resume_session(
                store().session_factory, signed_in=signed_in, now=now, policy=session_policy()
            )
        elif cookie is not None:
            actor, touched = resume_from_cookie(
                store().session_factory,
                county_code=settings().county_code,
                cookie=cookie,
                now=now,
                policy=session_policy(),
            )
        else:
            return None
    except SessionExpiredError as error:
        if signed_in is None and cookie is not None:  # refused once (and on the record), then ignored
            st.session_state[SKIPPED_COOKIE_KEY] = _digest(cookie)
        _forget(str(error))
        return None
    st.session_state[SIGNED_IN_KEY] = touched
    st.session_state[ACTOR_KEY] = actor
    return actor


def _cookie() -> str | None:
    """The session cookie the browser sent when this tab connected, unless this tab is done with it."""
    cookie = st.context.cookies.get(COOKIE_NAME)
    if not isinstance(cookie, str) or not cookie or _digest(cookie) == st.session_state.get(SKIPPED_COOKIE_KEY):
        return None
    return cookie


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _route(path: str) -> str:
    base = "/".join(part for part in str(st.get_option("server.baseUrlPath")).split("/") if part)
    return f"/{base}{path}" if base else path


def _fetch(url: str) -> None:
    """An invisible image: the browser fetches it, and the route's response sets or clears the cookie."""
    st.html(f'<img src="{html.escape(url)}" alt="" width="1" height="1" style="position:absolute;opacity:0">')


def show_account(actor: Actor) -> None:
    signed_in = st.session_state.get(SIGNED_IN_KEY)
    with st.sidebar:
        if signed_in is not None and signed_in.handover:  # until the browser has its cookie
            _fetch(_route(f"/auth/session?token={signed_in.handover}"))
        st.caption(
            f"当前用户：{markdown_text(actor.display_name)}（{markdown_text(actor.username)}）· {actor.role_name}"
        )
        st.button("退出登录", key="auth.sign_out", on_click=_sign_out, args=(actor,))


def _show_form() -> None:
    _, middle, _ = st.columns([1, 1.2, 1])
    with middle:
        st.title("民情地图")
        st.caption("网格化管理指挥平台 · 请登录")
        notice = st.session_state.get(NOTICE_KEY)
        if notice:
            st.warning(notice)
        if time.monotonic() - st.session_state.get(CLEAR_COOKIE_KEY, -math.inf) < CLEAR_COOKIE_FOR_S:
            _fetch(_route("/auth/sign-out"))
        with st.form("sign-in", border=True):
            st.text_input("用户名", key="auth.username", max_chars=32, autocomplete="username")
            st.text_input("密码", type="password", key="auth.password", max_chars=128, autocomplete="current-password")
            st.form_submit_button("登录", type="primary", width="stretch", on_click=_submit)
        if _single_sign_on_configured():
            st.button("统一身份认证登录", width="stretch", on_click=st.login)
        st.caption("连续输错密码后需等待片刻再试。所有登录与查看个人信息的操作均记入审计日志。")
    _preload_page_elements()


def _preload_page_elements() -> None:
    """A table and a figure, drawn hidden under the form, so that the browser loads and compiles
    their code (lazily loaded, ~1 MB of script for the table) while the user types.  Without them
    the first page after the 登录 click waited for it: Streamlit's frontend shows no element of a
    page until every lazily loaded element in it is ready, the map's included (a warm sign-in on
    the county demo ~0.6 s later)."""
    st.html(f"<style>.st-key-{PRELOAD_KEY} {{ display: none; }}</style>")
    with st.container(key=PRELOAD_KEY):
        st.dataframe(pd.DataFrame({"": [0.5]}), column_config={"": st.column_config.ProgressColumn()}, hide_index=True)
        st.metric("预加载", "", label_visibility="collapsed")


def _submit() -> None:
    username = st.session_state.get("auth.username", "")
    password = st.session_state.get("auth.password", "")
    st.session_state["auth.password"] = ""  # never kept past the attempt
    try:
        _remember(
            sign_in(
                store().session_factory,
                county_code=settings().county_code,
                username=username,
                password=password,
                now=dt.datetime.now(dt.UTC),
                policy=session_policy(),
            )
        )
    except (SignInError, StoreError) as error:  # a callback runs before app.py's guard
        st.session_state[NOTICE_KEY] = str(error)


def _remember(signed_in: SignedIn) -> None:
    """A new sign-in in this tab: the browser's earlier session (if any) ends, a fresh id replaces it."""
    cookie = _cookie()
    if cookie is not None:
        st.session_state[SKIPPED_COOKIE_KEY] = _digest(cookie)
        end_session(
            store().session_factory,
            county_code=signed_in.county_code,
            cookie=cookie,
            reason="rotated",
            now=signed_in.started_at,
        )
    st.session_state[SIGNED_IN_KEY] = signed_in
    st.session_state.pop(NOTICE_KEY, None)


def _forget(notice: str | None) -> None:
    for key in (SIGNED_IN_KEY, ACTOR_KEY):
        st.session_state.pop(key, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice


def _sign_out(actor: Actor) -> None:
    notice = "已退出登录"
    signed_in = st.session_state.get(SIGNED_IN_KEY)
    try:
        sign_out(store().session_factory, actor=actor, now=dt.datetime.now(dt.UTC), signed_in=signed_in)
    except StoreError as error:  # signing out must work even then
        notice = f"已退出登录（{error}，本次退出未能记入审计日志）"
    cookie = _cookie()
    if cookie is not None:
        st.session_state[SKIPPED_COOKIE_KEY] = _digest(cookie)
    st.session_state[CLEAR_COOKIE_KEY] = time.monotonic()
    _forget(notice)
    if signed_in is not None and signed_in.method == "sso":
        st.logout()


def _single_sign_on_configured() -> bool:
    """OpenID Connect through st.login when secrets.toml has an [auth] section."""
    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError:
        return False


def _provider_user() -> dict[str, str]:
    """The local username the identity provider vouches for (its preferred_username, else the
    part of the e-mail address before @)."""
    name = st.user.get("preferred_username") or str(st.user.get("email") or "").split("@")[0]
    return {"county_code": settings().county_code, "username": str(name)}
