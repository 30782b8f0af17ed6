"""One case as its dispatch panel shows it: details, the limit that applies and the time left,
the timeline of its events, its photos and the actions its state allows."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import select

from services.access.actor import Actor
from services.access.audit import refuse_item
from services.access.privacy import mask_names
from services.cases import rules
from services.cases.frames import typed_incidents
from services.cases.limits import Limit, find_limit
from services.cases.workflow import allowed_actions
from services.domain import (
    ACTION_NAMES,
    CHANNEL_NAMES,
    CLOSE_REASON_NAMES,
    INCIDENT_TIMES,
    LEVEL_NAMES,
    LOCAL_TZ,
    SEVERITY_NAMES,
    STATE_NAMES,
)
from services.errors import UnknownItemError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Department, Incident, IncidentEvent, IncidentPhoto, Worker


@dataclasses.dataclass(frozen=True)
class IncidentDetail:
    incident_id: str
    version: int
    state: str  # workflow key; `state_name` for people
    state_name: str
    category: str
    subcategory: str
    severity: str
    level: str
    channel: str
    reporter: str
    description: str
    grid_code: str
    lon: float
    lat: float
    assignee: str  # worker or department name, "" when none
    assignee_worker_id: str | None
    assignee_position: tuple[float, float] | None  # (lon, lat) of the assigned worker's last fix
    close_reason: str
    satisfaction: str
    duplicate_of: str | None
    reported_at: dt.datetime
    limit: Limit
    deadline: dt.datetime | None  # of the current stage
    remaining: dt.timedelta | None  # negative when past the deadline
    alarm: str
    timeline: pd.DataFrame  # seq, at, actor, action, change, level, note
    photos: tuple[tuple[str, str], ...]  # (path under the photo folder, original name)
    actions: tuple[str, ...]


def _shown_reporter(reporter: str, channel: str, events: pd.DataFrame) -> str:
    """A worker on patrol or the staff member who took the report is shown as recorded; a
    resident who called or wrote in is personal data, masked like a household head."""
    staff = channel == "patrol" or (not events.empty and reporter == events["actor"].iloc[0])
    return reporter if staff or not reporter else mask_names(pd.Series([reporter])).iloc[0]


def load_incident_detail(
    session_factory: SessionFactory, *, actor: Actor, incident_id: str, at: dt.datetime
) -> IncidentDetail:
    scope = actor.scope
    with session_factory() as session:
        incident = session.get(Incident, (scope.county_code, incident_id))
        if incident is None:
            raise UnknownItemError("事件", incident_id)
        if not scope.allows(incident.grid_code):
            raise refuse_item(session_factory, actor, at, "事件", incident_id)
        stage = "validation" if incident.state == "reported" else "handling"
        limit = find_limit(session, scope.county_code, incident.category, incident.severity, stage)
        if stage == "handling":  # the limit fixed when the case was reported (figures use the same)
            limit = Limit("handling", incident.limit_hours, from_table=limit.from_table)
        assignee = ""
        position: tuple[float, float] | None = None
        if incident.assignee_worker_id:
            worker = session.get(Worker, (scope.county_code, incident.assignee_worker_id))
            assignee = f"网格员 {worker.name}" if worker else incident.assignee_worker_id
            if worker is not None and worker.last_lon is not None and worker.last_lat is not None:
                position = (worker.last_lon, worker.last_lat)
        elif incident.assignee_department_id:
            department = session.get(Department, (scope.county_code, incident.assignee_department_id))
            assignee = department.name if department else incident.assignee_department_id
        events = query_frame(
            session,
            select(
                IncidentEvent.seq,
                IncidentEvent.at,
                IncidentEvent.actor,
                IncidentEvent.action,
                IncidentEvent.from_state,
                IncidentEvent.to_state,
                IncidentEvent.level,
                IncidentEvent.note,
            )
            .where(IncidentEvent.county_code == scope.county_code, IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.seq),
        )
        photos = session.execute(
            select(IncidentPhoto.path, IncidentPhoto.original_name)
            .where(IncidentPhoto.county_code == scope.county_code, IncidentPhoto.incident_id == incident_id)
            .order_by(IncidentPhoto.event_seq, IncidentPhoto.photo_id)
        ).all()
        times = {c: getattr(incident, c) for c in INCIDENT_TIMES}
        fields = {
            c: getattr(incident, c)
            for c in (
                "incident_id",
                "version",
                "state",
                "category",
                "severity",
                "level",
                "channel",
                "description",
                "grid_code",
                "lon",
                "lat",
                "assignee_worker_id",
                "close_reason",
                "satisfaction",
                "duplicate_of",
            )
        }
        subcategory, reporter = incident.subcategory or "", incident.reporter or ""
    frame = typed_incidents(pd.DataFrame([{**times, "limit_hours": limit.hours}]))
    if stage == "validation":
        deadline = times["reported_at"] + dt.timedelta(hours=limit.hours)
    else:
        deadline = times["dispatched_at"] + dt.timedelta(hours=limit.hours) if times["dispatched_at"] else None
    running = fields["state"] in ("reported", "registered", "dispatched", "in_progress")
    remaining = deadline - at if deadline is not None and running else None
    alarm = (
        "已超期"
        if rules.is_overdue(frame, at).iloc[0]
        else "临期"
        if rules.is_at_risk(frame, at).iloc[0]
        else "核实超时"
        if stage == "validation" and remaining is not None and remaining < dt.timedelta(0)
        else ""
    )
    timeline = pd.DataFrame(
        {
            "seq": events["seq"],
            "at": pd.to_datetime(events["at"], utc=True).dt.tz_convert(LOCAL_TZ).dt.strftime("%m-%d %H:%M"),
            "actor": events["actor"],
            "action": events["action"].map(ACTION_NAMES).fillna(events["action"]),
            "change": events["from_state"].map(STATE_NAMES).fillna("—") + " → " + events["to_state"].map(STATE_NAMES),
            "level": events["level"].map(LEVEL_NAMES).fillna(""),
            "note": events["note"].fillna(""),
        }
    )
    return IncidentDetail(
        incident_id=fields["incident_id"],
        version=fields["version"],
        state=fields["state"],
        state_name=STATE_NAMES[fields["state"]],
        category=fields["category"],
        subcategory=subcategory,
        severity=SEVERITY_NAMES[fields["severity"]],
        level=LEVEL_NAMES[fields["level"]],
        channel=CHANNEL_NAMES.get(fields["channel"], fields["channel"]),
        reporter=_shown_reporter(reporter, fields["channel"], events),
        description=fields["description"],
        grid_code=fields["grid_code"],
        lon=fields["lon"],
        lat=fields["lat"],
        assignee=assignee,
        assignee_worker_id=fields["assignee_worker_id"],
        assignee_position=position,
        close_reason=CLOSE_REASON_NAMES.get(fields["close_reason"] or "", ""),
        satisfaction=fields["satisfaction"] or "",
        duplicate_of=fields["duplicate_of"],
        reported_at=times["reported_at"],
        limit=limit,
        deadline=deadline,
        remaining=remaining,
        alarm=alarm,
        timeline=timeline,
        photos=tuple((p.path, p.original_name) for p in photos),
        actions=tuple(a for a in allowed_actions(fields["state"]) if actor.may_act(a)),
    )
