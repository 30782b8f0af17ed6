"""Column types that behave the same on SQLite (pip only) and PostgreSQL + PostGIS.

`Geometry` is a real PostGIS ``geometry(<kind>, 4326)`` column on PostgreSQL, so that GIS staff can
open the tables in QGIS, and a WKB blob on SQLite, which needs no SpatiaLite (the machine's Python
cannot load SQLite extensions).  Values are shapely geometries either way.  GeoAlchemy2 is not
used: its Geometry needs SpatiaLite on SQLite, and on PostgreSQL all it would add here is the
column spec below (STORE-NOTES.md).

`UtcDateTime` stores instants: ``timestamptz`` on PostgreSQL, integer microseconds since the Unix
epoch (UTC) on SQLite — 8 bytes instead of 26 characters of text on tables of millions of GPS
fixes, and it compares as numbers.  Naive datetimes are refused: the caller must say which zone a
time is in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from sqlalchemy import BigInteger, LargeBinary
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

WGS84_SRID = 4326
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _PostgisGeometry(UserDefinedType[Any]):
    cache_ok = True

    def __init__(self, kind: str, srid: int) -> None:
        self.kind = kind
        self.srid = srid

    def get_col_spec(self, **kw: Any) -> str:
        return f"geometry({self.kind},{self.srid})"


class Geometry(TypeDecorator[shapely.Geometry]):
    """A shapely geometry in WGS84 lon/lat (EPSG:4326)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, kind: str = "Geometry", srid: int = WGS84_SRID) -> None:
        super().__init__()
        self.kind = kind
        self.srid = srid

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostgisGeometry(self.kind, self.srid))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return geometry_to_db(value, dialect.name, self.srid)

    def process_result_value(self, value: Any, dialect: Dialect) -> shapely.Geometry | None:
        if value is None:
            return None
        return shapely.from_wkb(value)


def geometry_to_db(value: Any, dialect_name: str, srid: int = WGS84_SRID) -> Any:
    """Encode shapely geometries (scalar or array) for the given dialect: hex EWKB text for
    PostGIS (its input function parses it, also inside COPY), plain WKB bytes for SQLite."""
    if dialect_name == "postgresql":
        return shapely.to_wkb(shapely.set_srid(value, srid), hex=True, include_srid=True)
    return shapely.to_wkb(value)


def sqlite_micros(stamps: Any) -> Any:
    """UTC instants as SQLite stores them: integer microseconds since the epoch.  Works on an
    aware datetime and, vectorised, on a tz-aware pandas Series (NaT stays missing)."""
    if isinstance(stamps, dt.datetime):
        return (stamps - EPOCH) // dt.timedelta(microseconds=1)
    return stamps.dt.tz_convert("UTC").dt.as_unit("us").astype("int64")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime, stored in UTC and returned in UTC."""

    impl = BigInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(BigInteger())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(f"expected an aware datetime, got {value!r}")
        if dialect.name == "postgresql":
            return value.astimezone(dt.UTC)
        return sqlite_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC)
        return EPOCH + dt.timedelta(microseconds=value)
