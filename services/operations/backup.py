"""Backup and restore of the whole store: one archive that either engine writes and either engine
reads back (SQLite ↔ PostgreSQL), nothing lost.

The archive is a tar file:
- `tables/<table>.parquet`: every row of every table, read in one transaction — on PostgreSQL a
  REPEATABLE READ, READ ONLY one, on SQLite the read transaction that WAL mode keeps on one
  snapshot — so the tables agree with each other while the app goes on writing.  Values are
  written engine-neutrally: instants as UTC microseconds, geometry as WKB, dates as ISO text.
- `photos/<path>`: the photo files the snapshot's incident_photos rows name.
- `manifest.json`, last: format, schema revision, time, and per table its columns' kinds, row
  count and SHA-256; per photo its SHA-256.

`restore_backup` checks every checksum before it writes anything, loads every table in one
transaction into an empty store (or, told to, one it empties first in that transaction), brings
the schema from the archive's revision to this code's, and only then moves the photos into place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from alembic import command
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    exists,
    func,
    inspect,
    select,
    type_coerce,
)
from sqlalchemy.exc import SAWarning
from sqlalchemy.sql.elements import ColumnElement

from services.domain import LOCAL_TZ
from services.errors import InvalidArgumentError
from services.store.bulk import insert_frame
from services.store.engine import SessionFactory
from services.store.fix_partitions import ensure_day_partitions
from services.store.frames import instant_micros
from services.store.migrate import alembic_config, head_revision, stored_revision
from services.store.models import Base, IncidentPhoto
from services.store.types import Geometry, UtcDateTime

FORMAT = "minqing-backup/1"
MANIFEST = "manifest.json"
CHUNK_ROWS = 100_000  # rows per read and per Parquet row group: bounded memory at any size
# Derived rows the restore's own writes make again (the triggers of migration 0017).
DERIVED_TABLES = ("data_versions",)
KINDS = ("instant", "geometry", "date", "boolean", "integer", "float", "text")
ARROW_TYPES = {
    "instant": pa.timestamp("us", tz="UTC"),
    "geometry": pa.binary(),
    "date": pa.string(),
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "text": pa.string(),
}
COLUMN_TYPES: dict[str, Any] = {
    "instant": UtcDateTime(),
    "geometry": Geometry(),
    "date": Date(),
    "boolean": Boolean(),
    "integer": BigInteger(),
    "float": Float(),
    "text": Text(),
}


@dataclasses.dataclass(frozen=True)
class BackupSummary:
    path: Path
    revision: str
    rows: dict[str, int]
    photos: int
    photos_missing: int
    bytes: int

    def as_dict(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "path": str(self.path)}


@dataclasses.dataclass(frozen=True)
class RestoreSummary:
    revision: str  # the archive's; the store is at this code's head afterwards
    rows: dict[str, int]
    photos: int

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class BackupError(InvalidArgumentError):
    """An archive that is not one, is damaged, or does not fit this store."""


def column_kind(column_type: Any) -> str:
    """The archive's kind of a column type (the one home of the mapping)."""
    for types, kind in (
        (UtcDateTime, "instant"),
        (Geometry, "geometry"),
        (Date, "date"),
        (Boolean, "boolean"),
        ((Integer, BigInteger), "integer"),
        (Float, "float"),
        ((String, Text), "text"),
    ):
        if isinstance(column_type, types):
            return kind
    raise TypeError(f"no backup kind for column type {column_type!r}")


def _neutral(column: ColumnElement[Any], kind: str, dialect: str) -> ColumnElement[Any]:
    """`column` selected as the archive holds it."""
    if kind == "instant":
        return instant_micros(column, dialect)
    if kind == "geometry":
        return type_coerce(func.ST_AsBinary(column) if dialect == "postgresql" else column, LargeBinary)
    if kind == "date":
        return cast(column, String) if dialect == "postgresql" else type_coerce(column, String)
    if kind == "boolean":
        return cast(column, Integer) if dialect == "postgresql" else type_coerce(column, Integer)
    return column


def _tables_to_keep(connection: Connection) -> list[Table]:
    """The models' tables the database has, parents first (a database at an older revision lacks
    the newer ones)."""
    present = set(inspect(connection).get_table_names())
    return [t for t in Base.metadata.sorted_tables if t.name in present and t.name not in DERIVED_TABLES]


def _present_columns(connection: Connection, table: Table) -> list[Column[Any]]:
    with warnings.catch_warnings():  # SQLAlchemy cannot name PostGIS's type; only the names matter here
        warnings.filterwarnings("ignore", "Did not recognize type", SAWarning)
        present = {c["name"] for c in inspect(connection).get_columns(table.name)}
    return [c for c in table.columns if c.name in present]


def _schema(columns: list[Column[Any]]) -> pa.Schema:
    return pa.schema([(c.name, ARROW_TYPES[column_kind(c.type)]) for c in columns])


