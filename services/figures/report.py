"""A 月报 / 周报 as plain data: headline figures and sections of tables, each number with its kind,
so the statistics page, the XLSX and the PDF lay out the same figures without knowing how they
were counted (`services.figures.statistics` builds it; `services.exchange.report_files` writes it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

import pandas as pd

# How a number is shown: a count (1,234), a share of 1 (81.2%), hours (36.5 h), or a change of a
# count against an earlier period as a share of it (+8.1%).
ValueKind = Literal["count", "share", "hours", "change", "text"]


@dataclasses.dataclass(frozen=True)
class Figure:
    key: str  # the same key as `kpi --json` where the two overlap
    label: str  # Chinese
    value: float | int | None  # None: blank (its denominator is 0, or no earlier data)
    kind: ValueKind
    definition: str  # Chinese, one sentence; README's definitions say the same
    previous: float | int | None = None  # the same figure for the previous period (环比)
    year_ago: float | int | None = None  # the same figure a year earlier (同比)


@dataclasses.dataclass(frozen=True)
class ReportSection:
    key: str
    title: str  # Chinese; also the XLSX sheet name (≤ 31 characters)
    summary: str  # one generated sentence, e.g. 「本月上报 1,234 件，环比 +8.1%」
    table: pd.DataFrame  # columns already in their Chinese labels, rows in reading order
    column_kinds: dict[str, ValueKind]  # per column of `table`
    chart: Literal["bar", "line", "none"] = "none"  # the first column as categories, the second as values
    chart_value: str | None = None  # the column the chart draws, when not the first numeric one
    chart_target: str | None = None  # a column of aims drawn as a tick on each bar (80/10/10)


@dataclasses.dataclass(frozen=True)
class Report:
    kind: Literal["monthly", "weekly", "range"]
    title: str  # e.g. 「平乡县 2026年11月 网格化管理月报」
    area_code: str
    area_name: str
    period_label: str  # e.g. 「2026年11月（11月1日—11月30日）」
    start: dt.datetime  # the period [start, end) in UTC
    end: dt.datetime
    cutoff: dt.datetime  # data cut-off: the moment the figures were read
    rule_version: str  # the figure definitions' version the report was computed with
    headline: tuple[Figure, ...]
    sections: tuple[ReportSection, ...]
