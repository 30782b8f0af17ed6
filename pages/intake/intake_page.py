"""接入管理: county admins see the keys other systems post cases with (make one, revoke one) and
the latest requests that came in through the Open311 API or 12345 work-order files, the senders'
personal data masked (the same services as `services.cli intake-key …`, each change audited)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from pages.components import current_actor, store
from services.domain import CHANNEL_NAMES, LOCAL_TZ
from services.errors import DomainError
from services.intake.keys import KEY_CHANNELS, add_intake_key, list_intake_keys, revoke_intake_key
from services.intake.requests import list_received_requests
from services.labels import INTAKE_LABELS, INTAKE_SENDER_LABELS

RESULT_KEY = "intake.result"
NEW_KEY = "intake.new_key"  # shown once, on the run right after it was made, then dropped
KEY_COLUMNS = (
    "name",
    "channel_name",
    "active",
    "created_at",
    "created_by",
    "revoked_at",
    "requests",
    "last_request_at",
)
REQUEST_COLUMNS = (
    "received_at",
    "source",
    "external_id",
    "incident_id",
    "category",
    "state_name",
    "channel_name",
    "address",
    "name",
    "phone",
    "email",
)


def _local(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Times as local minutes, blank where missing."""
    return frame.assign(
        **{
            c: frame[c].map(lambda v: "" if v is None or v != v else v.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"))
            for c in columns
        }
    )


def _add() -> None:
    state = st.session_state
    try:
        state[NEW_KEY] = (
            state["intake.name"],
            add_intake_key(
                store().session_factory,
                actor=current_actor(),
                now=dt.datetime.now(dt.UTC),
                name=state["intake.name"],
                channel=state["intake.channel"],
            ),
        )
    except DomainError as error:
        state[RESULT_KEY] = ("error", str(error))


def _revoke(name: str) -> None:
    try:
        revoke_intake_key(store().session_factory, actor=current_actor(), now=dt.datetime.now(dt.UTC), name=name)
    except DomainError as error:
        st.session_state[RESULT_KEY] = ("error", str(error))
    else:
        st.session_state[RESULT_KEY] = ("success", f"密钥 {name} 已吊销，并记入审计日志。")


st.title("接入管理")
st.caption(
    "其他系统（村情通等居民 APP、12345 热线、部门系统）通过 Open311 接口 /open311/v2/ 上报事件；每个系统一把密钥。"
)
actor = current_actor()
outcome = st.session_state.pop(RESULT_KEY, None)
if outcome:
    getattr(st, outcome[0])(outcome[1])
made = st.session_state.pop(NEW_KEY, None)
if made:
    st.success(f"已创建密钥 {made[0]}。请立即复制交给对方系统，此后不再显示（系统只保存其散列值）：")
    st.code(made[1], language=None)
try:
    now = dt.datetime.now(dt.UTC)
    keys = list_intake_keys(store().session_factory, actor=actor, now=now)
    received = list_received_requests(store().session_factory, actor=actor, now=now)
except DomainError as error:
    st.error(str(error))
    st.stop()

st.subheader("接入密钥")
shown = _local(keys, ("created_at", "revoked_at", "last_request_at"))[list(KEY_COLUMNS)]
st.dataframe(shown.rename(columns=INTAKE_LABELS), hide_index=True, width="stretch", key="intake.keys")
left, right = st.columns(2, gap="large")
with left, st.form("intake.add", border=True):
    st.markdown("**新建密钥**")
    st.text_input("名称（系统名，如 cunqingtong、12345）", max_chars=24, key="intake.name")
    st.selectbox("渠道", KEY_CHANNELS, format_func=CHANNEL_NAMES.__getitem__, key="intake.channel")
    st.form_submit_button("创建", type="primary", on_click=_add)
with right, st.container(border=True):
    st.markdown("**吊销密钥**")
    active = keys.loc[keys["active"], "name"].tolist()
    chosen = st.selectbox("密钥", active, key="intake.chosen", placeholder="没有有效的密钥")
    st.button("吊销", disabled=not chosen, on_click=_revoke, args=(chosen,), key="intake.revoke")

st.subheader("最近接入的诉求")
st.caption("诉求人的姓名、电话、邮箱已脱敏；公开接口的查询从不返回个人信息。")
requests = _local(received, ("received_at",))[list(REQUEST_COLUMNS)]
st.dataframe(requests.rename(columns=INTAKE_SENDER_LABELS), hide_index=True, width="stretch", key="intake.requests")