def _batches(connection: Connection, table: Table, columns: list[Column[Any]]) -> Iterator[pa.RecordBatch]:
    """The table's rows in the archive's forms, CHUNK_ROWS at a time, read by the driver itself
    in the caller's transaction (PostgreSQL: a server-side cursor)."""
    dialect = connection.dialect.name
    kinds = [column_kind(c.type) for c in columns]
    query = select(*(_neutral(c, k, dialect).label(c.name) for c, k in zip(columns, kinds, strict=True)))
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))  # numbers only
    schema = _schema(columns)
    driver = connection.connection.driver_connection
    assert driver is not None, "a connection in use always holds its driver's connection"
    cursor = driver.cursor(name=f"backup_{table.name}") if dialect == "postgresql" else driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(CHUNK_ROWS):
            values = list(zip(*rows, strict=True))
            yield pa.RecordBatch.from_arrays([_arrow(v, k) for v, k in zip(values, kinds, strict=True)], schema=schema)
    finally:
        cursor.close()


def _arrow(values: tuple[Any, ...], kind: str) -> pa.Array:
    if kind == "instant":
        return pa.array(values, pa.int64()).cast(ARROW_TYPES["instant"])
    if kind == "boolean":
        return pa.array(values, pa.int64()).cast(pa.bool_())
    if kind == "geometry":
        return pa.array([None if v is None else bytes(v) for v in values], pa.binary())
    return pa.array(values, ARROW_TYPES[kind])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_backup(session_factory: SessionFactory, *, photo_dir: Path, out: Path, now: dt.datetime) -> BackupSummary:
    """Write the archive to `out` (replaced only once it is complete), from one read transaction:
    the app's writers go on meanwhile."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as scratch:
        staged = Path(scratch)
        manifest: dict[str, Any] = {"format": FORMAT, "created_at": now.isoformat()}
        tables: dict[str, Any] = {}
        with session_factory() as session:
            connection = session.connection()
            manifest["engine"] = connection.dialect.name
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            manifest["revision"] = stored_revision(connection)
            for table in _tables_to_keep(connection):
                columns = _present_columns(connection, table)
                member = staged / f"{table.name}.parquet"
                rows = 0
                with pq.ParquetWriter(member, _schema(columns), compression="zstd") as writer:
                    for batch in _batches(connection, table, columns):
                        writer.write_batch(batch)
                        rows += batch.num_rows
                tables[table.name] = {
                    "columns": {c.name: column_kind(c.type) for c in columns},
                    "rows": rows,
                    "sha256": _sha256(member),
                }
            photo_paths = (
                list(connection.scalars(select(IncidentPhoto.path).order_by(IncidentPhoto.path)))
                if "incident_photos" in tables
                else []
            )
        manifest["tables"] = tables
        photos: dict[str, str] = {}
        missing = 0
        archive = staged / "archive.tar"
        with tarfile.open(archive, "w") as tar:
            for name in tables:
                tar.add(staged / f"{name}.parquet", arcname=f"tables/{name}.parquet")
            for relative in photo_paths:
                source = photo_dir / relative
                if not _inside(relative) or not source.is_file():
                    missing += 1
                    continue
                photos[relative] = _sha256(source)
                tar.add(source, arcname=f"photos/{relative}")
            manifest["photos"] = photos
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mtime = int(now.timestamp())
            tar.addfile(info, _bytes_reader(body))
        os.replace(archive, out)
    return BackupSummary(
        path=out,
        revision=manifest["revision"],
        rows={name: entry["rows"] for name, entry in tables.items()},
        photos=len(photos),
        photos_missing=missing,
        bytes=out.stat().st_size,
    )


def _bytes_reader(body: bytes) -> BinaryIO:
    return io.BytesIO(body)


def _inside(relative: str) -> bool:
    """A stored path names a file under the photo folder (never an absolute path or ../)."""
    path = Path(relative)
    return not path.is_absolute() and ".." not in path.parts and bool(path.parts)


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(member.read())
    except (tarfile.TarError, KeyError, OSError, json.JSONDecodeError) as error:
        raise BackupError(f"{archive.name} 不是民情地图的备份文件（{type(error).__name__}）") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive.name} 的格式 {manifest.get('format')!r} 无法识别（应为 {FORMAT}）")
    return manifest


def _verified_members(tar: tarfile.TarFile, manifest: dict[str, Any], archive: Path, scratch: Path) -> None:
    """Extract every table and photo into `scratch`, checking each against the manifest."""
    expected = {f"tables/{name}.parquet": entry["sha256"] for name, entry in manifest["tables"].items()}
    expected |= {f"photos/{path}": digest for path, digest in manifest["photos"].items()}
    for path in manifest["photos"]:
        if not _inside(path):
            raise BackupError(f"{archive.name}：照片路径 {path!r} 不在照片目录内")
    seen = set()
    for member in tar:
        if member.name == MANIFEST:
            continue
        if member.name not in expected or not member.isfile():
            raise BackupError(f"{archive.name}：清单中没有 {member.name!r}")
        source = tar.extractfile(member)
        assert source is not None, "a regular member has a file object"
        target = scratch / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            shutil.copyfileobj(source, handle)
        if _sha256(target) != expected[member.name]:
            raise BackupError(f"{archive.name}：{member.name} 的校验和与清单不符，备份已损坏")
        seen.add(member.name)
    if missing := sorted(set(expected) - seen):
        raise BackupError(f"{archive.name}：缺少 {missing[0]} 等 {len(missing)} 项")


def _store_is_empty(connection: Connection) -> bool:
    return not any(connection.scalar(select(exists().select_from(table))) for table in _tables_to_keep(connection))


def _schema_at(engine: Engine, revision: str) -> None:
    """The (empty) store's schema at `revision`, up or down from where it is."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        current = stored_revision(connection)
    if current is None or current < revision:
        command.upgrade(config, revision)
    elif current > revision:
        command.downgrade(config, revision)


