"""Fast bulk writes of DataFrames into model tables: COPY on PostgreSQL, executemany on SQLite.

Values are encoded here exactly as the column types (`Geometry`, `UtcDateTime`) would encode them,
so rows written in bulk read back like rows written through the ORM.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Connection, Date, Table

from services.store.types import Geometry, UtcDateTime, geometry_to_db, sqlite_micros


def _column_values(series: pd.Series, column_type: object, dialect: str) -> list:
    if isinstance(column_type, Geometry):
        encoded = geometry_to_db(np.asarray(series, dtype=object), dialect, column_type.srid)
        return list(encoded)
    if isinstance(column_type, UtcDateTime):
        stamps = pd.to_datetime(series, utc=True)
        if dialect == "postgresql":
            return [None if pd.isna(v) else v.to_pydatetime() for v in stamps]
        return sqlite_micros(stamps).astype(object).where(stamps.notna(), None).tolist()
    if isinstance(column_type, Date):
        return [v if isinstance(v, dt.date) or v is None else pd.Timestamp(v).date() for v in series]
    if isinstance(column_type, Boolean):
        return [bool(v) for v in series]
    values = series.astype(object).where(series.notna(), None).tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def insert_frame(connection: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert every row of `frame` (columns named as the table's) inside the caller's transaction."""
    if frame.empty:
        return 0
    dialect = connection.dialect.name
    names = [c.name for c in table.columns if c.name in frame.columns]
    columns = [_column_values(frame[name], table.columns[name].type, dialect) for name in names]
    rows = list(zip(*columns, strict=True))
    if dialect == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None, "a connection in use always holds its driver's connection"
        cursor = driver.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        placeholders = ", ".join("?" for _ in names)
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})", rows)
    return len(rows)
