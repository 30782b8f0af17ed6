"""Side panels of the 民情地图 page: layout only; every number comes from a service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from pages.components import store
from render.markup import markdown_text as md
from services.access.actor import Actor
from services.domain import AREA_LEVEL_NAMES, LOCAL_TZ
from services.errors import DomainError
from services.figures.area_figures import AreaFigures
from services.labels import AREA_LABELS, COLUMN_LABELS, TAG_COUNT_LABELS
from services.mapping.panels import (
    GridPanel,
    load_grid_panel,
    load_household_card,
    load_worker_card,
    summarise_children,
)
from services.mapping.selection import LEVEL_OF_LENGTH, Selection

REVEALED_KEY = "map.revealed"  # the one household card shown unmasked, until the selection moves


def panel_heading(actor: Actor, selection: Selection, names: dict[str, str]) -> str:
    """What the panel's figures are of: the selected area, or, when the user holds only part of
    it (a supervisor's two grids of a township), that part, named."""
    code = selection.area_code
    parts = actor.scope.parts(code)
    if parts == (code,):
        return f"{AREA_LEVEL_NAMES[selection.level]} · {md(names[code])}"
    levels = {LEVEL_OF_LENGTH[len(part)] for part in parts}
    kind = AREA_LEVEL_NAMES[levels.pop()] if len(levels) == 1 else "区域"
    held = "、".join(md(names.get(part, part)) for part in parts)
    return f"{md(names[code])} · 您负责的{len(parts)}个{kind}：{held}"


def _percent(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1%}".replace(".0%", "%")


def show_figures(figures: AreaFigures) -> None:
    rows = (
        (("住户", f"{figures.households:,}"), ("在办事件", f"{figures.open:,}"), ("超期", f"{figures.overdue:,}")),
        (
            ("临期", f"{figures.at_risk:,}"),
            ("核实超时", f"{figures.validation_overdue:,}"),
            ("近7日巡查覆盖", _percent(figures.coverage)),
        ),
        (
            ("近7日办结率", _percent(figures.closure_rate)),
            ("其中已解决", _percent(figures.fixed_closure_rate)),
            ("按时办结率", _percent(figures.on_time_rate)),
        ),
    )
    for row in rows:
        for column, (label, value) in zip(st.columns(3), row, strict=True):
            column.metric(label, value)
    st.caption(
        f"统计时点 {figures.at.astimezone(LOCAL_TZ):%m-%d %H:%M}，近 {figures.days} 日；办结率的分母为期内上报且未判无效的事件。"
    )


def _select_row(table_key: str, selections: list[Selection], go_to: Callable[[Selection], None]) -> None:
    rows = st.session_state[table_key].selection.rows
    if rows:
        go_to(selections[rows[0]])


def show_children(
    grid_figures: pd.DataFrame, selection: Selection, names: dict[str, str], go_to: Callable[[Selection], None]
) -> None:
    child_level = selection.child_level
    if child_level is None:
        return
    children = summarise_children(grid_figures, area_code=selection.area_code, child_level=child_level, names=names)
    st.markdown(f"**下辖{AREA_LEVEL_NAMES[child_level]}**（{len(children)} 个，点选一行进入）")
    key = f"map.children.{selection.area_code}"
    targets = [Selection(code) for code in children["code"]]
    coverage = AREA_LABELS["coverage"]
    st.dataframe(
        children.drop(columns="code").rename(columns=AREA_LABELS),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(children), 420),
        column_config={coverage: st.column_config.ProgressColumn(coverage, format="percent", min_value=0, max_value=1)},
        on_select=lambda: _select_row(key, targets, go_to),
        selection_mode="single-row",
        key=key,
    )


