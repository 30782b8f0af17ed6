"""HTML blocks of the 指挥大屏 (tiles, tables, banners), built from escaped parts only: a township
or worker named `<img onerror=…>` shows as written and runs nothing (render.markup).  No Streamlit
here, so tests can read what the wall screen gets."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from render.markup import html_text
from services.domain import LEVEL_NAMES
from services.figures.ranking import LEVEL_AIM, MIN_CASES_TO_RANK
from services.screen.wall_figures import ScreenFigures


def tile(label: str, value: str, *, alarm: bool = False) -> str:
    return str(
        Markup('<div class="tile{}"><div class="label">{}</div><div class="value">{}</div></div>').format(
            " alarm" if alarm else "", label, value
        )
    )


def _cell_class(index: int, cell: str, alarm_column: int | None) -> str:
    if index == alarm_column and cell:
        return "alarm"
    return "num" if cell[:1].isdigit() else ""


def table(title: str, rows: Sequence[Sequence[object]], alarm_column: int | None = None) -> str:
    """A titled panel with one table row per entry of `rows` (cells are text from the data)."""
    cell = Markup('<td class="{}">{}</td>')
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(
            Markup("").join(
                cell.format(_cell_class(i, str(value), alarm_column), html_text(value)) for i, value in enumerate(row)
            )
        )
        for row in rows
    )
    return str(
        Markup('<div class="panel"><h4>{}</h4><table>{}</table></div>').format(
            title, body or Markup("<tr><td>—</td></tr>")
        )
    )


def banner(css_class: str, text: str) -> str:
    """A one-line block (title, clock, notices) of plain text."""
    return str(Markup('<div class="{}">{}</div>').format(css_class, text))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def tiles(figures: ScreenFigures) -> list[str]:
    """The KPI tiles, two to a row."""
    return [
        tile("今日上报", f"{figures.reported_today}"),
        tile("今日办结", f"{figures.closed_today}"),
        tile("超期事件", f"{figures.overdue}", alarm=figures.overdue > 0),
        tile("核实超时", f"{figures.validation_overdue}", alarm=figures.validation_overdue > 0),
        tile("30日办结率", _percent(figures.closure_rate)),
        tile("按时办结率", _percent(figures.on_time_rate)),
        tile("群众满意率", _percent(figures.satisfaction_rate)),
        tile("在岗巡查", f"{figures.on_patrol}"),
    ]


def left_panels(figures: ScreenFigures) -> list[str]:
    """Cases by stage, and the share closed at each level against its aim."""
    return [
        table("办理环节", [[name, n] for name, n in figures.stages.items()]),
        table(
            "分级办结（目标 80/10/10）",
            [
                [LEVEL_NAMES[level], _percent(share), f"目标 {LEVEL_AIM[level]:.0%}"]
                for level, share in figures.level_share.items()
            ],
        ),
    ]


def right_panels(figures: ScreenFigures) -> list[str]:
    """Alarms, the oldest open cases, townships and workers ranked."""
    return [
        table(
            "告警：超期与紧急（最新在前）",
            [[r.alarm, r.incident_id[-8:], r.category, r.state, r.reported_at] for r in figures.alarms.itertuples()],
            alarm_column=0,
        ),
        table(
            "滞留最久的在办事件",
            [[r.incident_id[-8:], r.category, r.state, r.reported_at] for r in figures.oldest.itertuples()],
        ),
        table(
            f"乡镇办结率排名（30日办结≥{MIN_CASES_TO_RANK}件参与）",
            [
                [i + 1, r.name, _percent(r.closure_rate), f"按时 {_percent(r.on_time_rate)}"]
                for i, r in enumerate(figures.township_ranking.itertuples())
            ],
        ),
        _worker_table(figures),
    ]


def _worker_table(figures: ScreenFigures) -> str:
    """The best workers: last month's published scores once there are some, else this month's
    valid patrol reports."""
    workers = figures.worker_ranking
    month = figures.worker_ranking_month
    if month is None:
        rows = [[i + 1, r.name, f"{r.reports} 件"] for i, r in enumerate(workers.itertuples())]
        return table("本月有效上报（网格员）", rows)
    rows = [[i + 1, r.name, f"{r.total:.1f} 分 {r.grade}"] for i, r in enumerate(workers.itertuples())]
    return table(f"{month.year}年{month.month}月 网格员考核（已发布）", rows)
