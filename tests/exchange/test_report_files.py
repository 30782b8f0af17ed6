"""The 月报 / 周报 files: the XLSX opens in openpyxl with its sheets, number formats, frozen headers
and A4 print setup, hostile text stays text; the PDF renders (pages saved under tests/artifacts/
to look at), embeds its Chinese font as a subset, and its text layer holds the headline figures."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from services.errors import InvalidArgumentError, OutOfScopeError
from services.exchange.report_files import (
    NUMBER_FORMATS,
    display_width,
    download_report,
    report_pdf,
    report_xlsx,
    sheet_name,
    write_report,
)
from services.figures.report import ReportSection
from services.figures.values import change_against, sentence_value, shown_change, shown_value
from services.store.models import AuditEntry
from tests.factories import GRID_A, OPERATOR, TOWNSHIP, T, make_actor
from tests.paths import ARTIFACTS
from tests.report_samples import FORMULA, HEADLINE, QUOTED, SCRIPT, sample_report

POPPLER = ("pdftoppm", "pdftotext", "pdffonts", "pdfinfo")


@pytest.fixture(scope="module")
def workbook() -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(report_xlsx(sample_report())))


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory) -> Path:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"poppler-utils missing ({', '.join(missing)}): `make test` installs it")
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(report_pdf(sample_report()))
    return path


def run(*command: str | Path) -> str:
    return subprocess.run([str(c) for c in command], check=True, capture_output=True, text=True).stdout


def cells(sheet) -> list[list[object]]:  # type: ignore[no-untyped-def]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


# --- XLSX ------------------------------------------------------------------------------------


def test_the_workbook_has_an_overview_then_one_sheet_per_section_named_by_its_title(workbook) -> None:
    titles = [section.title for section in sample_report().sections]
    assert workbook.sheetnames == ["概况", *(sheet_name(t, set()) for t in titles)]
    assert workbook.sheetnames[3] == "乡镇排名=cmd|' _C calc'!A0"  # "/" cannot be in a sheet name
    assert all(len(name) <= 31 for name in workbook.sheetnames)


def test_sheet_names_are_cut_to_31_characters_and_made_unique() -> None:
    used = {"概况"}
    names = []
    for title in ["概况", "按类别", "按类别", "网格员巡查日志与有效上报数量对照表（按网格员逐一列出）", "a/b:c*d?"]:
        names.append(sheet_name(title, used))
        used.add(names[-1].casefold())
    assert names[:3] == ["概况(2)", "按类别", "按类别(2)"]
    assert names[3] == "网格员巡查日志与有效上报数量对照表（按网格员逐一列出）"[:31] and names[4] == "a_b_c_d_"


def test_the_overview_lists_each_headline_figure_with_its_changes_and_definition(workbook) -> None:
    sheet = workbook["概况"]
    rows = cells(sheet)
    header = rows.index(["指标", "数值", "上期", "环比", "去年同期", "同比", "口径说明"])
    figures = {row[0]: row for row in rows[header + 1 :]}
    assert list(figures) == [f.label for f in HEADLINE]
    reported = figures["上报"]
    assert reported[1:3] == [1234, 1141] and reported[4] == 980
    assert reported[3] == pytest.approx(1234 / 1141 - 1) and reported[5] == pytest.approx(1234 / 980 - 1)
    assert reported[6] == "周期内上报的事件数。"
    closure = figures["办结率"]  # a share changes by percentage points
    assert closure[3] == pytest.approx(2.2) and closure[4] is None and closure[5] is None
    assert figures["超期未办"][3] is None  # against 0: no change to state
    assert figures["巡查覆盖率"][1] is None  # a blank figure is an empty cell, not 0
    by_label = {row[0].value: row for row in sheet.iter_rows(min_row=header + 2)}
    assert by_label["上报"][1].number_format == "#,##0"
    assert by_label["上报"][3].number_format == "+0.0%;-0.0%"
    assert by_label["办结率"][1].number_format == "0.0%"
    assert by_label["办结率"][3].number_format == NUMBER_FORMATS["points"]
    assert by_label["处置用时中位数（小时）"][1].number_format == "0.0"
    facts = {row[0]: row[1] for row in rows[1:header] if row[0]}
    assert facts == {
        "区域": f"平乡县{FORMULA}（130532）",  # not at the start: no formula, kept as written
        "统计周期": "2026年11月（11月1日—11月30日）",
        "数据截至": "2026-12-01 08:30",
        "口径版本": "2026.11-1",
    }


def test_section_sheets_hold_real_numbers_formatted_by_kind_and_blanks_for_none(workbook) -> None:
    sheet = workbook[workbook.sheetnames[3]]  # the ranking
    header = [cell.value for cell in sheet[3]]
    assert header == ["乡镇", "上报", "排名", "办结率", "环比", "平均处置用时（小时）"]
    first = {name: cell for name, cell in zip(header, sheet[4], strict=True)}
    assert (first["上报"].value, first["上报"].number_format) == (400, "#,##0")
    assert (first["办结率"].value, first["办结率"].number_format) == (0.9, "0.0%")
    assert (first["环比"].value, first["环比"].number_format) == (0.081, "+0.0%;-0.0%")
    assert (first["平均处置用时（小时）"].value, first["平均处置用时（小时）"].number_format) == (20.5, "0.0")
    blanks = {name: cell.value for name, cell in zip(header, sheet[9], strict=True)}  # the <script> row
    assert blanks["办结率"] is None and blanks["平均处置用时（小时）"] is None and blanks["上报"] == 50
    assert [cell.value for cell in sheet["A"]][:2] == [f"乡镇排名{FORMULA}", "平乡镇上报最多。"]


def test_every_section_sheet_keeps_every_row_and_writes_times_in_local_time(workbook) -> None:
    sheet = workbook["超期积压"]
    assert sheet.max_row == 3 + 29
    assert sheet["D4"].value == "2026-11-01 10:00"  # 02:00 UTC
    assert workbook["不满意事件"]["A4"].value == "（本期无数据）"


def test_hostile_text_stays_text_and_no_cell_is_a_formula(workbook) -> None:
    texts = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [cell.coordinate for cell in texts if cell.data_type == "f"]
    values = {cell.value for cell in texts}
    assert "'" + FORMULA in values and "'+1+1" in values  # the downloads rule: a leading apostrophe
    assert SCRIPT in values and QUOTED in values  # the rest is kept as written
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "-", "@")) for v in values)


def test_every_sheet_is_frozen_below_its_header_and_prints_on_a4_landscape_one_page_wide(workbook) -> None:
    for sheet in workbook:
        header_row = 7 if sheet.title == "概况" else 3
        assert sheet.freeze_panes == f"A{header_row + 1}", sheet.title
        assert sheet.print_title_rows == f"${header_row}:${header_row}"
        setup = sheet.page_setup
        assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage


def test_column_widths_count_chinese_characters_twice(workbook) -> None:
    assert display_width("平乡镇") == 6 and display_width("SJ1") == 3 and display_width("（）") == 4
    ranking = workbook[workbook.sheetnames[3]]
    assert ranking.column_dimensions["A"].width == display_width(SCRIPT) + 2  # the longest name
    assert ranking.column_dimensions["F"].width == display_width("平均处置用时（小时）") + 2
    assert workbook["概况"].column_dimensions["G"].width == 60  # long definitions wrap at the cap


def test_text_that_xml_cannot_hold_is_dropped_before_the_formula_check() -> None:
    table = pd.DataFrame({"名称": ["\x01=1+1", "正常\x0b名称"], "数": [1, 2]})
    section = ReportSection("t", "表", "", table, {"名称": "text", "数": "count"})
    sheet = openpyxl.load_workbook(io.BytesIO(report_xlsx(sample_report(sections=(section,)))))["表"]
    assert [sheet["A4"].value, sheet["A5"].value] == ["'=1+1", "正常名称"]


# --- values as shown -------------------------------------------------------------------------


def test_values_are_shown_as_their_number_formats_show_them() -> None:
    assert [
        shown_value(v, k) for v, k in [(1234, "count"), (0.8125, "share"), (36.55, "hours"), (0.081, "change")]
    ] == [
        "1,234",
        "81.2%",
        "36.5",
        "+8.1%",
    ]
    assert shown_value(None, "count") == "" and shown_value(float("nan"), "share") == ""
    assert shown_value(-0.05, "change") == "-5.0%" and shown_value(2.2, "points") == "+2.2 个百分点"


def test_changes_are_relative_for_counts_and_in_points_for_shares() -> None:
    reported, closure, overdue = HEADLINE[0], HEADLINE[1], HEADLINE[3]
    assert change_against(reported.kind, reported.value, 1141) == (pytest.approx(1234 / 1141 - 1), "change")
    assert change_against(closure.kind, closure.value, 0.79) == (pytest.approx(2.2), "points")
    assert change_against(overdue.kind, overdue.value, 0) == (None, "change")
    assert change_against(reported.kind, reported.value, None) == (None, "change")
    assert shown_change(closure.kind, closure.value, 0.79) == "+2.2 个百分点"
    assert shown_change(reported.kind, reported.value, 1141) == "+8.2%"  # 1234 / 1141 = 1.0815


def test_a_sentence_says_a_blank_figure_as_a_dash_and_hours_with_their_unit() -> None:
    assert sentence_value(None, "share") == "—" and sentence_value(float("nan"), "count") == "—"
    assert sentence_value(36.55, "hours") == "36.5 小时" and sentence_value(1234, "count") == "1,234"


# --- PDF -------------------------------------------------------------------------------------


def test_the_pdf_is_a4_and_embeds_its_chinese_font_as_a_subset(pdf_file) -> None:
    info = run("pdfinfo", pdf_file)
    assert "A4" in info and "Title:           平乡县 2026年11月 网格化管理月报" in info
    fonts = [line.split() for line in run("pdffonts", pdf_file).splitlines()[2:]]
    assert fonts and all(f[0].split("+")[1] == "NotoSansSC" for f in fonts)
    assert all(f[-5:-2] == ["yes", "yes", "yes"] for f in fonts)  # embedded, subset, ToUnicode
    assert pdf_file.stat().st_size < 200_000  # a subset, not the 8 MB font


def test_the_pdf_text_holds_the_title_cut_off_and_headline_figures_as_the_xlsx_shows_them(pdf_file) -> None:
    text = run("pdftotext", "-layout", pdf_file, "-")
    flat = " ".join(text.split())
    for expected in [
        "平乡县 2026年11月 网格化管理月报",
        "2026年11月（11月1日—11月30日）",
        "数据截至：2026-12-01 08:30",
    ]:
        assert expected in flat
    assert f"平乡县{FORMULA}（130532）" in flat
    for figure in HEADLINE:
        assert figure.label in flat
        if figure.value is not None:
            assert shown_value(figure.value, figure.kind) in flat, figure.label
    assert "环比 +8.2%" in flat and "同比 +25.9%" in flat and "环比 +2.2 个百分点" in flat


def test_the_pdf_has_each_section_with_its_summary_chart_and_table(pdf_file) -> None:
    flat = " ".join(run("pdftotext", "-layout", pdf_file, "-").split())
    for section in sample_report().sections:
        assert section.title in flat and section.summary in flat
    assert "上报（按日期）" in flat and "上报（按乡镇）" in flat  # chart captions
    assert "占比（按处置层级；竖线为目标）" in flat and "81.9%（目标 80.0%）" in flat  # chart_value, chart_target
    assert SCRIPT in flat and QUOTED in flat  # text from the data, as written
    ids = sample_report().sections[3].table["事件编号"]
    assert ids[19] in flat and ids[20] not in flat  # the first 20 of the 29 rows
    assert "共 29 行，此处列出前 20 行" in flat and "（本期无数据）" in flat


def test_the_pdf_renders_and_its_pages_are_kept_to_look_at(pdf_file) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("report_page-*.png"):
        old.unlink()
    run("pdftoppm", "-r", "80", "-png", pdf_file, ARTIFACTS / "report_page")
    pages = sorted(ARTIFACTS.glob("report_page-*.png"))
    info = dict(line.split(":", 1) for line in run("pdfinfo", pdf_file).splitlines() if ":" in line)
    assert len(pages) == int(info["Pages"])
    assert len(pages) >= 2 and all(page.stat().st_size > 10_000 for page in pages)


def test_characters_the_font_lacks_become_a_box_instead_of_vanishing(tmp_path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils missing: `make test` installs it")
    path = tmp_path / "r.pdf"
    path.write_bytes(report_pdf(sample_report(area_name="平乡县😀\t东")))
    assert "平乡县□ 东" in run("pdftotext", path, "-")


def test_a_line_chart_draws_every_value_column_of_its_kind_and_then_needs_no_table(tmp_path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils missing: `make test` installs it")
    days = pd.DataFrame({"日期": [f"11-{d:02d}" for d in range(1, 31)], "上报": range(30), "结案": range(30, 0, -1)})
    trend = ReportSection("trend", "每日趋势", "", days, {"日期": "text", "上报": "count", "结案": "count"}, "line")
    path = tmp_path / "r.pdf"
    path.write_bytes(report_pdf(sample_report(sections=(trend,))))
    flat = " ".join(run("pdftotext", "-layout", path, "-").split())
    assert "上报、结案（按日期）" in flat and "共 30 行" not in flat  # both lines, so no table


def test_the_same_report_gives_the_same_pdf() -> None:
    assert report_pdf(sample_report()) == report_pdf(sample_report())


# --- files and downloads ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".PDF"])
def test_write_report_chooses_the_format_by_suffix(tmp_path, suffix) -> None:
    path = write_report(sample_report(), tmp_path / f"月报{suffix}")
    head = path.read_bytes()[:4]
    assert head == (b"PK\x03\x04" if suffix == ".xlsx" else b"%PDF")
    assert [p.name for p in tmp_path.iterdir()] == [f"月报{suffix}"]


@pytest.mark.parametrize("name", ["月报.csv", "月报"])
def test_write_report_refuses_another_suffix_in_chinese_and_writes_nothing(tmp_path, name) -> None:
    with pytest.raises(InvalidArgumentError, match=r"文件 .*：不支持的报表文件类型.*\.xlsx.*\.pdf"):
        write_report(sample_report(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_download_is_on_the_record_and_a_report_of_another_area_is_refused_on_it(store) -> None:
    content = download_report(store.session_factory, actor=OPERATOR, report=sample_report(), suffix=".xlsx", now=T)
    assert content[:2] == b"PK"
    leader = make_actor("township_leader", TOWNSHIP, username="leader")
    with pytest.raises(OutOfScopeError):
        download_report(store.session_factory, actor=leader, report=sample_report(), suffix=".pdf", now=T)
    grid_report = sample_report(area_code=GRID_A, area_name="测试村第1网格")
    assert download_report(store.session_factory, actor=leader, report=grid_report, suffix=".pdf", now=T)[:4] == b"%PDF"
    with store.session_factory() as session:
        entries = session.execute(
            select(AuditEntry.username, AuditEntry.action, AuditEntry.target).order_by(AuditEntry.at)
        ).all()
    assert sorted(map(tuple, entries)) == [
        ("leader", "refused", "130532"),
        ("leader", "report_download", GRID_A),
        ("operator", "report_download", "130532"),
    ]
