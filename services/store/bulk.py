"""Fast bulk writes of DataFrames into model tables: COPY on PostgreSQL; on SQLite one statement
a part that reads the part's rows from a JSON document (executemany where a value has no plain
JSON form).  Both documents are made column by column in Arrow's compute functions.

Values are encoded here exactly as the column types (`Geometry`, `UtcDateTime`) would encode them,
so rows written in bulk read back like rows written through the ORM.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Boolean, Connection, Date, Integer, Table

from services.store.types import Geometry, UtcDateTime, geometry_to_db, sqlite_micros


def _sqlite_values(series: pd.Series, column_type: object) -> list:
    """A column's values as sqlite3 takes them."""
    if isinstance(column_type, Geometry):
        return list(geometry_to_db(np.asarray(series, dtype=object), "sqlite", column_type.srid))
    if isinstance(column_type, UtcDateTime):
        stamps = pd.to_datetime(series, utc=True)
        return sqlite_micros(stamps).astype(object).where(stamps.notna(), None).tolist()
    if isinstance(column_type, Date):
        # As the text sqlite3's date adapter would write, made at once rather than per value.
        text = _iso_days(series)
        text[pd.isna(series).to_numpy()] = None
        return text.tolist()
    if isinstance(column_type, Boolean):
        return [bool(v) for v in series]
    values = series.to_numpy(dtype=object, na_value=None)
    if series.dtype != object:  # a typed column's values are Python scalars already
        return values.tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _iso_days(series: pd.Series) -> np.ndarray:
    """Each date as ISO text (missing ones: anything; the callers mask them), converting each
    distinct day once: a column holds few."""
    codes, days = pd.factorize(series)
    if len(days) == 0:
        return np.full(len(series), "", dtype=object)
    text = np.array([pd.Timestamp(day).strftime("%Y-%m-%d") for day in days], dtype=object)
    return text[np.maximum(codes, 0)]


def insert_frame(connection: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert every row of `frame` (columns named as the table's) inside the caller's transaction."""
    if frame.empty:
        return 0
    dialect = connection.dialect.name
    names = [c.name for c in table.columns if c.name in frame.columns]
    if dialect == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None, "a connection in use always holds its driver's connection"
        cursor = driver.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for start in range(0, len(frame), COPY_CHUNK):
                part = frame.iloc[start : start + COPY_CHUNK]
                copy.write(_copy_text(part, table, names))
        return len(frame)
    for start in range(0, len(frame), JSON_CHUNK):
        _insert_sqlite_part(connection, table, names, frame.iloc[start : start + JSON_CHUNK])
    return len(frame)


SQLITE_JSON = sqlite3.sqlite_version_info >= (3, 38, 0)  # json_each built in
JSON_CHUNK = 100_000  # rows per SQLite statement (~7 MB of JSON for fixes)
_JSON_NULL = pa.scalar("null")
_JSON_SPECIAL = r'["\\\x00-\x1f]'  # what a JSON string would have to escape


def _insert_sqlite_part(connection: Connection, table: Table, names: list[str], part: pd.DataFrame) -> None:
    """One statement for the part's rows, which SQLite reads from a JSON document without taking
    Python's lock: executemany takes it back for every row, so a thread writing that way waits on
    the threads computing beside it (a county day's fixes 2.3 → 8.7 s)."""
    document = _json_document(part, table, names) if SQLITE_JSON else None
    listed = ", ".join(names)
    if document is not None:
        values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({listed}) SELECT {values} FROM json_each(?)", (document,)
        )
        return
    columns = [_sqlite_values(part[name], table.columns[name].type) for name in names]
    placeholders = ", ".join("?" for _ in names)
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({listed}) VALUES ({placeholders})", list(zip(*columns, strict=True))
    )


class _NoPlainJson(Exception):
    """A value JSON would have to escape or cannot hold (executemany writes its part)."""


def _json_document(part: pd.DataFrame, table: Table, names: list[str]) -> str | None:
    """The rows as a JSON array of arrays, or None where a value has no plain JSON form."""
    try:
        columns = [_json_column(part[name], table.columns[name].type) for name in names]
    except _NoPlainJson:
        return None
    rows = pc.binary_join_element_wise("[", pc.binary_join_element_wise(*columns, ","), "]", "")
    return "[" + _joined(rows, ",").to_pybytes().decode() + "]"


def _json_column(series: pd.Series, column_type: object) -> pa.Array:
    """A column's values as JSON texts (null where missing), read back as executemany's values."""
    if isinstance(column_type, Geometry):
        raise _NoPlainJson
    if isinstance(column_type, UtcDateTime):
        text = pa.array(pd.to_datetime(series, utc=True).dt.as_unit("us").array.asi8).cast(pa.string())
    elif isinstance(column_type, Date):
        text = _quoted(pa.array(_iso_days(series), pa.string()))
    elif isinstance(column_type, Boolean):
        text = pa.array(np.where(series.fillna(False).astype(bool).to_numpy(), "1", "0"), pa.string())
    elif (number := _number_text(series)) is not None:
        if pc.any(pc.is_in(number, pa.array(["inf", "-inf"]))).as_py():
            raise _NoPlainJson
        text = number
    elif series.dtype != object and not pd.api.types.is_string_dtype(series):
        raise _NoPlainJson  # other typed values (categories): sqlite3 adapts them
    else:
        try:
            text = _plain_text(series)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not texts alone: sqlite3 adapts the others
            raise _NoPlainJson from None
        if pc.any(pc.match_substring_regex(text, _JSON_SPECIAL)).as_py():
            raise _NoPlainJson
        text = _quoted(text)
    return pc.if_else(pa.array(pd.isna(series).to_numpy()), _JSON_NULL, text)


def _quoted(text: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', text, '"', "")


def _number_text(series: pd.Series) -> pa.Array | None:
    """A numeric column's values as the shortest texts that read back exactly; None for others."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":  # not Int64: NA makes it float
        return pa.array(series.to_numpy()).cast(pa.string())
    if pd.api.types.is_numeric_dtype(series.dtype):
        return pa.array(series).cast(pa.string())  # nullable numbers (Int64, Float64, boolean)
    return None


def _plain_text(series: pd.Series) -> pa.Array:
    """A text column's values as Arrow strings ('' where missing)."""
    if series.dtype == object:
        return pa.array(series.to_numpy(dtype=object, na_value=""), pa.string())
    return pa.array(series.fillna(""), pa.string())


def _joined(lines: pa.Array | pa.ChunkedArray, separator: str) -> pa.Buffer:
    """Every text of `lines`, joined by `separator`, as one buffer."""
    if isinstance(lines, pa.ChunkedArray):  # a column of pandas' Arrow strings may come in chunks
        lines = lines.combine_chunks()
    whole = pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines.cast(pa.string()))
    return pc.binary_join(whole, separator)[0].as_buffer()


COPY_CHUNK = 100_000  # rows of COPY text made at once (~10 MB)
_NULL = pa.scalar("\\N")
_COPY_SPECIAL = "[\\\\\t\n\r]"
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))  # the backslash first


