"""The incident workflow of DESIGN.md as services: one function per transition.

Each transition, in one transaction: checks that the caller saw the current version of the case
(a supervisor acting on a stale panel is told so, and nothing changes), that the action is allowed
from the current state, and its own inputs; updates the case (the stage times are a projection of
the events) and appends one event.  The version column makes two concurrent transitions on the
same case end with exactly one winner on both engines: the loser's UPDATE matches no row (on
PostgreSQL), or the loser reads the winner's version (SQLite runs write transactions one at a time).

    reported ─validate─▶ registered ─dispatch─▶ dispatched ─accept─▶ in_progress ─handle─▶ handled ─verify─▶ closed
       └─reject─▶ invalid    ▲  └─call_department─▶ dispatched            escalate ─▶ registered    └─reopen─▶ in_progress
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from geo.assign import NO_GRID, assign_grids
from services.access.actor import Actor
from services.access.audit import refuse_item, require_permission
from services.access.scope import Scope
from services.cases.limits import find_limit
from services.domain import (
    ACTION_NAMES,
    CATEGORIES,
    CHANNELS,
    CLOSE_REASONS,
    LEVELS,
    LOCAL_TZ,
    SATISFACTION,
    SEVERITIES,
    STATE_NAMES,
)
from services.errors import (
    InvalidArgumentError,
    MissingInputError,
    NotAcceptedCategoryError,
    PointOutsideGridsError,
    StaleIncidentError,
    StoreConflictError,
    TransitionNotAllowedError,
    UnknownItemError,
)
from services.store.engine import SessionFactory
from services.store.models import (
    Area,
    Department,
    DepartmentCategory,
    Incident,
    IncidentCounter,
    IncidentEvent,
    IncidentPhoto,
    Worker,
    WorkerGrid,
    table_of,
)


@dataclasses.dataclass(frozen=True)
class Transition:
    name: str  # Chinese label of the action
    from_states: tuple[str, ...]
    to_state: str | None  # None: the state stays (escalate moves the level, not the stage)


TRANSITIONS: dict[str, Transition] = {
    "validate": Transition(ACTION_NAMES["validate"], ("reported",), "registered"),
    "reject": Transition(ACTION_NAMES["reject"], ("reported",), "invalid"),
    "dispatch": Transition(ACTION_NAMES["dispatch"], ("registered", "dispatched"), "dispatched"),
    "call_department": Transition(
        ACTION_NAMES["call_department"], ("registered", "dispatched", "in_progress"), "dispatched"
    ),
    "accept": Transition(ACTION_NAMES["accept"], ("dispatched",), "in_progress"),
    "handle": Transition(ACTION_NAMES["handle"], ("in_progress",), "handled"),
    "verify": Transition(ACTION_NAMES["verify"], ("handled",), "closed"),
    "reopen": Transition(ACTION_NAMES["reopen"], ("handled", "closed"), "in_progress"),
    "close": Transition(ACTION_NAMES["close"], ("reported", "registered", "dispatched", "in_progress"), "closed"),
    "mark_duplicate": Transition(ACTION_NAMES["mark_duplicate"], ("reported", "registered"), "closed"),
    "escalate": Transition(ACTION_NAMES["escalate"], ("registered", "dispatched", "in_progress"), "registered"),
}
NOT_FIXED_REASONS = tuple(r for r in CLOSE_REASONS if r not in ("fixed", "duplicate"))
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
INCIDENT_ID_PREFIX = "SJ"
INCIDENT_NUMBER_DIGITS = 4  # SJyyyymmddNNNN; a county's 10,000th report of a day gets a fifth digit
REPORT_ATTEMPTS = 3
MAX_PHOTO_BYTES = 10 * 2**20


@dataclasses.dataclass(frozen=True)
class CaseAction:
    """Who acts on which case, and when, having seen which version of it (the optimistic check:
    a panel that shows version 3 can only change version 3)."""

    actor: Actor
    now: dt.datetime
    incident_id: str
    expected_version: int


@dataclasses.dataclass(frozen=True)
class Photo:
    name: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class TransitionResult:
    incident_id: str
    state: str
    version: int
    warnings: tuple[str, ...] = ()
    grid_code: str = ""


def allowed_actions(state: str) -> tuple[str, ...]:
    return tuple(action for action, t in TRANSITIONS.items() if state in t.from_states)


def _require_text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise MissingInputError(f"请填写{what}")
    return text


class _OutOfScope(Exception):
    """The case lies outside the actor's areas (refused on the record once its transaction ended)."""


