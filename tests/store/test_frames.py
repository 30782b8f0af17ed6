"""`query_frame`, the one way read models take rows as DataFrames, on both engines: instants as
datetime64[us, UTC] to the microsecond with NaT for NULL, the same frame whichever path builds it,
the shapes it leaves to the types' own conversion, and driver errors translated."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select

from services.errors import StoreError
from services.store.frames import query_frame
from services.store.models import Incident, IncidentEvent
from tests.factories import COUNTY, SHANGHAI, incident, seed_areas

REPORTED = dt.datetime(2026, 11, 20, 9, 15, 30, 123456, tzinfo=SHANGHAI)


@pytest.fixture
def cases(store):
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all(
            [
                incident("A", reported_at=REPORTED, validated_at=REPORTED + dt.timedelta(hours=2)),
                incident("B", reported_at=REPORTED + dt.timedelta(days=1, microseconds=1)),
                incident("C", reported_at=REPORTED - dt.timedelta(days=400), category='<b>&"=1+1'),
            ]
        )
        session.flush()
        session.add_all(
            [
                IncidentEvent(
                    county_code=COUNTY, incident_id=i, seq=1, at=t, actor="测试", action="report", to_state="x"
                )
                for i, t in (("A", REPORTED), ("B", REPORTED + dt.timedelta(days=1)))
            ]
        )
    return store


def utc(value: dt.datetime) -> pd.Timestamp:
    return pd.Timestamp(value).tz_convert("UTC")


def test_instants_come_back_to_the_microsecond_as_utc_with_nat_for_null(cases) -> None:
    with cases.session_factory() as session:
        frame = query_frame(
            session,
            select(Incident.incident_id, Incident.reported_at, Incident.validated_at).order_by(Incident.incident_id),
        )
        through_orm = session.execute(select(Incident.reported_at).order_by(Incident.incident_id)).scalars().all()
    assert str(frame["reported_at"].dtype) == "datetime64[us, UTC]" == str(frame["validated_at"].dtype)
    assert frame["reported_at"].tolist() == [
        utc(REPORTED),
        utc(REPORTED + dt.timedelta(days=1, microseconds=1)),
        utc(REPORTED - dt.timedelta(days=400)),
    ]
    assert [t.to_pydatetime() for t in frame["reported_at"]] == through_orm
    assert frame["validated_at"].isna().tolist() == [False, True, True]


def test_joins_orderings_and_labels_read_as_the_query_says(cases) -> None:
    query = (
        select(IncidentEvent.incident_id, IncidentEvent.at, Incident.reported_at.label("reported"), Incident.category)
        .join(
            Incident,
            (Incident.county_code == IncidentEvent.county_code) & (Incident.incident_id == IncidentEvent.incident_id),
        )
        .where(IncidentEvent.at > REPORTED - dt.timedelta(minutes=1))
        .order_by(IncidentEvent.at.desc())
    )
    with cases.session_factory() as session:
        frame = query_frame(session, query)
    assert list(frame.columns) == ["incident_id", "at", "reported", "category"]
    assert frame["incident_id"].tolist() == ["B", "A"]
    assert frame["at"].tolist() == [utc(REPORTED + dt.timedelta(days=1)), utc(REPORTED)]


def test_distinct_and_unlabelled_instants_keep_the_types_own_conversion(cases) -> None:
    with cases.session_factory() as session:
        distinct = query_frame(
            session, select(Incident.reported_at).distinct().order_by(Incident.reported_at.desc()).limit(2)
        )
        newest = query_frame(session, select(func.max(Incident.reported_at), func.count()))
    assert pd.to_datetime(distinct["reported_at"], utc=True).tolist()[0] == utc(
        REPORTED + dt.timedelta(days=1, microseconds=1)
    )
    assert len(newest.columns) == 2
    assert pd.Timestamp(newest.iloc[0, 0]) == utc(REPORTED + dt.timedelta(days=1, microseconds=1))


def test_plain_columns_give_the_frame_rows_would_give(cases) -> None:
    query = select(Incident.incident_id, Incident.category, Incident.limit_hours).order_by(Incident.incident_id)
    with cases.session_factory() as session:
        frame = query_frame(session, select(Incident.incident_id, Incident.category).order_by(Incident.incident_id))
        rows = session.execute(query).all()
    assert frame.values.tolist() == [[r.incident_id, r.category] for r in rows]
    assert frame["category"].tolist()[2] == '<b>&"=1+1'  # text as stored, nothing escaped here


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_an_error_while_fetching_from_the_driver_is_the_stores_error(cases) -> None:
    """SQLite computes rows as they are fetched: a failure on the second row surfaces in the
    frame's own fetch, outside SQLAlchemy, and is translated all the same."""
    with cases.engine.connect() as connection:
        connection.connection.dbapi_connection.create_function(
            "fails_on_b", 1, lambda value: 1 // 0 if value == "B" else value
        )
        with pytest.raises(StoreError):
            query_frame(
                connection,
                select(func.fails_on_b(Incident.incident_id).label("x")).order_by(Incident.incident_id),
            )
