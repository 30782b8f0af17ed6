"""Tables as files for download: CSV that Excel in China opens (UTF-8 with BOM) and XLSX.

Every export goes through `neutralise_formulas`: a name or note from the data that starts like a
formula (`=HYPERLINK(…)`, `+`, `-`, `@`, tab, CR) would run as one when an operator opens the
file in Excel or WPS (OWASP "CSV injection").  Such a text cell gets a leading apostrophe, which
both show as text; numbers stay numbers.
"""

from __future__ import annotations

import io

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def neutralise_formula(value: object) -> object:
    """`value` as a spreadsheet shows it literally: text starting like a formula is marked as
    text; anything else (numbers, dates, empty cells) is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return TEXT_MARK + value
    return value


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with `neutralise_formula` applied to every cell and to the column names."""
    safe = table.copy()
    for column in table.columns:
        if not (pd.api.types.is_numeric_dtype(table[column]) or pd.api.types.is_datetime64_any_dtype(table[column])):
            safe[column] = [neutralise_formula(value) for value in table[column]]
    return safe.rename(columns=neutralise_formula)


def table_as_csv(table: pd.DataFrame) -> bytes:
    # CRLF rows, as Excel writes them: a CR inside a cell is then quoted instead of ending the row.
    return neutralise_formulas(table).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def table_as_xlsx(table: pd.DataFrame, sheet: str) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralise_formulas(table).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()
