"""巡查考核: each worker's month against the targets (≥ 20 patrol logs, ≥ 6 valid reports),
with patrol days, distance, coverage of their grids and suspicious days; export as CSV/XLSX."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from pages.components import SYNTHETIC_NOTE, current_actor, require_data, store
from services.domain import LOCAL_TZ
from services.exchange.downloads import table_as_csv, table_as_xlsx
from services.labels import COMPLIANCE_LABELS
from services.patrol.supervision import LOG_TARGET, REPORT_TARGET, compute_compliance

st.title("巡查考核")
st.caption(
    f"每名网格员每月巡查日志不少于 {LOG_TARGET} 篇、有效上报不少于 {REPORT_TARGET} 件；未达标者标红。" + SYNTHETIC_NOTE
)
require_data()
actor = current_actor()
today = dt.datetime.now(LOCAL_TZ).date()
months = [(today.replace(day=1) - dt.timedelta(days=31 * i)).replace(day=1) for i in range(6)]
month = st.selectbox("月份", months, format_func=lambda m: f"{m:%Y年%m月}", key="compliance.month")
table = compute_compliance(
    store().session_factory, actor=actor, area_code=actor.home_area, month=month, now=dt.datetime.now(dt.UTC)
)

short = int(table["below_target"].sum())
left, middle, right = st.columns(3)
left.metric("网格员", len(table))
middle.metric("未达标", short)
right.metric("有可疑巡查天的网格员", int((table["flagged_days"] > 0).sum()))
labels = COMPLIANCE_LABELS
shown = table.rename(columns=labels)
styled = shown.style.apply(
    lambda row: ["background-color: #fee2e2" if row[labels["below_target"]] else ""] * len(row), axis=1
).format({labels["coverage"]: lambda v: "—" if v != v else f"{v:.0%}", labels["distance_km"]: "{:.1f}"})
st.dataframe(styled, hide_index=True, width="stretch", height=560, key="compliance.table")
name = f"巡查考核_{month:%Y%m}"
left, right = st.columns(2)
left.download_button("导出 CSV", table_as_csv(shown), file_name=f"{name}.csv", mime="text/csv")
right.download_button(
    "导出 Excel",
    table_as_xlsx(shown, name),
    file_name=f"{name}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
