"""DESIGN.md's figure definitions as vectorised predicates over incident rows.

Each function takes a DataFrame with the incident time columns (tz-aware, NaT where a stage was
not reached) and the moment `at`, and returns a boolean Series.  Comparisons with NaT are False,
which is exactly "not … at or before T".  The KPI service, the queue and the map all use these.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from services.domain import AT_RISK_SHARE, VALIDATION_LIMIT_HOURS


def _hours(values: pd.Series) -> pd.Series:
    return pd.to_timedelta(values, unit="h")


def deadline(incidents: pd.DataFrame) -> pd.Series:
    """dispatched_at + limit (NaT until dispatched)."""
    return incidents["dispatched_at"] + _hours(incidents["limit_hours"])


def is_open(incidents: pd.DataFrame, at: dt.datetime) -> pd.Series:
    return (incidents["reported_at"] <= at) & ~(incidents["rejected_at"] <= at) & ~(incidents["closed_at"] <= at)


def _running(incidents: pd.DataFrame, at: dt.datetime) -> pd.Series:
    return is_open(incidents, at) & (incidents["dispatched_at"] <= at) & ~(incidents["handled_at"] <= at)


def is_overdue(incidents: pd.DataFrame, at: dt.datetime) -> pd.Series:
    return _running(incidents, at) & (pd.Timestamp(at) > deadline(incidents))


def is_at_risk(incidents: pd.DataFrame, at: dt.datetime) -> pd.Series:
    warn_from = incidents["dispatched_at"] + _hours(incidents["limit_hours"] * AT_RISK_SHARE)
    return _running(incidents, at) & (pd.Timestamp(at) > warn_from) & ~is_overdue(incidents, at)


def is_validation_overdue(incidents: pd.DataFrame, at: dt.datetime) -> pd.Series:
    limit = pd.Timedelta(hours=VALIDATION_LIMIT_HOURS)
    return (
        (incidents["reported_at"] < pd.Timestamp(at) - limit)
        & ~(incidents["validated_at"] <= at)
        & ~(incidents["rejected_at"] <= at)
    )


def in_period(times: pd.Series, at: dt.datetime, days: int) -> pd.Series:
    """times in P = (at − days, at]."""
    return (times > pd.Timestamp(at) - pd.Timedelta(days=days)) & (times <= at)