@dataclasses.dataclass
class _Step:
    """What a transition writes besides the state: the event's note, level and photos."""

    note: str | None = None
    level: str | None = None
    photos: Sequence[Photo] = ()
    warnings: list[str] = dataclasses.field(default_factory=list)


def _transition(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    action: str,
    change: Callable[[Session, Incident, _Step], None],
    photo_dir: Path | None = None,
) -> TransitionResult:
    actor, now, incident_id = case.actor, case.now, case.incident_id
    scope = actor.scope
    if now.tzinfo is None:
        raise InvalidArgumentError("时间必须带时区")
    transition = TRANSITIONS[action]
    require_permission(session_factory, actor, f"workflow:{action}", now, f"事件 {incident_id}")
    written: list[Path] = []
    try:
        with session_factory.begin() as session:
            incident = session.get(Incident, (scope.county_code, incident_id))
            if incident is None:
                raise UnknownItemError("事件", incident_id)
            if not scope.allows(incident.grid_code):
                raise _OutOfScope
            if incident.version != case.expected_version:
                raise StaleIncidentError(
                    f"事件 {incident_id} 已被他人处理（当前状态：{STATE_NAMES[incident.state]}），请查看最新情况后再操作"
                )
            if incident.state not in transition.from_states:
                raise TransitionNotAllowedError(
                    f"事件 {incident_id} 当前为「{STATE_NAMES[incident.state]}」，不能{transition.name}"
                )
            from_state = incident.state
            step = _Step()
            change(session, incident, step)
            if transition.to_state is not None:
                incident.state = transition.to_state
            session.flush()  # the version check: a concurrent winner leaves this UPDATE no row
            seq = (
                session.scalar(
                    select(func.max(IncidentEvent.seq)).where(
                        IncidentEvent.county_code == scope.county_code, IncidentEvent.incident_id == incident_id
                    )
                )
                or 0
            ) + 1
            session.add(
                IncidentEvent(
                    county_code=scope.county_code,
                    incident_id=incident_id,
                    seq=seq,
                    at=now,
                    actor=actor.label,
                    action=action,
                    from_state=from_state,
                    to_state=incident.state,
                    level=step.level or incident.level,
                    note=step.note,
                )
            )
            session.flush()
            for photo in step.photos:
                written.append(_save_photo(session, photo_dir, scope.county_code, incident_id, seq, photo))
            result = TransitionResult(incident_id, incident.state, incident.version, tuple(step.warnings))
    except _OutOfScope:
        # On record only now: on SQLite a second write transaction inside this one would wait for it.
        raise refuse_item(session_factory, actor, now, "事件", incident_id) from None
    except (StaleDataError, StoreConflictError) as error:
        _remove(written)
        raise StaleIncidentError(f"事件 {incident_id} 刚刚被他人处理，本次操作未生效，请查看最新情况") from error
    except BaseException:
        _remove(written)
        raise
    return result


def _save_photo(
    session: Session, photo_dir: Path | None, county: str, incident_id: str, seq: int, photo: Photo
) -> Path:
    if photo_dir is None:
        raise InvalidArgumentError("未配置照片目录")
    photo_id = str(uuid.uuid4())
    relative = Path(county) / incident_id / f"{photo_id}{Path(photo.name).suffix.lower()}"
    target = photo_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(photo.data)
    session.add(
        IncidentPhoto(
            county_code=county,
            incident_id=incident_id,
            photo_id=photo_id,
            event_seq=seq,
            path=relative.as_posix(),
            original_name=photo.name[:128],
        )
    )
    return target


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _check_photos(photos: Sequence[Photo]) -> None:
    if not photos:
        raise MissingInputError("处置完毕需要至少一张现场照片")
    for photo in photos:
        if Path(photo.name).suffix.lower() not in PHOTO_SUFFIXES:
            raise MissingInputError(f"照片 {photo.name} 格式不支持，请上传 jpg、png 或 webp")
        if not photo.data or len(photo.data) > MAX_PHOTO_BYTES:
            raise MissingInputError(f"照片 {photo.name} 为空或超过 10 MB")


# --- report ----------------------------------------------------------------------------------


