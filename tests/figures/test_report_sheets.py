"""The 月报's files carry the month's 网格员月度考核 sheet, which the page's read leaves out: it
is scored at the report's own cut-off and lands after the compliance table, on both engines."""

from __future__ import annotations

import io

import openpyxl

from services.domain import LOCAL_TZ
from services.exchange.report_files import report_bytes
from services.figures.periods import parse_month, parse_week
from services.figures.report_build import build_report
from services.figures.report_sheets import complete_report
from services.figures.statistics import compute_statistics
from services.patrol.assessment import compute_assessment
from tests.factories import OPERATOR


def shown_report(store, small_demo, period):
    stats = compute_statistics(
        store.session_factory,
        actor=OPERATOR,
        area_code=small_demo.county.county_code,
        period=period,
        now=small_demo.now,
    )
    return build_report(stats)


def test_a_month_report_gains_the_assessment_sheet_scored_at_its_cutoff(demo_store, small_demo) -> None:
    month = parse_month(small_demo.now.astimezone(LOCAL_TZ).strftime("%Y-%m"))
    shown = shown_report(demo_store, small_demo, month)
    assert "assessment" not in [section.key for section in shown.sections]

    complete = complete_report(demo_store.session_factory, actor=OPERATOR, report=shown)
    keys = [section.key for section in complete.sections]
    assert keys.index("assessment") == keys.index("workers") + 1
    assert [key for key in keys if key != "assessment"] == [section.key for section in shown.sections]
    assert complete.headline == shown.headline
    scores = compute_assessment(
        demo_store.session_factory,
        actor=OPERATOR,
        area_code=small_demo.county.county_code,
        month=month.first_day,
        now=shown.cutoff,
    ).scores
    sheet = complete.sections[keys.index("assessment")].table
    assert len(sheet) == len(scores) > 0
    assert sheet["总分"].tolist() == scores["total"].astype(float).tolist()
    assert complete_report(demo_store.session_factory, actor=OPERATOR, report=complete) is complete

    workbook = openpyxl.load_workbook(io.BytesIO(report_bytes(complete, ".xlsx")))
    names = workbook.sheetnames
    assert names.index("网格员月度考核") == names.index("网格员考核") + 1


def test_a_week_report_is_complete_as_shown(demo_store, small_demo) -> None:
    today = small_demo.now.astimezone(LOCAL_TZ).date()
    week = parse_week(f"{today.isocalendar().year}-W{today.isocalendar().week:02d}")
    shown = shown_report(demo_store, small_demo, week)
    assert complete_report(demo_store.session_factory, actor=OPERATOR, report=shown) is shown
