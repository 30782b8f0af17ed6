"""`delete_keys`, the delete every re-import uses: exactly the rows of the keys it is given, in
chunks, and on PostgreSQL a plan that hashes the keys (a list of row values became an OR of ANDs
tested on every candidate row: a re-imported county day's visits took 58 s)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import sqlalchemy as sa

from services.exchange.imports import write
from services.exchange.imports.write import delete_keys
from services.store.models import PatrolDay
from tests.factories import COUNTY

DAYS = [dt.date(2026, 11, 1) + dt.timedelta(days=n) for n in range(3)]
WORKERS = [f"W{n:04d}" for n in range(40)]
T0 = dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)


def _fill(connection: sa.Connection) -> None:
    rows = [
        {
            "county_code": county,
            "worker_id": worker,
            "day": day,
            "fixes": 1,
            "first_ts": T0,
            "last_ts": T0,
            "distance_m": 0.0,
            "patrol_s": 0,
            "stops": 0,
            "outside_share": 0.0,
            "visited": 0,
            "flags": "",
        }
        for county in (COUNTY, "130533")
        for worker in WORKERS
        for day in DAYS
    ]
    connection.execute(sa.insert(PatrolDay.__table__), rows)


def _stored(connection: sa.Connection) -> set[tuple[str, str, dt.date]]:
    table = PatrolDay.__table__
    return {tuple(row) for row in connection.execute(sa.select(table.c.county_code, table.c.worker_id, table.c.day))}


def test_deletes_exactly_the_given_keys_across_chunks(store, monkeypatch) -> None:
    monkeypatch.setattr(write, "DELETE_CHUNK", 7)  # several chunks, the last one short
    # Pairs that share each column's values with kept rows: only the whole key may decide.
    doomed = [(COUNTY, WORKERS[n], DAYS[n // 2 % 3]) for n in range(0, 40, 2)]
    with store.engine.begin() as connection:
        _fill(connection)
        before = _stored(connection)
        delete_keys(connection, PatrolDay.__table__, pd.DataFrame(doomed, columns=["county_code", "worker_id", "day"]))
        after = _stored(connection)
    assert len(doomed) == 20
    assert after == before - set(doomed)
    assert len(before) == 2 * 40 * 3


def _plan_nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", ()) for node in _plan_nodes(child))]


def test_postgresql_hashes_the_keys_instead_of_testing_an_or_on_every_row(postgis_store) -> None:
    keys = pd.DataFrame([(COUNTY, w, d) for w in WORKERS for d in DAYS], columns=["county_code", "worker_id", "day"])
    statements: list[tuple[str, object]] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            statements.append((statement, parameters))

    with postgis_store.engine.begin() as connection:
        _fill(connection)
        sa.event.listen(connection, "before_cursor_execute", record)
        delete_keys(connection, PatrolDay.__table__, keys)
        sa.event.remove(connection, "before_cursor_execute", record)
        [(statement, parameters)] = statements
        plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    nodes = _plan_nodes(plan[0]["Plan"])
    conditions = " ".join(str(node.get(key, "")) for node in nodes for key in ("Filter", "Index Cond", "Hash Cond"))
    assert " OR " not in conditions
    assert any(node["Node Type"] == "Values Scan" for node in nodes)
