"""Time limits of the workflow stages, keyed by category, severity and stage (数字城管 practice).
A county's `handling_limits` rows override the DESIGN.md defaults: validation within 24 h,
handling within 72 h from dispatch, 24 h for urgent cases."""

from __future__ import annotations

import dataclasses

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.domain import CATEGORIES, DEFAULT_HANDLING_LIMIT_HOURS, SEVERITIES, VALIDATION_LIMIT_HOURS
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


def find_limit(session: Session, county_code: str, category: str, severity: str, stage: str) -> Limit:
    hours = session.scalar(
        select(HandlingLimit.hours).where(
            HandlingLimit.county_code == county_code,
            HandlingLimit.category == category,
            HandlingLimit.severity == severity,
            HandlingLimit.stage == stage,
        )
    )
    if hours is None:
        return Limit(stage, default_hours(stage, severity), from_table=False)
    return Limit(stage, float(hours), from_table=True)


def default_limit_rows(county_code: str) -> pd.DataFrame:
    """The defaults as table rows, for a new county (every category × severity × stage)."""
    rows = [
        (county_code, category, severity, stage, default_hours(stage, severity))
        for category in CATEGORIES
        for severity in SEVERITIES
        for stage in LIMIT_STAGES
    ]
    return pd.DataFrame(rows, columns=["county_code", "category", "severity", "stage", "hours"])
