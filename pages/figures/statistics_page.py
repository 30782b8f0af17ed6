"""统计分析: the figures of an area over a week, a month or chosen days, on the same report the
XLSX and PDF downloads write (services.figures.report_build), so the page and the files agree.
The area comes from the map's selection (`?area=`) or the picker; a ranking row opens that area."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import geopandas as gpd
import streamlit as st

from pages.components import (
    compact_metrics,
    current_actor,
    current_minute,
    require_data,
    settings,
    store,
    synthetic_note,
)
from pages.figures import reads
from pages.map.reads import area_shapes
from render.charts import choropleth_chart, section_chart
from render.markup import markdown_text
from services.domain import LOCAL_TZ
from services.errors import DomainError
from services.exchange.report_files import REPORT_FORMATS, download_report
from services.figures.issued_reports import issue_report, list_issued_reports
from services.figures.periods import Period, month_period, range_period, week_period
from services.figures.report import Figure, Report, ReportSection
from services.figures.values import sentence_value, shown_change, shown_value

PERIOD_KINDS = {"monthly": "月报", "weekly": "周报", "range": "自定义"}
RECENT_PERIODS = 12
TILES_PER_ROW = 4
TABS = {  # tab → the report sections it shows, in order
    "概况": ("volume", "trend"),
    "分类与渠道": ("category", "subcategory", "channel", "severity", "department"),
    "层级与排名": ("level", "ranking"),
    "积压与时效": ("backlog", "oldest", "speed"),
    "满意度": ("satisfaction", "unsatisfied", "reopened"),
    "巡查": ("patrol", "workers"),
}
MIME = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".pdf": "application/pdf"}


def choose_area(actor_home: str, names: dict[str, str], codes: list[str]) -> str:
    """The area: `?area=` when it is one the user may see, else their home area."""
    wanted = st.query_params.get("area", actor_home)
    current = wanted if wanted in codes else actor_home
    chosen = st.selectbox(
        "区域", codes, index=codes.index(current), format_func=lambda c: f"{names[c]}（{c}）", key="stats.area"
    )
    if chosen != wanted:
        st.query_params["area"] = chosen
    return chosen


def choose_period(today: dt.date) -> Period:
    kind = st.segmented_control(
        "周期", list(PERIOD_KINDS), format_func=PERIOD_KINDS.__getitem__, default="monthly", key="stats.kind"
    )
    if kind == "weekly":
        weeks = [week_period(today - dt.timedelta(days=7 * n)) for n in range(RECENT_PERIODS)]
        return st.selectbox("周", weeks, format_func=lambda p: p.label, key="stats.week")
    if kind == "range":
        picked = st.date_input(
            "起止日期", (today - dt.timedelta(days=29), today), max_value=today, key="stats.range", format="YYYY-MM-DD"
        )
        first, last = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (today, today)
        return range_period(first, last)
    months = [month_period(today)]
    for _ in range(RECENT_PERIODS - 1):
        months.append(months[-1].previous())
    # A monthly report is of the month just ended; the running month is one step up the list.
    return st.selectbox("月份", months, index=1, format_func=lambda p: p.label, key="stats.month")


def show_tiles(figures: tuple[Figure, ...]) -> None:
    """A tile per figure with its change against the previous period (环比) and its definition."""
    for start in range(0, len(figures), TILES_PER_ROW):
        for column, figure in zip(st.columns(TILES_PER_ROW), figures[start : start + TILES_PER_ROW], strict=False):
            column.metric(
                figure.label,
                sentence_value(figure.value, figure.kind),
                delta=shown_change(figure.kind, figure.value, figure.previous),
                delta_color=DELTA_COLOURS.get(figure.key, "normal"),
                help=figure.definition,
            )


def show_headline(report: Report) -> None:
    first = [f for key in FIRST_TILES for f in report.headline if f.key == key]
    more = [f for f in report.headline if f.key not in FIRST_TILES]
    show_tiles(tuple(first))
    with st.expander(f"更多指标（{len(more)} 项）"):
        show_tiles(tuple(more))


# What a leader reads first; the report's other headline figures are one click away.
FIRST_TILES = ("reports", "valid", "closed", "closure_rate", "on_time_rate", "overdue", "satisfaction_rate", "coverage")
# How a change reads: more reports is more attention, not more trouble (neutral); more overdue or
# open cases is worse (inverse: a rise shows red).
DELTA_COLOURS: dict[str, Literal["normal", "inverse", "off"]] = {
    **dict.fromkeys(("reports", "reported", "valid", "rejected", "rated", "households", "visited", "workers"), "off"),
    **dict.fromkeys(
        (
            "open",
            "overdue",
            "at_risk",
            "validation_overdue",
            "unsatisfied",
            "reopened",
            "workers_below_quota",
            "suspicious_days",
            "validate_hours_median",
            "handle_hours_median",
        ),
        "inverse",
    ),
}


def show_section(section: ReportSection, key: str) -> None:
    st.markdown(f"**{markdown_text(section.title)}**")
    st.caption(markdown_text(section.summary))
    chart = section_chart(section)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    shown = section.table.copy()
    for column, kind in section.column_kinds.items():
        if kind != "text" and column in shown:
            shown[column] = [shown_value(value, kind) for value in shown[column]]
    st.dataframe(shown, hide_index=True, width="stretch", key=key)


def show_ranking(
    report: Report, section: ReportSection, shapes_of_children: gpd.GeoDataFrame | None, metric_key: str
) -> None:
    """The child areas ranked, a click on a row opens that area; and their choropleth."""
    st.markdown(f"**{markdown_text(section.title)}**")
    st.caption(markdown_text(section.summary))
    numeric = [c for c, kind in section.column_kinds.items() if kind in ("count", "share", "hours") and c != "排名"]
    if shapes_of_children is not None and not section.table.empty and numeric:
        figure = st.selectbox("地图着色", numeric, key=metric_key)
        values = section.table.set_index("编码")[figure].astype(float)
        st.altair_chart(
            choropleth_chart(shapes_of_children, values, label=figure, kind=section.column_kinds[figure]),
            width="stretch",
        )
    shown = section.table.copy()
    for column, kind in section.column_kinds.items():
        if kind != "text":
            shown[column] = [shown_value(value, kind) for value in shown[column]]
    event = st.dataframe(
        shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="stats.ranking"
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        st.query_params["area"] = str(section.table["编码"].iloc[rows[0]])
        st.session_state.pop("stats.area", None)
        st.rerun()


st.title("统计分析")
compact_metrics()
st.caption("所有数字与导出的月报/周报相同，口径见每个指标的说明（鼠标悬停）。" + synthetic_note())
require_data()
actor = current_actor()
now = current_minute()
shapes = area_shapes(actor, "wgs84")
names = shapes.names()
codes = [code for code in names if actor.scope.allows(code) or code == actor.home_area]

picker_area, picker_period = st.columns([2, 3], vertical_alignment="bottom")
with picker_area:
    area_code = choose_area(actor.home_area, names, codes)
with picker_period:
    period = choose_period(now.astimezone(LOCAL_TZ).date())

try:
    report = reads.statistics_report(settings().database_url, actor, area_code, period, now)
except DomainError as error:
    st.error(str(error))
    st.stop()

st.subheader(markdown_text(report.title))
st.caption(f"{report.period_label} · 数据截至 {report.cutoff.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}")
show_headline(report)

sections = {section.key: section for section in report.sections}
children = shapes.children_of(area_code)
for tab, keys in zip(st.tabs(list(TABS)), TABS.values(), strict=True):
    with tab:
        for key in keys:
            if key not in sections:
                continue
            if key == "ranking":
                show_ranking(report, sections[key], children, "stats.choropleth")
            else:
                show_section(sections[key], f"stats.table.{key}")

st.divider()
if not actor.scope.allows(area_code):  # a report speaks for its whole area
    st.caption("报表下载与签发只针对您负责的完整区域：请在上方选择您负责的网格。")
    st.stop()
download_column, issue_column = st.columns([3, 2])
with download_column:
    st.markdown("**下载报表**")
    for suffix, name in REPORT_FORMATS.items():
        file_key = (
            f"stats.file.{area_code}.{period.code}{suffix}"  # a file made for another area or period is not offered
        )
        if st.button(f"生成 {name}", key=f"stats.make{suffix}"):
            st.session_state[file_key] = download_report(
                store().session_factory,
                actor=actor,
                report=reads.file_report(settings().database_url, actor, area_code, period, now),
                suffix=suffix,
                now=dt.datetime.now(dt.UTC),
            )
        content = st.session_state.get(file_key)
        if content is not None:
            st.download_button(
                f"保存 {name}",
                content,
                file_name=f"{report.title}{suffix}",
                mime=MIME[suffix],
                key=f"stats.save{suffix}",
            )
with issue_column:
    if actor.may("issue_report") and report.kind in ("monthly", "weekly"):
        st.markdown("**签发**")
        if st.button("签发本期报表", key="stats.issue", help="保存本期数字，日后打开即为当时签发的内容"):
            issued = issue_report(
                store().session_factory,
                actor=actor,
                report=reads.file_report(settings().database_url, actor, area_code, period, now),
                now=dt.datetime.now(dt.UTC),
            )
            st.success(f"已签发：{markdown_text(issued.label)}")
        issued_reports = list_issued_reports(
            store().session_factory, actor=actor, area_code=area_code, now=now, kind=report.kind
        )
        for issued in issued_reports[:6]:
            st.caption(
                markdown_text(
                    f"{issued.label} · {issued.issuer_name} · {issued.issued_at.astimezone(LOCAL_TZ):%m-%d %H:%M}"
                )
            )
