"""Parsing and checking the fields shared by several import kinds: coordinates, times, numbers."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from geo.gcj02 import gcj02_to_wgs84
from services.domain import LOCAL_TZ
from services.exchange.imports.problems import ProblemList

# Mainland China's extent (degrees), generous at the edges.
CHINA_LON = (73.4, 135.1)
CHINA_LAT = (3.8, 53.6)
_OFFSET = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def _in(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (values >= bounds[0]) & (values <= bounds[1])


def parse_lon_lat(
    frame: pd.DataFrame, problems: ProblemList, *, crs: str, lon_field: str = "lon", lat_field: str = "lat"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 lon/lat of each row (GCJ-02 input converted) and a mask of rows that are usable."""
    lon = pd.to_numeric(frame[lon_field], errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(frame[lat_field], errors="coerce").to_numpy(dtype=float, copy=True)
    rows = frame.index.to_numpy()
    for field, values in ((lon_field, lon), (lat_field, lat)):
        problems.add_rows(rows[np.isnan(values)], field, "不是数字（经纬度用十进制度，如 115.03）")
    numeric = ~np.isnan(lon) & ~np.isnan(lat)
    inside = numeric & _in(lon, CHINA_LON) & _in(lat, CHINA_LAT)
    swapped = numeric & ~inside & _in(lat, CHINA_LON) & _in(lon, CHINA_LAT)
    problems.add_rows(rows[swapped], f"{lon_field}/{lat_field}", "经度和纬度可能填反了")
    problems.add_rows(rows[numeric & ~inside & ~swapped], f"{lon_field}/{lat_field}", "坐标不在中国境内")
    if crs == "gcj02":
        lon[inside], lat[inside] = gcj02_to_wgs84(lon[inside], lat[inside])
    return np.round(lon, 7), np.round(lat, 7), inside


def parse_times(frame: pd.DataFrame, field: str, problems: ProblemList, *, required: bool) -> pd.Series:
    """ISO 8601 times as UTC; a time without an offset is Asia/Shanghai; '' is NaT."""
    text = frame[field]
    empty = text == ""
    if required:
        problems.add_rows(frame.index[empty], field, "必填，不能为空")
    # Arrow's regex engine runs over the whole column; Python's, value by value, took 0.55 s of a
    # county day's fixes.
    has_offset = text.astype("string[pyarrow]").str.contains(_OFFSET, regex=True, na=False).astype(bool) & ~empty
    result = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    naive = ~has_offset & ~empty
    if naive.any():
        parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        result[naive] = parsed.dt.tz_localize(LOCAL_TZ).dt.tz_convert("UTC")
    if has_offset.any():
        result[has_offset] = pd.to_datetime(text[has_offset], format="ISO8601", errors="coerce", utc=True)
    for row in frame.index[~empty & result.isna()]:
        problems.add(int(row), field, f"无法解析的时间“{text[row]}”，请用 ISO 8601，如 2026-11-20 14:30")
    return result


def parse_int(frame: pd.DataFrame, field: str, problems: ProblemList, *, minimum: int) -> pd.Series:
    values = pd.to_numeric(frame[field], errors="coerce")
    bad = values.isna() | (values < minimum) | (values != values.round())
    problems.add_rows(frame.index[bad], field, f"应为不小于 {minimum} 的整数")
    return values.fillna(minimum).astype(int)


def check_choice(
    frame: pd.DataFrame,
    field: str,
    allowed: tuple[str, ...],
    problems: ProblemList,
    *,
    required: bool = True,
    names: dict[str, str] | None = None,
) -> None:
    values = frame[field]
    bad = ~values.isin(list(allowed)) & (required | (values != ""))
    also = f"（或 {' / '.join(names[a] for a in allowed)}）" if names else ""
    problems.add_rows(frame.index[bad], field, f"取值应为 {' / '.join(allowed)}{also} 之一")


def codes_from_names(values: pd.Series, names: dict[str, str]) -> pd.Series:
    """A choice field as its code where a register writes the Chinese name (紧急 → urgent,
    村（社区） → village); other values unchanged."""
    by_name = {_name_key(name): code for code, name in names.items()}
    return values.map(lambda v: by_name.get(_name_key(v), v))


def _name_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "")


def check_unique(frame: pd.DataFrame, field: str, problems: ProblemList) -> None:
    duplicated = frame[field].duplicated(keep=False) & (frame[field] != "")
    for value, rows in frame.index[duplicated].groupby(frame.loc[duplicated, field]).items():
        problems.add(int(rows[1]), field, f"编号 {value} 重复（第 {', '.join(map(str, rows))} 行）")
    problems.add_rows(frame.index[frame[field] == ""], field, "必填，不能为空")


def split_list(values: pd.Series) -> pd.Series:
    """A `a|b|c` cell (DESIGN.md list separator) as a list of its non-empty items."""
    return values.str.split("|").map(lambda items: [item.strip() for item in items if item.strip()])


def list_rows(frame: pd.DataFrame, lists: pd.Series, *, county_code: str, owner: str, item: str) -> pd.DataFrame:
    """One row per (owner id, item) of a list column, e.g. (household_id, tag)."""
    exploded = lists.explode().dropna()
    return pd.DataFrame(
        {"county_code": county_code, owner: frame.loc[exploded.index, owner].to_numpy(), item: exploded.to_numpy()}
    ).drop_duplicates()
