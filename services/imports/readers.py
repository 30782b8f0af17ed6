"""Reading import files: tables (CSV in UTF-8, UTF-8 with BOM or GBK; XLSX) and grid layers
(GeoJSON, GeoPackage, Shapefile).  Every row keeps its spreadsheet row number (header = 1)."""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from openpyxl.utils.exceptions import InvalidFileException

from services.imports.problems import ImportFileError, Problem

TABLE_SUFFIXES = (".csv", ".xlsx")
LAYER_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")  # .zip: a zipped Shapefile
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN1_MOJIBAKE = re.compile(r"[\u0080-\u00ff]")


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


def read_table(path: Path, filename: str | None = None) -> pd.DataFrame:
    """All cells as stripped strings ('' where empty); the index is the spreadsheet row number."""
    name = filename or path.name
    suffix = Path(name).suffix.lower()
    _require_file(path, name)
    if suffix == ".csv":
        text = decode_text(path.read_bytes(), name)
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, csv.Error) as error:
            line = re.search(r"line (\d+)", str(error))
            raise _fail(name, "CSV 格式错误，列数与表头不一致", int(line.group(1)) if line else None) from error
        except pd.errors.EmptyDataError as error:
            raise _fail(name, "文件为空") from error
    elif suffix == ".xlsx":
        try:
            frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as error:
            raise _fail(name, f"无法读取 XLSX 文件（{type(error).__name__}）") from error
    else:
        raise _fail(name, f"不支持的文件格式 {suffix or '（无扩展名）'}：表格请用 CSV 或 XLSX")
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    frame = frame.apply(lambda column: column.astype(str).str.strip())
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


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
    return layer


def _has_codepage(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            return any(name.lower().endswith(".cpg") for name in archive.namelist())
    return path.with_suffix(".cpg").exists()


def _looks_garbled(layer: gpd.GeoDataFrame) -> bool:
    text = " ".join(layer.select_dtypes(include=["object", "string"]).astype(str).head(50).to_numpy().ravel())
    return bool(_LATIN1_MOJIBAKE.search(text)) and not _CJK.search(text)
