"""A 月报 built by hand for the report-file and issued-report tests: every kind of value, blanks,
a line and a bar chart, a table longer than the PDF shows, an empty one, and hostile text (a
spreadsheet formula, a script tag, quotes) in the area name, a title and table cells."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from services.figures.report import Figure, Report, ReportSection
from tests.factories import COUNTY

UTC = dt.UTC
FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"
QUOTED = '测试村"第1网格"'

HEADLINE = (
    Figure("reported", "上报", 1234, "count", "周期内上报的事件数。", previous=1141, year_ago=980),
    Figure(
        "closure_rate",
        "办结率",
        0.812,
        "share",
        "周期内上报且未被判无效的事件中，截至统计时点已办结的比例。",
        previous=0.79,
    ),
    Figure(
        "on_time_rate", "按时办结率", 0.933, "share", "周期内办结的事件中，处置不晚于处置时限的比例。", previous=0.95
    ),
    Figure("overdue", "超期未办", 17, "count", "统计时点已派单、未处置且已超过处置时限的事件数。", previous=0),
    Figure("handle_p50", "处置用时中位数（小时）", 36.5, "hours", "派单到处置用时的中位数。", previous=40.0),
    Figure("coverage", "巡查覆盖率", None, "share", "周期内被巡查轨迹经过（50 米内）的户占全部户的比例。"),
)


def _sections() -> tuple[ReportSection, ...]:
    days = pd.DataFrame(
        {"日期": [f"11月{d}日" for d in range(1, 31)], "上报": [30 + (d * 7) % 23 for d in range(1, 31)]}
    )
    categories = pd.DataFrame(
        {
            "类别": ["矛盾纠纷", "安全隐患", "环境卫生", "民生服务", "治安", "信访", FORMULA],
            "上报": [320, 280, 260, 200, 100, 74, 0],
            "占比": [0.26, 0.23, 0.21, 0.16, 0.08, 0.06, None],
        }
    )
    ranking = pd.DataFrame(
        {
            "乡镇": ["平乡镇", "丰州镇", "河古庙镇", "油召乡", "节固乡", SCRIPT, FORMULA],
            "上报": [400, 300, 200, 150, 100, 50, 34],
            "排名": list(range(1, 8)),
            "办结率": [0.9, 0.85, 0.8, 0.75, 0.7, None, 0.5],
            "环比": [0.081, -0.05, 0.0, None, 0.2, 0.1, -0.3],
            "平均处置用时（小时）": [20.5, 30.25, 40.0, 50.0, 60.0, None, 12.0],
        }
    )
    start = dt.datetime(2026, 11, 1, 2, tzinfo=UTC)
    backlog = pd.DataFrame(
        {
            "事件编号": [f"SJ2026110{i:02d}0001" for i in range(1, 30)],
            "网格": [QUOTED] * 28 + ["+1+1"],
            "类别": ["安全隐患"] * 29,
            "上报时间": [start + dt.timedelta(hours=5 * i) for i in range(29)],
            "超时（小时）": [100.0 - i for i in range(29)],
        }
    )
    return (
        ReportSection(
            "trend", "上报趋势", "本月上报 1,234 件，环比 +8.2%。", days, {"日期": "text", "上报": "count"}, "line"
        ),
        ReportSection(
            "category",
            "按类别",
            "矛盾纠纷最多，占 26.0%。",
            categories,
            {"类别": "text", "上报": "count", "占比": "share"},
            "bar",
        ),
        ReportSection(
            "ranking",
            f"乡镇排名{FORMULA}",
            "平乡镇上报最多。",
            ranking,
            {
                "乡镇": "text",
                "上报": "count",
                "排名": "count",
                "办结率": "share",
                "环比": "change",
                "平均处置用时（小时）": "hours",
            },
            "bar",
        ),
        ReportSection(
            "backlog",
            "超期积压",
            "超期未办 29 件，最长已超时 100.0 小时。",
            backlog,
            {"事件编号": "text", "网格": "text", "类别": "text", "上报时间": "text", "超时（小时）": "hours"},
        ),
        ReportSection(
            "unsatisfied",
            "不满意事件",
            "本月无不满意事件。",
            pd.DataFrame({"事件编号": pd.Series([], dtype=object), "满意度": pd.Series([], dtype=object)}),
            {"事件编号": "text", "满意度": "text"},
        ),
        ReportSection(
            "level",
            "处置层级",
            "网格层级办结占 81.9%（目标 80%）。",
            pd.DataFrame(
                {
                    "处置层级": ["网格", "村(社区)", "乡镇(街道)", "县级"],
                    "办结": [140, 19, 7, 5],
                    "占比": [0.819, 0.111, 0.041, 0.029],
                    "目标": [0.8, 0.1, 0.1, 0.0],
                }
            ),
            {"处置层级": "text", "办结": "count", "占比": "share", "目标": "share"},
            "bar",
            chart_value="占比",
            chart_target="目标",
        ),
    )


def sample_report(**changes: object) -> Report:
    report = Report(
        kind="monthly",
        title="平乡县 2026年11月 网格化管理月报",
        area_code=COUNTY,
        area_name=f"平乡县{FORMULA}",
        period_label="2026年11月（11月1日—11月30日）",
        start=dt.datetime(2026, 10, 31, 16, tzinfo=UTC),
        end=dt.datetime(2026, 11, 30, 16, tzinfo=UTC),
        cutoff=dt.datetime(2026, 12, 1, 0, 30, tzinfo=UTC),
        rule_version="2026.11-1",
        headline=HEADLINE,
        sections=_sections(),
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def assert_same_report(got: Report, expected: Report) -> None:
    """Field by field, tables exactly (dtypes, index, order): a Report holds DataFrames, whose
    `==` is cell-wise, so dataclass equality cannot be used."""
    plain = [f.name for f in dataclasses.fields(Report) if f.name != "sections"]
    assert {n: getattr(got, n) for n in plain} == {n: getattr(expected, n) for n in plain}
    assert [s.key for s in got.sections] == [s.key for s in expected.sections]
    for mine, theirs in zip(got.sections, expected.sections, strict=True):
        assert (mine.title, mine.summary, mine.chart) == (theirs.title, theirs.summary, theirs.chart)
        assert list(mine.column_kinds.items()) == list(theirs.column_kinds.items())
        pd.testing.assert_frame_equal(mine.table, theirs.table, check_exact=True)
