"""Issued reports (签发的月报 / 周报): a report is kept as it was sent, so re-opening last month's
report shows exactly those figures, with the data cut-off and the rule version they were computed
with, while a fresh run of the same period may differ (late reports, corrections).

Issuing the same area, kind and period again is a correction: it becomes the next version (1, 2,
3 …) and never replaces an earlier one, so what was sent stays on record.  Simultaneous issues of
one period each get their own version: the store's key refuses a second row with the same
version, and the loser takes the next number.

Who: a township leader issues for their township, a grid supervisor for their grids, a county
operator or admin for any area of the county; a viewer reads issued reports of their areas but
does not issue them (`issue_report` permission).  Issuing and opening are on the audit record.

The report is stored as JSON that gives back the same `Report`: every figure, every table cell
with its column's dtype, the tables' indexes and the order of their columns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import uuid
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from services.access.actor import Actor
from services.access.audit import Who, add_entry, record, refuse_item, require_permission, require_whole_area
from services.errors import InvalidArgumentError
from services.figures.report import Figure, Report, ReportSection
from services.store.engine import SessionFactory, write_next_number
from services.store.models import IssuedReport as IssuedReportRow

REPORT_KIND_NAMES = {"monthly": "月报", "weekly": "周报", "range": "专项统计"}
FORMAT_VERSION = 1  # of the stored JSON; a reader refuses a version it does not know
FIGURE_FIELDS = frozenset(field.name for field in dataclasses.fields(Figure))


@dataclasses.dataclass(frozen=True)
class IssuedReport:
    """One issued version of a report: what it covers and who issued it when (the figures
    themselves come back with `load_issued_report`)."""

    report_id: str
    area_code: str
    kind: str
    title: str
    period_label: str
    start: dt.datetime
    end: dt.datetime
    version: int
    cutoff: dt.datetime
    rule_version: str
    issued_at: dt.datetime
    issued_by: str
    issuer_name: str

    @property
    def label(self) -> str:
        """「平乡县 2026年11月 网格化管理月报（第 2 版）」"""
        return f"{self.title}（第 {self.version} 版）"


def issue_report(session_factory: SessionFactory, *, actor: Actor, report: Report, now: dt.datetime) -> IssuedReport:
    """Issues `report` (签发): stores it whole as the next version of its area, kind and period,
    on the record.  Refuses, on the record, a role that may not issue and an area outside the
    actor's areas."""
    require_permission(session_factory, actor, "issue_report", now, f"签发报表 {report.area_code}")
    require_whole_area(session_factory, actor, report.area_code, now)
    if report.kind not in REPORT_KIND_NAMES:
        raise InvalidArgumentError(f"未知的报表类型：{report.kind}")
    content = report_to_json(report)
    return write_next_number(
        lambda: _store_next_version(session_factory, actor, report, content, now),
        "同一报表正被多人同时签发，本次签发未生效，请稍后重试",
    )


def _store_next_version(
    session_factory: SessionFactory, actor: Actor, report: Report, content: str, now: dt.datetime
) -> IssuedReport:
    with session_factory.begin() as session:
        latest = session.scalar(
            select(func.max(IssuedReportRow.version)).where(
                IssuedReportRow.county_code == actor.county_code,
                IssuedReportRow.area_code == report.area_code,
                IssuedReportRow.kind == report.kind,
                IssuedReportRow.period_start == report.start,
                IssuedReportRow.period_end == report.end,
            )
        )
        row = IssuedReportRow(
            county_code=actor.county_code,
            report_id=uuid.uuid4().hex,
            area_code=report.area_code,
            kind=report.kind,
            period_start=report.start,
            period_end=report.end,
            version=(latest or 0) + 1,
            title=report.title,
            period_label=report.period_label,
            cutoff=report.cutoff,
            rule_version=report.rule_version,
            issued_at=now,
            issued_by=actor.username,
            issuer_name=actor.display_name[:32],
            issuer_role=actor.role,
            content=content,
        )
        session.add(row)
        session.flush()  # the version key is checked here, inside the transaction
        issued = _issued(row)
        add_entry(session, Who.of(actor), "report_issue", now, row.report_id, _describe(issued))
    return issued


