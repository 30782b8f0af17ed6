"""用户管理: county admins add users, reset passwords and disable or enable accounts (the same
services as `services.cli user …`; every change goes on the audit log)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st

from pages.components import current_actor, store
from services.access.actor import USER_ROLE_NAMES
from services.access.users import add_user, list_users, set_disabled, set_password
from services.errors import DomainError
from services.labels import COLUMN_LABELS

RESULT_KEY = "users.result"
COLUMNS = ("username", "display_name", "role_name", "areas", "disabled")


def _apply(change: Callable[..., object], **values: object) -> None:
    """Runs one change from a button's callback and keeps its outcome for the next run."""
    try:
        change(store().session_factory, actor=current_actor(), now=dt.datetime.now(dt.UTC), **values)
    except DomainError as error:
        st.session_state[RESULT_KEY] = ("error", str(error))
    else:
        st.session_state[RESULT_KEY] = ("success", "已保存，并记入审计日志。")


def _add() -> None:
    state = st.session_state
    if state["users.password"] != state["users.password2"]:
        state[RESULT_KEY] = ("error", "两次输入的密码不一致")
        return
    _apply(
        add_user,
        username=state["users.username"],
        display_name=state["users.name"],
        role=state["users.role"],
        area_codes=tuple(code.strip() for code in state["users.areas"].replace("，", ",").split(",")),
        password=state["users.password"],
    )


def _reset(username: str) -> None:
    password = st.session_state.get("users.new_password", "")
    st.session_state["users.new_password"] = ""  # never kept past the attempt
    _apply(set_password, username=username, password=password)


st.title("用户管理")
st.caption("县级管理员在此开通账号、重置密码、停用或启用账号；停用后该用户的登录在下一次操作时即失效。")
actor = current_actor()
outcome = st.session_state.pop(RESULT_KEY, None)
if outcome:
    getattr(st, outcome[0])(outcome[1])
try:
    users = list_users(store().session_factory, actor=actor, now=dt.datetime.now(dt.UTC))
except DomainError as error:
    st.error(str(error))
    st.stop()
st.dataframe(users[list(COLUMNS)].rename(columns=COLUMN_LABELS), hide_index=True, width="stretch", key="users.table")

left, right = st.columns(2, gap="large")
with left, st.form("users.add", border=True):
    st.markdown("**新增用户**")
    st.text_input("用户名（小写字母开头）", max_chars=32, key="users.username")
    st.text_input("姓名", max_chars=32, key="users.name")
    st.selectbox("角色", list(USER_ROLE_NAMES), format_func=USER_ROLE_NAMES.__getitem__, key="users.role")
    st.text_input("负责区域编码（多个用逗号分隔）", placeholder="如 130532101", key="users.areas")
    st.text_input("初始密码（至少 8 位）", type="password", max_chars=128, key="users.password")
    st.text_input("再输一次", type="password", max_chars=128, key="users.password2")
    st.form_submit_button("新增", type="primary", on_click=_add)
with right, st.container(border=True):
    st.markdown("**已有用户**")
    chosen = st.selectbox("用户", users["username"].tolist(), key="users.chosen")
    if chosen:
        disabled = bool(users.set_index("username").loc[chosen, "disabled"])
        st.button(
            "启用" if disabled else "停用",
            key="users.toggle",
            on_click=_apply,
            args=(set_disabled,),
            kwargs={"username": chosen, "disabled": not disabled},
        )
        st.text_input("新密码（至少 8 位）", type="password", max_chars=128, key="users.new_password")
        st.button("重置密码", key="users.reset", on_click=_reset, args=(chosen,))
