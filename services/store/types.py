"""Column types that behave the same on SQLite (pip only) and PostgreSQL + PostGIS.

`Geometry` is a real PostGIS ``geometry(<kind>, 4326)`` column on PostgreSQL, so that GIS staff can
open the tables in QGIS, and a WKB blob on SQLite, which needs no SpatiaLite (the machine's Python
cannot load SQLite extensions).  Values are shapely geometries either way.

`UtcDateTime` stores instants: ``timestamptz`` on PostgreSQL, a fixed-width UTC text on SQLite
(``YYYY-MM-DD HH:MM:SS.ffffff``) that compares correctly as text.  Naive datetimes are refused:
the caller must say which zone a time is in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from sqlalchemy import LargeBinary, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

WGS84_SRID = 4326
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


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


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime, stored in UTC and returned in UTC."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(String(26))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(f"expected an aware datetime, got {value!r}")
        utc = value.astimezone(dt.UTC)
        if dialect.name == "postgresql":
            return utc
        return utc.strftime(SQLITE_TIME_FORMAT)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC)
        return dt.datetime.strptime(value, SQLITE_TIME_FORMAT).replace(tzinfo=dt.UTC)
