"""Import use cases: check a file (nothing written) and import it (one transaction)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from services.access.actor import Actor
from services.access.audit import Who, add_entry, refuse, require_permission
from services.errors import InvalidArgumentError, OutOfScopeError
from services.exchange.imports import grids as grid_import
from services.exchange.imports import history, people, workorders
from services.exchange.imports.problems import ImportFileError, Problem
from services.exchange.imports.readers import read_fixes, read_layer, read_table
from services.store.collection import collection_paused
from services.store.engine import SessionFactory
from services.store.fix_partitions import ensure_day_partitions
from services.store.wal import defer_checkpoint

KINDS = ("grids", "households", "workers", "incidents", "fixes", "workorders")
KIND_NAMES = {
    "grids": "网格",
    "households": "住户",
    "workers": "网格员",
    "incidents": "历史事件",
    "fixes": "GPS 定位点",
    "workorders": "12345 工单",
}
CRS_CHOICES = ("wgs84", "gcj02")
IMPORT_ACTION = "import"  # the audit entry of every import
Progress = Callable[[float, str], object]  # what it returns is ignored
# What `_prepare` checked, by kind, for `_write`: the grid plan, (households, tags), (workers,
# assignments), the incidents or the fixes.
Prepared = Any


def import_detail(kind: str, written: dict[str, int]) -> str:
    """The audit entry's detail of an import: its kind first, then the rows written per table."""
    return json.dumps({"kind": kind, **written}, ensure_ascii=False)


def import_detail_prefix(kind: str) -> str:
    """What the detail of every import of `kind` starts with (the health check finds the last one by it)."""
    return json.dumps({"kind": kind}, ensure_ascii=False)[:-1]


@dataclasses.dataclass(frozen=True)
class ImportSummary:
    kind: str
    file: str
    rows_read: int
    written: dict[str, int]
    dropped: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ImportCheck:
    """What an import would do, before anything is written."""

    kind: str
    file: str
    rows_read: int
    preview: pd.DataFrame  # the first rows as they would be stored
    problems: list[Problem]
    message: str | None  # the whole error text when the file cannot be imported
    unit: str = "行"  # what a problem's number counts: 行 (rows) or 个要素 (features)


def _noop(_fraction: float, _message: str) -> None:
    return None


def _read(kind: str, path: Path, filename: str, crs: str, county_code: str, progress: Progress) -> pd.DataFrame:
    """The file read and checked on its own (no database needed): the grids layer checked, or
    the table.  Done before the write transaction, which on SQLite holds every other writer."""
    if kind == "grids":
        layer = read_layer(path, filename)
        _require_rows(layer, kind, filename)
        progress(0.2, f"已读取 {len(layer)} 个要素，正在检查")
        grids = grid_import.check_grids(layer, filename, crs=crs)
        other = grids.loc[grids["county_code"] != county_code, "county_code"]
        if len(other):  # one county per file (check_grids)
            message = (
                f"网格属于县 {other.iloc[0]}（网格编码前 6 位），不属于本系统的县 {county_code}。"
                f"若要管理县 {other.iloc[0]}，请把设置 COUNTY_CODE 改为 {other.iloc[0]} 后重启再导入；"
                "否则请检查文件的网格编码"
            )
            raise ImportFileError(filename, [Problem(int(other.index[0]), "grid_code", message)], unit="个要素")
        return grids
    table = read_fixes(path, filename) if kind == "fixes" else read_table(path, filename, kind=kind)
    _require_rows(table, kind, filename)
    progress(0.2, f"已读取 {len(table)} 行，正在检查")
    return table


def _prepare(
    connection: Connection,
    kind: str,
    table: pd.DataFrame,
    filename: str,
    crs: str,
    county_code: str,
    remove_missing: bool = False,
) -> tuple[int, Prepared, dict[str, int], pd.DataFrame]:
    """(rows read, prepared data, dropped counts, preview frame) of what `_read` gave, checked
    against the stored county."""
    if kind == "grids":
        plan = grid_import.plan_grids(connection, table, filename, remove_missing=remove_missing)
        return len(table), plan, {}, pd.DataFrame(table.drop(columns="geometry"))
    if kind == "households":
        households, tags = people.check_households(connection, table, filename, county_code=county_code, crs=crs)
        return len(table), (households, tags), {}, households
    if kind == "workers":
        workers, assignments = people.check_workers(connection, table, filename, county_code=county_code)
        return len(table), (workers, assignments), {}, workers
    if kind == "incidents":
        incidents = history.check_incidents(connection, table, filename, county_code=county_code, crs=crs)
        return len(table), incidents, {}, incidents
    if kind == "workorders":
        orders = workorders.check_workorders(connection, table, filename, county_code=county_code, crs=crs)
        return len(table), orders, {}, orders
    fixes, dropped = history.check_fixes(connection, table, filename, county_code=county_code, crs=crs)
    return len(table), fixes, dropped, fixes