def restore_backup(engine: Engine, *, photo_dir: Path, archive: Path, replace: bool = False) -> RestoreSummary:
    """Restore `archive` into the store of `engine`; BackupError when it is damaged, newer than this
    code, or the store is not empty and `replace` is not set.  Nothing is written before every
    checksum passed; the rows land in one transaction."""
    manifest = read_manifest(archive)
    revision = manifest["revision"]
    if revision is None or revision > head_revision():
        raise BackupError(f"{archive.name} 来自更新的版本（数据库版本 {revision}），请先升级本程序")
    with tempfile.TemporaryDirectory(dir=_scratch_parent(photo_dir), prefix=".restore-") as scratch:
        staged = Path(scratch)
        with tarfile.open(archive, "r") as tar:
            _verified_members(tar, manifest, archive, staged)
        with engine.connect() as connection:
            empty = _store_is_empty(connection)
            current = stored_revision(connection)
        if not empty and not replace:
            raise BackupError("目标数据库不是空的；确认要用备份替换其中全部数据时请加 --replace")
        if not empty and current != revision:
            # Taking a filled schema down to an older revision could drop what is in it.
            raise BackupError(f"旧版本（{revision}）的备份只能恢复到空数据库中")
        _schema_at(engine, revision)
        with engine.begin() as connection:  # the fixes' day partitions first, in a short transaction
            ensure_day_partitions(connection, _fix_days(staged, manifest))
        rows = _load_tables(engine, manifest, staged, empty_first=not empty)
        command.upgrade(alembic_config(engine), "head")
        _move_photos(staged / "photos", photo_dir, manifest["photos"])
    return RestoreSummary(revision=revision, rows=rows, photos=len(manifest["photos"]))


def _scratch_parent(photo_dir: Path) -> Path:
    """Beside the photo folder, so the restored photos move into place by rename."""
    photo_dir.parent.mkdir(parents=True, exist_ok=True)
    return photo_dir.parent


def _fix_days(staged: Path, manifest: dict[str, Any]) -> list[dt.date]:
    if "patrol_fixes" not in manifest["tables"]:
        return []
    stamps = pq.read_table(staged / "tables" / "patrol_fixes.parquet", columns=["ts"]).column("ts").to_pandas()
    return sorted(set(stamps.dt.tz_convert(LOCAL_TZ).dt.date.unique()))


def _load_tables(engine: Engine, manifest: dict[str, Any], staged: Path, *, empty_first: bool) -> dict[str, int]:
    rows: dict[str, int] = {}
    with engine.begin() as connection:
        kept = _tables_to_keep(connection)
        if empty_first:  # in the same transaction: a failed load leaves the old rows
            for table in reversed(kept):
                connection.execute(delete(table))
        present = {t.name for t in kept}
        order = [t.name for t in Base.metadata.sorted_tables]
        for name in sorted(manifest["tables"], key=lambda n: order.index(n) if n in order else len(order)):
            entry = manifest["tables"][name]
            if name not in present:
                raise BackupError(f"备份中的表 {name} 在版本 {manifest['revision']} 的数据库中不存在")
            kinds = entry["columns"]
            target = Table(name, MetaData(), *(Column(c, COLUMN_TYPES[k]) for c, k in kinds.items()))
            written = 0
            for batch in pq.ParquetFile(staged / "tables" / f"{name}.parquet").iter_batches(CHUNK_ROWS):
                written += insert_frame(connection, target, _frame(batch, kinds))
            if written != entry["rows"]:
                raise BackupError(f"表 {name} 写入 {written} 行，清单记载 {entry['rows']} 行")
            rows[name] = written
    return rows


def _frame(batch: pa.RecordBatch, kinds: dict[str, str]) -> pd.DataFrame:
    frame = batch.to_pandas(integer_object_nulls=True, date_as_object=True)
    for name, kind in kinds.items():
        if kind == "geometry":
            frame[name] = shapely.from_wkb(np.asarray(frame[name], dtype=object))
    return frame


def _move_photos(staged: Path, photo_dir: Path, photos: dict[str, str]) -> None:
    for relative in photos:
        target = photo_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged / relative, target)


def new_archive_name(now: dt.datetime) -> str:
    return f"minqing-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}.tar"
