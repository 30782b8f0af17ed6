"""A large CSV (a county day of GPS fixes) is parsed by Arrow's reader (pandas' C reader where a
row is short), not row by row: it must read exactly as the careful reader reads it, and refuse
what that reader refuses, with the same row numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from services.exchange.imports import readers
from services.exchange.imports.problems import ImportFileError
from tests.hostile import FORMULAS, PAYLOADS

HOSTILE = PAYLOADS[2] + FORMULAS[0]  # quotes, a tag and a formula in one cell

HEADER = "工号,定位时间,经度,纬度,定位精度"


SHORT_LAST = "W00003,2026-11-20T07:03:00+08:00,115.3,37.3"  # no accuracy cell: pandas' reader pads it


def large_register(path: Path, middle: str = "", last: str = SHORT_LAST) -> Path:
    """A title and a note above the header, blank lines, padded cells, a quoted comma, a cell
    across two lines, hostile text, then rows enough to pass LARGE_CSV_CHARS."""
    rows = [f"W{n % 300:05d},2026-11-20T08:{n % 60:02d}:00+08:00,115.{n:06d},37.0,5" for n in range(40_000)]
    quoted = HOSTILE.replace('"', '""')
    lines = [
        "平乡县网格员轨迹导出",
        "说明：坐标为 WGS84,时间为北京时间",
        HEADER,
        " W00001 , 2026-11-20T07:00:00+08:00 ,115.1, 37.1 ,5",
        "",
        f'"{quoted}",2026-11-20T07:01:00+08:00,115.1,37.1,5',
        '"W0\n0002",2026-11-20T07:02:00+08:00,"115,2",37.1,5',
        ",,,,",
        *rows[:20_000],
        middle,
        *rows[20_000:],
        last,
    ]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    assert path.stat().st_size > readers.LARGE_CSV_CHARS
    return path


def careful_read(path: Path, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame | str:
    with monkeypatch.context() as patch:
        patch.setattr(readers, "LARGE_CSV_CHARS", 10**12)
        try:
            return readers.read_table(path, kind="fixes")
        except ImportFileError as error:
            return str(error)


def test_a_large_csv_reads_exactly_as_the_careful_reader_reads_it(tmp_path, monkeypatch) -> None:
    path = large_register(tmp_path / "fixes.csv")
    expected = careful_read(path, monkeypatch)
    assert isinstance(expected, pd.DataFrame)

    def refuse(*_args: object) -> None:
        raise AssertionError("the large file went through the careful reader")

    monkeypatch.setattr(readers, "_csv_rows", refuse)
    quick = readers.read_table(path, kind="fixes")
    pd.testing.assert_frame_equal(quick, expected)
    assert quick.attrs == expected.attrs == {"header_row": 3}
    assert quick.loc[4, "worker_id"] == "W00001" and quick.loc[6, "worker_id"] == HOSTILE
    assert quick.loc[7, "lon"] == "115,2" and 5 not in quick.index and 8 not in quick.index
    assert quick.iloc[-1].tolist() == ["W00003", "2026-11-20T07:03:00+08:00", "115.3", "37.3", ""]


def test_a_large_csv_of_whole_rows_is_read_by_arrow_exactly_as_the_careful_reader_reads_it(
    tmp_path, monkeypatch
) -> None:
    path = large_register(tmp_path / "fixes.csv", last=SHORT_LAST + ",7.5")
    expected = careful_read(path, monkeypatch)
    assert isinstance(expected, pd.DataFrame)

    def refuse(*_args: object) -> None:
        raise AssertionError("the file of whole rows went past Arrow's reader")

    monkeypatch.setattr(readers, "_csv_rows", refuse)
    monkeypatch.setattr(readers, "_pandas_cells", refuse)
    quick = readers.read_table(path, kind="fixes")
    pd.testing.assert_frame_equal(quick, expected)
    assert quick.loc[6, "worker_id"] == HOSTILE and quick.loc[7, "worker_id"] == "W0\n0002"
    assert quick.iloc[-1].tolist() == ["W00003", "2026-11-20T07:03:00+08:00", "115.3", "37.3", "7.5"]


def test_a_row_wider_than_the_header_deep_in_a_large_csv_is_refused_with_its_number(tmp_path, monkeypatch) -> None:
    path = large_register(tmp_path / "fixes.csv", middle="W00009,2026-11-20T09:00:00+08:00,115,37,5,多出一列")
    expected = careful_read(path, monkeypatch)
    assert isinstance(expected, str) and "第 20009 行" in expected and "列数多于表头" in expected
    with pytest.raises(ImportFileError) as refused:
        readers.read_table(path, kind="fixes")
    assert str(refused.value) == expected
