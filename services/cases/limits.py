"""Time limits of the workflow stages, keyed by category, severity and stage (数字城管 practice).
A county's `handling_limits` rows override the DESIGN.md defaults: validation within 24 h,
handling within 72 h from dispatch, 24 h for urgent cases."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from services.domain import CATEGORIES, DEFAULT_HANDLING_LIMIT_HOURS, SEVERITIES, VALIDATION_LIMIT_HOURS
from services.store.frames import query_frame
from services.store.models import HandlingLimit

LIMIT_STAGES = ("validation", "handling")
STAGE_NAMES = {"validation": "核实", "handling": "处置"}


@dataclasses.dataclass(frozen=True)
class Limit:
    stage: str
    hours: float
    from_table: bool  # a county rule rather than the DESIGN.md default

    def describe(self) -> str:
        source = "本县规定" if self.from_table else "默认时限"
        return f"{STAGE_NAMES[self.stage]}时限 {self.hours:g} 小时（{source}）"


def default_hours(stage: str, severity: str) -> float:
    return VALIDATION_LIMIT_HOURS if stage == "validation" else DEFAULT_HANDLING_LIMIT_HOURS[severity]


def find_limits(connection: Connection | Session, county_code: str, cases: pd.DataFrame, stage: str) -> pd.DataFrame:
    """The limit of `stage` for each row of `cases` (columns category, severity), index kept:
    hours, and from_table (the county's `handling_limits` row; else the DESIGN.md default).
    The one rule for new cases (the workflow) and imported ones alike."""
    rows = query_frame(
        connection,
        select(HandlingLimit.category, HandlingLimit.severity, HandlingLimit.hours).where(
            HandlingLimit.county_code == county_code,
            HandlingLimit.stage == stage,
            HandlingLimit.category.in_(cases["category"].unique().tolist()),
        ),
    )
    keys = cases[["category", "severity"]]
    found = keys.merge(rows, on=["category", "severity"], how="left")["hours"].astype(float).to_numpy()
    from_table = ~np.isnan(found)
    defaults = np.array([default_hours(stage, severity) for severity in keys["severity"]], dtype=float)
    return pd.DataFrame({"hours": np.where(from_table, found, defaults), "from_table": from_table}, index=cases.index)


def find_limit(session: Session, county_code: str, category: str, severity: str, stage: str) -> Limit:
    found = find_limits(session, county_code, pd.DataFrame({"category": [category], "severity": [severity]}), stage)
    return Limit(stage, float(found["hours"].iloc[0]), from_table=bool(found["from_table"].iloc[0]))


def default_limit_rows(county_code: str) -> pd.DataFrame:
    """The defaults as table rows, for a new county (every category × severity × stage)."""
    rows = [
        (county_code, category, severity, stage, default_hours(stage, severity))
        for category in CATEGORIES
        for severity in SEVERITIES
        for stage in LIMIT_STAGES
    ]
    return pd.DataFrame(rows, columns=["county_code", "category", "severity", "stage", "hours"])
