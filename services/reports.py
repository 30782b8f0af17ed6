"""Tables as files for download: CSV that Excel in China opens (UTF-8 with BOM) and XLSX."""

from __future__ import annotations

import io

import pandas as pd


def table_as_csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode("utf-8-sig")


def table_as_xlsx(table: pd.DataFrame, sheet: str) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()