def report_incident(
    session_factory: SessionFactory,
    *,
    actor: Actor,
    now: dt.datetime,
    category: str,
    subcategory: str,
    severity: str,
    lon: float,
    lat: float,
    description: str,
    channel: str,
    reporter: str | None = None,
    also: Callable[[Session, str], None] | None = None,
) -> TransitionResult:
    """A new case at (lon, lat); its grid is the grid inside the actor's scope that contains the point.
    Its id is SJ, the local day and the day's next number (SJyyyymmddNNNN), taken from the county's
    counter of that day, so that simultaneous reports all land, each under its own id.
    `also(session, incident_id)` runs inside the case's own transaction: what the caller keeps beside
    the case (an intake record) lands with it or not at all, and an exception it raises undoes both."""
    require_permission(session_factory, actor, "workflow:report", now, "新建事件")
    scope = actor.scope
    if subcategory not in CATEGORIES.get(category, ()):
        raise InvalidArgumentError(f"事件类别 {category}/{subcategory} 不在分类目录中")
    if severity not in SEVERITIES or channel not in CHANNELS:
        raise InvalidArgumentError("紧急程度或来源渠道无效")
    text = _require_text(description, "事件描述")
    county = scope.county_code
    with session_factory() as session:  # read before the write transaction, which stays short
        grid_code = _grid_of_point(session, scope, lon, lat)
        limit = find_limit(session, county, category, severity, "handling")
    fields = dict(
        county_code=county,
        grid_code=grid_code,
        category=category,
        subcategory=subcategory,
        severity=severity,
        lon=lon,
        lat=lat,
        description=text,
        channel=channel,
        reporter=reporter or actor.label,
        state="reported",
        level="grid",
        limit_hours=limit.hours,
        reported_at=now,
    )
    for _ in range(REPORT_ATTEMPTS - 1):
        # A conflict means an import wrote this very id between our check and our insert
        # (PostgreSQL): the counter's step was rolled back with the rest, and the next attempt
        # sees the import's row.
        with contextlib.suppress(StoreConflictError):
            return _write_report(session_factory, fields, actor.label, also)
    return _write_report(session_factory, fields, actor.label, also)


def _write_report(
    session_factory: SessionFactory,
    fields: dict[str, Any],
    actor_label: str,
    also: Callable[[Session, str], None] | None,
) -> TransitionResult:
    """The new case and its first event under the next id of its day, in one short transaction."""
    with session_factory.begin() as session:
        incident_id = add_report(session, fields, actor_label)
        if also is not None:
            also(session, incident_id)
    return TransitionResult(incident_id, "reported", 1, grid_code=fields["grid_code"])


def add_report(session: Session, fields: dict[str, Any], actor_label: str) -> str:
    """Adds a new case in 待核实 and its report event to the caller's transaction, under the next id
    of its local day; `fields` are the incident's columns (grid, limit and text already checked).
    For a caller that writes many cases in one transaction (the 12345 work-order import)."""
    county, now = fields["county_code"], fields["reported_at"]
    incident_id = _take_incident_id(session, county, now.astimezone(LOCAL_TZ).date())
    session.add(Incident(incident_id=incident_id, **fields))
    session.flush()
    session.add(
        IncidentEvent(
            county_code=county,
            incident_id=incident_id,
            seq=1,
            at=now,
            actor=actor_label,
            action="report",
            from_state=None,
            to_state="reported",
            level="grid",
            note=fields["description"],
        )
    )
    return incident_id


def incident_id_of(day: dt.date, number: int) -> str:
    return f"{INCIDENT_ID_PREFIX}{day:%Y%m%d}{number:0{INCIDENT_NUMBER_DIGITS}d}"


def _take_incident_id(session: Session, county: str, day: dt.date) -> str:
    """The next free id of the county's day, from its counter.  Ids the counter did not hand out
    (imported cases, the demo) are skipped: the counter jumps past the highest one stored."""
    number = _next_number(session, county, day, at_least=1)
    while session.scalar(
        select(Incident.incident_id).where(
            Incident.county_code == county, Incident.incident_id == incident_id_of(day, number)
        )
    ):
        number = _next_number(session, county, day, at_least=_highest_stored_number(session, county, day) + 1)
    return incident_id_of(day, number)


def _next_number(session: Session, county: str, day: dt.date, *, at_least: int) -> int:
    """Counter + 1 (at least `at_least`) in one atomic statement: INSERT … ON CONFLICT DO UPDATE …
    RETURNING, which SQLite ≥ 3.35 and PostgreSQL both run; concurrent callers queue on the row."""
    table = table_of(IncidentCounter)
    row = {"county_code": county, "day": day, "last_number": at_least}
    values: postgresql.Insert | sqlite.Insert
    if session.get_bind().dialect.name == "postgresql":
        values = postgresql.insert(table).values(row)
        highest = func.greatest(table.c.last_number + 1, values.excluded.last_number)
    else:
        values = sqlite.insert(table).values(row)
        highest = func.max(table.c.last_number + 1, values.excluded.last_number)  # SQLite's max() of two is scalar
    statement = values.on_conflict_do_update(
        index_elements=[table.c.county_code, table.c.day], set_={"last_number": highest}
    ).returning(table.c.last_number)
    return int(session.execute(statement).scalar_one())


