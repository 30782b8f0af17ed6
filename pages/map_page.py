"""民情地图: the county's areas on a map, with the county's headline figures."""

from __future__ import annotations

import datetime as dt

import streamlit as st
from streamlit_folium import st_folium

from geo.layers import build_area_map
from pages.components import SYNTHETIC_NOTE, current_scope, require_data, settings, store
from services.areas import load_areas
from services.figures import compute_area_figures

st.title("民情地图")
st.caption(SYNTHETIC_NOTE)
require_data()

scope = current_scope()
now = dt.datetime.now(dt.UTC)
figures = compute_area_figures(store().session_factory, scope=scope, area_code=settings().county_code, at=now, days=7)
cols = st.columns(6)
cols[0].metric("住户", f"{figures.households:,}")
cols[1].metric("在办事件", figures.open)
cols[2].metric("超期", figures.overdue)
cols[3].metric("核实超时", figures.validation_overdue)
cols[4].metric("近7日办结率", "—" if figures.closure_rate is None else f"{figures.closure_rate:.1%}")
cols[5].metric("近7日巡查覆盖", "—" if figures.coverage is None else f"{figures.coverage:.1%}")

areas = load_areas(store().session_factory, scope=scope, levels=("county", "township", "grid"))
st_folium(build_area_map(areas), key="county_map", height=640, use_container_width=True, returned_objects=[])
