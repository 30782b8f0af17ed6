"""An incident's state and event log as implied by its stage times (DESIGN.md workflow).

Used where cases arrive with their history already made: the demo county and the import of an
older platform's incidents.  Live transitions append their events one at a time instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.domain import LEVEL_NAMES, LEVELS, WORKER_ROLE_NAMES

NOT_FIXED = ("duplicate", "not_our_responsibility", "no_action_needed")
EVENT_COLUMNS = (
    "county_code",
    "incident_id",
    "seq",
    "at",
    "actor",
    "action",
    "from_state",
    "to_state",
    "level",
    "note",
    "photo",
)


def state_from_stage_times(incidents: pd.DataFrame) -> np.ndarray:
    """The state reached by the last stage that has a time."""
    reached = {
        name: incidents[f"{name}_at"].notna().to_numpy()
        for name in ("closed", "rejected", "handled", "accepted", "dispatched", "validated")
    }
    return np.select(
        [
            reached["closed"],
            reached["rejected"],
            reached["handled"],
            reached["accepted"],
            reached["dispatched"],
            reached["validated"],
        ],
        ["closed", "invalid", "handled", "in_progress", "dispatched", "registered"],
        default="reported",
    )


def events_from_stage_times(incidents: pd.DataFrame, escalated_at: pd.Series) -> pd.DataFrame:
    """One event per transition, in time order, numbered per incident.

    `incidents` has incident_id, county_code, reporter, assignee_worker_id, level (the handling
    level reached), close_reason and the stage times; `escalated_at` (aligned by position) is when
    the case climbed to its level, NaT where it stayed in the grid.  Escalation climbs one rung at
    a time, each rung recorded at that moment."""
    ids = incidents["incident_id"].to_numpy()
    county = incidents["county_code"].to_numpy()
    worker = incidents["assignee_worker_id"].fillna(WORKER_ROLE_NAMES["worker"]).to_numpy()
    rung = pd.Series(incidents["level"].to_numpy()).map({name: i for i, name in enumerate(LEVELS)}).fillna(0).to_numpy()
    escalated = pd.to_datetime(pd.Series(np.asarray(escalated_at)), utc=True)
    frames = []

    def add(
        at: pd.Series | np.ndarray,
        action: str,
        from_state: str | None,
        to_state: str,
        actor: str | np.ndarray,
        level: str | None = None,
        note: str | None = None,
    ) -> None:
        at = pd.to_datetime(pd.Series(np.asarray(at)), utc=True)
        mask = at.notna().to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "county_code": county[mask],
                    "incident_id": ids[mask],
                    "at": at[mask].to_numpy(),
                    "actor": np.broadcast_to(np.asarray(actor, dtype=object), len(ids))[mask],
                    "action": action,
                    "from_state": from_state,
                    "to_state": to_state,
                    "level": level,
                    "note": note,
                }
            )
        )

    non_fixed = incidents["close_reason"].isin(NOT_FIXED).to_numpy()
    closed = incidents["closed_at"].to_numpy()
    add(incidents["reported_at"], "report", None, "reported", incidents["reporter"].fillna("群众").to_numpy(), "grid")
    add(incidents["validated_at"], "validate", "reported", "registered", "审核员")
    add(incidents["rejected_at"], "reject", "reported", "invalid", "审核员", note="经核实不属实")
    add(
        np.where(non_fixed, closed, np.datetime64("NaT")),
        "close",
        "registered",
        "closed",
        "审核员",
        note="非处置类结案",
    )
    add(incidents["dispatched_at"], "dispatch", "registered", "dispatched", "审核员")
    add(incidents["accepted_at"], "accept", "dispatched", "in_progress", worker)
    for target in (1, 2, 3):
        add(
            escalated.where(pd.Series(rung >= target)),
            "escalate",
            "in_progress",
            "in_progress",
            WORKER_ROLE_NAMES["grid_leader"],
            LEVELS[target],
            f"升级至{LEVEL_NAMES[LEVELS[target]]}处置",
        )
    add(incidents["handled_at"], "handle", "in_progress", "handled", worker, note="已处置完毕，附现场照片")
    add(
        np.where(non_fixed, np.datetime64("NaT"), closed),
        "verify",
        "handled",
        "closed",
        "审核员",
        note="核查通过，结案",
    )
    events = pd.concat(frames, ignore_index=True).sort_values(["incident_id", "at", "to_state"], kind="stable")
    events["seq"] = events.groupby("incident_id").cumcount() + 1
    events["photo"] = None
    return events[list(EVENT_COLUMNS)].reset_index(drop=True)
