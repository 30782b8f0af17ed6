"""A 月报 / 周报 (`services.figures.report.Report`) from the statistics of one area and period:
headline figures with their definitions and earlier values, one section per breakdown with a
generated summary sentence, and the figures as JSON (`kpi --json`'s keys where they overlap)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

import pandas as pd

from services.domain import CHANNEL_NAMES, LEVEL_NAMES, LEVELS, LOCAL_TZ, SEVERITY_NAMES
from services.figures.definitions import FIGURE_DEFINITIONS, FIGURE_RULES_VERSION
from services.figures.ranking import MIN_CASES_TO_RANK
from services.figures.report import Figure, Report, ReportSection, ValueKind
from services.figures.statistics import AreaStatistics
from services.figures.values import sentence_value, shown_change

ReportKind = Literal["monthly", "weekly", "range"]
KIND_TITLES = {"monthly": "网格化管理月报", "weekly": "网格化管理周报", "range": "网格化管理统计报告"}

HEADLINE_KEYS = (
    "reports",
    "valid",
    "rejected",
    "reported",
    "closed",
    "closed_fixed",
    "closed_other",
    "closure_rate",
    "fixed_closure_rate",
    "closed_in_period_fixed",
    "on_time_rate",
    *(f"level_share.{level}" for level in LEVELS),
    "open",
    "overdue",
    "at_risk",
    "validation_overdue",
    "rated",
    "satisfaction_rate",
    "unsatisfied",
    "reopened",
    "validate_hours_median",
    "handle_hours_median",
    "handle_on_time_share",
    "households",
    "visited",
    "coverage",
    "workers",
    "patrol_logs",
    "patrol_reports",
    "workers_below_quota",
    "suspicious_days",
)
BREAKDOWN_LABELS = {
    "reports": "上报",
    "valid": "立案",
    "rejected": "判为无效",
    "reported": "受理",
    "closed": "办结",
    "closed_fixed": "办结（已解决）",
    "closure_rate": "办结率",
    "closed_in_period_fixed": "期间解决结案",
    "on_time_rate": "按时办结率",
    "open": "期末在办",
    "overdue": "处置超期",
    "share_of_reports": "上报占比",
}
BREAKDOWN_KINDS: dict[str, ValueKind] = {
    "closure_rate": "share",
    "on_time_rate": "share",
    "share_of_reports": "share",
}


# Numbers in sentences


def count_text(value: float | int | None) -> str:
    return sentence_value(value, "count")


def share_text(value: float | None) -> str:
    return sentence_value(value, "share")


def hours_text(value: float | None) -> str:
    return sentence_value(value, "hours")


def _with_changes(text: str, stats: AreaStatistics, key: str) -> str:
    kind = FIGURE_DEFINITIONS[key].kind
    parts = [text]
    for word, earlier in (("环比", stats.previous), ("同比", stats.year_ago)):
        change = shown_change(kind, stats.figures.get(key), earlier.get(key))
        if change is not None:
            parts.append(f"{word} {change}")
    return "，".join(parts)


# Tables


def _section(
    key: str,
    title: str,
    summary: str,
    table: pd.DataFrame,
    kinds: dict[str, ValueKind],
    chart: Literal["bar", "line", "none"] = "none",
) -> ReportSection:
    table = table.reset_index(drop=True)
    for column, kind in kinds.items():
        if kind in ("share", "hours", "change"):
            table[column] = table[column].astype(float)
    return ReportSection(key=key, title=title, summary=summary, table=table, column_kinds=kinds, chart=chart)


def _breakdown_table(frame: pd.DataFrame, key_columns: dict[str, str]) -> tuple[pd.DataFrame, dict[str, ValueKind]]:
    """A breakdown frame with its key columns named by `key_columns` (column → Chinese label)."""
    columns = {**key_columns, **BREAKDOWN_LABELS}
    table = frame[list(columns)].rename(columns=columns)
    kinds: dict[str, ValueKind] = {label: "text" for label in key_columns.values()}
    kinds.update({BREAKDOWN_LABELS[c]: BREAKDOWN_KINDS.get(c, "count") for c in BREAKDOWN_LABELS})
    return table, kinds


def _volume_section(stats: AreaStatistics) -> ReportSection:
    keys = ("reports", "valid", "rejected", "reported", "closed_fixed", "closed_other", "open")
    rows = []
    for key in keys:
        value, previous, year_ago = stats.figures[key], stats.previous.get(key), stats.year_ago.get(key)
        rows.append(
            {
                "指标": FIGURE_DEFINITIONS[key].label,
                "本期": value,
                "上期": previous,
                "去年同期": year_ago,
                "环比": _ratio_change(value, previous),
                "同比": _ratio_change(value, year_ago),
            }
        )
    table = pd.DataFrame(rows)
    kinds: dict[str, ValueKind] = {"指标": "text", "本期": "count", "上期": "count", "去年同期": "count"}
    kinds.update({"环比": "change", "同比": "change"})
    word = stats.period.word
    summary = _with_changes(f"{word}上报 {count_text(stats.figures['reports'])} 件", stats, "reports")
    summary += f"；立案 {count_text(stats.figures['valid'])} 件，期末在办 {count_text(stats.figures['open'])} 件。"
    return _section("volume", "事件量", summary, table, kinds, chart="bar")


def _ratio_change(value: float | int | None, earlier: float | int | None) -> float | None:
    if value is None or earlier is None or earlier == 0:
        return None
    return (value - earlier) / earlier


def _category_sections(stats: AreaStatistics) -> list[ReportSection]:
    top = stats.by_category.head(1)
    if top.empty:
        summary = f"{stats.period.word}无上报事件。"
    else:
        row = top.iloc[0]
        summary = f"上报最多的是{row['category']}（{count_text(row['reports'])} 件，占 {share_text(row['share_of_reports'])}）。"
    table, kinds = _breakdown_table(stats.by_category, {"category": "事件大类"})
    sub_table, sub_kinds = _breakdown_table(stats.by_subcategory, {"category": "事件大类", "subcategory": "事件小类"})
    sub_summary = "各小类按上报量排列。" if len(sub_table) else f"{stats.period.word}无上报事件。"
    return [
        _section("category", "事件大类", summary, table, kinds, chart="bar"),
        _section("subcategory", "事件小类", sub_summary, sub_table, sub_kinds),
    ]


def _named_breakdown(stats: AreaStatistics, key: str, title: str, names: dict[str, str]) -> ReportSection:
    frame = getattr(stats, f"by_{key}")
    frame = frame.assign(**{key: frame[key].map(lambda v: names.get(v, v))})
    table, kinds = _breakdown_table(frame, {key: title})
    if frame.empty:
        summary = f"{stats.period.word}无上报事件。"
    else:
        row = frame.iloc[0]
        summary = f"{row[key]}上报最多：{count_text(row['reports'])} 件，占 {share_text(row['share_of_reports'])}。"
    return _section(key, title, summary, table, kinds, chart="bar")


def _level_section(stats: AreaStatistics) -> ReportSection:
    frame = stats.by_level
    table = pd.DataFrame(
        {
            "处置层级": frame["level"].map(LEVEL_NAMES),
            "办结（已解决）": frame["closed"],
            "占比": frame["share"],
            "目标": frame["aim"],
            "差距": frame["gap"],
        }
    )
    kinds: dict[str, ValueKind] = {"处置层级": "text", "办结（已解决）": "count", "占比": "share", "目标": "share"}
    kinds["差距"] = "share"
    grid = stats.figures["level_share.grid"]
    summary = (
        f"网格层级办结占 {share_text(grid)}（目标 80%），村级 {share_text(stats.figures['level_share.village'])}，"
        f"乡镇级 {share_text(stats.figures['level_share.township'])}。"
        if grid is not None
        else f"{stats.period.word}无以“已解决”结案的事件。"
    )
    section = _section("level", "处置层级", summary, table, kinds, chart="bar")
    return dataclasses.replace(section, chart_value="占比", chart_target="目标")


def _ranking_section(stats: AreaStatistics) -> ReportSection:
    frame = stats.by_child_area
    columns = {
        "rank": "排名",
        "name": "区域",
        "code": "编码",
        "reports": "上报",
        "reported": "受理",
        "closed": "办结",
        "closure_rate": "办结率",
        "on_time_rate": "按时办结率",
        "open": "期末在办",
        "overdue": "处置超期",
        "households": "户数",
        "coverage": "走访覆盖率",
    }
    table = frame[list(columns)].rename(columns=columns)
    table["排名"] = table["排名"].astype("Int64")
    kinds: dict[str, ValueKind] = {label: "count" for label in columns.values()}
    kinds.update({"区域": "text", "编码": "text", "办结率": "share", "按时办结率": "share", "走访覆盖率": "share"})
    ranked = frame[frame["rank"].notna()]
    if frame.empty:
        summary = "本区域没有下级区域可排名。"
    elif ranked.empty:
        summary = f"没有下级区域办结达到 {MIN_CASES_TO_RANK} 件，本期不排名。"
    else:
        best = ranked.iloc[0]
        summary = (
            f"{len(ranked)} 个区域参与排名（办结 ≥ {MIN_CASES_TO_RANK} 件），第一名{best['name']}"
            f"（办结率 {share_text(best['closure_rate'])}）"
        )
        if len(ranked) < len(frame):
            summary += f"；{len(frame) - len(ranked)} 个办结不足 {MIN_CASES_TO_RANK} 件，未排名"
        summary += "。"
    return _section("ranking", "下级区域排名", summary, table, kinds)


def _department_section(stats: AreaStatistics) -> ReportSection:
    table, kinds = _breakdown_table(stats.by_department, {"name": "部门"})
    frame = stats.by_department
    summary = (
        f"吹哨报到事件 {count_text(frame['reports'].sum())} 件，涉及 {len(frame)} 个部门，"
        f"期末在办 {count_text(frame['open'].sum())} 件。"
        if len(frame)
        else f"{stats.period.word}没有吹哨报到的事件。"
    )
    return _section("department", "吹哨报到部门", summary, table, kinds)


def _backlog_section(stats: AreaStatistics) -> ReportSection:
    frame = stats.backlog
    columns = {
        "unit": "单位",
        "unit_kind": "类型",
        "open": "在办",
        "overdue": "处置超期",
        "at_risk": "临期",
        "validation_overdue": "核实超时",
    }
    table = frame[list(columns)].rename(columns=columns)
    kinds: dict[str, ValueKind] = {label: "count" for label in columns.values()}
    kinds.update({"单位": "text", "类型": "text"})
    overdue = stats.figures["overdue"] or 0
    if overdue and len(frame):
        top = frame.iloc[0]
        summary = f"期末处置超期 {count_text(overdue)} 件，最多的是{top['unit']}（{count_text(top['overdue'])} 件）"
    else:
        summary = "期末没有处置超期的事件"
    summary += f"；核实超时 {count_text(stats.figures['validation_overdue'])} 件。"
    return _section("backlog", "超期积压", summary, table, kinds)


def _oldest_section(stats: AreaStatistics) -> ReportSection:
    frame = stats.oldest_open
    table = pd.DataFrame(
        {
            "事件编号": frame["incident_id"],
            "类别": frame["category"],
            "网格": frame["grid_name"],
            "期末状态": frame["state"],
            "上报时间": frame["reported_at"],
            "已历时（天）": frame["age_days"].astype(float),
            "超期": frame["overdue"].map({True: "是", False: ""}),
        }
    )
    kinds: dict[str, ValueKind] = {column: "text" for column in table.columns}
    kinds["已历时（天）"] = "count"
    summary = (
        f"最早的在办事件 {frame['incident_id'].iloc[0]} 已历时 {frame['age_days'].iloc[0]:.1f} 天。"
        if len(frame)
        else "期末没有在办事件。"
    )
    return _section("oldest", "最久未办结", summary, table, kinds)


def _worker_section(stats: AreaStatistics) -> ReportSection:
    frame = stats.workers
    table = pd.DataFrame(
        {
            "网格员": frame["name"],
            "负责网格": frame["grids"],
            "巡查日志": frame["logs"],
            "有效上报": frame["valid_reports"],
            "巡查天数": frame["patrol_days"],
            "里程（公里）": frame["distance_km"].astype(float),
            "走访覆盖率": frame["coverage"].astype(float),
            "可疑天数": frame["flagged_days"],
            "可疑情形": frame["flags"],
            "未达标": frame["below_target"].map({True: "是", False: ""}),
        }
    )
    kinds: dict[str, ValueKind] = {column: "count" for column in table.columns}
    kinds.update({"网格员": "text", "负责网格": "text", "可疑情形": "text", "未达标": "text", "走访覆盖率": "share"})
    logs, reports = stats.quotas
    summary = (
        f"网格员 {count_text(len(frame))} 人，未达标 {count_text(stats.figures['workers_below_quota'])} 人"
        f"（巡查日志 ≥ {logs:g} 篇、有效上报 ≥ {reports:g} 件）。"
    )
    return _section("workers", "网格员考核", summary, table, kinds)


def assessment_section(frame: pd.DataFrame) -> ReportSection:
    """网格员月度考核 (issue 16) from a month's scores (services.patrol.assessment): each worker's
    items, total, grade and 十佳 place."""
    table = pd.DataFrame(
        {
            "网格员": frame["name"],
            "乡镇(街道)": frame["township_name"],
            "巡查日志": frame["logs_points"].astype(float),
            "有效上报": frame["reports_points"].astype(float),
            "时效": frame["timeliness_points"].astype(float),
            "质量": frame["quality_points"].astype(float),
            "巡查覆盖": frame["coverage_points"].astype(float),
            "应报未报": frame["misses_points"].astype(float),
            "加分": frame["awards_points"].astype(float),
            "总分": frame["total"].astype(float),
            "等级": frame["grade"],
            "县十佳": frame["county_rank"].astype("Float64").astype(float),
        }
    )
    kinds: dict[str, ValueKind] = {column: "count" for column in table.columns}
    kinds.update({"网格员": "text", "乡镇(街道)": "text", "等级": "text"})
    grades = frame["grade"].value_counts()
    summary = (
        f"考核网格员 {count_text(len(frame))} 人，优秀 {count_text(int(grades.get('优秀', 0)))} 人、"
        f"不合格 {count_text(int(grades.get('不合格', 0)))} 人，县十佳 {count_text(int(frame['county_rank'].notna().sum()))} 人。"
    )
    return _section("assessment", "网格员月度考核", summary, table, kinds)


def _speed_section(stats: AreaStatistics) -> ReportSection:
    frame = stats.speed
    table = pd.DataFrame(
        {
            "环节": frame["name"],
            "件数": frame["count"],
            "用时中位数（小时）": frame["median_h"],
            "用时90%分位（小时）": frame["p90_h"],
            "按时占比": frame["on_time_share"],
        }
    )
    kinds: dict[str, ValueKind] = {"环节": "text", "件数": "count", "按时占比": "share"}
    kinds.update({"用时中位数（小时）": "hours", "用时90%分位（小时）": "hours"})
    figures = stats.figures
    summary = _with_changes(
        f"处置用时中位数 {hours_text(figures['handle_hours_median'])}", stats, "handle_hours_median"
    )
    summary += f"；按时处置率 {share_text(figures['handle_on_time_share'])}，按时核实率 {share_text(figures['validate_on_time_share'])}。"
    return _section("speed", "办理时效", summary, table, kinds)


def _satisfaction_sections(stats: AreaStatistics) -> list[ReportSection]:
    frame = stats.satisfaction
    table = frame.rename(columns={"rating": "评价", "count": "件数", "share": "占比"})
    kinds: dict[str, ValueKind] = {"评价": "text", "件数": "count", "占比": "share"}
    figures = stats.figures
    summary = _with_changes(
        f"满意率 {share_text(figures['satisfaction_rate'])}（参评 {count_text(figures['rated'])} 件）",
        stats,
        "satisfaction_rate",
    )
    summary += f"；不满意 {count_text(figures['unsatisfied'])} 件，重新处置 {count_text(figures['reopened'])} 件。"
    cases = stats.unsatisfied_cases.rename(
        columns={
            "incident_id": "事件编号",
            "category": "类别",
            "grid_name": "网格",
            "closed_at": "结案时间",
            "level": "处置层级",
        }
    )
    reopened = stats.reopened_cases.rename(
        columns={"incident_id": "事件编号", "category": "类别", "grid_name": "网格", "times": "重新处置次数"}
    )
    return [
        _section("satisfaction", "满意度", summary, table, kinds, chart="bar"),
        _section(
            "unsatisfied",
            "不满意事件",
            f"不满意 {count_text(len(cases))} 件。" if len(cases) else "没有评价为不满意的事件。",
            cases,
            {column: "text" for column in cases.columns},
        ),
        _section(
            "reopened",
            "重新处置事件",
            f"重新处置 {count_text(len(reopened))} 件。" if len(reopened) else "没有重新处置的事件。",
            reopened,
            {**{column: "text" for column in reopened.columns}, "重新处置次数": "count"},
        ),
    ]


def _patrol_section(stats: AreaStatistics) -> ReportSection:
    frame = stats.suspicious_days
    table = pd.DataFrame(
        {"日期": frame["day"].astype(str), "网格员": frame["name"], "工号": frame["worker_id"], "情形": frame["flags"]}
    )
    figures = stats.figures
    summary = (
        f"走访覆盖率 {share_text(figures['coverage'])}（{count_text(figures['visited'])} / {count_text(figures['households'])} 户），"
        f"巡查日志 {count_text(figures['patrol_logs'])} 篇，可疑巡查 {count_text(figures['suspicious_days'])} 人·天。"
    )
    return _section("patrol", "巡查与可疑轨迹", summary, table, {column: "text" for column in table.columns})


def _trend_section(stats: AreaStatistics) -> ReportSection:
    frame = stats.trend
    table = pd.DataFrame({"日期": frame["day"].astype(str), "上报": frame["reports"], "结案": frame["closed"]})
    days = len(frame)
    summary = f"日均上报 {frame['reports'].sum() / days:.1f} 件，日均结案 {frame['closed'].sum() / days:.1f} 件。"
    return _section(
        "trend", "每日趋势", summary, table, {"日期": "text", "上报": "count", "结案": "count"}, chart="line"
    )


def build_report(stats: AreaStatistics, kind: ReportKind | None = None) -> Report:
    """The report of `stats` (its period's kind unless `kind` says otherwise)."""
    kind = kind or stats.period.kind
    headline = tuple(
        Figure(
            key=key,
            label=FIGURE_DEFINITIONS[key].label,
            value=stats.figures[key],
            kind=FIGURE_DEFINITIONS[key].kind,
            definition=FIGURE_DEFINITIONS[key].definition,
            previous=stats.previous.get(key),
            year_ago=stats.year_ago.get(key),
        )
        for key in HEADLINE_KEYS
    )
    sections = (
        _volume_section(stats),
        *_category_sections(stats),
        _named_breakdown(stats, "channel", "上报渠道", CHANNEL_NAMES),
        _named_breakdown(stats, "severity", "紧急程度", SEVERITY_NAMES),
        _level_section(stats),
        _ranking_section(stats),
        _department_section(stats),
        _backlog_section(stats),
        _oldest_section(stats),
        _speed_section(stats),
        *_satisfaction_sections(stats),
        _worker_section(stats),
        _patrol_section(stats),
        _trend_section(stats),
    )
    return Report(
        kind=kind,
        title=f"{stats.area_name} {stats.period.name} {KIND_TITLES[kind]}",
        area_code=stats.area_code,
        area_name=stats.area_name,
        period_label=stats.period.label,
        start=stats.period.start,
        end=stats.period.end,
        cutoff=stats.cutoff,
        rule_version=FIGURE_RULES_VERSION,
        headline=headline,
        sections=sections,
    )


def _nested(figures: dict[str, float | int | None]) -> dict[str, object]:
    """`level_share.grid` → {"level_share": {"grid": …}}, as `kpi --json` nests it."""
    out: dict[str, object] = {}
    groups: dict[str, dict[str, float | int | None]] = {}
    for key, value in figures.items():
        if "." in key:
            group, name = key.split(".", 1)
            if group not in groups:
                out[group] = groups[group] = {}
            groups[group][name] = value
        else:
            out[key] = value
    return out


def report_json(report: Report) -> dict[str, object]:
    """The report's figures as JSON-ready data: `kpi --json`'s keys where they overlap (T is the
    period's end, or the cut-off while it runs), the earlier periods' values under `previous` and
    `year_ago`, and the report's identity."""
    at = min(report.end, report.cutoff).astimezone(LOCAL_TZ)
    days = round((report.end - report.start) / dt.timedelta(days=1))
    return {
        "area_code": report.area_code,
        "area_name": report.area_name,
        "at": at.isoformat(),
        "days": days,
        **_nested({figure.key: figure.value for figure in report.headline}),
        "kind": report.kind,
        "title": report.title,
        "period": report.period_label,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "cutoff": report.cutoff.isoformat(),
        "rule_version": report.rule_version,
        "previous": _nested({figure.key: figure.previous for figure in report.headline}),
        "year_ago": _nested({figure.key: figure.year_ago for figure in report.headline}),
        "summaries": {section.key: section.summary for section in report.sections},
    }
