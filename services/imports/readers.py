"""Reading import files: tables (CSV in UTF-8, UTF-8 with BOM or GBK; XLSX) and grid layers
(GeoJSON, GeoPackage, Shapefile).  Every row keeps its spreadsheet row number (header = 1)."""

from __future__ import annotations

import csv
import io
import json
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
        return read_table(path, filename)
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
        lines = {"LineString": [geometry.get("coordinates")], "MultiLineString": geometry.get("coordinates")}.get(
            geometry.get("type")
        )
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