def _highest_stored_number(session: Session, county: str, day: dt.date) -> int:
    prefix = incident_id_of(day, 0)[:-INCIDENT_NUMBER_DIGITS]
    ids = session.scalars(
        select(Incident.incident_id).where(
            Incident.county_code == county, Incident.incident_id.startswith(prefix, autoescape=True)
        )
    )
    suffixes = (incident_id[len(prefix) :] for incident_id in ids)
    return max((int(s) for s in suffixes if s.isdigit()), default=0)


def _grid_of_point(session: Session, scope: Scope, lon: float, lat: float) -> str:
    rows = session.execute(
        select(Area.code, Area.geom).where(
            Area.county_code == scope.county_code, Area.level == "grid", scope.filter(Area.code)
        )
    ).all()
    codes = np.array([r.code for r in rows], dtype=object)
    hit = assign_grids(shapely.points([lon], [lat]), np.array([r.geom for r in rows], dtype=object), codes)[0]
    if not rows or hit == NO_GRID:
        raise PointOutsideGridsError(f"位置（{lon:.5f}, {lat:.5f}）不在您管辖的任何网格内")
    return str(codes[hit])


# --- transitions -----------------------------------------------------------------------------


def validate_incident(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    note: str | None = None,
) -> TransitionResult:
    def change(session: Session, incident: Incident, step: _Step) -> None:
        incident.validated_at = case.now
        step.note = (note or "").strip() or None

    return _transition(
        session_factory,
        case,
        action="validate",
        change=change,
    )


def reject_incident(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    reason: str,
) -> TransitionResult:
    text = _require_text(reason, "判为无效的理由")

    def change(session: Session, incident: Incident, step: _Step) -> None:
        incident.rejected_at = case.now
        step.note = text

    return _transition(
        session_factory,
        case,
        action="reject",
        change=change,
    )


def _assign(
    incident: Incident,
    step: _Step,
    now: dt.datetime,
    *,
    worker_id: str | None = None,
    department_id: str | None = None,
    note: str,
    extra: str | None,
) -> None:
    """Make a worker or a department the assignee.  The first dispatch starts the handling clock;
    reassigning does not restart the citizen's clock."""
    incident.assignee_worker_id = worker_id
    incident.assignee_department_id = department_id
    if incident.dispatched_at is None:
        incident.dispatched_at = now
    step.note = note + (f"：{extra.strip()}" if extra and extra.strip() else "")


def dispatch_incident(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    worker_id: str,
    note: str | None = None,
) -> TransitionResult:
    """To a worker; a worker neither responsible for the case's grid nor on duty is allowed, with
    a warning (the supervisor may know better)."""

    def change(session: Session, incident: Incident, step: _Step) -> None:
        worker = session.get(Worker, (case.actor.county_code, worker_id))
        held = session.scalars(
            select(WorkerGrid.grid_code).where(
                WorkerGrid.county_code == case.actor.county_code, WorkerGrid.worker_id == worker_id
            )
        ).all()
        if worker is None or not any(case.actor.scope.allows(g) for g in held):
            raise UnknownItemError("网格员", worker_id)
        responsible = session.get(WorkerGrid, (case.actor.county_code, worker_id, incident.grid_code)) is not None
        if not responsible and not worker.on_duty:
            step.warnings.append(f"{worker.name} 不负责网格 {incident.grid_code}，且当前不在岗")
        _assign(incident, step, case.now, worker_id=worker_id, note=f"派给 {worker.name}", extra=note)

    return _transition(
        session_factory,
        case,
        action="dispatch",
        change=change,
    )


def call_department(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    department_id: str,
    note: str | None = None,
) -> TransitionResult:
    """吹哨报到: the department becomes the assignee; it must accept the case's category."""

    def change(session: Session, incident: Incident, step: _Step) -> None:
        department = session.get(Department, (case.actor.county_code, department_id))
        if department is None:
            raise UnknownItemError("部门", department_id)
        if session.get(DepartmentCategory, (case.actor.county_code, department_id, incident.category)) is None:
            raise NotAcceptedCategoryError(f"{department.name} 不受理「{incident.category}」类事件")
        _assign(incident, step, case.now, department_id=department_id, note=f"吹哨 {department.name}", extra=note)

    return _transition(
        session_factory,
        case,
        action="call_department",
        change=change,
    )


