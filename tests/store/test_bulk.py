"""`insert_frame` (COPY text on PostgreSQL; on SQLite a JSON document a statement, or executemany
where a value has no plain JSON form) writes what the ORM writes: hostile text with tabs,
newlines, quotes, backslashes and a literal \\N, empty text against NULL, missing numbers and
instants, dates, booleans and geometry all read back equal to the same values written through
the ORM, on both engines, on either SQLite path."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import inspect, select

from services.store.bulk import _JSON_SPECIAL, COPY_CHUNK, JSON_CHUNK, _json_document, insert_frame
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
from tests.hostile import FORMULAS, PAYLOADS, TEMPLATE_PAYLOADS

TEXTS = ["a\tb", "line\nnext\r\nlast", "back\\slash \\N \\t", "\\N", "", *PAYLOADS[:3], FORMULAS[0], "中文 ，。"]
# Hostile still, but with nothing a JSON string escapes: SQLite reads these from one document
PLAIN_TEXTS = [
    t
    for t in ["", *PAYLOADS, *FORMULAS, *TEMPLATE_PAYLOADS, "中文 ，。", "'; DROP TABLE areas; --"]
    if not re.search(_JSON_SPECIAL, t)
][:10]
AT = dt.datetime(2026, 11, 20, 0, 30, 15, 123456, tzinfo=dt.UTC)
SQUARE = shapely.multipolygons([shapely.box(115.0, 37.0, 115.01, 37.01)])


def rows_of_each_kind(texts: list[str]) -> dict[type[Base], list[dict[str, object]]]:
    count = len(texts)
    return {
        Area: [
            {
                "code": f"1305329{n:08d}",
                "level": "grid",
                "name": texts[n],
                "parent_code": None if n % 2 else texts[n][:15],
            }
            | {"geom": SQUARE, "synthetic": bool(n % 2)}
            for n in range(count)
        ],
        Worker: [
            {"worker_id": f"W{n}", "name": texts[n][:32], "phone": None if n % 3 else "138 0000", "role": "grid_worker"}
            | {"role_title": texts[n][:16] if n % 2 else None, "on_duty": bool(n % 2)}
            | {"last_lon": None if n % 2 else 115.0 + n / 7, "last_lat": 37.1, "last_fix_at": None if n % 2 else AT}
            for n in range(count)
        ],
        PatrolLog: [
            {"worker_id": "W1", "logged_at": AT + dt.timedelta(minutes=n), "grid_code": "130532101201001"}
            | {"text": texts[n] * 3, "households_visited": n}
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


@pytest.mark.parametrize("texts", [TEXTS, PLAIN_TEXTS], ids=["texts to escape", "plain texts"])
def test_rows_written_in_bulk_read_back_as_the_same_rows_written_through_the_orm(store, texts) -> None:
    kinds = rows_of_each_kind(texts)
    plain = {m: _json_document(pd.DataFrame(rows), table_of(m), list(rows[0])) is not None for m, rows in kinds.items()}
    # SQLite's two paths: geometry and escaped text by executemany, the rest in one statement
    assert plain == {Area: False, Worker: texts is PLAIN_TEXTS, PatrolLog: texts is PLAIN_TEXTS, PatrolDay: True}
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
        logged = session.scalars(select(PatrolLog.text).where(PatrolLog.county_code == "130533")).all()
    assert sorted(logged) == sorted(t * 3 for t in texts)


def test_a_frame_longer_than_a_chunk_is_written_whole(store) -> None:
    """The first chunk's texts are plain and the second's need escaping: on SQLite one part goes
    in one statement and the other by executemany."""
    assert COPY_CHUNK == JSON_CHUNK
    count = COPY_CHUNK + 7
    frame = pd.DataFrame(
        {
            "county_code": COUNTY,
            "worker_id": "W1",
            "logged_at": pd.date_range(AT, periods=count, freq="s"),
            "grid_code": "130532101201001",
            "text": [(PLAIN_TEXTS if n < COPY_CHUNK else TEXTS)[n % 7] for n in range(count)],
            "households_visited": range(count),
        }
    )
    with store.engine.begin() as connection:
        assert insert_frame(connection, table_of(PatrolLog), frame) == count
    with store.session_factory() as session:
        rows = session.execute(
            select(PatrolLog.logged_at, PatrolLog.text, PatrolLog.households_visited).order_by(PatrolLog.logged_at)
        ).all()
    assert [r.text for r in rows] == frame["text"].tolist()
    assert [r.households_visited for r in rows] == list(range(count))
    assert (rows[0].logged_at, rows[-1].logged_at) == (AT, AT + dt.timedelta(seconds=count - 1))


def test_floats_of_every_magnitude_read_back_bit_for_bit(store) -> None:
    """SQLite reads a JSON document's numbers with its own parser: every finite double, subnormal
    to huge, must come back as the one written (the shortest text that reads back exactly)."""
    rng = np.random.default_rng(18)
    bits = np.frombuffer(rng.bytes(8 * 60_000), dtype=np.float64)
    floats = np.concatenate([bits[np.isfinite(bits)], rng.random(20_000) * 200, [5e-324, -0.5, 1e308, 0.1 + 0.2]])
    days = pd.DataFrame(
        {
            "county_code": COUNTY,
            "worker_id": [f"W{n}" for n in range(len(floats))],
            "day": dt.date(2026, 11, 20),
            "fixes": 1,
            "first_ts": AT,
            "last_ts": AT,
            "distance_m": floats,
            "patrol_s": 0,
            "stops": 0,
            "outside_share": floats[::-1],
            "visited": 0,
            "flags": "",
        }
    )
    with store.engine.begin() as connection:
        assert insert_frame(connection, table_of(PatrolDay), days) == len(floats)
    with store.session_factory() as session:
        stored_days = pd.DataFrame(
            session.execute(select(PatrolDay.worker_id, PatrolDay.distance_m, PatrolDay.outside_share)).all()
        )
    back = days[["worker_id"]].merge(stored_days, on="worker_id", how="left")
    assert np.array_equal(back["distance_m"].to_numpy(), floats)
    assert np.array_equal(back["outside_share"].to_numpy(), floats[::-1])


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
