"""登录: the gate in front of every page.  app.py calls `require_signed_in` before navigation; it
resumes this browser session's sign-in or shows the form and stops the run."""

from __future__ import annotations

import datetime as dt

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from pages.components import ACTOR_KEY, SIGNED_IN_KEY, session_policy, settings, store
from render.markup import markdown_text
from services.access.actor import Actor
from services.access.sign_in import resume_session, sign_in, sign_in_single_sign_on, sign_out
from services.errors import SessionExpiredError, SignInError, StoreError, StoreUnavailableError

NOTICE_KEY = "auth.notice"


def require_signed_in() -> Actor:
    now = dt.datetime.now(dt.UTC)
    actor = _resume(now)
    if actor is not None:
        return actor
    if _single_sign_on_configured() and st.user.is_logged_in and not st.session_state.get(NOTICE_KEY):
        try:
            _remember(sign_in_single_sign_on(store().session_factory, **_provider_user(), now=now))
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
    if signed_in is None:
        return None
    try:
        actor, touched = resume_session(store().session_factory, signed_in=signed_in, now=now, policy=session_policy())
    except SessionExpiredError as error:
        _forget(str(error))
        return None
    st.session_state[SIGNED_IN_KEY] = touched
    st.session_state[ACTOR_KEY] = actor
    return actor


def show_account(actor: Actor) -> None:
    with st.sidebar:
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
        with st.form("sign-in", border=True):
            st.text_input("用户名", key="auth.username", max_chars=32, autocomplete="username")
            st.text_input("密码", type="password", key="auth.password", max_chars=128, autocomplete="current-password")
            st.form_submit_button("登录", type="primary", width="stretch", on_click=_submit)
        if _single_sign_on_configured():
            st.button("统一身份认证登录", width="stretch", on_click=st.login)
        st.caption("连续输错密码后需等待片刻再试。所有登录与查看个人信息的操作均记入审计日志。")


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


def _remember(signed_in) -> None:  # type: ignore[no-untyped-def]
    st.session_state[SIGNED_IN_KEY] = signed_in
    st.session_state.pop(NOTICE_KEY, None)


def _forget(notice: str | None) -> None:
    for key in (SIGNED_IN_KEY, ACTOR_KEY):
        st.session_state.pop(key, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice


def _sign_out(actor: Actor) -> None:
    notice = "已退出登录"
    try:
        sign_out(store().session_factory, actor=actor, now=dt.datetime.now(dt.UTC))
    except StoreError as error:  # signing out must work even then
        notice = f"已退出登录（{error}，本次退出未能记入审计日志）"
    signed_in = st.session_state.get(SIGNED_IN_KEY)
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
