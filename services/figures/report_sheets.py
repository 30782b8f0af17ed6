"""The sections only the report files carry: a 月报's 网格员月度考核 sheet (issue 16).

The 统计分析 page shows a report without it (the scores have their own page, and scoring a county
month costs more than the page's whole read).  The page completes the report before a download or
an issue (pages/figures/reads.file_report) and the CLI before writing, scoring the month at the
report's own cut-off so that the sheet and the other figures agree."""

from __future__ import annotations

import dataclasses

from services.access.actor import Actor
from services.domain import LOCAL_TZ
from services.figures.report import Report
from services.figures.report_build import assessment_section
from services.patrol.assessment import compute_assessment
from services.store.engine import SessionFactory

ASSESSMENT_AFTER = "workers"  # the sheet follows the compliance table


def complete_report(session_factory: SessionFactory, *, actor: Actor, report: Report) -> Report:
    """`report` with the sections its files carry; unchanged when it already has them or is not a 月报."""
    keys = [section.key for section in report.sections]
    if report.kind != "monthly" or "assessment" in keys:
        return report
    scores = compute_assessment(
        session_factory,
        actor=actor,
        area_code=report.area_code,
        month=report.start.astimezone(LOCAL_TZ).date(),
        now=report.cutoff,
    ).scores
    place = keys.index(ASSESSMENT_AFTER) + 1 if ASSESSMENT_AFTER in keys else len(keys)
    sections = (*report.sections[:place], assessment_section(scores), *report.sections[place:])
    return dataclasses.replace(report, sections=sections)
