"""Open311 GeoReport v2 requests: a POSTed request becomes a case in 待核实 exactly as
`services.cases.workflow.report_incident` makes one, and GETs read back what came in.

- POST needs a valid key (`services.intake.keys`); the key's channel becomes the case's channel.
  The case, its intake record and the audit entry are written in one transaction.  `external_id`
  (an extension: the sender's own id) makes a POST idempotent: the intake record is unique on
  (county, key, external_id), inserted with ON CONFLICT DO NOTHING inside the case's transaction,
  so of simultaneous identical POSTs one writes and the others roll back and answer with its id.
- GET shows only requests posted through the API, never other cases, and no personal data:
  the sender's name, phone and e-mail stay in the intake record (masked on the 接入管理 page).
- Every refusal is an `InvalidFieldError` (400, naming the field), `PermissionDeniedError` (403)
  or `UnknownItemError` (404), raised before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Row, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.access.actor import Actor
from services.access.audit import Who, add_entry, record, require_permission
from services.access.privacy import mask_emails, mask_names, mask_phones
from services.cases.workflow import report_incident
from services.domain import CATEGORIES, CHANNEL_NAMES, CLOSE_REASON_NAMES, LOCAL_TZ, SEVERITIES, STATE_NAMES
from services.errors import InvalidFieldError, PermissionDeniedError, PointOutsideGridsError, UnknownItemError
from services.intake.catalogue import (
    CATEGORY_SERVICE_CODES,
    OPEN311_STATUS,
    SERVICE_CODES,
    SERVICES,
    SEVERITY_ATTRIBUTE,
    STATUSES,
    SUBCATEGORY_ATTRIBUTE,
    Service,
)
from services.intake.keys import SOURCE_PREFIX, KeyHolder, authenticate_key
from services.intake.places import locate_addresses
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, Department, Incident, IncidentEvent, IntakeRequest, table_of

MAX_DESCRIPTION = 4000
MAX_IDS = 100  # service_request_id=a,b,c …
DEFAULT_DAYS = 90  # the spec's default window when neither start_date nor end_date is given
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000  # the spec's largest answer
FIELD_LIMITS = {
    "external_id": 64,
    "address_string": 256,
    "media_url": 512,
    "first_name": 32,
    "last_name": 32,
    "phone": 20,
    "email": 128,
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
URL = re.compile(r"^https?://\S+$")
SERVICE_NOTICE = "已受理，待核实"
UNKNOWN_KEY = "intake:（无效密钥）"


@dataclasses.dataclass(frozen=True)
class Submitted:
    service_request_id: str
    created: bool  # False: an earlier POST with the same external_id made this case

    def as_open311(self) -> list[dict[str, object]]:
        return [{"service_request_id": self.service_request_id, "service_notice": SERVICE_NOTICE, "account_id": None}]


@dataclasses.dataclass(frozen=True)
class RequestQuery:
    """The GET requests.json filters as received (text; checked by `find_requests`)."""

    service_request_id: str = ""
    service_code: str = ""
    status: str = ""
    start_date: str = ""
    end_date: str = ""
    page: str = ""
    page_size: str = ""


class _Duplicate(Exception):
    """Another POST with the same external_id wrote first: roll this one back whole."""


def list_services() -> list[dict[str, object]]:
    return [service.as_open311() for service in SERVICES]


def service_definition(service_code: str) -> dict[str, object]:
    return _service(service_code, status_404=True).definition()


def _service(code: str, *, status_404: bool = False) -> Service:
    for service in SERVICES:
        if service.code == code:
            return service
    known = "、".join(SERVICE_CODES)
    if status_404:
        raise UnknownItemError("服务", code)
    raise InvalidFieldError("service_code", f"未知的服务 {code!r}，可选：{known}" if code else f"必填，可选：{known}")


def intake_actor(holder: KeyHolder) -> Actor:
    """The key's system acting as the county's command centre, for `report_incident` only (it may
    report anywhere in the county; the audit log and the events name the key)."""
    return Actor(f"intake:{holder.name}"[:32], "接入系统", "county_operator", holder.county_code, (holder.county_code,))


def _text(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    text = "" if value is None else str(value).strip()
    limit = FIELD_LIMITS.get(name)
    if limit is not None and len(text) > limit:
        raise InvalidFieldError(name, f"最长 {limit} 个字符")
    return text


def _coordinate(fields: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    text = _text(fields, name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidFieldError(name, f"应为数字（WGS84 度），收到 {text[:32]!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidFieldError(name, f"应在 {low:g} 到 {high:g} 之间")
    return value


@dataclasses.dataclass(frozen=True)
class _Checked:
    service: Service
    subcategory: str
    severity: str
    description: str
    lat: float | None
    lon: float | None
    extras: dict[str, str | None]


def _check(fields: Mapping[str, str]) -> _Checked:
    """Every field of a POST, in the order of the spec; the first bad one is refused."""
    service = _service(_text(fields, "service_code"))
    lat = _coordinate(fields, "lat", -90, 90)
    lon = _coordinate(fields, "long", -180, 180)
    address = _text(fields, "address_string")
    if (lat is None) != (lon is None):
        raise InvalidFieldError("long" if lon is None else "lat", "lat 与 long 须同时给出")
    if lat is None and not address:
        raise InvalidFieldError("lat", "须给出位置：lat/long，或 address_string")
    description = _text(fields, "description")
    if not description:
        raise InvalidFieldError("description", "必填：请描述问题")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidFieldError("description", f"最长 {MAX_DESCRIPTION} 个字符")
    subcategory = _text(fields, f"attribute[{SUBCATEGORY_ATTRIBUTE}]")
    choices = CATEGORIES[service.category]
    if subcategory not in choices:
        raise InvalidFieldError(
            f"attribute[{SUBCATEGORY_ATTRIBUTE}]",
            f"{'未知的小类 ' + repr(subcategory) + '，' if subcategory else '必填，'}可选：{'、'.join(choices)}",
        )
    severity = _text(fields, f"attribute[{SEVERITY_ATTRIBUTE}]") or "normal"
    if severity not in SEVERITIES:
        raise InvalidFieldError(f"attribute[{SEVERITY_ATTRIBUTE}]", f"可选：{'、'.join(SEVERITIES)}")
    media_url = _text(fields, "media_url")
    if media_url and not URL.match(media_url):
        raise InvalidFieldError("media_url", "应为 http:// 或 https:// 开头的网址")
    email = _text(fields, "email")
    if email and not EMAIL.match(email):
        raise InvalidFieldError("email", "不是有效的电子邮箱")
    phone = _text(fields, "phone")
    if phone and not PHONE.match(phone):
        raise InvalidFieldError("phone", "应为电话号码（数字，可含 + - 和空格）")
    extras = {
        "external_id": _text(fields, "external_id") or None,
        "address": address or None,
        "media_url": media_url or None,
        "first_name": _text(fields, "first_name") or None,
        "last_name": _text(fields, "last_name") or None,
        "phone": phone or None,
        "email": email or None,
    }
    return _Checked(service, subcategory, severity, description, lat, lon, extras)


def submit_request(
    session_factory: SessionFactory, *, county_code: str, api_key: str, fields: Mapping[str, str], now: dt.datetime
) -> Submitted:
    """POST requests.json: the key checked (PermissionDeniedError), every field checked
    (InvalidFieldError naming it), then the case made by `report_incident` with its intake
    record and audit entry in the same transaction.  The same external_id again gives the
    first case's id and writes nothing."""
    try:
        holder = authenticate_key(session_factory, county_code=county_code, key=api_key)
    except PermissionDeniedError as error:  # no key material on the record, only that it failed
        record(session_factory, Who(county_code, UNKNOWN_KEY), "intake_refused", now, "requests.json", str(error))
        raise
    try:
        return _submit(session_factory, holder, fields, now)
    except InvalidFieldError as error:
        record(session_factory, holder.who, "intake_refused", now, error.field, str(error))
        raise


