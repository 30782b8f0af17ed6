"""Incidents as DataFrames for the read models (queue, map, panels, figures, screen, detail):
the chosen columns of `incidents`, with every stage time as a UTC datetime (NaT where the stage
was not reached) and limit_hours as float, whichever engine the rows came from."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, Select, select
from sqlalchemy.orm import Session

from services.domain import INCIDENT_TIMES
from services.store.frames import query_frame
from services.store.models import Incident


def select_incidents(columns: Iterable[str]) -> Select:
    """SELECT of the named `Incident` columns, to be narrowed with `.where(…)`."""
    return select(*(getattr(Incident, column) for column in columns))


def typed_incidents(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its stage-time columns as UTC datetimes and limit_hours as float (SQLite
    returns naive datetimes, PostgreSQL aware ones; both are UTC)."""
    for column in INCIDENT_TIMES:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    if "limit_hours" in frame:
        frame["limit_hours"] = frame["limit_hours"].astype(float)
    return frame


def query_incidents(connection: Connection | Session, query: Select) -> pd.DataFrame:
    """The rows of `query` (a `select_incidents(…)` or any SELECT of incident columns) as a typed frame."""
    return typed_incidents(query_frame(connection, query))
