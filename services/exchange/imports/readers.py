"""Reading import files: tables (CSV in UTF-8, UTF-8 with BOM or GBK; XLSX) and grid layers
(GeoJSON, GeoPackage, Shapefile).  Every row keeps its spreadsheet row number (header = 1)."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import json
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyogrio
from openpyxl.utils.exceptions import InvalidFileException

from services.exchange.formats import CODE_FIELDS, FIELD_ALIASES, KIND_FIELDS, KIND_OPTIONAL
from services.exchange.imports.problems import ImportFileError, Problem, ProblemList

TABLE_SUFFIXES = (".csv", ".xlsx")
LAYER_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")  # .zip: a zipped Shapefile
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN1_MOJIBAKE = re.compile(r"[\u0080-\u00ff]")
_SPACES = re.compile(r"\s+")
_NOTE = re.compile(r"\((?:必填|选填|可选|非必填)\)$")
_TRAILING_ZEROS = r"^(\d+)\.0+$"
_SCIENTIFIC = r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+"
MAX_HEADER_ROW = 10  # rows searched for the header: a title and a note or two come first


def _fail(filename: str, message: str, row: int | None = None, field: str | None = None) -> ImportFileError:
    return ImportFileError(filename, [Problem(row, field, message)])


def _require_file(path: Path, name: str) -> None:
    if not path.is_file():
        raise _fail(name, "文件不存在或无法读取")


def decode_text(data: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM) first, then GBK (as GB18030, its superset)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _fail(filename, "无法识别文件编码：支持 UTF-8（含 BOM）和 GBK")


def header_key(text: object) -> str:
    """A column name as compared with the field names and FIELD_ALIASES: full-width forms folded
    (（）→ (), full-width and other spaces dropped, a leading/trailing `*` (required, in many
    templates) and a trailing `(必填)` / `(选填)` note cut, case ignored."""
    key = _SPACES.sub("", unicodedata.normalize("NFKC", str(text))).strip("*")
    return _NOTE.sub("", key).casefold()


@functools.cache
def _column_fields(kind: str) -> dict[str, str]:
    fields = (*KIND_FIELDS[kind], *KIND_OPTIONAL.get(kind, ()))
    names = {header_key(f): f for f in fields}
    if kind == "grids":  # Shapefile field names stop at 10 characters: township_code → TOWNSHIP_C
        names |= {header_key(f[:10]): f for f in fields}
    for field, aliases in FIELD_ALIASES[kind].items():
        names |= {header_key(alias): field for alias in aliases}
    return names


def _match_header(cells: list[str], kind: str) -> dict[int, str]:
    """Field of each column whose name is known, by column position."""
    names = _column_fields(kind)
    keys = {i: header_key(c) for i, c in enumerate(cells) if c}
    return {i: names[key] for i, key in keys.items() if key in names}


def read_table(path: Path, filename: str | None = None, *, kind: str) -> pd.DataFrame:
    """The rows of a `kind` register as stripped strings ('' where empty), columns named by
    exchange field (Chinese headers of FIELD_ALIASES accepted; other columns dropped); the index
    is the spreadsheet row number.  The header is the first of the first MAX_HEADER_ROW rows that
    names every required field: title and note rows above it are skipped.  `attrs["header_row"]`
    says where it was."""
    name = filename or path.name
    suffix = Path(name).suffix.lower()
    _require_file(path, name)
    if suffix == ".csv":
        text = decode_text(path.read_bytes(), name)
        quick = _large_csv_frame(text, name, kind) if len(text) > LARGE_CSV_CHARS else None
        if quick is not None:
            return quick
        rows = _csv_rows(text, name)
    elif suffix == ".xlsx":
        rows = _xlsx_rows(path, name)
    elif suffix in (".xls", ".et"):
        raise _fail(name, f"不支持 {suffix} 格式（旧版 Excel / WPS 表格）：请另存为 .xlsx 或 CSV 后导入")
    else:
        raise _fail(name, f"不支持的文件格式 {suffix or '（无扩展名）'}：表格请用 CSV 或 XLSX")
    if not any(any(row) for row in rows):
        raise _fail(name, "文件为空")
    header, fields = _find_header(rows, kind, name)
    width = len(rows[header])
    data = [(number, row) for number, row in enumerate(rows[header + 1 :], start=header + 2) if any(row)]
    if suffix == ".csv":  # more cells than the header: a comma inside an unquoted cell shifted the row
        wide = [number for number, row in data if len(row) > width]
        if wide:
            raise ImportFileError(
                name, [Problem(n, None, "CSV 格式错误，列数多于表头（含逗号的内容须用英文双引号括起）") for n in wide]
            )
    frame = pd.DataFrame(
        [[row[i] if i < len(row) else "" for i in fields] for _, row in data],
        columns=list(fields.values()),
        index=pd.Index([number for number, _ in data], dtype="int64"),
        dtype=object,
    )
    return _finish(frame, header, name)


def _finish(frame: pd.DataFrame, header: int, name: str) -> pd.DataFrame:
    _normalise_codes(frame, name)
    frame.attrs["header_row"] = header + 1
    return frame


LARGE_CSV_CHARS = 1_000_000  # ~20,000 rows of fixes: Python's csv module costs 15 µs a row beyond


def _large_csv_frame(text: str, name: str, kind: str) -> pd.DataFrame | None:
    """`read_table`'s frame of a large CSV, parsed by Arrow's reader (or, where a row is shorter
    than the header, pandas' C reader), or None where the careful reader must say what is wrong
    (a row wider than the header, a broken quote).  Records are counted as `_csv_rows` counts
    them (a blank line is one), so row numbers are the same."""
    try:
        head = list(itertools.islice(csv.reader(io.StringIO(text)), MAX_HEADER_ROW))
    except csv.Error:
        return None
    if not any(any(cell.strip() for cell in record) for record in head):
        return None
    header, fields = _find_header([[cell.strip() for cell in record] for record in head], kind, name)
    width = len(head[header])
    data = text[_end_of_records(text, header + 1) :]  # the title and note rows above have other widths
    cells = _arrow_cells(data, width)
    if cells is None:
        cells = _pandas_cells(data, width)
    if cells is None:
        return None
    cells.index = pd.RangeIndex(header + 2, header + 2 + len(cells))
    stripped = {i: cells[i].str.strip() for i in cells.columns}
    filled = np.zeros(len(cells), dtype=bool)
    for column in stripped.values():
        filled |= (column != "").to_numpy()
    frame = pd.DataFrame({field: stripped[i][filled] for i, field in fields.items()}, dtype=object)
    frame.index = frame.index.astype("int64")
    return _finish(frame, header, name)


def _end_of_records(text: str, count: int) -> int:
    """Where the record after the first `count` records of `text` starts (they are read already:
    no error is left to raise)."""
    end = 0

    def lines() -> Iterator[str]:
        nonlocal end
        while end < len(text):
            start, end = end, text.find("\n", end) + 1 or len(text)
            yield text[start:end]

    # csv.reader takes a line only when a record needs it: `end` follows the records read
    for _ in itertools.islice(csv.reader(lines()), count):
        pass
    return end


def _arrow_cells(text: str, width: int) -> pd.DataFrame | None:
    """Every record's `width` cells as text, columns 0…width-1; None unless each record has
    exactly `width` cells or none (a blank line).  Arrow reads a county day's fixes in 0.1 s
    where pandas' C reader took 0.7 s."""
    names = [str(i) for i in range(width)]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(ignore_empty_lines=False, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    return pd.DataFrame({i: table.column(i).to_pandas() for i in range(width)})


def _pandas_cells(text: str, width: int) -> pd.DataFrame | None:
    """`_arrow_cells` where a record may have fewer cells than `width` (the missing ones ''); None
    where one has more."""
    try:
        cells = pd.read_csv(
            io.StringIO(text),
            header=None,
            names=range(width),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError):
        return None
    return cells.fillna("")


def _csv_rows(text: str, name: str) -> list[list[str]]:
    try:
        # One record is one spreadsheet row (a blank line included), as Excel numbers them.
        return [[cell.strip() for cell in record] for record in csv.reader(io.StringIO(text))]
    except csv.Error as error:
        raise _fail(name, f"CSV 格式错误：{error}") from error


def _xlsx_rows(path: Path, name: str) -> list[list[str]]:
    """The first worksheet's cells as text.  A merged cell's value is in its first cell only."""
    try:
        with warnings.catch_warnings():
            # WPS and county systems write extensions openpyxl does not read (data validation,
            # conditional formats): they say nothing about the values.
            warnings.simplefilter("ignore", UserWarning)
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                sheet.reset_dimensions()  # some writers record a wrong used range
                return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
            finally:
                workbook.close()
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as error:
        raise _fail(name, f"无法读取 XLSX 文件（{type(error).__name__}）") from error


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        # Excel keeps 15 significant digits: a longer number (an ID number typed as a number)
        # has lost its last digits; its scientific form makes a code field refuse it.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


def _find_header(rows: list[list[str]], kind: str, name: str) -> tuple[int, dict[int, str]]:
    """(index of the header row, field of each known column) or ImportFileError saying which row
    was taken for the header and what it holds."""
    required = KIND_FIELDS[kind]
    best, best_fields = None, {}
    for index, row in enumerate(rows[:MAX_HEADER_ROW]):
        fields = _match_header(row, kind)
        if set(required) <= set(fields.values()):
            best, best_fields = index, fields
            break
        if len(set(fields.values())) > len(set(best_fields.values())):
            best, best_fields = index, fields
    if best is None:
        first = next(i for i, row in enumerate(rows) if any(row))
        found = "、".join(c for c in rows[first] if c)[:80]
        raise _fail(
            name,
            f"前 {MAX_HEADER_ROW} 行中没有表头：表头应含 {'、'.join(_with_alias(kind, f) for f in required[:3])} 等列"
            f"（中文列名见 README「导入」一节）；第 {first + 1} 行是“{found}”",
            row=first + 1,
        )
    seen: dict[str, int] = {}
    problems = []
    for column, field in best_fields.items():
        if field in seen:
            names = f"“{rows[best][seen[field]]}”和“{rows[best][column]}”"
            problems.append(Problem(best + 1, field, f"列 {names} 都是此字段，请只保留一列"))
        seen.setdefault(field, column)
    missing = [f for f in required if f not in seen]
    problems += [Problem(best + 1, f, f"缺少必填列（列名可为 {_with_alias(kind, f, ' 或 ')}）") for f in missing]
    if problems:
        if missing:
            found = "、".join(c for c in rows[best] if c)[:120]
            problems.insert(0, Problem(best + 1, None, f"此行最像表头，取作表头；该行的列为：{found}"))
        raise ImportFileError(name, problems)
    return best, {column: field for field, column in seen.items()}


def _with_alias(kind: str, field: str, separator: str = "/") -> str:
    return separator.join((field, *FIELD_ALIASES[kind].get(field, ())[:1]))


def _normalise_codes(frame: pd.DataFrame, name: str) -> None:
    """Codes and phones as text: full-width digits folded, a spreadsheet's `.0` dropped; a number
    Excel has cut to scientific form cannot be restored and is refused."""
    problems = ProblemList(name)
    for field in CODE_FIELDS.intersection(frame.columns):
        # As Arrow strings: the checks below then run over the whole column, not value by value.
        values = frame[field].astype("str")
        wide = ~values.str.isascii().to_numpy(dtype=bool)
        values[wide] = [unicodedata.normalize("NFKC", v).strip() for v in values[wide]]
        values = values.str.replace(_TRAILING_ZEROS, r"\1", regex=True)
        for row in frame.index[values.str.fullmatch(_SCIENTIFIC)]:
            problems.add(
                int(row),
                field,
                f"“{values[row]}”是科学计数法：Excel 把长数字存成了数值，末尾几位已丢失、无法还原；"
                "请把此列设为“文本”格式，重新填写后再导出",
            )
        frame[field] = values
    problems.raise_if_any()


def require_columns(frame: pd.DataFrame, required: tuple[str, ...], filename: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ImportFileError(filename, [Problem(1, c, "缺少必填列") for c in missing])


def read_layer(path: Path, filename: str | None = None) -> gpd.GeoDataFrame:
    """Features of a GeoJSON / GeoPackage / Shapefile; the index is the feature number (from 1).

    A Shapefile without a .cpg file is read as Latin-1 by GDAL, silently garbling GBK names; such
    text is re-read as GBK when that yields Chinese characters."""
    name = filename or path.name
    suffix = Path(name).suffix.lower()
    if suffix not in LAYER_SUFFIXES:
        raise _fail(name, f"不支持的文件格式 {suffix or '（无扩展名）'}：网格请用 GeoJSON、GeoPackage 或 Shapefile")
    _require_file(path, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            layer = pyogrio.read_dataframe(path)
            if suffix in (".shp", ".zip") and not _has_codepage(path) and _looks_garbled(layer):
                layer = pyogrio.read_dataframe(path, encoding="GB18030")
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        UnicodeDecodeError,
        zipfile.BadZipFile,
    ) as error:
        raise _fail(name, f"无法读取空间数据文件：{str(error).splitlines()[0][:120]}") from error
    layer.index = pd.RangeIndex(1, len(layer) + 1)
    return _name_grid_fields(layer, name)


def _name_grid_fields(layer: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Attribute columns renamed to the exchange fields (Chinese names of FIELD_ALIASES, upper
    case, Shapefile-cut names accepted) and codes as text (a Shapefile's numeric field gives
    130532101201001.0)."""
    attributes = [c for c in layer.columns if c != layer.geometry.name]
    fields = _match_header(attributes, "grids")
    taken: dict[str, str] = {}
    problems = []
    for column, field in fields.items():
        if field in taken:
            problems.append(
                Problem(None, field, f"字段“{taken[field]}”和“{attributes[column]}”都是此字段，请只保留一个")
            )
        taken.setdefault(field, attributes[column])
    if problems:
        raise ImportFileError(name, problems, unit="个要素")
    layer = layer.rename(columns={column: field for field, column in taken.items()})
    for field in CODE_FIELDS.intersection(taken):
        values = layer[field]
        if pd.api.types.is_float_dtype(values) and values.dropna().map(float.is_integer).all():
            values = values.astype("Int64")
        text = values.astype("string").fillna("").str.strip()
        layer[field] = text.str.replace(_TRAILING_ZEROS, r"\1", regex=True).astype(object)
    return layer


def _has_codepage(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            return any(name.lower().endswith(".cpg") for name in archive.namelist())
    return path.with_suffix(".cpg").exists()


def _looks_garbled(layer: gpd.GeoDataFrame) -> bool:
    text = " ".join(layer.select_dtypes(include=["object", "string"]).astype(str).head(50).to_numpy().ravel())
    return bool(_LATIN1_MOJIBAKE.search(text)) and not _CJK.search(text)


FIX_SUFFIXES = (".gpx", ".geojson", ".json")
ASSUMED_ACCURACY_M = 10.0  # a GPX/GeoJSON point that states no accuracy
UERE_M = 5.0  # accuracy ≈ HDOP × 5 m, the usual phone-GPS rule of thumb


def read_fixes(path: Path, filename: str | None = None) -> pd.DataFrame:
    """GPS fixes as a table of worker_id, ts, lon, lat, accuracy_m, from a CSV/XLSX table, a GPX
    file (its track points; the worker is the track's `<name>`, else the file name up to the
    first `_`, e.g. `W13053200001_20261120.gpx`; accuracy from HDOP) or GeoJSON (Points with
    worker_id, ts, accuracy_m; or LineStrings with worker_id and a `times` / `coordTimes` list,
    one time per vertex)."""
    name = filename or path.name
    suffix = Path(name).suffix.lower()
    if suffix not in FIX_SUFFIXES:
        return read_table(path, filename, kind="fixes")
    _require_file(path, name)
    if suffix == ".gpx":
        return _gpx_fixes(path, name)
    return _geojson_fixes(path, name)


def _gpx_fixes(path: Path, name: str) -> pd.DataFrame:
    try:
        points = pyogrio.read_dataframe(path, layer="track_points")
        tracks = pyogrio.read_dataframe(path, layer="tracks", read_geometry=False)
    except Exception as error:  # noqa: BLE001 — GDAL reports a broken file in many ways
        raise _fail(name, f"无法读取 GPX 轨迹：{error}") from error
    fallback = Path(name).stem.split("_")[0]
    track_names = tracks["name"].fillna("").astype(str).tolist() if "name" in tracks else []
    worker = [track_names[i] if i < len(track_names) and track_names[i] else fallback for i in points["track_fid"]]
    hdop = (
        pd.to_numeric(points.get("hdop"), errors="coerce")
        if "hdop" in points
        else pd.Series(float("nan"), index=points.index)
    )
    frame = pd.DataFrame(
        {
            "worker_id": worker,
            "ts": pd.to_datetime(points["time"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "lon": points.geometry.x.astype(str),
            "lat": points.geometry.y.astype(str),
            "accuracy_m": (hdop * UERE_M).fillna(ASSUMED_ACCURACY_M).astype(str),
        }
    )
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # the point's number, as a table's row number
    return frame


def _geojson_fixes(path: Path, name: str) -> pd.DataFrame:
    try:
        collection = json.loads(decode_text(path.read_bytes(), name))
        features = collection["features"] if collection.get("type") == "FeatureCollection" else [collection]
    except (ValueError, KeyError, AttributeError) as error:
        raise _fail(name, f"不是有效的 GeoJSON：{error}") from error
    rows: list[dict[str, object]] = []
    for number, feature in enumerate(features, start=1):
        props, geometry = feature.get("properties") or {}, feature.get("geometry") or {}
        accuracy = props.get("accuracy_m", ASSUMED_ACCURACY_M)
        if geometry.get("type") == "Point":
            lon, lat = geometry["coordinates"][:2]
            rows.append(
                {
                    "worker_id": props.get("worker_id", ""),
                    "ts": props.get("ts", ""),
                    "lon": lon,
                    "lat": lat,
                    "accuracy_m": accuracy,
                }
            )
            continue
        coordinates = geometry.get("coordinates") or []
        lines = {"LineString": [coordinates], "MultiLineString": coordinates}.get(str(geometry.get("type")))
        if lines is None:
            raise _fail(name, f"只支持 Point 和 LineString 要素，第 {number} 个要素是 {geometry.get('type')}")
        times = props.get("times") or props.get("coordTimes") or []
        vertices = [vertex for line in lines for vertex in line]
        if any(isinstance(t, list) for t in times):  # MultiLineString: one list of times per line
            times = [t for part in times for t in part]
        if len(times) != len(vertices):
            raise _fail(
                name, f"第 {number} 个要素有 {len(vertices)} 个点却有 {len(times)} 个时间（times）", field="times"
            )
        rows += [
            {"worker_id": props.get("worker_id", ""), "ts": t, "lon": v[0], "lat": v[1], "accuracy_m": accuracy}
            for v, t in zip(vertices, times, strict=True)
        ]
    return pd.DataFrame(rows, index=pd.RangeIndex(2, len(rows) + 2)).astype(str)
