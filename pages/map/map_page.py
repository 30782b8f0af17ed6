"""民情地图: the county's grids, cases, households and workers on one map, drilled into by
clicking (county → township → village → grid → household).  The selection lives in the URL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.display import AreaShapes, display_point, stored_point
from pages.components import (
    compact_metrics,
    current_actor,
    current_minute,
    guarded,
    require_data,
    settings,
    store,
    synthetic_note,
)
from pages.map import incident_panel, panels, patrol_panel, reads
from pages.map.panels import REVEALED_KEY
from render.map_layers import build_base_map, build_focus_layer, build_layer_control, build_overlays
from render.markup import markdown_text
from render.view import fit_view
from services.access.actor import Actor
from services.basemaps import Basemap
from services.cases.detail import IncidentDetail, load_incident_detail
from services.cases.dispatch import find_possible_duplicates
from services.errors import DomainError
from services.mapping.links import open_selection
from services.mapping.map_data import MAP_METRICS, colour_grids
from services.mapping.search import search_map
from services.mapping.selection import Selection
from services.patrol.supervision import WorkerDay, patrol_days_of

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
    for key in [k for k in st.session_state if k.startswith(TABLE_KEYS)]:
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


@dataclasses.dataclass(frozen=True)
class MapControls:
    metric: str
    basemap: Basemap


@dataclasses.dataclass
class MapContent:
    """Everything the map and its panels show for one selection, read once per run."""

    by_grid: pd.DataFrame
    incidents: pd.DataFrame
    households: pd.DataFrame | None
    workers: pd.DataFrame | None
    detail: IncidentDetail | None
    duplicates: pd.DataFrame | None
    patrol_days: list[dt.date]
    patrol: WorkerDay | None


def show_controls(actor: Actor) -> MapControls:
    """The sidebar: the grid colouring, the basemap and the 新建事件 switch."""
    basemaps = {b.kind: b for b in settings().basemaps}
    with st.sidebar:
        metric = st.selectbox(
            "网格着色", list(MAP_METRICS), format_func=lambda k: MAP_METRICS[k].label, key="map.metric"
        )
        kind = st.selectbox("底图", list(basemaps), format_func=lambda k: basemaps[k].label, key="map.basemap")
        st.caption(
            "县级视图只显示超期、临期和紧急事件，进入乡镇后显示全部在办事件与网格员位置；住户在村和网格视图显示。"
        )
        if not (actor.may_act("report") and st.toggle("新建事件（在地图上点选位置）", key="map.new")):
            st.session_state.pop("map.draft", None)
    return MapControls(metric=metric, basemap=basemaps[kind])


def show_breadcrumb_and_search(actor: Actor, selection: Selection, names: dict[str, str]) -> None:
    crumb_row, search_column = st.columns([3, 2], vertical_alignment="center")
    with crumb_row, st.container(horizontal=True, gap="small", vertical_alignment="center", key="breadcrumb"):
        crumbs = selection.crumbs(home=actor.home_area)
        for code in crumbs[:-1]:
            st.button(
                markdown_text(names[code]),
                key=f"crumb-{code}",
                type="tertiary",
                on_click=go_to,
                args=(Selection(code),),
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


def read_content(actor: Actor, selection: Selection, crs: str, now: dt.datetime) -> MapContent:
    """The reads of one run: grid figures, the point layers of the selection, and the selected
    case (with possible duplicates) or worker day."""
    url = settings().database_url
    points_area = selection.points_area_code
    detail = None
    if selection.item_kind == "incident" and selection.item_id is not None:
        try:
            detail = load_incident_detail(store().session_factory, actor=actor, incident_id=selection.item_id, at=now)
        except DomainError as error:
            st.error(str(error))
    patrol_days: list[dt.date] = []
    patrol = None
    if selection.item_kind == "worker" and selection.item_id is not None:
        patrol_days = patrol_days_of(store().session_factory, actor=actor, worker_id=selection.item_id)
        if patrol_days:
            day = st.session_state.get(f"patrol.day.{selection.item_id}", patrol_days[0])
            patrol = reads.worker_day(url, actor, selection.item_id, day, crs)
    return MapContent(
        by_grid=reads.grid_figures(url, actor, actor.home_area, now, actor.clearance.highlighted_tags()),
        incidents=reads.open_incidents(url, actor, points_area, now, selection.alarming_incidents_only, crs),
        households=reads.household_points(url, actor, points_area, now, crs) if selection.shows_households else None,
        workers=reads.worker_positions(url, actor, points_area, now, crs) if selection.shows_workers else None,
        detail=detail,
        duplicates=find_possible_duplicates(
            store().session_factory, actor=actor, incident_id=detail.incident_id, at=now
        )
        if detail is not None and "mark_duplicate" in detail.actions
        else None,
        patrol_days=patrol_days,
        patrol=patrol,
    )


def show_map(shapes: AreaShapes, selection: Selection, content: MapContent, controls: MapControls) -> None:
    """The map: the grids coloured by the chosen figure, the selection's layers and the focus."""
    basemap = controls.basemap
    detail, duplicates, patrol = content.detail, content.duplicates, content.patrol
    grid_values, legend = colour_grids(content.by_grid, controls.metric)
    focus = build_focus_layer(
        incident=display_point(detail.lon, detail.lat, basemap.crs) if detail else None,
        assignee=display_point(*detail.assignee_position, basemap.crs) if detail and detail.assignee_position else None,
        draft=st.session_state.get("map.draft"),
        duplicates=[]
        if duplicates is None
        else [display_point(x, y, basemap.crs) for x, y in zip(duplicates["lon"], duplicates["lat"], strict=True)],
    )
    chosen = shapes.of_level(selection.level)
    view_box = tuple(chosen[chosen["code"] == selection.area_code].total_bounds)
    households = content.households
    if patrol is not None and not patrol.track.empty:  # a worker's day: fit the route, and let it stand out
        view_box = (
            patrol.track["lon"].min(),
            patrol.track["lat"].min(),
            patrol.track["lon"].max(),
            patrol.track["lat"].max(),
        )
        households = None
    centre, zoom = fit_view(view_box, width_px=MAP_WIDTH_GUESS, height_px=MAP_HEIGHT, max_zoom=17)
    st_folium(
        build_base_map(
            shapes,
            grid_values=grid_values,
            legend=legend,
            basemap=basemap,
            height=MAP_HEIGHT,
            shapes_url=reads.area_shapes_link(current_actor(), basemap.crs),
        ),
        key="map",
        height=MAP_HEIGHT,
        use_container_width=True,
        returned_objects=["last_active_drawing", "last_object_clicked_count", "last_clicked"],
        center=centre,
        zoom=zoom,
        feature_group_to_add=build_overlays(
            shapes,
            selected_code=selection.area_code,
            selected_level=selection.level,
            child_level=None if selection.level == "county" else selection.child_level,
            incidents=content.incidents,
            households=households,
            workers=content.workers,
        )
        + [focus]
        + ([] if patrol is None else [patrol_panel.track_layer(patrol)]),
        layer_control=build_layer_control(),
        on_change=guarded(on_map_click),
    )
    st.caption("点击地图逐级进入：县 → 乡镇 → 村 → 网格 → 住户；上方路径可返回。悬停可看名称与数值。")


