"""Patrol of one worker on one day, beside the map (layout only): day picker, replay slider,
figures, flags and the special-group households still waiting for a visit."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from render.map_layers import Layer, build_track_layer
from services.domain import LOCAL_TZ
from services.patrol.supervision import WorkerDay


def _until_key(day: WorkerDay) -> str:
    return f"patrol.until.{day.worker_id}.{day.day}"


def track_layer(day: WorkerDay) -> Layer:
    """The day's track up to the replay time chosen in the panel (the whole day by default)."""
    local = day.track["ts"].dt.tz_convert(LOCAL_TZ)
    until = st.session_state.get(_until_key(day))
    shown = day.track[local.dt.time <= until] if until is not None else day.track
    return build_track_layer(
        shown.assign(label=local[shown.index].dt.strftime("%H:%M")),
        day.stops.assign(
            label="停留 "
            + day.stops["start_ts"].dt.tz_convert(LOCAL_TZ).dt.strftime("%H:%M")
            + "–"
            + day.stops["end_ts"].dt.tz_convert(LOCAL_TZ).dt.strftime("%H:%M")
            + "，"
            + day.stops["minutes"].round().astype(int).astype(str)
            + " 分钟"
        ),
        day.visited,
        day.waiting.assign(label=day.waiting["head_name"] + " 户 · " + day.waiting["tags"] + " · 7 日内未走访"),
    )


def show_patrol(worker_id: str, days: list[dt.date], day: WorkerDay | None) -> None:
    with st.container(border=True, key="patrol-panel"):
        st.markdown("#### 巡查轨迹")
        if day is None:
            st.caption("该网格员没有巡查定位记录。")
            return
        st.selectbox("日期", days, format_func=lambda d: f"{d:%m月%d日}", key=f"patrol.day.{worker_id}")
        local = day.track["ts"].dt.tz_convert(LOCAL_TZ)
        if len(local) > 1:
            first, last = local.iloc[0].time().replace(second=0), local.iloc[-1].time().replace(second=0)
            if first < last:
                st.slider(
                    "回放到",
                    min_value=first,
                    max_value=last,
                    value=last,
                    step=dt.timedelta(minutes=5),
                    format="HH:mm",
                    key=_until_key(day),
                )
        columns = st.columns(3)
        columns[0].metric("巡查里程", f"{day.distance_m / 1000:.1f} km")
        columns[1].metric("巡查时长", f"{day.patrol_s / 3600:.1f} 小时")
        columns[2].metric("走访住户", len(day.visited))
        columns = st.columns(3)
        columns[0].metric("停留点", len(day.stops))
        columns[1].metric("网格7日覆盖", "—" if day.coverage_7d is None else f"{day.coverage_7d:.0%}")
        columns[2].metric("待走访特殊人群", len(day.waiting))
        if day.flags:
            st.warning("可疑：" + "、".join(day.flags))
        if not day.waiting.empty:
            st.markdown("**7 日内未走访的特殊人群户**（独居老人优先）")
            st.dataframe(
                pd.DataFrame(
                    {"户主": day.waiting["head_name"], "地址": day.waiting["address"], "标签": day.waiting["tags"]}
                ),
                hide_index=True,
                width="stretch",
                height=min(38 + 35 * len(day.waiting), 280),
            )
