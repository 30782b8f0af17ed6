"""Charts of the 统计分析 page, from the report's sections (services.figures.report): a bar or line
per section that asks for one, and a choropleth of a figure by child area.  Altair specs only:
the page hands them to st.altair_chart, so they read the same wherever they are drawn.

Texts from the data (area names, categories) reach Vega as data values, never as markup: Vega
draws them as SVG text, which is not parsed as HTML."""

from __future__ import annotations

import altair as alt
import geopandas as gpd
import pandas as pd

from services.figures.report import ReportSection, ValueKind
from services.mapping.choropleth import NO_DATA_COLOUR, RAMPS

CHART_HEIGHT = 260
FONT = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"
FORMATS: dict[ValueKind, str] = {"count": ",d", "share": ".1%", "hours": ".1f", "change": "+.1%", "text": ""}
BAR_COLOUR = "#2563eb"


def _axis_format(kind: ValueKind) -> str:
    return FORMATS.get(kind, "")


def _axis(kind: ValueKind) -> alt.Axis:
    # Counts are whole: no 0.5 ticks on a chart of a few cases.
    return (
        alt.Axis(format=_axis_format(kind), tickMinStep=1) if kind == "count" else alt.Axis(format=_axis_format(kind))
    )


def section_chart(section: ReportSection) -> alt.Chart | None:
    """The section's chart: its first column as categories (or days), its first numeric column
    as values; None when the section has none or nothing to draw."""
    if section.chart == "none" or section.table.empty or len(section.table.columns) < 2:
        return None
    category = section.table.columns[0]
    numeric = [c for c in section.table.columns[1:] if section.column_kinds.get(c) in ("count", "share", "hours")]
    if not numeric:
        return None
    value = section.chart_value or numeric[0]
    kind = section.column_kinds[value]
    data = section.table[[category, value, *([section.chart_target] if section.chart_target else [])]]
    data = data.dropna(subset=[value])
    tooltip = [alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", format=_axis_format(kind))]
    if section.chart == "line":
        chart = (
            alt.Chart(data)
            .mark_line(point=True, color=BAR_COLOUR)
            .encode(
                x=alt.X(f"{category}:O", title=None, sort=None),
                y=alt.Y(f"{value}:Q", title=value, axis=_axis(kind)),
                tooltip=tooltip,
            )
        )
    else:
        base = alt.Chart(data).encode(y=alt.Y(f"{category}:N", title=None, sort=None))
        chart = base.mark_bar(color=BAR_COLOUR).encode(
            x=alt.X(f"{value}:Q", title=value, axis=_axis(kind)), tooltip=tooltip
        )
        if section.chart_target:
            target = section.chart_target
            chart = chart + base.mark_tick(color="#dc2626", thickness=3, size=28).encode(
                x=alt.X(f"{target}:Q"), tooltip=[alt.Tooltip(f"{target}:Q", format=_axis_format(kind))]
            )
    return chart.properties(height=CHART_HEIGHT).configure_axis(labelFont=FONT, titleFont=FONT)


def choropleth_chart(areas: gpd.GeoDataFrame, values: pd.Series, *, label: str, kind: ValueKind) -> alt.Chart:
    """Child areas (columns code, name, geometry in WGS84) coloured by `values` (indexed by code);
    areas without a value are grey."""
    data = areas[["code", "name", "geometry"]].assign(value=values.reindex(areas["code"]).to_numpy())
    ramp = list(RAMPS["blues"])
    return (
        alt.Chart(alt.Data(values=data.__geo_interface__["features"]))
        .mark_geoshape(stroke="#ffffff", strokeWidth=0.8)
        .encode(
            color=alt.condition(
                "isValid(datum.properties.value)",
                alt.Color(
                    "properties.value:Q",
                    title=label,
                    scale=alt.Scale(range=ramp),
                    legend=alt.Legend(format=_axis_format(kind)),
                ),
                alt.value(NO_DATA_COLOUR),
            ),
            tooltip=[
                alt.Tooltip("properties.name:N", title="区域"),
                alt.Tooltip("properties.value:Q", title=label, format=_axis_format(kind)),
            ],
        )
        .project(type="mercator")
        .properties(height=360)
    )
