"""Benchmark of the sign-in check every page run pays (issue 17), side by side with the old
path, on SQLite and PostGIS: the old check (a session held in Streamlit's memory: two times
compared, the user and their areas re-read), the new one by the tab's session key within a
minute of the last write (read only), the same when last_seen_at is due (one UPDATE), and a
reload (the cookie looked up by its hash, touched and audited).  20,000 other sessions are in
the table; the four take turns, 201 rounds, medians.  `python -m bench.sessions`; results in bench/results/sessions.json."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import statistics
import tempfile
import uuid
from pathlib import Path

import pandas as pd

from bench.foundation import NOW, RESULTS, timed
from devtools.pgcluster import throwaway_postgis
from services.access.sessions import TOUCH_EVERY, exchange_handover, hash_token
from services.access.sign_in import SessionPolicy, SignedIn, resume_from_cookie, resume_session, start_session
from services.cli.bootstrap import Store, create_demo, open_store
from services.settings import Settings
from services.store.bulk import insert_frame
from services.store.models import SignInSession, table_of

COUNTY = "130532"
OTHER_SESSIONS = 20_000
REPEAT = 201
POLICY = SessionPolicy()
SECOND = dt.timedelta(seconds=1)


def fill_sessions(store: Store) -> None:
    keys = [uuid.uuid4().hex for _ in range(OTHER_SESSIONS)]
    rows = pd.DataFrame(
        {
            "county_code": COUNTY,
            "session_key": keys,
            "username": "viewer",
            "kind": "password",
            "token_hash": [hash_token(k) for k in keys],
            "handover_hash": None,
            "handover_until": None,
            "created_at": NOW,
            "last_seen_at": NOW,
            "expires_at": NOW + POLICY.lifetime,
            "user_agent": "bench",
            "ended_at": None,
            "end_reason": None,
        }
    )
    with store.engine.begin() as connection:
        insert_frame(connection, table_of(SignInSession), rows)


def measure(store: Store) -> dict[str, float]:
    """Median milliseconds of each check; the variants take turns, so a busy machine slows all alike."""
    factory = store.session_factory
    create_demo(store, scale="small", seed=7, now=NOW)
    fill_sessions(store)
    old = SignedIn(COUNTY, "leader", NOW, NOW)
    tab = start_session(factory, county_code=COUNTY, username="leader", now=NOW, policy=POLICY)
    cookie = exchange_handover(factory, county_code=COUNTY, handover=tab.handover, now=NOW).value
    rounds = itertools.count(1)
    at = NOW

    def touching() -> object:
        nonlocal at
        at = NOW + next(rounds) * TOUCH_EVERY  # last_seen_at is due: one UPDATE
        return resume_session(factory, signed_in=tab, now=at, policy=POLICY)

    checks = {
        "by_key_touching_last_seen_ms": touching,
        "by_key_read_only_ms": lambda: resume_session(factory, signed_in=tab, now=at + SECOND, policy=POLICY),
        "reload_from_cookie_ms": lambda: resume_from_cookie(
            factory, county_code=COUNTY, cookie=cookie, now=at + 2 * SECOND, policy=POLICY
        ),
        "old_in_memory_ms": lambda: resume_session(factory, signed_in=old, now=NOW + SECOND, policy=POLICY),
    }
    times: dict[str, list[float]] = {name: [] for name in checks}
    for _ in range(REPEAT):
        for name, check in checks.items():
            times[name].append(timed(check)[0])
    return {name: statistics.median(values) * 1e3 for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Settings.from_env({"DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}"}))
        results["sqlite"] = measure(store)
        store.engine.dispose()
    with throwaway_postgis("bench_sessions") as url:
        store = open_store(Settings.from_env({"DATABASE_URL": url}))
        results["postgis"] = measure(store)
        store.engine.dispose()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sessions.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