def _require_rows(frame: pd.DataFrame, kind: str, filename: str) -> None:
    """A file with a header (or a layer with fields) and nothing under it imports nothing."""
    if len(frame):
        return
    if kind == "grids":
        raise ImportFileError(filename, [Problem(None, None, "文件中没有网格要素，未导入任何数据")], unit="个要素")
    header = frame.attrs.get("header_row")
    where = f"只有表头（第 {header} 行），" if header else ""
    raise ImportFileError(filename, [Problem(None, None, f"{where}没有{KIND_NAMES[kind]}数据行，未导入任何数据")])


def _write(connection: Connection, kind: str, prepared: Prepared, now: dt.datetime) -> dict[str, int]:
    if kind == "grids":
        return grid_import.write_grids(connection, prepared)
    if kind == "households":
        return people.write_households(connection, *prepared)
    if kind == "workers":
        return people.write_workers(connection, *prepared)
    if kind == "incidents":
        return history.write_incidents(connection, prepared)
    if kind == "workorders":
        return workorders.write_workorders(connection, prepared, now=now)
    return history.write_fixes(connection, prepared)


def _validate_arguments(
    session_factory: SessionFactory, actor: Actor, kind: str, crs: str, filename: str, now: dt.datetime
) -> None:
    require_permission(session_factory, actor, "import_data", now, filename)
    if kind not in KINDS:
        raise InvalidArgumentError(f"未知的导入类型 {kind}，可选：{', '.join(KINDS)}")
    if crs not in CRS_CHOICES:
        raise InvalidArgumentError(f"未知的坐标系 {crs}，可选：{', '.join(CRS_CHOICES)}")
    if not actor.scope.allows(actor.county_code):  # importing writes county-wide data
        raise refuse(session_factory, actor, now, filename, OutOfScopeError(actor.county_code))


def check_import(
    session_factory: SessionFactory,
    *,
    kind: str,
    path: Path,
    filename: str,
    crs: str,
    actor: Actor,
    now: dt.datetime,
    remove_missing: bool = False,
) -> ImportCheck:
    """Read and check the file as `import_file` would, and write nothing."""
    scope = actor.scope
    _validate_arguments(session_factory, actor, kind, crs, filename, now)
    with session_factory() as session:
        connection = session.connection()
        try:
            table = _read(kind, path, filename, crs, scope.county_code, _noop)
            rows, _, _, preview = _prepare(connection, kind, table, filename, crs, scope.county_code, remove_missing)
        except ImportFileError as error:
            return ImportCheck(kind, filename, 0, pd.DataFrame(), error.problems, str(error), error.unit)
        finally:
            session.rollback()
    return ImportCheck(kind, filename, rows, preview.head(20), [], None)


def import_file(
    session_factory: SessionFactory,
    *,
    kind: str,
    path: Path,
    filename: str,
    crs: str,
    actor: Actor,
    now: dt.datetime,
    progress: Progress = _noop,
    remove_missing: bool = False,
) -> ImportSummary:
    """Import one file in one transaction, audited with it; raises ImportFileError (nothing
    written) on bad input.  `remove_missing` (grids only): remove the stored grids of the file's
    townships that the file no longer holds even while households, workers or cases refer to them."""
    scope = actor.scope
    _validate_arguments(session_factory, actor, kind, crs, filename, now)
    # A file's rows, read, checked and written, stay alive to the end (a county day of fixes: 17 → 14 s)
    with collection_paused():
        table = _read(kind, path, filename, crs, scope.county_code, progress)
        if kind == "fixes":  # made in a short transaction of their own: attaching one locks the table
            with session_factory.begin() as session:
                ensure_day_partitions(session.connection(), history.days_the_fixes_touch(table))
        with session_factory.begin() as session:
            connection = session.connection()
            defer_checkpoint(connection)  # a file's rows are copied into SQLite's file after the commit
            rows, prepared, dropped, _ = _prepare(
                connection, kind, table, filename, crs, scope.county_code, remove_missing
            )
            progress(0.5, "检查通过，正在写入")
            written = _write(connection, kind, prepared, now)
            add_entry(session, Who.of(actor), IMPORT_ACTION, now, filename, import_detail(kind, written))
    progress(1.0, "导入完成")
    return ImportSummary(kind=kind, file=filename, rows_read=rows, written=written, dropped=dropped)
