"""登录会话: a user sees where they are signed in (this browser and others) and ends the ones
they left open; a county admin also issues and revokes the wall screens' long-lived sessions
(the same services as `python -m services.cli screen-session …`)."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import streamlit as st

from pages.components import SIGNED_IN_KEY, current_actor, guarded, show_callback_error, store
from render.markup import markdown_text
from services.access.screens import SCREEN_PATH, issue_screen_session, list_screens, revoke_screen_session
from services.access.sessions import end_own_session, list_own_sessions
from services.domain import LOCAL_TZ
from services.errors import DomainError

RESULT_KEY = "sessions.result"
LINK_KEY = "sessions.screen_link"


def _local(moment: object) -> str:
    if not isinstance(moment, dt.datetime) or moment != moment:  # NaT is a datetime unequal to itself
        return ""
    return f"{moment.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}"


@guarded
def _end(session_key: str) -> None:
    try:
        end_own_session(
            store().session_factory, actor=current_actor(), session_key=session_key, now=dt.datetime.now(dt.UTC)
        )
    except DomainError as error:
        st.session_state[RESULT_KEY] = ("error", str(error))
    else:
        st.session_state[RESULT_KEY] = ("success", "该会话已结束，那台浏览器下一次操作时需重新登录。")


@guarded
def _issue() -> None:
    state = st.session_state
    try:
        issued = issue_screen_session(
            store().session_factory,
            actor=current_actor(),
            name=state["sessions.screen_name"],
            area_code=state["sessions.screen_area"].strip(),
            days=int(state["sessions.screen_days"]),
            now=dt.datetime.now(dt.UTC),
        )
    except DomainError as error:
        state[RESULT_KEY] = ("error", str(error))
        return
    origin = urllib.parse.urlsplit(st.context.url or "")
    base = f"{origin.scheme}://{origin.netloc}" if origin.netloc else ""
    query = urllib.parse.urlencode({"token": issued.handover, "next": SCREEN_PATH})
    state[LINK_KEY] = (
        issued.name,
        f"{base}/auth/session?{query}",
        _local(issued.link_until),
        _local(issued.expires_at),
    )


@guarded
def _revoke(name: str) -> None:
    try:
        ended = revoke_screen_session(
            store().session_factory, actor=current_actor(), name=name, now=dt.datetime.now(dt.UTC)
        )
    except DomainError as error:
        st.session_state[RESULT_KEY] = ("error", str(error))
    else:
        st.session_state[RESULT_KEY] = ("success", f"已撤销大屏 {name} 的 {ended} 个会话，它将在下一次刷新时退出。")


st.title("登录会话")
show_callback_error()
actor = current_actor()
now = dt.datetime.now(dt.UTC)
outcome = st.session_state.pop(RESULT_KEY, None)
if outcome:
    getattr(st, outcome[0])(outcome[1])
st.caption(
    "刷新页面或重新打开浏览器不会退出登录；空闲超时、超过有效期、退出登录或账号停用后需重新登录。"
    "在别处忘记退出的会话可在此结束。"
)
signed_in = st.session_state.get(SIGNED_IN_KEY)
mine = signed_in.session_key if signed_in is not None else ""
for row in list_own_sessions(store().session_factory, actor=actor, now=now).itertuples():
    left, right = st.columns([5, 1], vertical_alignment="center")
    this = row.session_key == mine
    left.markdown(
        f"**{'本浏览器' if this else '其他浏览器'}** · {row.kind_name}登录于 {_local(row.created_at)} · "
        f"最近使用 {_local(row.last_seen_at)}  \n{markdown_text(row.user_agent[:120]) or '（浏览器未知）'}"
    )
    if not this:
        right.button("结束", key=f"sessions.end.{row.session_key}", on_click=_end, args=(row.session_key,))

if actor.may("manage_screens"):
    st.subheader("指挥大屏会话")
    st.caption(
        "为一块大屏发放长期会话：大屏的浏览器打开一次性链接后，断电、重启或刷新都会自动回到指挥大屏；"
        "该账号只能查看所选区域的指挥大屏。重新发放会结束旧会话；撤销后大屏在下一次刷新时退出。"
    )
    link = st.session_state.pop(LINK_KEY, None)
    if link:
        st.success(f"大屏 {link[0]} 的一次性链接（{link[2]} 前有效，只能打开一次；会话有效至 {link[3]}）：")
        st.code(link[1], language=None)
    with st.form("sessions.screen", border=True):
        st.text_input("大屏名称（英文小写，如 wall-1）", key="sessions.screen_name", max_chars=32)
        st.text_input("区域编码", value=actor.home_area, key="sessions.screen_area", max_chars=15)
        st.number_input("有效天数", min_value=1, max_value=3660, value=180, key="sessions.screen_days")
        st.form_submit_button("发放一次性链接", on_click=_issue)
    for screen in list_screens(store().session_factory, actor=actor, now=now).itertuples():
        left, right = st.columns([5, 1], vertical_alignment="center")
        state = (
            f"在用，最近刷新 {_local(screen.last_seen_at)}，有效至 {_local(screen.expires_at)}"
            if screen.live
            else "无有效会话"
        )
        left.markdown(f"**{markdown_text(screen.name)}** · 区域 {screen.area_code} · {state}")
        if screen.live:
            right.button("撤销", key=f"sessions.revoke.{screen.name}", on_click=_revoke, args=(screen.name,))