def accept_incident(
    session_factory: SessionFactory,
    case: CaseAction,
) -> TransitionResult:
    def change(session: Session, incident: Incident, step: _Step) -> None:
        incident.accepted_at = case.now

    return _transition(
        session_factory,
        case,
        action="accept",
        change=change,
    )


def handle_incident(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    note: str,
    photos: Sequence[Photo],
    photo_dir: Path,
) -> TransitionResult:
    text = _require_text(note, "处置情况说明")
    _check_photos(photos)

    def change(session: Session, incident: Incident, step: _Step) -> None:
        incident.handled_at = case.now
        step.note = text
        step.photos = photos

    return _transition(
        session_factory,
        case,
        action="handle",
        change=change,
        photo_dir=photo_dir,
    )


def verify_incident(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    satisfaction: str | None = None,
    note: str | None = None,
) -> TransitionResult:
    """核查结案 by someone other than the one who recorded the handling; closed as fixed."""
    if satisfaction is not None and satisfaction not in SATISFACTION:
        raise InvalidArgumentError(f"满意度只能是 {'、'.join(SATISFACTION)}")

    def change(session: Session, incident: Incident, step: _Step) -> None:
        handler = session.scalar(
            select(IncidentEvent.actor)
            .where(
                IncidentEvent.county_code == case.actor.county_code,
                IncidentEvent.incident_id == case.incident_id,
                IncidentEvent.action == "handle",
            )
            .order_by(IncidentEvent.seq.desc())
            .limit(1)
        )
        if handler == case.actor.label:
            raise TransitionNotAllowedError("核查须由处置人以外的人员进行")
        incident.closed_at = case.now
        incident.close_reason = "fixed"
        incident.satisfaction = satisfaction
        step.note = (
            "；".join(x for x in ((f"满意度：{satisfaction}" if satisfaction else ""), (note or "").strip()) if x)
            or None
        )

    return _transition(
        session_factory,
        case,
        action="verify",
        change=change,
    )


def reopen_incident(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    reason: str,
) -> TransitionResult:
    """Back to in progress (verification failed, or a closed case came back)."""
    text = _require_text(reason, "重新处置的理由")

    def change(session: Session, incident: Incident, step: _Step) -> None:
        incident.handled_at = None
        incident.closed_at = None
        incident.close_reason = None
        incident.satisfaction = None
        step.note = text

    return _transition(
        session_factory,
        case,
        action="reopen",
        change=change,
    )


def close_incident(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    reason: str,
    note: str,
) -> TransitionResult:
    """Closed without a fix: not our responsibility, or no action needed (figures keep these apart
    from fixed closures)."""
    if reason not in NOT_FIXED_REASONS:
        raise InvalidArgumentError(f"结案原因只能是 {', '.join(NOT_FIXED_REASONS)}（重复事件请用“合并为重复”）")
    text = _require_text(note, "结案说明")

    def change(session: Session, incident: Incident, step: _Step) -> None:
        incident.closed_at = case.now
        incident.close_reason = reason
        step.note = text

    return _transition(
        session_factory,
        case,
        action="close",
        change=change,
    )


def mark_duplicate(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    original_id: str,
) -> TransitionResult:
    """Closed as a duplicate of an earlier case, and linked to it."""
    if original_id == case.incident_id:
        raise InvalidArgumentError("不能把事件标为它自己的重复")

    def change(session: Session, incident: Incident, step: _Step) -> None:
        original = session.get(Incident, (case.actor.county_code, original_id))
        if original is None or not case.actor.scope.allows(original.grid_code):
            raise UnknownItemError("事件", original_id)
        incident.closed_at = case.now
        incident.close_reason = "duplicate"
        incident.duplicate_of = original_id
        step.note = f"与 {original_id} 重复"

    return _transition(
        session_factory,
        case,
        action="mark_duplicate",
        change=change,
    )


def escalate_incident(
    session_factory: SessionFactory,
    case: CaseAction,
    *,
    reason: str,
) -> TransitionResult:
    """One rung up the ladder (网格 → 村居 → 乡镇 → 县级); the case waits for dispatch there."""
    text = _require_text(reason, "上报上级的理由")

    def change(session: Session, incident: Incident, step: _Step) -> None:
        rung = LEVELS.index(incident.level)
        if rung + 1 >= len(LEVELS):
            raise TransitionNotAllowedError(f"事件 {case.incident_id} 已在县级会诊，无法再上报")
        incident.level = LEVELS[rung + 1]
        incident.assignee_worker_id = None
        incident.assignee_department_id = None
        step.level = incident.level
        step.note = text

    return _transition(
        session_factory,
        case,
        action="escalate",
        change=change,
    )
