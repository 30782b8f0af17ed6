"""民情地图: the county's grids, cases, households and workers on one map, drilled into by
clicking (county → township → village → grid → household).  The selection lives in the URL."""

from __future__ import annotations

import datetime as dt

import folium
import streamlit as st
from streamlit_folium import st_folium

from geo.display import display_point, stored_point
from geo.layers import build_base_map, build_focus_layer, build_overlays
from geo.markup import markdown_text
from geo.view import fit_view
from pages import incident_panel, map_panels, map_reads, patrol_panel
from pages.components import (
    SYNTHETIC_NOTE,
    compact_metrics,
    current_actor,
    current_minute,
    guarded,
    require_data,
    settings,
    store,
)
from pages.map_panels import REVEALED_KEY
from services.dispatch import find_possible_duplicates
from services.errors import DomainError
from services.incident_detail import load_incident_detail
from services.links import open_selection
from services.map_data import MAP_METRICS, colour_grids
from services.patrols import patrol_days_of
from services.search import search_map
from services.selection import Selection

MAP_HEIGHT = 660
MAP_WIDTH_GUESS = 720  # the map column on a 1440-px laptop screen; only used to pick the zoom that fits an area
TABLE_KEYS = ("map.children.", "map.cases.", "map.households.", REVEALED_KEY)


def current_selection() -> Selection:
    """The selection the URL names, as far as the user may open it: a link to an area outside
    their scope opens their home area instead (the refusal is audited, and said once)."""
    actor = current_actor()
    opened = open_selection(
        store().session_factory, actor=actor, params=st.query_params.to_dict(), at=dt.datetime.now(dt.UTC)
    )
    if opened.refused:
        st.session_state["map.refused"] = opened.refused
    return opened.selection


def go_to(selection: Selection) -> None:
    st.query_params.from_dict(selection.to_query())
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(TABLE_KEYS)]:
        del st.session_state[key]


def on_map_click() -> None:
    """A click on a feature moves the selection; a click on the map itself places a new case
    while 新建事件 is on.  A feature click moves the click counter, a map click does not."""
    value = st.session_state.get("map") or {}
    count = value.get("last_object_clicked_count")
    drawing = value.get("last_active_drawing")
    if drawing and count != st.session_state.get("map.click_count"):
        st.session_state["map.click_count"] = count
        go_to(current_selection().after_click(drawing.get("properties") or {}))
    elif st.session_state.get("map.new") and value.get("last_clicked"):
        st.session_state["map.draft"] = (value["last_clicked"]["lng"], value["last_clicked"]["lat"])


st.title("民情地图")
compact_metrics()
st.caption(SYNTHETIC_NOTE)
require_data()

config = settings()
url = config.database_url
actor = current_actor()
now = current_minute()
selection = current_selection()
if st.session_state.get("map.refused"):
    st.warning(st.session_state.pop("map.refused"))
    go_to(selection)

with st.sidebar:
    metric = st.selectbox("网格着色", list(MAP_METRICS), format_func=lambda k: MAP_METRICS[k].label, key="map.metric")
    basemaps = {b.kind: b for b in config.basemaps}
    basemap = basemaps[st.selectbox("底图", list(basemaps), format_func=lambda k: basemaps[k].label, key="map.basemap")]
    st.caption("县级视图只显示超期、临期和紧急事件，进入乡镇后显示全部在办事件与网格员位置；住户在村和网格视图显示。")
    if not (actor.may_act("report") and st.toggle("新建事件（在地图上点选位置）", key="map.new")):
        st.session_state.pop("map.draft", None)

shapes = map_reads.area_shapes(url, actor, basemap.crs)
names = shapes.names()
if selection.area_code not in names:
    st.warning(f"区域 {selection.area_code} 不存在，已回到您负责的区域。")
    selection = Selection(actor.home_area)

crumb_row, search_column = st.columns([3, 2], vertical_alignment="center")
with crumb_row, st.container(horizontal=True, gap="small", vertical_alignment="center", key="breadcrumb"):
    crumbs = selection.crumbs(home=actor.home_area)
    for code in crumbs[:-1]:
        st.button(
            markdown_text(names[code]), key=f"crumb-{code}", type="tertiary", on_click=go_to, args=(Selection(code),)
        )
        st.markdown("›")
    st.markdown(f"**{markdown_text(names[crumbs[-1]])}**")
with search_column:
    query = st.text_input(
        "搜索",
        placeholder=("户主姓名、" if actor.may("unmask_personal_data") else "") + "地址、事件编号、网格编码或名称",
        key="map.search",
        max_chars=64,
        label_visibility="collapsed",
    )