def _submit(
    session_factory: SessionFactory, holder: KeyHolder, fields: Mapping[str, str], now: dt.datetime
) -> Submitted:
    county_code = holder.county_code
    checked = _check(fields)
    external_id = checked.extras["external_id"]
    if external_id is not None:
        existing = _existing(session_factory, holder, external_id)
        if existing is not None:
            return Submitted(existing, created=False)
    lon, lat = checked.lon, checked.lat
    if lon is None or lat is None:
        with session_factory() as session:
            place = locate_addresses(session, county_code, pd.Series([checked.extras["address"]])).iloc[0]
        if place is None:
            raise InvalidFieldError(
                "address_string",
                "找不到这个地址：既不是登记的住户地址，也不含本县的村(社区)或网格名称，请给出 lat/long",
            )
        lon, lat = place.lon, place.lat

    def keep_request(session: Session, incident_id: str) -> None:
        row = {
            "county_code": county_code,
            "incident_id": incident_id,
            "source": holder.source,
            "service_code": checked.service.code,
            "received_at": now,
            **checked.extras,
        }
        table = table_of(IntakeRequest)
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        written = session.execute(
            insert(table).values(row).on_conflict_do_nothing().returning(table.c.incident_id)
        ).first()
        if written is None:
            raise _Duplicate
        add_entry(session, holder.who, "intake_post", now, incident_id, _audit_detail(checked, holder))

    try:
        result = report_incident(
            session_factory,
            actor=intake_actor(holder),
            now=now,
            category=checked.service.category,
            subcategory=checked.subcategory,
            severity=checked.severity,
            lon=lon,
            lat=lat,
            description=checked.description,
            channel=holder.channel,
            reporter=f"{CHANNEL_NAMES[holder.channel]}接入：{holder.name}",
            also=keep_request,
        )
    except PointOutsideGridsError:
        field = "address_string" if checked.lat is None else "lat"
        raise InvalidFieldError(field, f"位置（{lon:.5f}, {lat:.5f}）不在本县任何网格内") from None
    except _Duplicate:
        existing = _existing(session_factory, holder, external_id or "")
        if existing is None:  # cannot happen: the conflicting row committed before ours was refused
            raise
        return Submitted(existing, created=False)
    return Submitted(result.incident_id, created=True)


