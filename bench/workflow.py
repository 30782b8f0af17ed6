"""Benchmark of the incident workflow (issue 5) at the county scale, SQLite and PostGIS in one run:
dispatch suggestions for one case among 1,500 workers, one transition end to end (service call and
commit), and the work queue of the whole county with 5,000 open cases.
`python -m bench.workflow [--sqlite URL]`; results in bench/results/workflow-county.json."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from functools import partial

import pandas as pd
from sqlalchemy import func, select

from bench.foundation import NOW, RESULTS, timed
from devtools.pgcluster import throwaway_postgis
from services.access.actor import Actor
from services.cases.dispatch import suggest_workers
from services.cases.queue import load_queue
from services.cases.workflow import CaseAction, dispatch_incident, validate_incident
from services.cli.bootstrap import Store, county_is_empty, create_demo, open_store
from services.cli.demo import generate_demo
from services.cli.demo.load import load_demo
from services.domain import INCIDENT_TIMES, OPEN_STATES
from services.settings import Settings
from services.store.bulk import insert_frame
from services.store.frames import query_frame
from services.store.models import Incident, table_of

ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))
OPEN_TARGET = 5_000


def top_up_open_cases(store: Store) -> int:
    """Copies of open cases under new ids until the county has OPEN_TARGET open (DESIGN.md's
    "~5,000 open at a time"; the demo's 90 days leave about a thousand)."""
    with store.session_factory() as session:
        open_count = session.scalar(select(func.count()).where(Incident.state.in_(OPEN_STATES))) or 0
        if open_count >= OPEN_TARGET:
            return open_count
        rows = query_frame(session, select(table_of(Incident)).where(Incident.state.in_(OPEN_STATES)))
    copies = []
    for round_ in range((OPEN_TARGET - open_count) // len(rows) + 1):
        copy = rows.copy()
        copy["incident_id"] = "BX" + str(round_) + copy["incident_id"].str[2:]
        copies.append(copy)
    extra = pd.concat(copies).head(OPEN_TARGET - open_count)
    for column in INCIDENT_TIMES:
        extra[column] = pd.to_datetime(extra[column], utc=True)
    with store.engine.begin() as connection:
        insert_frame(connection, table_of(Incident), extra)
    return OPEN_TARGET


def cases_in_state(store: Store, state: str, count: int) -> list[tuple[str, int]]:
    with store.session_factory() as session:
        rows = session.execute(
            select(Incident.incident_id, Incident.version)
            .where(Incident.state == state)
            .order_by(Incident.incident_id)
            .limit(count)
        ).all()
    return [(r.incident_id, r.version) for r in rows]


def measure(engine_name: str, store: Store) -> dict:
    open_cases = top_up_open_cases(store)
    sample = cases_in_state(store, "registered", 1) or cases_in_state(store, "reported", 1)
    suggest_s, suggestions = timed(
        lambda: suggest_workers(store.session_factory, actor=ACTOR, incident_id=sample[0][0]), repeat=21
    )
    queue_s, queue = timed(lambda: load_queue(store.session_factory, actor=ACTOR, area_code="130532", at=NOW), repeat=5)
    now = NOW + dt.timedelta(minutes=1)
    validations = cases_in_state(store, "reported", 21)
    times = []
    for incident_id, version in validations:
        seconds, _ = timed(
            partial(validate_incident, store.session_factory, CaseAction(ACTOR, now, incident_id, version))
        )
        times.append(seconds)
    dispatch_times = []
    worker = suggestions["worker_id"].iloc[0]
    for incident_id, version in validations:
        seconds, _ = timed(
            partial(
                dispatch_incident,
                store.session_factory,
                CaseAction(ACTOR, now, incident_id, version + 1),
                worker_id=worker,
            )
        )
        dispatch_times.append(seconds)
    return {
        "engine": engine_name,
        "open_cases": open_cases,
        "suggest_workers_ms": round(suggest_s * 1000, 1),
        "queue_ms": round(queue_s * 1000, 1),
        "queue_rows": len(queue),
        "validate_ms_median": round(pd.Series(times).median() * 1000, 1),
        "dispatch_ms_median": round(pd.Series(dispatch_times).median() * 1000, 1),
        "transitions_timed": len(times) + len(dispatch_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", default="", help="a SQLite URL holding the county demo (made if empty)")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    url = args.sqlite or f"sqlite:///{RESULTS / 'workflow-county.db'}"
    sqlite_store = open_store(Settings.from_env({"DATABASE_URL": url}))
    if county_is_empty(sqlite_store, "130532"):
        create_demo(sqlite_store, scale="county", seed=7, now=NOW)
    results = [measure("sqlite", sqlite_store)]
    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    demo = generate_demo("county", seed=7, now=NOW)
    with throwaway_postgis() as pg_url:
        pg_store = open_store(Settings.from_env({"DATABASE_URL": pg_url}))
        load_demo(pg_store.engine, demo)
        results.append(measure("postgis", pg_store))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
        pg_store.engine.dispose()
    (RESULTS / "workflow-county.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
