"""Every figure of the statistics read model and the reports, with its one written definition
(README「统计分析与月报的指标」lists the same, a test keeps the two in step).  Keys shared with
`kpi --json` mean exactly what `services.figures.area_figures` counts; a level share's key is
`level_share.<level>`, as `kpi --json` nests it.

A period P of a report is read as DESIGN.md reads one: P = (T − days, T] with T the period's end;
states (open, overdue …) are taken at T, or at the data cut-off while the period is still running.
"""

from __future__ import annotations

import dataclasses

from services.domain import LEVEL_NAMES, LEVELS, VALIDATION_LIMIT_HOURS
from services.figures.ranking import LEVEL_AIM
from services.figures.report import ValueKind

# The version of these definitions a report was computed with (kept with an issued report).
FIGURE_RULES_VERSION = "2026-12"

SATISFIED = ("满意", "基本满意")  # the ratings counted as satisfied; 不满意 is the other one
UNSATISFIED = "不满意"

# Workflow stages whose time is measured: (key, Chinese name, from-time, to-time).
STAGES = (
    ("validate", "核实", "reported_at", "decided_at"),
    ("dispatch", "派遣", "validated_at", "dispatched_at"),
    ("handle", "处置", "dispatched_at", "handled_at"),
    ("close", "核查结案", "handled_at", "closed_at"),
    ("total", "全程", "reported_at", "closed_at"),
)
# Stages with a time limit (services.cases.limits: validation and handling only); the others
# have no on-time share.
TIMED_STAGES = ("validate", "handle")


@dataclasses.dataclass(frozen=True)
class FigureDefinition:
    label: str  # Chinese
    kind: ValueKind
    definition: str  # Chinese, one sentence


def _d(label: str, kind: ValueKind, definition: str) -> FigureDefinition:
    return FigureDefinition(label, kind, definition)


_LIMIT = f"{VALIDATION_LIMIT_HOURS:g}"

