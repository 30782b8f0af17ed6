"""案件队列: the cases that need someone to act, most pressing first; a row opens the case on the map."""

from __future__ import annotations

import streamlit as st

from pages.components import current_actor, current_minute, require_data, store, synthetic_note
from services.cases.queue import NEEDS, load_queue
from services.labels import COLUMN_LABELS
from services.mapping.selection import Selection

st.title("案件队列")
st.caption(
    "需要处理的在办事件：超期、核实超时、临期、待核实、待派遣、待核查。点选一行，在民情地图上打开该事件。"
    + synthetic_note()
)
require_data()

actor = current_actor()
queue = load_queue(store().session_factory, actor=actor, area_code=actor.home_area, at=current_minute())

counts = queue["need"].value_counts()
for column, need in zip(st.columns(len(NEEDS)), NEEDS, strict=True):
    column.metric(need, int(counts.get(need, 0)))

left, middle, right = st.columns([2, 2, 3])
needs = left.multiselect("待办类型", NEEDS, default=list(NEEDS), key="queue.needs")
categories = sorted(queue["category"].str.split("/").str[0].unique())
chosen_categories = middle.multiselect("类别", categories, default=categories, key="queue.categories")
text = right.text_input("网格编码或事件编号包含", key="queue.text")

shown = queue[queue["need"].isin(needs) & queue["category"].str.split("/").str[0].isin(chosen_categories)]
if text:
    shown = shown[
        shown["grid_code"].str.contains(text, regex=False) | shown["incident_id"].str.contains(text, regex=False)
    ]
shown = shown.reset_index(drop=True)
st.caption(f"共 {len(shown)} 件（全部待办 {len(queue)} 件）")
selected = st.dataframe(
    shown.drop(columns=["lon", "lat"]).rename(columns=COLUMN_LABELS),
    hide_index=True,
    width="stretch",
    height=560,
    on_select="rerun",
    selection_mode="single-row",
    key="queue.table",
)
if selected.selection.rows:
    row = shown.iloc[selected.selection.rows[0]]
    st.switch_page(
        "pages/map/map_page.py", query_params=Selection(row["grid_code"], "incident", row["incident_id"]).to_query()
    )