def _copy_text(part: pd.DataFrame, table: Table, names: list[str]) -> memoryview:
    """Rows as COPY's text format reads them, made column by column in Arrow's compute functions:
    row by row, psycopg's `write_row` took 14.7 s of a county day's 33 s import, and Python's
    conversion of each value still 0.9 s of a day's visits, holding the interpreter the import
    computes in meanwhile."""
    columns = [_copy_column(part[name], table.columns[name].type) for name in names]
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, "\t"), "", "\n")
    return memoryview(_joined(lines, ""))


def _copy_column(series: pd.Series, column_type: object) -> pa.Array:
    """A column as COPY's text format writes it (NULL as \\N)."""
    missing = pa.array(pd.isna(series).to_numpy())
    if isinstance(column_type, Geometry):
        text = pa.array(geometry_to_db(np.asarray(series, dtype=object), "postgresql", column_type.srid), pa.string())
    elif isinstance(column_type, UtcDateTime):
        # Arrow keeps an instant as UTC: without its zone it prints the UTC time, which +00 marks
        utc = pa.array(pd.to_datetime(series, utc=True).dt.as_unit("us")).cast(pa.timestamp("us"))
        text = pc.binary_join_element_wise(utc.cast(pa.string()), "+00", "")
    elif isinstance(column_type, Date):
        text = pa.array(_iso_days(series), pa.string())
    elif isinstance(column_type, Boolean):
        text = pa.array(np.where(series.fillna(False).astype(bool).to_numpy(), "t", "f"), pa.string())
    elif isinstance(column_type, Integer) and pd.api.types.is_float_dtype(series):
        text = pa.array(series.astype("Int64")).cast(pa.string())  # a missing value made the column float
    elif (number := _number_text(series)) is not None:
        text = number
    elif series.dtype != object and not pd.api.types.is_string_dtype(series):
        text = pa.array(series).cast(pa.string())  # other typed values (categories)
    else:
        text = _plain_text(series)
        if pc.any(pc.match_substring_regex(text, _COPY_SPECIAL)).as_py():  # codes and ids never hold one
            for special, escaped in _COPY_ESCAPES:
                text = pc.replace_substring(text, special, escaped)
    return pc.if_else(missing, _NULL, text.cast(pa.string()))