FIGURE_DEFINITIONS: dict[str, FigureDefinition] = {
    # Volume
    "reports": _d("上报", "count", "期间内上报的事件数，含后来判为无效的。"),
    "valid": _d("立案", "count", "期间内上报、到 T 已立案（判定有效）的事件数。"),
    "rejected": _d("判为无效", "count", "期间内上报、到 T 已判为无效的事件数。"),
    "reported": _d("受理", "count", "期间内上报、到 T 未判为无效的事件数：办结率的分母（kpi reported）。"),
    "closed": _d("办结", "count", "受理事件中到 T 已结案的件数，任何结案原因（kpi closed）。"),
    "closed_fixed": _d("办结（已解决）", "count", "受理事件中到 T 以“已解决”结案的件数（kpi closed_fixed）。"),
    "closed_other": _d(
        "办结（其他原因）",
        "count",
        "受理事件中到 T 以重复事件、非本部门职责或无需处置结案的件数（办结 − 办结（已解决））。",
    ),
    "open": _d("期末在办", "count", "到 T 已上报、既未判为无效也未结案的事件数（kpi open）。"),
    # DESIGN.md rates
    "closure_rate": _d("办结率", "share", "办结 ÷ 受理（DESIGN.md closure rate，kpi closure_rate）。"),
    "fixed_closure_rate": _d("解决率", "share", "办结（已解决）÷ 受理（kpi fixed_closure_rate）。"),
    "closed_in_period_fixed": _d(
        "期间解决结案",
        "count",
        "期间内以“已解决”结案的事件数：按时办结率与层级占比的分母（kpi closed_in_period_fixed）。",
    ),
    "on_time_rate": _d(
        "按时办结率",
        "share",
        "期间内以“已解决”结案的事件中，处置完毕不晚于处置时限（派遣时间 + 时限）的占比（kpi on_time_rate）。",
    ),
    **{
        f"level_share.{level}": _d(
            f"{LEVEL_NAMES[level]}办结占比",
            "share",
            f"期间内以“已解决”结案的事件中，在{LEVEL_NAMES[level]}层级办结的占比，目标 {LEVEL_AIM[level]:.0%}（kpi level_share）。",
        )
        for level in LEVELS
    },
    # Backlog at T
    "overdue": _d("处置超期", "count", "到 T 在办、已派遣、未处置完毕且已过处置时限的事件数（kpi overdue）。"),
    "at_risk": _d("临期", "count", "同处置超期，但已过时限的 80% 而未超期的事件数（kpi at_risk）。"),
    "validation_overdue": _d(
        "核实超时", "count", f"到 T 上报已超过 {_LIMIT} 小时、仍未立案也未判为无效的事件数（kpi validation_overdue）。"
    ),
    # Satisfaction and reopening
    "rated": _d("参评", "count", "期间内结案且有满意度评价的事件数。"),
    "satisfaction_rate": _d("满意率", "share", "参评事件中评价为满意或基本满意的占比（与指挥大屏满意率同一口径）。"),
    "unsatisfied": _d("不满意", "count", "期间内结案且评价为不满意的事件数。"),
    "reopened": _d("重新处置", "count", "期间内有“重新处置”记录（核查退回或结案后重开）的事件数，每件只计一次。"),
    # Patrol
    "households": _d("户数", "count", "区域内登记的户数（kpi households）。"),
    "visited": _d("走访户数", "count", "期间内位于巡查轨迹 50 米以内的户数（kpi visited）。"),
    "coverage": _d("走访覆盖率", "share", "走访户数 ÷ 户数（DESIGN.md coverage，kpi coverage）。"),
    "workers": _d("网格员", "count", "负责区域内网格的网格员人数。"),
    "patrol_logs": _d("巡查日志", "count", "这些网格员期间内提交的巡查日志数（本地日期）。"),
    "patrol_reports": _d("有效巡查上报", "count", "这些网格员本人巡查上报、未判为无效的事件数（本地日期）。"),
    "workers_below_quota": _d(
        "未达标网格员",
        "count",
        "巡查日志少于指标或有效巡查上报少于指标的网格员人数：自然月 20 篇 / 6 件，周及自选期间按天数折算（× 天数 ÷ 30，向上取整）。",
    ),
    "suspicious_days": _d("可疑巡查", "count", "期间内被标记为定位不动、多在网格外或定位过于规律的巡查天数（人·天）。"),
}

_STAGE_SPANS = {
    "validate": "立案或判为无效的时间 − 上报时间",
    "dispatch": "首次派遣时间 − 立案时间",
    "handle": "处置完毕时间 − 首次派遣时间",
    "close": "结案时间 − 处置完毕时间",
    "total": "结案时间 − 上报时间，仅计以“已解决”结案的",
}
_STAGE_DONE = {
    "validate": "期间内立案或判为无效的事件",
    "dispatch": "期间内首次派遣的事件",
    "handle": "期间内处置完毕的事件",
    "close": "期间内结案且经过处置的事件",
    "total": "期间内以“已解决”结案的事件",
}
for _key, _name, *_ in STAGES:
    FIGURE_DEFINITIONS[f"{_key}_count"] = _d(f"{_name}件数", "count", f"{_STAGE_DONE[_key]}数。")
    FIGURE_DEFINITIONS[f"{_key}_hours_median"] = _d(
        f"{_name}用时中位数", "hours", f"{_STAGE_DONE[_key]}的用时（{_STAGE_SPANS[_key]}）的中位数，小时。"
    )
    FIGURE_DEFINITIONS[f"{_key}_hours_p90"] = _d(
        f"{_name}用时90%分位", "hours", "同一批事件用时的第 90 百分位（线性插值），小时。"
    )
FIGURE_DEFINITIONS["validate_on_time_share"] = _d(
    "按时核实率", "share", f"期间内立案或判为无效的事件中，在上报后 {_LIMIT} 小时内完成的占比。"
)
FIGURE_DEFINITIONS["handle_on_time_share"] = _d(
    "按时处置率", "share", "期间内处置完毕的事件中，处置完毕不晚于处置时限（派遣时间 + 时限）的占比。"
)


def definition(key: str) -> FigureDefinition:
    return FIGURE_DEFINITIONS[key]