def _audit_detail(checked: _Checked, holder: KeyHolder) -> str:
    external = checked.extras["external_id"]
    return f"{holder.name}（{CHANNEL_NAMES[holder.channel]}）{checked.service.code}" + (
        f"，external_id {external}" if external else ""
    )


def _existing(session_factory: SessionFactory, holder: KeyHolder, external_id: str) -> str | None:
    with session_factory() as session:
        return session.scalar(
            select(IntakeRequest.incident_id).where(
                IntakeRequest.county_code == holder.county_code,
                IntakeRequest.source == holder.source,
                IntakeRequest.external_id == external_id,
            )
        )


# --- GET ------------------------------------------------------------------------------------


def _parse_time(text: str, field: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFieldError(
            field, f"应为 W3C/ISO 8601 时间，如 2026-11-20T08:00:00+08:00，收到 {text[:40]!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)


def _positive(text: str, field: str, default: int, highest: int) -> int:
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= highest:
        raise InvalidFieldError(field, f"应为 1 到 {highest} 之间的整数")
    return int(text)


def _choices(text: str, field: str, allowed: tuple[str, ...]) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise InvalidFieldError(field, f"未知的取值 {unknown[0][:32]!r}，可选：{'、'.join(allowed)}")
    return values


def find_requests(
    session_factory: SessionFactory, *, county_code: str, query: RequestQuery, now: dt.datetime
) -> list[dict[str, object]]:
    """GET requests.json: the spec's filters (service_request_id overrides the others; without
    start_date and end_date, the last 90 days), newest first, a page at a time."""
    page = _positive(query.page, "page", 1, 10**6)
    page_size = _positive(query.page_size, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    statement = _request_rows(county_code)
    ids = [v.strip() for v in query.service_request_id.split(",") if v.strip()]
    if len(ids) > MAX_IDS:
        raise InvalidFieldError("service_request_id", f"一次最多 {MAX_IDS} 个")
    if ids:
        statement = statement.where(Incident.incident_id.in_(ids))
    else:
        codes = _choices(query.service_code, "service_code", tuple(SERVICE_CODES))
        statuses = _choices(query.status, "status", STATUSES)
        start = _parse_time(query.start_date, "start_date") if query.start_date else None
        end = _parse_time(query.end_date, "end_date") if query.end_date else None
        if start is not None and end is not None and end < start:
            raise InvalidFieldError("end_date", "早于 start_date")
        if start is None and end is None:
            start = now - dt.timedelta(days=DEFAULT_DAYS)
        if codes:
            statement = statement.where(Incident.category.in_([SERVICE_CODES[c] for c in codes]))
        if statuses and set(statuses) != set(STATUSES):
            states = [state for state, status in OPEN311_STATUS.items() if status in statuses]
            statement = statement.where(Incident.state.in_(states))
        if start is not None:
            statement = statement.where(Incident.reported_at >= start)
        if end is not None:
            statement = statement.where(Incident.reported_at <= end)
    statement = statement.order_by(Incident.reported_at.desc(), Incident.incident_id.desc())
    statement = statement.limit(page_size).offset((page - 1) * page_size)
    return _as_open311(session_factory, county_code, statement)


def get_request(
    session_factory: SessionFactory, *, county_code: str, service_request_id: str
) -> list[dict[str, object]]:
    """GET requests/{id}.json: a list of one, or UnknownItemError (404)."""
    statement = _request_rows(county_code).where(Incident.incident_id == service_request_id)
    found = _as_open311(session_factory, county_code, statement)
    if not found:
        raise UnknownItemError("服务请求", service_request_id[:40])
    return found


def _request_rows(county_code: str) -> Select[*tuple[Any, ...]]:  # many columns; rows are read by name
    updated = (
        select(func.max(IncidentEvent.at))
        .where(IncidentEvent.county_code == Incident.county_code, IncidentEvent.incident_id == Incident.incident_id)
        .correlate(Incident)
        .scalar_subquery()
    )
    return (
        select(
            Incident.incident_id,
            Incident.state,
            Incident.close_reason,
            Incident.category,
            Incident.description,
            Incident.grid_code,
            Incident.level,
            Incident.assignee_department_id,
            Incident.reported_at,
            Incident.dispatched_at,
            Incident.limit_hours,
            Incident.lon,
            Incident.lat,
            IntakeRequest.address,
            IntakeRequest.media_url,
            updated.label("updated_at"),
        )
        .join(
            IntakeRequest,
            (IntakeRequest.county_code == Incident.county_code) & (IntakeRequest.incident_id == Incident.incident_id),
        )
        .where(Incident.county_code == county_code, IntakeRequest.source.startswith(SOURCE_PREFIX))
    )


LEVEL_CODE_LENGTH = {"grid": 15, "village": 12, "township": 9, "county": 6}


def _as_open311(
    session_factory: SessionFactory, county_code: str, statement: Select[*tuple[Any, ...]]
) -> list[dict[str, object]]:
    with session_factory() as session:
        rows = session.execute(statement).all()
        codes = {row.grid_code[: LEVEL_CODE_LENGTH[row.level]] for row in rows}
        names = dict(
            session.execute(
                select(Area.code, Area.name).where(Area.county_code == county_code, Area.code.in_(codes))
            ).all()
        )
        departments = {row.assignee_department_id for row in rows} - {None}
        department_names = dict(
            session.execute(
                select(Department.department_id, Department.name).where(
                    Department.county_code == county_code, Department.department_id.in_(departments)
                )
            ).all()
        )
    return [_open311_row(row, names, department_names) for row in rows]


def _w3c(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def _open311_row(row: Row[*tuple[Any, ...]], names: dict[str, str], departments: dict[str, str]) -> dict[str, object]:
    note = STATE_NAMES[row.state]
    if row.state == "closed" and row.close_reason:
        note += f"：{CLOSE_REASON_NAMES[row.close_reason]}"
    agency = departments.get(row.assignee_department_id) or names.get(row.grid_code[: LEVEL_CODE_LENGTH[row.level]])
    expected = None if row.dispatched_at is None else row.dispatched_at + dt.timedelta(hours=row.limit_hours)
    return {
        "service_request_id": row.incident_id,
        "status": OPEN311_STATUS[row.state],
        "status_notes": note,
        "service_name": row.category,
        "service_code": CATEGORY_SERVICE_CODES[row.category],
        "description": row.description,
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": _w3c(row.reported_at),
        "updated_datetime": _w3c(row.updated_at or row.reported_at),
        "expected_datetime": _w3c(expected),
        "address": row.address,
        "address_id": None,
        "zipcode": None,
        "lat": row.lat,
        "long": row.lon,
        "media_url": row.media_url,
    }


# --- the 接入管理 page ------------------------------------------------------------------------


def list_received_requests(
    session_factory: SessionFactory, *, actor: Actor, now: dt.datetime, limit: int = 200
) -> pd.DataFrame:
    """The latest requests that came in (API and work orders), newest first: received_at, source,
    external_id, incident_id, service_code, category, state_name, channel_name, address and the
    sender's name, phone and e-mail masked (the 接入管理 page is a county admin's, who never unmasks)."""
    require_permission(session_factory, actor, "manage_intake", now, "接入记录")
    statement = (
        select(
            IntakeRequest.received_at,
            IntakeRequest.source,
            IntakeRequest.external_id,
            IntakeRequest.incident_id,
            IntakeRequest.service_code,
            Incident.category,
            Incident.state,
            Incident.channel,
            IntakeRequest.address,
            IntakeRequest.first_name,
            IntakeRequest.last_name,
            IntakeRequest.phone,
            IntakeRequest.email,
        )
        .join(
            Incident,
            (Incident.county_code == IntakeRequest.county_code) & (Incident.incident_id == IntakeRequest.incident_id),
        )
        .where(IntakeRequest.county_code == actor.county_code)
        .order_by(IntakeRequest.received_at.desc(), IntakeRequest.incident_id.desc())
        .limit(limit)
    )
    with session_factory() as session:
        frame = query_frame(session, statement)
    name = frame["last_name"].fillna("").astype(str) + frame["first_name"].fillna("").astype(str)
    return pd.DataFrame(
        {
            "received_at": frame["received_at"],
            "source": frame["source"],
            "external_id": frame["external_id"],
            "incident_id": frame["incident_id"],
            "category": frame["category"],
            "state_name": frame["state"].map(STATE_NAMES),
            "channel_name": frame["channel"].map(CHANNEL_NAMES),
            "address": frame["address"],
            "name": mask_names(name),
            "phone": mask_phones(frame["phone"]).where(frame["phone"].notna(), ""),
            "email": mask_emails(frame["email"]),
        }
    )