def show_grid(panel: GridPanel, go_to: Callable[[Selection], None]) -> None:
    cases, households, workers, tags = st.tabs(
        [
            f"在办事件 {len(panel.open_cases)}",
            f"住户 {len(panel.households)}",
            f"网格员 {len(panel.workers)}",
            "特殊人群",
        ]
    )
    with cases:
        if panel.open_cases.empty:
            st.caption("本网格当前没有在办事件。")
        else:
            key = f"map.cases.{panel.grid_code}"
            targets = [Selection(panel.grid_code, "incident", i) for i in panel.open_cases["incident_id"]]
            st.dataframe(
                panel.open_cases.rename(columns=COLUMN_LABELS),
                hide_index=True,
                width="stretch",
                on_select=lambda: _select_row(key, targets, go_to),
                selection_mode="single-row",
                key=key,
            )
    with households:
        st.caption("居民姓名与电话已脱敏。点选一行查看住户卡片。")
        key = f"map.households.{panel.grid_code}"
        targets = [Selection(panel.grid_code, "household", h) for h in panel.households["household_id"]]
        st.dataframe(
            panel.households.rename(columns=COLUMN_LABELS),
            hide_index=True,
            width="stretch",
            height=320,
            on_select=lambda: _select_row(key, targets, go_to),
            selection_mode="single-row",
            key=key,
        )
    with workers:
        st.dataframe(
            panel.workers.rename(columns=COLUMN_LABELS),
            hide_index=True,
            width="stretch",
        )
    with tags:
        if panel.tag_counts.empty:
            st.caption("本网格没有带标签的住户。")
        else:
            st.dataframe(panel.tag_counts.rename(columns=TAG_COUNT_LABELS), hide_index=True, width="stretch")


def show_grid_panel(actor: Actor, grid_code: str, at: dt.datetime, go_to: Callable[[Selection], None]) -> None:
    show_grid(load_grid_panel(store().session_factory, actor=actor, grid_code=grid_code, at=at), go_to)


def _reveal(actor: Actor, household_id: str) -> None:
    """One click, one look on the record: the unmasked card is kept for this view only."""
    try:
        st.session_state[REVEALED_KEY] = load_household_card(
            store().session_factory, actor=actor, household_id=household_id, at=dt.datetime.now(dt.UTC), unmask=True
        )
    except DomainError as error:
        st.session_state[REVEALED_KEY] = None
        st.toast(str(error))


def show_item_card(actor: Actor, selection: Selection, at: dt.datetime) -> None:
    """The card of the selected household or worker, above the area's panel.  A household's
    personal data shows masked; 显示完整信息 (roles allowed to) unmasks it for this card, on the record."""
    factory = store().session_factory
    with st.container(border=True, key="map-card"):
        if selection.item_kind == "household" and selection.item_id is not None:
            revealed = st.session_state.get(REVEALED_KEY)
            card = (
                revealed
                if revealed is not None and revealed.household_id == selection.item_id
                else load_household_card(factory, actor=actor, household_id=selection.item_id, at=at)
            )
            st.markdown(f"#### 住户 {md(card.household_id)}")
            st.markdown(f"**户主** {md(card.head_name)}　**人数** {card.members}　**电话** {md(card.phone)}")
            st.markdown(f"**身份证号** {md(card.id_number or '未登记')}")
            st.markdown(f"**地址** {md(card.address)}")
            st.markdown("**标签** " + ("、".join(md(tag) for tag in card.tags) if card.tags else "无"))
            st.caption(f"最近一次巡查走访：{md(card.last_visited or '近期无记录')}　所在网格 {md(card.grid_code)}")
            if card.unmasked:
                st.button("隐藏个人信息", key="map.mask", on_click=st.session_state.pop, args=(REVEALED_KEY, None))
                st.caption("本次查看已记入审计日志。")
            elif actor.may("unmask_personal_data"):
                st.button("显示完整信息", key="map.unmask", on_click=_reveal, args=(actor, card.household_id))
                st.caption("姓名、电话、身份证号默认脱敏；显示完整信息将记入审计日志。")
        elif selection.item_kind == "worker" and selection.item_id is not None:
            card = load_worker_card(factory, actor=actor, worker_id=selection.item_id, at=at)
            st.markdown(f"#### {md(card.role)} {md(card.name)}")
            st.markdown(f"**状态** {'在岗' if card.on_duty else '不在岗'}　**电话** {md(card.phone)}")
            st.caption(f"负责网格：{md('、'.join(card.grid_codes))} · 最后定位 {md(card.last_seen or '无')}")
            if card.month_score:
                st.caption(md(card.month_score))
            if card.missed_cases:
                st.caption(f"本月应报未报（已确认）：{md('、'.join(card.missed_cases))}")