def list_issued_reports(
    session_factory: SessionFactory, *, actor: Actor, area_code: str, now: dt.datetime, kind: str | None = None
) -> tuple[IssuedReport, ...]:
    """The issued reports of one area (of one kind if given), newest period first and, within a
    period, newest version first.  Refuses, on the record, an area outside the actor's areas."""
    require_whole_area(session_factory, actor, area_code, now)
    statement = select(IssuedReportRow).where(
        IssuedReportRow.county_code == actor.county_code, IssuedReportRow.area_code == area_code
    )
    if kind is not None:
        statement = statement.where(IssuedReportRow.kind == kind)
    statement = statement.order_by(
        IssuedReportRow.period_start.desc(), IssuedReportRow.kind, IssuedReportRow.version.desc()
    )
    with session_factory() as session:
        return tuple(_issued(row) for row in session.scalars(statement))


def load_issued_report(
    session_factory: SessionFactory, *, actor: Actor, report_id: str, now: dt.datetime
) -> tuple[IssuedReport, Report]:
    """One issued report and its figures exactly as they were issued, on the record.  A report
    that does not exist and one outside the actor's areas are refused alike."""
    with session_factory() as session:
        row = session.get(IssuedReportRow, (actor.county_code, report_id))
        found = None if row is None else (_issued(row), row.content)
    if found is None or not actor.scope.allows(found[0].area_code):
        raise refuse_item(session_factory, actor, now, "报表", report_id)
    issued, content = found
    report = report_from_json(content)
    record(session_factory, Who.of(actor), "report_open", now, report_id, _describe(issued))
    return issued, report


def _issued(row: IssuedReportRow) -> IssuedReport:
    return IssuedReport(
        report_id=row.report_id,
        area_code=row.area_code,
        kind=row.kind,
        title=row.title,
        period_label=row.period_label,
        start=row.period_start,
        end=row.period_end,
        version=row.version,
        cutoff=row.cutoff,
        rule_version=row.rule_version,
        issued_at=row.issued_at,
        issued_by=row.issued_by,
        issuer_name=row.issuer_name,
    )


def _describe(issued: IssuedReport) -> str:
    return f"{issued.label}，{issued.period_label}，口径 {issued.rule_version}"


# --- Report ⇄ JSON -----------------------------------------------------------------------------
#
# Plain JSON (no NaN literals, which PostgreSQL's JSON refuses and other readers choke on): values
# that JSON cannot hold are tagged objects: {"float": "nan"}, {"datetime": ISO}, {"na": true} …


def report_to_json(report: Report) -> str:
    document = {
        "format": FORMAT_VERSION,
        "kind": report.kind,
        "title": report.title,
        "area_code": report.area_code,
        "area_name": report.area_name,
        "period_label": report.period_label,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "cutoff": report.cutoff.isoformat(),
        "rule_version": report.rule_version,
        "headline": [
            {field.name: _value(getattr(figure, field.name)) for field in dataclasses.fields(Figure)}
            for figure in report.headline
        ],
        "sections": [_section(section) for section in report.sections],
    }
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def report_from_json(text: str) -> Report:
    document = json.loads(text)
    if document.get("format") != FORMAT_VERSION:
        raise InvalidArgumentError(f"无法读取的报表存档格式：{document.get('format')}")
    return Report(
        kind=document["kind"],
        title=document["title"],
        area_code=document["area_code"],
        area_name=document["area_name"],
        period_label=document["period_label"],
        start=dt.datetime.fromisoformat(document["start"]),
        end=dt.datetime.fromisoformat(document["end"]),
        cutoff=dt.datetime.fromisoformat(document["cutoff"]),
        rule_version=document["rule_version"],
        headline=tuple(
            Figure(**{name: _unvalue(value) for name, value in figure.items() if name in FIGURE_FIELDS})
            for figure in document["headline"]
        ),
        sections=tuple(_unsection(section) for section in document["sections"]),
    )


