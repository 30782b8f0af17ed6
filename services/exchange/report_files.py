"""A 月报 / 周报 (`services.figures.report.Report`) as the files that are sent: an XLSX workbook for
those who work on with the numbers, an A4 PDF for those who read it.  Both lay out the same
figures in the same way of showing them (`services.figures.values.shown_value`), so the PDF's 81.2% is the XLSX's 0.812
formatted `0.0%`.

XLSX: openpyxl (already pinned for the imports; it writes every number format, freeze pane and
print setting needed here, and a report is a few thousand cells, so a faster writer buys nothing).
Every text cell passes `services.exchange.downloads.neutralise_formula(s)`, the one rule against
formulas smuggled in through names and notes.

PDF: fpdf2 with Noto Sans SC (SIL OFL 1.1, from the pip package `pylopdf-fonts-zh-cn`): fpdf2
subsets the CFF font, so only the glyphs used are embedded (a report PDF is tens of kilobytes),
and writes a ToUnicode map, so the text is searchable and copyable.  Charts are drawn with fpdf2's
own lines and rectangles: vector, in the same embedded font, and no browser or chart renderer to
install.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from fpdf import FPDF, FontFace
from fpdf.enums import WrapMode
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.access.actor import Actor
from services.access.audit import Who, record, require_whole_area
from services.errors import InvalidArgumentError
from services.exchange.downloads import neutralise_formula
from services.figures.report import Figure, Report, ReportSection
from services.figures.values import change_against, is_blank, local_time, plain, shown_value
from services.store.engine import SessionFactory

REPORT_FORMATS = {".xlsx": "Excel 工作簿", ".pdf": "PDF 文档"}

# Excel number formats of each kind of value.  A share's change is a difference in percentage
# points (81.2% → 83.3% is "+2.1 个百分点", not "+2.6%"), as Chinese reports state it.
NUMBER_FORMATS: dict[str, str] = {
    "count": "#,##0",
    "share": "0.0%",
    "hours": "0.0",
    "change": "+0.0%;-0.0%",
    "points": '+0.0" 个百分点";-0.0" 个百分点"',
    "text": "General",
}
OVERVIEW_SHEET = "概况"
OVERVIEW_COLUMNS = ("指标", "数值", "上期", "环比", "去年同期", "同比", "口径说明")
SHEET_NAME_LIMIT = 31
SHEET_NAME_BANNED = re.compile(r"[\[\]:*?/\\]")
# Characters XML 1.0 cannot hold (openpyxl refuses them): dropped, they show nothing anyway.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MIN_COLUMN_WIDTH = 8
MAX_COLUMN_WIDTH = 60

PDF_MAX_TABLE_ROWS = 20  # a PDF table shows its first rows; the XLSX holds them all
PDF_MAX_BARS = 15
BAR_HEIGHT, BAR_PITCH = 5.0, 6.6  # millimetres
LINE_HEIGHT = 48.0  # of a line chart's plot, millimetres


def display_width(text: str) -> int:
    """Columns `text` takes in a spreadsheet: CJK and full-width characters count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _cell_value(value: object, kind: str) -> object:
    """What goes into a cell: a number for the numeric kinds, a local time, or text that cannot
    run as a formula (characters XML cannot hold are dropped first, so none can hide a `=`)."""
    value = plain(value)
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        return local_time(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if kind != "text" and isinstance(value, int | float) and math.isfinite(float(value)):
        return int(value) if isinstance(value, int) else float(value)
    if isinstance(value, int | float):
        return value if math.isfinite(float(value)) else None
    return neutralise_formula(XML_ILLEGAL.sub("", str(value)))


# --- XLSX ------------------------------------------------------------------------------------


def report_xlsx(report: Report) -> bytes:
    """The report as an XLSX workbook: a 概况 sheet with the headline figures, their definitions
    and their changes, then one sheet per section (named by its title), each frozen below its
    header, its columns sized to their text and printable on A4 landscape, one page wide."""
    book = Workbook()
    overview = book.active
    overview.title = OVERVIEW_SHEET
    _write_overview(overview, report)
    used = {OVERVIEW_SHEET.casefold()}
    for section in report.sections:
        name = sheet_name(section.title, used)
        used.add(name.casefold())
        _write_section(book.create_sheet(name), report, section)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet_name(title: str, used: set[str]) -> str:
    """A worksheet name for `title`: Excel's forbidden characters replaced, at most 31
    characters, unique (case-insensitively) among `used` by a (2), (3) … suffix."""
    base = SHEET_NAME_BANNED.sub("_", XML_ILLEGAL.sub("", title)).strip().strip("'") or "表"
    if base.casefold() == "history":  # reserved by Excel
        base += "_"
    name, number = base[:SHEET_NAME_LIMIT], 1
    while name.casefold() in used:
        number += 1
        suffix = f"({number})"
        name = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix
    return name


def _styles() -> dict[str, Any]:
    return {
        "title": Font(bold=True, size=14),
        "header_font": Font(bold=True),
        "header_fill": PatternFill("solid", fgColor="E8EEF5"),
        "header_border": Border(bottom=Side(style="thin", color="7F8FA6")),
        "wrap": Alignment(wrap_text=True, vertical="top"),
        "top": Alignment(vertical="top"),
    }


def _write_overview(sheet: Worksheet, report: Report) -> None:
    styles = _styles()
    sheet.append([_cell_value(report.title, "text")])
    sheet["A1"].font = styles["title"]
    for label, fact in _facts(report):
        sheet.append([label, _cell_value(fact, "text")])
    sheet.append([])
    sheet.append(list(OVERVIEW_COLUMNS))
    header_row = sheet.max_row
    widths = [display_width(name) for name in OVERVIEW_COLUMNS]
    for figure in report.headline:
        month, month_kind = change_against(figure.kind, figure.value, figure.previous)
        year, year_kind = change_against(figure.kind, figure.value, figure.year_ago)
        cells: list[tuple[object, str]] = [
            (figure.label, "text"),
            (figure.value, figure.kind),
            (figure.previous, figure.kind),
            (month, month_kind),
            (figure.year_ago, figure.kind),
            (year, year_kind),
            (figure.definition, "text"),
        ]
        sheet.append([_cell_value(value, kind) for value, kind in cells])
        row = sheet.max_row
        for column, (value, kind) in enumerate(cells, start=1):
            cell = sheet.cell(row=row, column=column)
            cell.number_format = NUMBER_FORMATS[kind]
            cell.alignment = styles["wrap"] if column == len(cells) else styles["top"]
            widths[column - 1] = max(widths[column - 1], display_width(shown_value(value, kind)))
    _finish_sheet(sheet, header_row, widths, styles)


def _facts(report: Report) -> list[tuple[str, str]]:
    return [
        ("区域", f"{report.area_name}（{report.area_code}）"),
        ("统计周期", report.period_label),
        ("数据截至", local_time(report.cutoff)),
        ("口径版本", report.rule_version),
    ]


def _write_section(sheet: Worksheet, report: Report, section: ReportSection) -> None:
    styles = _styles()
    sheet.append([_cell_value(section.title, "text")])
    sheet["A1"].font = styles["title"]
    sheet.append([_cell_value(section.summary, "text")])
    header_row = 3
    table = section.table
    kinds = [section.column_kinds.get(column, "text") for column in table.columns]
    sheet.append([_cell_value(str(name), "text") for name in table.columns])
    widths = [display_width(str(name)) for name in table.columns]
    for values in table.itertuples(index=False, name=None):
        sheet.append([_cell_value(value, kind) for value, kind in zip(values, kinds, strict=True)])
        row = sheet.max_row
        for column, (value, kind) in enumerate(zip(values, kinds, strict=True), start=1):
            sheet.cell(row=row, column=column).number_format = NUMBER_FORMATS[kind]
            widths[column - 1] = max(widths[column - 1], display_width(shown_value(value, kind)))
    if table.empty:
        sheet.append(["（本期无数据）"])
    _finish_sheet(sheet, header_row, widths, styles)


def _finish_sheet(sheet: Worksheet, header_row: int, widths: Sequence[int], styles: dict[str, Any]) -> None:
    for cell in sheet[header_row]:
        cell.font = styles["header_font"]
        cell.fill = styles["header_fill"]
        cell.border = styles["header_border"]
    sheet.freeze_panes = f"A{header_row + 1}"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(
            max(width + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH
        )
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as it takes
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"


# --- PDF -------------------------------------------------------------------------------------

ACCENT = (47, 111, 176)
MUTED = (102, 112, 133)
INK = (33, 37, 41)
RULE = (208, 215, 225)
FILL = (232, 238, 245)
STRIPE = (246, 248, 251)
SERIES_COLORS = (ACCENT, (230, 126, 34), (39, 174, 96), (142, 68, 173))
FONT = "noto-sans-sc"


def font_path() -> Path:
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.sans_path())


def report_pdf(report: Report) -> bytes:
    """The report as an A4 PDF: title with area, period and cut-off, the headline figures with
    their changes, then each section's summary sentence, chart and table (a table's first
    PDF_MAX_TABLE_ROWS rows; the XLSX holds them all).  Noto Sans SC is embedded as a subset."""
    pdf = _ReportPdf(report)
    pdf.add_page()
    pdf.title_block()
    pdf.headline(report.headline)
    for section in report.sections:
        pdf.section(section)
    return bytes(pdf.output())


class _ReportPdf:
    """The drawing of one report on an fpdf2 document (A4 portrait, millimetres)."""

    MARGIN = 15.0

    def __init__(self, report: Report) -> None:
        self.report = report
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_margins(self.MARGIN, self.MARGIN, self.MARGIN)
        pdf.set_auto_page_break(auto=True, margin=self.MARGIN + 5)
        pdf.add_font(FONT, fname=str(font_path()))
        pdf.set_font(FONT, size=10)
        font = pdf.current_font
        self.glyphs = set(getattr(font, "cmap", {}))
        # The subset keeps the whole font's bounding box (which holds every subset) instead of
        # recomputing it from each outline: that took most of a report's time (~4 s of 5).
        font.ttfont.recalcBBoxes = False  # type: ignore[union-attr]  # fpdf types current_font as any font; one added from a TTF file has its fontTools font
        pdf.set_title(self.clean(report.title))
        pdf.set_author("民情地图")
        pdf.set_lang("zh-CN")
        pdf.set_creation_date(report.cutoff.astimezone(dt.UTC))  # the same report, the same bytes
        footer_text = self.clean(f"{report.title} · 数据截至 {local_time(report.cutoff)}")

        def footer() -> None:
            pdf.set_y(-self.MARGIN)
            pdf.set_font(FONT, size=8)
            pdf.set_text_color(*MUTED)
            pdf.cell(0, 5, footer_text, align="L")
            pdf.set_x(self.MARGIN)
            pdf.cell(0, 5, f"第 {pdf.page_no()} 页 / 共 {{nb}} 页", align="R")

        pdf.footer = footer  # type: ignore[method-assign]  # this document's footer, without subclassing FPDF
        self.pdf = pdf

    @property
    def width(self) -> float:
        return float(self.pdf.epw)

    def output(self) -> bytearray:
        return self.pdf.output()

    def add_page(self) -> None:
        self.pdf.add_page()

    def clean(self, text: object) -> str:
        """Text the embedded font can draw: control characters become spaces, characters the
        font lacks (emoji, rare scripts) become □, so nothing is silently dropped."""
        shown = re.sub(r"[\x00-\x1f\x7f]", " ", str(text))
        return "".join(c if ord(c) in self.glyphs or c == " " else "□" for c in shown)

    def text_line(self, text: str, size: float, color: tuple[int, int, int] = INK, height: float | None = None) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, size=size)
        pdf.set_text_color(*color)
        pdf.set_x(self.MARGIN)
        pdf.multi_cell(0, height or size * 0.5, self.clean(text), align="L", wrapmode=WrapMode.CHAR)

    def title_block(self) -> None:
        report, pdf = self.report, self.pdf
        self.text_line(report.title, 18, INK, 9)
        pdf.ln(1)
        facts = [f"{label}：{value}" for label, value in _facts(report)]
        for pair in (facts[:2], facts[2:]):  # area and period, then cut-off and rule version
            self.text_line("    ".join(pair), 9, MUTED, 5)
        pdf.ln(2)
        pdf.set_draw_color(*ACCENT)
        pdf.set_line_width(0.6)
        pdf.line(self.MARGIN, pdf.get_y(), self.MARGIN + self.width, pdf.get_y())
        pdf.ln(4)

    def headline(self, figures: Sequence[Figure]) -> None:
        """Tiles, four to a row: label, value, and its 环比 / 同比 below."""
        if not figures:
            return
        pdf = self.pdf
        if pdf.will_page_break(40):
            pdf.add_page()
        self.heading("主要指标")
        columns, gap, height = 4, 3.0, 24.0
        tile = (self.width - gap * (columns - 1)) / columns
        for start in range(0, len(figures), columns):
            if pdf.will_page_break(height + gap):
                pdf.add_page()
            top = pdf.get_y()
            for offset, figure in enumerate(figures[start : start + columns]):
                left = self.MARGIN + offset * (tile + gap)
                pdf.set_fill_color(*FILL)
                pdf.rect(left, top, tile, height, style="F")
                pdf.set_xy(left + 2, top + 2)
                pdf.set_font(FONT, size=8)
                pdf.set_text_color(*MUTED)
                pdf.cell(tile - 4, 4, self.clean(figure.label))
                pdf.set_xy(left + 2, top + 7)
                pdf.set_font(FONT, size=16)
                pdf.set_text_color(*INK)
                pdf.cell(tile - 4, 8, shown_value(figure.value, figure.kind) or "—")
                pdf.set_font(FONT, size=7)
                pdf.set_text_color(*MUTED)
                for line, (name, earlier) in enumerate((("环比", figure.previous), ("同比", figure.year_ago))):
                    change, kind = change_against(figure.kind, figure.value, earlier)
                    pdf.set_xy(left + 2, top + 15.5 + line * 3.6)
                    pdf.cell(tile - 4, 3.6, f"{name} {shown_value(change, kind) or '—'}")
            pdf.set_y(top + height + gap)
        pdf.ln(2)

    def heading(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_fill_color(*ACCENT)
        pdf.rect(self.MARGIN, pdf.get_y() + 0.8, 1.2, 5, style="F")
        pdf.set_x(self.MARGIN + 3)
        pdf.set_font(FONT, size=12)
        pdf.set_text_color(*INK)
        pdf.cell(0, 6.5, self.clean(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def section(self, section: ReportSection) -> None:
        table = section.table
        charted = section.chart != "none" and len(table.columns) >= 2 and not table.empty
        # A table is all in its chart when every bar of its one value column is drawn, or when
        # its every value column is a line.
        if section.chart == "line":
            whole = charted and len(_line_columns(section)) == len(table.columns) - 1
        else:
            whole = charted and len(table.columns) == 2 and len(table) <= PDF_MAX_BARS
        tabled = not whole
        chart_height = 0.0
        if charted:
            chart_height = BAR_PITCH * min(len(table), PDF_MAX_BARS) + 9 if section.chart == "bar" else LINE_HEIGHT + 14
        table_height = _table_height(section) if tabled else 0.0
        # The heading stays with what follows it: with the whole section when it fits on a page,
        # else with its chart or the first rows of its table.
        whole_section = 16 + chart_height + table_height
        first_part = 16 + (chart_height or min(table_height, 40.0))
        if self.pdf.will_page_break(whole_section if whole_section < self.pdf.eph else first_part):
            self.pdf.add_page()
        self.heading(section.title)
        if section.summary:
            self.text_line(section.summary, 9.5, INK, 5.5)
            self.pdf.ln(1.5)
        if charted and section.chart == "bar":
            self.bar_chart(section)
        elif charted:
            self.line_chart(section)
        if tabled:
            self.table(section)
        self.pdf.ln(4)

    def _series(
        self, section: ReportSection, limit: int | None = None
    ) -> tuple[list[str], list[float | None], str, str]:
        """The chart's categories (the first column) and values (the section's `chart_value`,
        else the second column as the contract says, failing that the first numeric one), and
        the values' kind."""
        table = section.table if limit is None else section.table.head(limit)
        kinds = [section.column_kinds.get(column, "text") for column in table.columns]
        column = 1 if kinds[1] != "text" else next((i for i, k in enumerate(kinds) if i and k != "text"), 1)
        if section.chart_value in table.columns:
            column = list(table.columns).index(section.chart_value)
        names = [self.clean(shown_value(v, "text")) for v in table.iloc[:, 0]]
        values = [_number(v) for v in table.iloc[:, column]]
        caption = f"{table.columns[column]}（按{table.columns[0]}）"
        return names, values, kinds[column], caption

    def bar_chart(self, section: ReportSection) -> None:
        pdf = self.pdf
        names, values, kind, caption = self._series(section, PDF_MAX_BARS)
        bar, gap = BAR_HEIGHT, BAR_PITCH - BAR_HEIGHT
        pdf.set_font(FONT, size=8)
        label_width = min(max(pdf.get_string_width(n) for n in names) + 2 * pdf.c_margin + 2, self.width * 0.35)
        value_width = 22.0
        # An aim per bar (the 80/10/10 of the handling levels) is a dark tick across it.
        aims: list[float | None] = [None] * len(values)
        if section.chart_target in section.table.columns:
            aims = [_number(v) for v in section.table[section.chart_target].head(len(values))]
            caption = caption[:-1] + f"；竖线为{section.chart_target}）"
            value_width = 40.0
        span = self.width - label_width - value_width
        top_value = max((v for v in [*values, *aims] if v is not None), default=0.0)
        scale_to = max(top_value, 1.0) if kind == "share" else top_value
        if pdf.will_page_break(len(names) * (bar + gap) + 6):
            pdf.add_page()
        self._caption(caption)
        y = pdf.get_y()
        left = self.MARGIN + label_width
        for name, value, aim in zip(names, values, aims, strict=True):
            pdf.set_text_color(*INK)
            pdf.set_xy(self.MARGIN, y)
            pdf.cell(label_width - 2, bar, self._fit(name, label_width - 2), align="R")
            length = 0.0 if value is None or scale_to <= 0 else span * max(value, 0.0) / scale_to
            if length > 0:
                pdf.set_fill_color(*ACCENT)
                pdf.rect(left, y + 0.6, length, bar - 1.2, style="F")
            label = shown_value(value, kind) or "—"
            if aim is not None and scale_to > 0:
                at = left + span * max(aim, 0.0) / scale_to
                pdf.set_draw_color(*INK)
                pdf.set_line_width(0.5)
                pdf.line(at, y, at, y + bar)
                label += f"（{section.chart_target} {shown_value(aim, kind)}）"
            pdf.set_xy(left + max(length, 0.0 if aim is None else span * max(aim, 0.0) / scale_to) + 1.5, y)
            pdf.cell(value_width, bar, label)
            y += bar + gap
        pdf.set_y(y + 2)

    def line_chart(self, section: ReportSection) -> None:
        """The first column along the bottom; each value column of the first one's kind a line
        (up to four, with a legend), a blank breaking its line."""
        pdf = self.pdf
        table, names = section.table, _line_columns(section)
        kind = section.column_kinds.get(names[0], "count")
        categories = [self.clean(shown_value(v, "text")) for v in table.iloc[:, 0]]
        series = [[_number(v) for v in table[name]] for name in names]
        height, axis, tail = LINE_HEIGHT, 16.0, (4.0 if len(names) == 1 else 12.0)
        if pdf.will_page_break(height + 16):
            pdf.add_page()
        self._caption(f"{'、'.join(map(str, names))}（按{table.columns[0]}）")
        top = pdf.get_y() + 2
        left, right = self.MARGIN + axis, self.MARGIN + self.width - tail
        known = [v for values in series for v in values if v is not None]
        ceiling = _nice_ceiling(max(known, default=0.0), kind)
        pdf.set_font(FONT, size=7)
        pdf.set_line_width(0.2)
        for step in range(5):
            y = top + height - height * step / 4
            pdf.set_draw_color(*RULE)
            pdf.line(left, y, right, y)
            pdf.set_text_color(*MUTED)
            pdf.set_xy(self.MARGIN, y - 2)
            pdf.cell(axis - 2, 4, shown_value(ceiling * step / 4, kind), align="R")
        count = len(categories)
        xs = [left + (right - left) * (i / (count - 1) if count > 1 else 0.5) for i in range(count)]

        def y_of(value: float) -> float:
            return top + height - (height * value / ceiling if ceiling > 0 else 0.0)

        for number, (name, values) in enumerate(zip(names, series, strict=True)):
            color = SERIES_COLORS[number]
            pdf.set_draw_color(*color)
            pdf.set_fill_color(*color)
            pdf.set_line_width(0.6)
            run: list[tuple[float, float]] = []
            for x, value in [*zip(xs, values, strict=True), (0.0, None)]:
                if value is None:  # a blank breaks the line
                    if len(run) > 1:
                        pdf.polyline(run)
                    run = []
                    continue
                run.append((x, y_of(value)))
            for x, value in zip(xs, values, strict=True):
                if value is not None:
                    pdf.circle(x, y_of(value), 0.7, style="F")
            if len(names) > 1:  # the legend, top right, and each line's last value at its end
                legend_x = right - 24 * (len(names) - number)
                pdf.rect(legend_x, top - 5.2, 3, 1.6, style="F")
                pdf.set_text_color(*MUTED)
                pdf.set_xy(legend_x + 3.5, top - 6)
                pdf.cell(20, 3.2, self._fit(self.clean(name), 20))
                last = next((i for i in range(count - 1, -1, -1) if values[i] is not None), None)
                if last is not None:
                    pdf.set_text_color(*color)
                    pdf.set_xy(xs[last] + 1.2, y_of(values[last]) - 2)  # type: ignore[arg-type]  # `last` indexes a value that is not None
                    pdf.cell(tail - 1.2, 4, shown_value(values[last], kind))
        every = max(1, math.ceil(count / 10))
        pdf.set_text_color(*MUTED)
        for index in range(0, count, every):
            pdf.set_xy(xs[index] - 10, top + height + 1)
            pdf.cell(20, 4, self._fit(categories[index], 20), align="C")
        if len(names) == 1:
            # Every point's value on a short line (a week); on a long one the highest and the last.
            values = series[0]
            marked = [i for i in range(count) if values[i] is not None]
            if len(marked) > 12:
                marked = sorted({max(marked, key=lambda i: values[i] or 0.0), marked[-1]})
            pdf.set_text_color(*INK)
            for index in marked:
                pdf.set_xy(xs[index] - 10, y_of(values[index]) - 5)  # type: ignore[arg-type]  # `marked` holds only values that are not None
                pdf.cell(20, 4, shown_value(values[index], kind), align="C")
        pdf.set_y(top + height + 8)

    def _caption(self, text: str) -> None:
        self.text_line(text, 8, MUTED, 4.5)
        self.pdf.ln(0.5)

    def _fit(self, text: str, width: float) -> str:
        """`text` cut with an ellipsis to fit `width` at the current font size."""
        if self.pdf.get_string_width(text) <= width:
            return text
        while text and self.pdf.get_string_width(text + "…") > width:
            text = text[:-1]
        return text + "…"

    def table(self, section: ReportSection) -> None:
        pdf = self.pdf
        table = section.table
        if table.empty:
            self.text_line("（本期无数据）", 9, MUTED, 5)
            return
        kinds = [section.column_kinds.get(column, "text") for column in table.columns]
        shown = table.head(PDF_MAX_TABLE_ROWS)
        header = [self.clean(column) for column in table.columns]
        rows = [
            [self.clean(shown_value(value, kind)) for value, kind in zip(values, kinds, strict=True)]
            for values in shown.itertuples(index=False, name=None)
        ]
        size = _table_font_size(table)
        pdf.set_font(FONT, size=size)
        natural = [
            max(pdf.get_string_width(text) for text in [name, *(r[i] for r in rows)]) + 3
            for i, name in enumerate(header)
        ]
        widths = [min(width, self.width * 0.4) for width in natural]
        aligns = ["LEFT" if kind == "text" else "RIGHT" for kind in kinds]
        # A table that fits on a page starts on a fresh one rather than leave its head behind.
        height = _table_height(section)
        if pdf.will_page_break(height) and height < pdf.eph - 40:
            pdf.add_page()
        pdf.set_text_color(*INK)
        pdf.set_draw_color(*RULE)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_line_width(0.2)
        with pdf.table(
            col_widths=widths,
            width=min(sum(widths), self.width),
            align="LEFT",
            text_align=aligns,
            borders_layout="HORIZONTAL_LINES",
            cell_fill_color=STRIPE,
            cell_fill_mode="ROWS",
            headings_style=FontFace(emphasis="", fill_color=FILL),
            line_height=size * 0.55,
            wrapmode=WrapMode.CHAR,
            padding=(0.8, 1.2),
        ) as grid:
            grid.row(header)
            for values in rows:
                grid.row(values)
        if len(table) > PDF_MAX_TABLE_ROWS:
            pdf.ln(1)
            self.text_line(
                f"共 {len(table):,} 行，此处列出前 {PDF_MAX_TABLE_ROWS} 行，全部见 Excel 报表。", 8, MUTED, 4.5
            )


def _line_columns(section: ReportSection) -> list[str]:
    """The columns a line chart draws: the first value column (the section's `chart_value`, else
    the second as the contract says, failing that the first numeric one) and the next ones of its
    kind, four at most."""
    columns = [str(c) for c in section.table.columns[1:]]
    kinds = [section.column_kinds.get(c, "text") for c in columns]
    first = 0 if kinds[0] != "text" else next((i for i, k in enumerate(kinds) if k != "text"), 0)
    if section.chart_value in columns:
        first = columns.index(section.chart_value)
    drawn = [c for i, (c, k) in enumerate(zip(columns, kinds, strict=True)) if i >= first and k == kinds[first]]
    return drawn[: len(SERIES_COLORS)]


def _table_font_size(table: pd.DataFrame) -> float:
    return 8.0 if len(table.columns) <= 6 else 7.0


def _table_height(section: ReportSection) -> float:
    """About how tall a section's PDF table is, in millimetres (one line a row)."""
    if section.table.empty:
        return 6.0
    rows = min(len(section.table), PDF_MAX_TABLE_ROWS) + 1
    note = 6.0 if len(section.table) > PDF_MAX_TABLE_ROWS else 0.0
    return rows * (_table_font_size(section.table) * 0.55 + 1.6) + note


def _number(value: object) -> float | None:
    value = plain(value)
    if is_blank(value) or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _nice_ceiling(top: float, kind: str) -> float:
    """The top of a chart's value axis: 1, 2, 2.5 or 5 times a power of ten at or above `top`
    (a share's axis stops at 100%)."""
    if top <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(top))
    ceiling = next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= top)
    return min(ceiling, 1.0) if kind == "share" and top <= 1 else ceiling


# --- files and downloads ---------------------------------------------------------------------

WRITERS = {".xlsx": report_xlsx, ".pdf": report_pdf}


def report_bytes(report: Report, suffix: str) -> bytes:
    """The report as the file type of `suffix` (".xlsx" or ".pdf")."""
    writer = WRITERS.get(suffix.lower())
    if writer is None:
        kinds = "、".join(f"{name}（{suffix}）" for suffix, name in REPORT_FORMATS.items())
        raise InvalidArgumentError(f"不支持的报表文件类型“{suffix or '（无扩展名）'}”：请用 {kinds}")
    return writer(report)


def write_report(report: Report, path: str | Path) -> Path:
    """Writes the report to `path`, as XLSX or PDF by its suffix.  The file is written whole
    (to a temporary name, then renamed), so a failure never leaves half a report behind."""
    target = Path(path)
    try:
        content = report_bytes(report, target.suffix)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(f"文件 {target}：{error}") from None
    partial = target.with_name(f".{target.name}.part")
    try:
        partial.write_bytes(content)
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InvalidArgumentError(f"文件 {target}：无法写入（{error.strerror or error}）") from None
    return target


def download_report(
    session_factory: SessionFactory, *, actor: Actor, report: Report, suffix: str, now: dt.datetime
) -> bytes:
    """The report as a file for `actor` to download, on the record (area, period, file type).
    Refuses, on the record, a report of an area not wholly inside the actor's areas."""
    require_whole_area(session_factory, actor, report.area_code, now)
    content = report_bytes(report, suffix)
    detail = f"{report.title}（{report.period_label}，数据截至 {local_time(report.cutoff)}）{suffix.lower()}"
    record(session_factory, Who.of(actor), "report_download", now, report.area_code, detail)
    return content
