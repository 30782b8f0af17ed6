"""审计日志: county admins search who signed in, who looked at personal data, who was refused
what and who changed users or imported files; the result downloads as CSV or Excel."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from pages.components import current_actor, guarded, local_times, store
from services.access.audit import AUDIT_ACTIONS, AuditQuery, record_export, search_audit
from services.domain import LOCAL_TZ
from services.errors import DomainError
from services.exchange.downloads import table_as_csv, table_as_xlsx
from services.labels import AUDIT_LABELS

COLUMNS = ("at", "username", "role_name", "action_name", "target", "detail")

st.title("审计日志")
st.caption("登录、查看完整个人信息、越权被拒、导入导出与用户变更均记录在案，只增不改。")
actor = current_actor()
today = dt.datetime.now(LOCAL_TZ).date()
left, middle, right = st.columns([2, 1, 2])
period = left.date_input("日期", (today - dt.timedelta(days=6), today), max_value=today, key="audit.period")
username = middle.text_input("用户名", max_chars=32, key="audit.username")
actions = right.multiselect(
    "操作", list(AUDIT_ACTIONS), format_func=AUDIT_ACTIONS.__getitem__, placeholder="全部", key="audit.actions"
)
text = st.text_input("对象或说明包含", max_chars=64, key="audit.text")
if len(period) != 2:  # a range being picked has its start only
    st.info("请选择起止日期。")
    st.stop()
query = AuditQuery(
    since=dt.datetime.combine(period[0], dt.time(), LOCAL_TZ),
    until=dt.datetime.combine(period[1] + dt.timedelta(days=1), dt.time(), LOCAL_TZ),
    username=username,
    actions=tuple(actions),
    text=text,
)
try:
    entries = search_audit(store().session_factory, actor=actor, query=query, now=dt.datetime.now(dt.UTC))
except DomainError as error:
    st.error(str(error))
    st.stop()

st.metric("条目", f"{len(entries):,}")
shown = local_times(entries)[list(COLUMNS)]
shown = shown.rename(columns=AUDIT_LABELS)
st.dataframe(shown, hide_index=True, width="stretch", height=520, key="audit.table")
name = f"审计日志_{period[0]:%Y%m%d}-{period[1]:%Y%m%d}"


def _record_export() -> None:
    record_export(store().session_factory, actor=actor, query=query, rows=len(entries), at=dt.datetime.now(dt.UTC))


left, right = st.columns(2)
left.download_button(
    "导出 CSV",
    table_as_csv(shown),
    file_name=f"{name}.csv",
    mime="text/csv",
    on_click=guarded(_record_export),
)
right.download_button(
    "导出 Excel",
    table_as_xlsx(shown, "审计日志"),
    file_name=f"{name}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    on_click=guarded(_record_export),
)
