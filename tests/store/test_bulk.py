"""`insert_frame` (COPY text on PostgreSQL, executemany on SQLite) writes what the ORM writes:
hostile text with tabs, newlines, backslashes and a literal \\N, empty text against NULL, missing
numbers and instants, dates, booleans and geometry all read back equal to the same values
written through the ORM, on both engines."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import shapely
from sqlalchemy import inspect, select

from services.store.bulk import COPY_CHUNK, insert_frame
from services.store.models import (
    Area,
    AssessmentPublication,
    AssessmentScore,
    Base,
    PatrolDay,
    PatrolLog,
    Worker,
    table_of,
)
from tests.factories import COUNTY
from tests.hostile import FORMULAS, PAYLOADS

TEXTS = ["a\tb", "line\nnext\r\nlast", "back\\slash \\N \\t", "\\N", "", *PAYLOADS[:3], FORMULAS[0], "中文 ，。"]
AT = dt.datetime(2026, 11, 20, 0, 30, 15, 123456, tzinfo=dt.UTC)
SQUARE = shapely.multipolygons([shapely.box(115.0, 37.0, 115.01, 37.01)])


def rows_of_each_kind() -> dict[type[Base], list[dict[str, object]]]:
    count = len(TEXTS)
    return {
        Area: [
            {
                "code": f"1305329{n:08d}",
                "level": "grid",
                "name": TEXTS[n],
                "parent_code": None if n % 2 else TEXTS[n][:15],
            }
            | {"geom": SQUARE, "synthetic": bool(n % 2)}
            for n in range(count)
        ],
        Worker: [
            {"worker_id": f"W{n}", "name": TEXTS[n][:32], "phone": None if n % 3 else "138 0000", "role": "grid_worker"}
            | {"role_title": TEXTS[n][:16] if n % 2 else None, "on_duty": bool(n % 2)}
            | {"last_lon": None if n % 2 else 115.0 + n / 7, "last_lat": 37.1, "last_fix_at": None if n % 2 else AT}
            for n in range(count)
        ],
        PatrolLog: [
            {"worker_id": "W1", "logged_at": AT + dt.timedelta(minutes=n), "grid_code": "130532101201001"}
            | {"text": TEXTS[n] * 3, "households_visited": n}
            for n in range(count)
        ],
        PatrolDay: [
            {"worker_id": f"W{n}", "day": dt.date(2026, 11, 1) + dt.timedelta(days=n), "fixes": n * 100}
            | {"first_ts": AT, "last_ts": AT + dt.timedelta(hours=n), "distance_m": n * 1234.5, "patrol_s": n}
            | {"stops": n, "outside_share": n / 3, "visited": n, "flags": "still|regular" if n % 2 else ""}
            for n in range(count)
        ],
    }


def stored(session, model: type[Base], county: str) -> list[dict[str, object]]:
    mapper = inspect(model)
    keys = [c.key for c in mapper.primary_key]
    objects = session.scalars(select(model).where(model.county_code == county).order_by(*mapper.primary_key))
    return [
        {c.key: getattr(o, c.key) for c in mapper.column_attrs if c.key not in ("county_code",)} for o in objects
    ] or [{"keys": keys}]


def test_rows_written_in_bulk_read_back_as_the_same_rows_written_through_the_orm(store) -> None:
    kinds = rows_of_each_kind()
    with store.session_factory.begin() as session:
        for model, rows in kinds.items():
            session.add_all(model(county_code=COUNTY, **row) for row in rows)
    with store.engine.begin() as connection:
        for model, rows in kinds.items():
            assert insert_frame(connection, table_of(model), pd.DataFrame(rows).assign(county_code="130533")) == len(
                rows
            )
    with store.session_factory() as session:
        for model in kinds:
            through_orm, in_bulk = stored(session, model, COUNTY), stored(session, model, "130533")
            assert len(in_bulk) == len(kinds[model])
            for orm_row, bulk_row in zip(through_orm, in_bulk, strict=True):
                geometry = {k for k, v in orm_row.items() if isinstance(v, shapely.Geometry)}
                assert all(shapely.equals_exact(orm_row[k], bulk_row[k], tolerance=0) for k in geometry)
                assert {k: v for k, v in orm_row.items() if k not in geometry} == {
                    k: v for k, v in bulk_row.items() if k not in geometry
                }
        texts = session.scalars(select(PatrolLog.text).where(PatrolLog.county_code == "130533")).all()
    assert sorted(texts) == sorted(t * 3 for t in TEXTS)


def test_a_frame_longer_than_a_copy_chunk_is_written_whole(store) -> None:
    count = COPY_CHUNK + 7
    frame = pd.DataFrame(
        {
            "county_code": COUNTY,
            "worker_id": "W1",
            "logged_at": pd.date_range(AT, periods=count, freq="s"),
            "grid_code": "130532101201001",
            "text": [TEXTS[n % len(TEXTS)] for n in range(count)],
            "households_visited": range(count),
        }
    )
    with store.engine.begin() as connection:
        assert insert_frame(connection, table_of(PatrolLog), frame) == count
    with store.session_factory() as session:
        last = session.scalars(select(PatrolLog).order_by(PatrolLog.logged_at.desc()).limit(1)).one()
    assert (last.logged_at, last.text, last.households_visited) == (
        AT + dt.timedelta(seconds=count - 1),
        TEXTS[(count - 1) % len(TEXTS)],
        count - 1,
    )


def test_text_held_in_several_arrow_chunks_is_written_whole(store) -> None:
    """Frames put together (`pd.concat`, as the import's parts are) hold their text columns in
    chunks of Arrow arrays."""
    halves = [
        pd.DataFrame(
            {
                "county_code": COUNTY,
                "worker_id": pd.Series([f"W{half}{n}" for n in range(3)], dtype="str"),
                "logged_at": pd.date_range(AT + dt.timedelta(hours=half), periods=3, freq="s"),
                "grid_code": "130532101201001",
                "text": pd.Series(TEXTS[half * 3 : half * 3 + 3], dtype="str"),
                "households_visited": 1,
            }
        )
        for half in range(2)
    ]
    frame = pd.concat(halves, ignore_index=True)
    assert frame["text"].array._pa_array.num_chunks == 2
    with store.engine.begin() as connection:
        assert insert_frame(connection, table_of(PatrolLog), frame) == 6
    with store.session_factory() as session:
        rows = session.execute(select(PatrolLog.worker_id, PatrolLog.text).order_by(PatrolLog.logged_at)).all()
    assert [tuple(r) for r in rows] == list(zip(frame["worker_id"], frame["text"], strict=True))


def test_numbers_read_back_exactly_and_a_nullable_integer_column_stays_integer(store) -> None:
    # Floats go out as their shortest repr and must read back bit for bit; a nullable integer
    # column (pandas Int64 with <NA>) must not turn into "1.0" on the way.
    floats = [0.1 + 0.2, 1e-05, 115.1234567, -3.25, 1e20, 37.000000000000014, 2.5]
    month = dt.date(2026, 11, 1)
    with store.session_factory.begin() as session:
        session.add(
            AssessmentPublication(
                county_code=COUNTY,
                month=month,
                version=1,
                rule_version=1,
                cutoff=AT,
                published_at=AT,
                published_by="chief",
                publisher_name="王建国",
            )
        )
    scores = pd.DataFrame(
        {
            "county_code": COUNTY,
            "month": month,
            "version": 1,
            "worker_id": [f"W{n}" for n in range(len(floats))],
            "name": TEXTS[: len(floats)],
            "township_code": "130532101",
            "total": floats,
            "grade": "优秀",
            "valid_reports": range(len(floats)),
            "county_rank": pd.array([1, None, 3, None, 5, 6, None], dtype="Int64"),
            "township_rank": pd.array([None] * len(floats), dtype="Int64"),
        }
    )
    with store.engine.begin() as connection:
        assert insert_frame(connection, table_of(AssessmentScore), scores) == len(floats)
    with store.session_factory() as session:
        rows = session.scalars(select(AssessmentScore).order_by(AssessmentScore.worker_id)).all()
    assert [r.county_rank for r in rows] == [1, None, 3, None, 5, 6, None]
    assert [r.township_rank for r in rows] == [None] * len(floats)
    assert [r.valid_reports for r in rows] == list(range(len(floats)))
    assert [repr(r.total) for r in rows] == [repr(v) for v in floats]
