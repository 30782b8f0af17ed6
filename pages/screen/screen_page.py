"""指挥大屏: the command-centre wall screen.  Dark, large type, no Streamlit chrome; the county map
in the centre with grids coloured by live load, overdue cases pulsing and new ones ringed; KPI
tiles, stages, alarms, rankings, the 30-day trend, categories and the share closed at each level.
The live part is a fragment that refreshes itself; the map keeps its place (only colours and
points are sent).  A 4K wall opens `/?view=screen&scale=2`: the same layout at twice the size."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from pages.access.sign_in import keep_signed_in
from pages.components import current_actor, require_data, settings, store, synthetic_note
from pages.map import reads
from render import screen_html
from render.map_layers import build_base_map, build_live_overlays
from services.basemaps import make_basemap
from services.domain import LOCAL_TZ
from services.errors import StoreUnavailableError
from services.mapping.map_data import colour_grids
from services.screen.wall_figures import ScreenFigures, load_screen

MAP_HEIGHT = 760  # at scale 1 (1920×1080); a 4K wall opens the page with &scale=2
LAST_GOOD = "screen.last_good"
SCREEN_CSS = """
<style>
[data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"], [data-testid="stDecoration"], footer { display: none !important; }
.stApp, [data-testid="stAppViewContainer"] { background: #0b1220; color: #e2e8f0; }
.block-container { padding: 0.8rem 1.2rem !important; max-width: 100% !important; }
h1, h2, h3, h4, p, span, div, label { color: #e2e8f0; }
.screen-title { font-size: 2.1rem; font-weight: 700; letter-spacing: .1em; color: #f8fafc; }
.screen-clock { font-size: 1.6rem; text-align: right; color: #93c5fd; font-variant-numeric: tabular-nums; }
.tile { background: #111c33; border: 1px solid #1e3a5f; border-radius: 8px; padding: .5rem .8rem; margin-bottom: .5rem; }
.tile .label { font-size: 1rem; color: #94a3b8; }
.tile .value { font-size: 2.4rem; font-weight: 700; color: #f8fafc; font-variant-numeric: tabular-nums; line-height: 1.15; }
.tile.alarm .value { color: #f87171; }
.panel { background: #111c33; border: 1px solid #1e3a5f; border-radius: 8px; padding: .5rem .8rem; margin-bottom: .6rem; }
.panel h4 { margin: 0 0 .3rem 0; font-size: 1.15rem; color: #93c5fd; }
.panel table { width: 100%; border-collapse: collapse; font-size: 1.02rem; }
.panel td { padding: .18rem .3rem; border-bottom: 1px solid #1e293b; color: #e2e8f0; }
.panel td.alarm { color: #f87171; font-weight: 700; }
.panel td.num { text-align: right; font-variant-numeric: tabular-nums; }
.stale { background: #7f1d1d; color: #fff; padding: .4rem .8rem; border-radius: 6px; font-size: 1.2rem; }
.note { font-size: .8rem; color: #64748b; }
</style>
"""


def _dark_chart(chart: alt.Chart, scale: float) -> alt.Chart:
    return (
        chart.configure(background="#111c33")
        .configure_axis(labelColor="#cbd5e1", titleColor="#cbd5e1", gridColor="#1e293b", labelFontSize=13 * scale)
        .configure_legend(labelColor="#e2e8f0", titleColor="#e2e8f0", labelFontSize=13 * scale)
        .configure_view(strokeWidth=0)
    )


scale = min(max(float(st.query_params.get("scale", "1") or 1), 1.0), 3.0)
st.html(SCREEN_CSS + f"<style>html {{ font-size: {16 * scale:.0f}px; }}</style>")
require_data()
config = settings()
actor = current_actor()
refresh = dt.timedelta(seconds=config.screen_refresh_s)
shapes = reads.area_shapes(actor, "wgs84")
HOME_NAME = shapes.names().get(actor.home_area, "")  # the county's, or a township leader's township
SHAPES_URL = reads.area_shapes_link(actor, "wgs84")


@st.fragment(run_every=refresh)
def live() -> None:
    actor = keep_signed_in()
    now = dt.datetime.now(dt.UTC)
    factory = store().session_factory
    try:
        figures = load_screen(factory, actor=actor, at=now, fresh=refresh * 2)
        by_grid = reads.grid_figures(
            config.database_url, actor, actor.home_area, now.replace(second=0, microsecond=0), ()
        )
        st.session_state[LAST_GOOD] = (figures, by_grid)
        stale_since = None
    except StoreUnavailableError:
        if LAST_GOOD not in st.session_state:
            st.markdown(screen_html.banner("stale", "数据库暂时无法连接，正在重试…"), unsafe_allow_html=True)
            return
        figures, by_grid = st.session_state[LAST_GOOD]
        stale_since = figures.at
    _layout(figures, by_grid, stale_since)


def _layout(figures: ScreenFigures, by_grid: pd.DataFrame, stale_since: dt.datetime | None) -> None:
    head, clock = st.columns([3, 1])
    head.markdown(screen_html.banner("screen-title", f"{HOME_NAME}网格化综合指挥中心"), unsafe_allow_html=True)
    clock.markdown(
        screen_html.banner("screen-clock", f"{figures.at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M:%S}"),
        unsafe_allow_html=True,
    )
    if stale_since is not None:
        st.markdown(
            screen_html.banner(
                "stale", f"数据更新中断：显示的是 {stale_since.astimezone(LOCAL_TZ):%H:%M:%S} 的数据，恢复后自动更新"
            ),
            unsafe_allow_html=True,
        )
    left, centre, right = st.columns([1, 2.3, 1.25], gap="small")
    with left:
        tiles = screen_html.tiles(figures)
        for row in range(0, len(tiles), 2):
            for column, block in zip(st.columns(2), tiles[row : row + 2], strict=True):
                column.markdown(block, unsafe_allow_html=True)
        for block in screen_html.left_panels(figures):
            st.markdown(block, unsafe_allow_html=True)
    with centre:
        values, _ = colour_grids(by_grid, "open")
        base = build_base_map(
            shapes,
            grid_values={},
            legend=None,
            basemap=make_basemap("none"),
            height=int(MAP_HEIGHT * scale),
            dark=True,
            shapes_url=SHAPES_URL,
        )
        incidents = figures.open_points
        live_incidents = incidents.assign(fresh=incidents["incident_id"].isin(figures.newest_ids))
        st_folium(
            base,
            key="screen_map",
            height=int(MAP_HEIGHT * scale),
            use_container_width=True,
            returned_objects=[],
            feature_group_to_add=build_live_overlays(values, live_incidents),
        )
        trend = figures.trend.melt("day", var_name="series", value_name="cases").replace(
            {"reported": "上报", "closed": "办结"}
        )
        chart = (
            alt.Chart(trend)
            .mark_line(point=True, strokeWidth=3)
            .encode(
                x=alt.X("day:T", title=None, axis=alt.Axis(format="%m-%d")),
                y=alt.Y("cases:Q", title="件"),
                color=alt.Color("series:N", title=None, scale=alt.Scale(range=["#f97316", "#34d399"])),
            )
            .properties(height=190 * scale, title=alt.Title("近30日上报与办结", color="#93c5fd", fontSize=16 * scale))
        )
        st.altair_chart(_dark_chart(chart, scale), width="stretch")
    with right:
        for block in screen_html.right_panels(figures):
            st.markdown(block, unsafe_allow_html=True)
        categories = figures.categories.rename_axis("category").reset_index(name="cases")
        bars = (
            alt.Chart(categories)
            .mark_bar(color="#60a5fa")
            .encode(
                x=alt.X("cases:Q", title=None),
                y=alt.Y("category:N", title=None, sort="-x"),
            )
            .properties(height=200 * scale, title=alt.Title("30日事件类别", color="#93c5fd", fontSize=16 * scale))
        )
        st.altair_chart(_dark_chart(bars, scale), width="stretch")
    st.markdown(
        screen_html.banner("note", f"{synthetic_note()}每 {refresh.total_seconds():g} 秒自动刷新。"),
        unsafe_allow_html=True,
    )


live()