def show_panels(
    actor: Actor, selection: Selection, content: MapContent, names: dict[str, str], crs: str, now: dt.datetime
) -> None:
    """The side panel: a new report, the selected case or item, then the area's figures and its
    children (or, for a grid, its people and cases)."""
    try:
        draft: tuple[float, float] | None = st.session_state.get("map.draft")  # (lon, lat) over the tiles
        if draft is not None:
            incident_panel.show_report_form(actor, stored_point(*draft, crs), go_to)
        if content.detail is not None:
            incident_panel.show_incident_panel(content.detail, actor, content.duplicates)
        elif selection.item_kind:
            panels.show_item_card(actor, selection, now)
        if selection.item_kind == "worker" and selection.item_id is not None:
            patrol_panel.show_patrol(selection.item_id, content.patrol_days, content.patrol)
        heading, link = st.columns([4, 1], vertical_alignment="bottom")
        heading.subheader(panels.panel_heading(actor, selection, names))
        if link.button("统计 ›", key="map.to_statistics", type="tertiary", help="本区域的统计分析与月报/周报"):
            st.switch_page("pages/figures/statistics_page.py", query_params={"area": selection.area_code})
        panels.show_figures(reads.area_figures(settings().database_url, actor, selection.area_code, now))
        if selection.level == "grid":
            panels.show_grid_panel(actor, selection.area_code, now, go_to)
        else:
            panels.show_children(content.by_grid, selection, names, go_to)
    except DomainError as error:
        st.error(str(error))


st.title("民情地图")
compact_metrics()
st.caption(synthetic_note())
require_data()

actor = current_actor()
now = current_minute()
selection = current_selection()
# One slot for a notice, there in every run: when a notice goes, what follows keeps its place in
# the page, so Streamlit does not mount the map's iframe again (and fetch its county again).
notice = st.empty()
if st.session_state.get("map.refused"):
    notice.warning(st.session_state.pop("map.refused"))
    go_to(selection)
controls = show_controls(actor)
shapes = reads.area_shapes(actor, controls.basemap.crs)
names = shapes.names()
if selection.area_code not in names:
    notice.warning(f"区域 {selection.area_code} 不存在，已回到您负责的区域。")
    selection = Selection(actor.home_area)
show_breadcrumb_and_search(actor, selection, names)
content = read_content(actor, selection, controls.basemap.crs, now)
map_column, panel_column = st.columns([2.2, 1], gap="medium")
with map_column:
    show_map(shapes, selection, content, controls)
with panel_column:
    show_panels(actor, selection, content, names, controls.basemap.crs, now)
