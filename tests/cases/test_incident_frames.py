"""The one loader of incident frames for the read models, on both engines."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from services.cases.frames import query_incidents, select_incidents
from services.store.models import Incident
from tests.factories import T, incident, seed_areas


def test_stage_times_come_back_as_utc_datetimes_and_limits_as_floats(store) -> None:
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add(incident("E1", reported_at=T, validated_at=T + dt.timedelta(hours=1), limit_hours=24))
    with store.session_factory() as session:
        frame = query_incidents(
            session,
            select_incidents(("incident_id", "reported_at", "validated_at", "dispatched_at", "limit_hours")).where(
                Incident.incident_id == "E1"
            ),
        )
    assert all(str(frame[c].dtype).endswith(", UTC]") for c in ("reported_at", "validated_at", "dispatched_at"))
    row = frame.iloc[0]
    assert row["reported_at"] == pd.Timestamp(T) and row["reported_at"].hour == (T.hour - 8) % 24
    assert pd.isna(row["dispatched_at"])
    assert frame["limit_hours"].dtype == float and row["limit_hours"] == 24.0