def _section(section: ReportSection) -> dict[str, Any]:
    """Every field of the section (those added later too), its table and its column kinds in
    their order."""
    stored: dict[str, Any] = {}
    for field in dataclasses.fields(ReportSection):
        value = getattr(section, field.name)
        if field.name == "table":
            stored["table"] = _frame(value)
        elif field.name == "column_kinds":
            stored["column_kinds"] = [[name, kind] for name, kind in value.items()]
        else:
            stored[field.name] = _value(value)
    return stored


def _unsection(stored: dict[str, Any]) -> ReportSection:
    """A stored section back; a field added since it was issued takes its default."""
    known = {field.name for field in dataclasses.fields(ReportSection)}
    values = {name: _unvalue(value) for name, value in stored.items() if name in known - {"table", "column_kinds"}}
    values["table"] = _unframe(stored["table"])
    values["column_kinds"] = {name: kind for name, kind in stored["column_kinds"]}
    return ReportSection(**values)


def _value(value: Any) -> Any:
    """One value as JSON: numbers, text, booleans and None as themselves, the rest tagged."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if value is pd.NaT:
        return {"nat": True}
    if value is pd.NA:
        return {"na": True}
    if isinstance(value, pd.Timestamp):
        return {"timestamp": value.isoformat()}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return {"timedelta": pd.Timedelta(value).value}
    raise InvalidArgumentError(f"报表中有无法存档的值：{value!r}（{type(value).__name__}）")


def _unvalue(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, text),) = value.items()
    readers = {
        "float": float,
        "nat": lambda _: pd.NaT,
        "na": lambda _: pd.NA,
        "timestamp": pd.Timestamp,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "timedelta": pd.Timedelta,
    }
    return readers[tag](text)


def _frame(table: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame with each column's dtype and values, and its index likewise."""
    if not table.columns.is_unique:
        repeated = sorted({str(name) for name in table.columns[table.columns.duplicated()]})
        raise InvalidArgumentError(f"报表表格的列名重复：{'、'.join(repeated)}")
    index = table.index
    ranged = isinstance(index, pd.RangeIndex)
    return {
        "columns": [
            {"name": _value(name), "dtype": str(table[name].dtype), "values": [_value(v) for v in table[name].tolist()]}
            for name in table.columns
        ],
        "index": {
            "name": _value(index.name),
            "dtype": str(index.dtype),
            "range": [index.start, index.stop, index.step] if ranged else None,
            "values": None if ranged else [_value(v) for v in index.tolist()],
        },
    }


def _unframe(stored: dict[str, Any]) -> pd.DataFrame:
    part = stored["index"]
    name = _unvalue(part["name"])
    if part["range"] is not None:
        index: pd.Index = pd.RangeIndex(*part["range"], name=name)
    else:
        index = pd.Index(_series(part["values"], part["dtype"]), name=name)
    columns = {
        _unvalue(column["name"]): pd.Series(_series(column["values"], column["dtype"]).array, index=index)
        for column in stored["columns"]
    }
    return pd.DataFrame(columns, index=index)


def _series(values: list[Any], dtype: str) -> pd.Series:
    """Stored values back as a Series of `dtype` (a datetime column from its ISO texts)."""
    plain = [_unvalue(v) for v in values]
    if dtype.startswith("datetime64"):
        return pd.Series(pd.to_datetime(pd.Series(plain, dtype=object)), dtype=dtype)
    if dtype.startswith("timedelta64"):
        return pd.Series(pd.to_timedelta(pd.Series(plain, dtype=object)), dtype=dtype)
    return pd.Series(plain, dtype=dtype)
