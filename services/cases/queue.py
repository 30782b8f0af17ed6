"""The supervisors' work queue: open cases of the caller's area that need someone to act now."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.access.actor import Actor
from services.access.audit import require_area
from services.cases import rules
from services.cases.frames import query_incidents, select_incidents
from services.domain import INCIDENT_TIMES, LOCAL_TZ, OPEN_STATES, SEVERITY_NAMES, STATE_NAMES
from services.store.engine import SessionFactory
from services.store.models import Incident

# Most pressing first.
NEEDS = ("超期", "核实超时", "临期", "待核实", "待派遣", "待核查")


def load_queue(session_factory: SessionFactory, *, actor: Actor, area_code: str, at: dt.datetime) -> pd.DataFrame:
    """One row per case needing action: incident_id, grid_code, category, severity, state, need
    (one of NEEDS), reported_at, deadline, hours_left (negative when overdue), lon, lat; most
    pressing need first, then oldest."""
    scope = actor.scope
    require_area(session_factory, actor, area_code, at)
    columns = (
        "incident_id",
        "grid_code",
        "category",
        "subcategory",
        "severity",
        "state",
        "lon",
        "lat",
        *INCIDENT_TIMES,
        "limit_hours",
    )
    with session_factory() as session:
        frame = query_incidents(
            session,
            select_incidents(columns).where(
                Incident.county_code == scope.county_code,
                scope.within(Incident.grid_code, area_code),
                Incident.state.in_(OPEN_STATES),
            ),
        )
    state = frame["state"]
    need = np.select(
        [
            rules.is_overdue(frame, at),
            rules.is_validation_overdue(frame, at),
            rules.is_at_risk(frame, at),
            state == "reported",
            state == "registered",
            state == "handled",
        ],
        list(NEEDS),
        default="",
    )
    deadline = rules.deadline(frame)
    queue = pd.DataFrame(
        {
            "incident_id": frame["incident_id"],
            "grid_code": frame["grid_code"],
            "category": frame["category"] + "/" + frame["subcategory"].fillna(""),
            "severity": frame["severity"].map(SEVERITY_NAMES),
            "state": state.map(STATE_NAMES),
            "need": need,
            "reported_at": frame["reported_at"].dt.tz_convert(LOCAL_TZ).dt.strftime("%m-%d %H:%M"),
            "deadline": deadline.dt.tz_convert(LOCAL_TZ).dt.strftime("%m-%d %H:%M").fillna(""),
            "hours_left": ((deadline - pd.Timestamp(at)).dt.total_seconds() / 3600).round(1),
            "lon": frame["lon"],
            "lat": frame["lat"],
            "_rank": pd.Categorical(need, categories=[*NEEDS, ""], ordered=True),
            "_reported": frame["reported_at"],
        }
    )
    queue = queue[queue["need"] != ""].sort_values(["_rank", "_reported"])
    return queue.drop(columns=["_rank", "_reported"]).reset_index(drop=True)