if query:
    hits = search_map(store().session_factory, actor=actor, text=query)
    with st.container(border=True, key="search-hits"):
        if not hits:
            st.caption("没有找到匹配的区域、事件或住户（至少输入两个字）。")
        for index, hit in enumerate(hits[:12]):
            st.button(
                markdown_text(hit.label), key=f"hit-{index}", type="tertiary", on_click=go_to, args=(hit.selection,)
            )

by_grid = map_reads.grid_figures(url, actor, actor.home_area, now, actor.clearance.highlighted_tags())
grid_values, legend = colour_grids(by_grid, metric)
level = selection.level
points_area = selection.points_area_code
incidents = map_reads.open_incidents(url, actor, points_area, now, selection.alarming_incidents_only, basemap.crs)
households = (
    map_reads.household_points(url, actor, points_area, now, basemap.crs) if selection.shows_households else None
)
workers = map_reads.worker_positions(url, actor, points_area, now, basemap.crs) if selection.shows_workers else None
detail = None
if selection.item_kind == "incident":
    try:
        detail = load_incident_detail(store().session_factory, actor=actor, incident_id=selection.item_id, at=now)
    except DomainError as error:
        st.error(str(error))
patrol = None
if selection.item_kind == "worker":
    patrol_days = patrol_days_of(store().session_factory, actor=actor, worker_id=selection.item_id)
    if patrol_days:
        day = st.session_state.get(f"patrol.day.{selection.item_id}", patrol_days[0])
        patrol = map_reads.worker_day(url, actor, selection.item_id, day, basemap.crs)
duplicates = (
    find_possible_duplicates(store().session_factory, actor=actor, incident_id=detail.incident_id, at=now)
    if detail is not None and "mark_duplicate" in detail.actions
    else None
)
draft = st.session_state.get("map.draft")
focus = build_focus_layer(
    incident=display_point(detail.lon, detail.lat, basemap.crs) if detail else None,
    assignee=display_point(*detail.assignee_position, basemap.crs) if detail and detail.assignee_position else None,
    draft=draft,
    duplicates=[]
    if duplicates is None
    else [display_point(x, y, basemap.crs) for x, y in zip(duplicates["lon"], duplicates["lat"], strict=True)],
)
chosen = shapes.of_level(level)
view_box = tuple(chosen[chosen["code"] == selection.area_code].total_bounds)
if patrol is not None and not patrol.track.empty:  # a worker's day: fit the route, and let it stand out
    view_box = (
        patrol.track["lon"].min(),
        patrol.track["lat"].min(),
        patrol.track["lon"].max(),
        patrol.track["lat"].max(),
    )
    households = None
centre, zoom = fit_view(view_box, width_px=MAP_WIDTH_GUESS, height_px=MAP_HEIGHT, max_zoom=17)

map_column, panel_column = st.columns([2.2, 1], gap="medium")
with map_column:
    st_folium(
        build_base_map(shapes, grid_values=grid_values, legend=legend, basemap=basemap, height=MAP_HEIGHT),
        key="map",
        height=MAP_HEIGHT,
        use_container_width=True,
        returned_objects=["last_active_drawing", "last_object_clicked_count", "last_clicked"],
        center=centre,
        zoom=zoom,
        feature_group_to_add=build_overlays(
            shapes,
            selected_code=selection.area_code,
            selected_level=level,
            child_level=None if level == "county" else selection.child_level,
            incidents=incidents,
            households=households,
            workers=workers,
        )
        + [focus]
        + ([] if patrol is None else [patrol_panel.track_layer(patrol)]),
        layer_control=folium.LayerControl(collapsed=True),
        on_change=guarded(on_map_click),
    )
    st.caption("点击地图逐级进入：县 → 乡镇 → 村 → 网格 → 住户；上方路径可返回。悬停可看名称与数值。")

with panel_column:
    try:
        if draft is not None:
            incident_panel.show_report_form(actor, stored_point(*draft, basemap.crs), go_to)
        if detail is not None:
            incident_panel.show_incident_panel(detail, actor, duplicates)
        elif selection.item_kind:
            map_panels.show_item_card(actor, selection, now)
        if selection.item_kind == "worker":
            patrol_panel.show_patrol(selection.item_id, patrol_days, patrol)
        st.subheader(map_panels.panel_heading(actor, selection, names))
        map_panels.show_figures(map_reads.area_figures(url, actor, selection.area_code, now))
        if level == "grid":
            map_panels.show_grid_panel(actor, selection.area_code, now, go_to)
        else:
            map_panels.show_children(by_grid, selection, names, go_to)
    except DomainError as error:
        st.error(str(error))
