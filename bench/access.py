"""Benchmark of access control (issue 8) at the county scale: what a sign-in costs (argon2id),
what every page run pays to resume its session, the failure count behind sign-in throttling on a
year's audit log with and without its index, and what scope filtering adds to the map's reads
(a township leader against a county operator reading the same township, side by side).
`python -m bench.access [--database URL]`; results in bench/results/access.json."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import uuid
from functools import partial

import numpy as np
import pandas as pd
from sqlalchemy import delete, text

from bench.foundation import NOW, RESULTS, timed
from services.access.actor import Actor
from services.access.passwords import hash_password, verify_password
from services.access.sign_in import SessionPolicy, SignedIn, _wait_after_failures, resume_session, sign_in
from services.cli.bootstrap import Store, county_is_empty, create_demo, open_store
from services.errors import SignInError
from services.figures.area_figures import compute_area_figures, compute_grid_figures
from services.mapping.map_data import load_household_points, load_open_incidents
from services.settings import Settings
from services.store.bulk import insert_frame
from services.store.models import AuditEntry, table_of

COUNTY = "130532"
AUDIT_ROWS = 500_000  # a year of a county: ~2,300 users signing in and looking things up
INDEX = "ix_audit_log_county_code_username_at"
# No throttling in the way of repeated measurements of one name.
POLICY = SessionPolicy(free_failures=10**9)


def fill_audit_log(store: Store, rows: int) -> None:
    rng = np.random.default_rng(3)
    users = np.array([f"user{i:04d}" for i in range(2_300)])
    start = pd.Timestamp(NOW) - pd.Timedelta(days=365)
    entries = pd.DataFrame(
        {
            "county_code": COUNTY,
            "entry_id": [uuid.uuid4().hex for _ in range(rows)],
            "at": start + pd.to_timedelta(np.sort(rng.uniform(0, 365 * 86_400, rows)), unit="s"),
            "username": rng.choice(users, rows),
            "role": "grid_supervisor",
            "action": rng.choice(["sign_in", "sign_in_failed", "unmask", "sign_out"], rows, p=[0.5, 0.05, 0.15, 0.3]),
            "target": None,
            "detail": None,
        }
    )
    with store.engine.begin() as connection:
        insert_frame(connection, table_of(AuditEntry), entries)


def failure_count_s(store: Store) -> float:
    """The query behind throttling: a busy user's failures since their last success."""
    return timed(
        lambda: _wait_after_failures(store.session_factory, COUNTY, "user0042", NOW, SessionPolicy()), repeat=21
    )[0]


def failed_sign_in_s(store: Store) -> float:
    """A whole failed sign-in: the failure count, the (decoy) password check, the audit entry."""

    def attempt() -> None:
        with contextlib.suppress(SignInError):
            sign_in(
                store.session_factory, county_code=COUNTY, username="user0042", password="x", now=NOW, policy=POLICY
            )

    return timed(attempt, repeat=5)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=f"sqlite:///{RESULTS / 'patrols-county.db'}")
    args = parser.parse_args()
    store = open_store(Settings.from_env({"DATABASE_URL": args.database}))
    if county_is_empty(store, COUNTY):
        create_demo(store, scale="county", seed=7, now=NOW)
    factory = store.session_factory
    results: dict[str, object] = {"database": store.engine.url.render_as_string()}

    hash_s, stored = timed(lambda: hash_password("bench password"), repeat=5)
    verify_s, _ = timed(lambda: verify_password(stored, "bench password"), repeat=5)
    signed_in = SignedIn(COUNTY, "leader", NOW, NOW)
    resume_s, _ = timed(
        lambda: resume_session(factory, signed_in=signed_in, now=NOW + dt.timedelta(minutes=1), policy=SessionPolicy()),
        repeat=51,
    )
    results |= {"argon2_hash_ms": hash_s * 1e3, "argon2_verify_ms": verify_s * 1e3, "resume_per_run_ms": resume_s * 1e3}

    with store.engine.begin() as connection:
        connection.execute(delete(table_of(AuditEntry)).where(AuditEntry.county_code == COUNTY))
    fill_audit_log(store, AUDIT_ROWS)
    indexed = failure_count_s(store)
    whole = failed_sign_in_s(store)
    with store.engine.begin() as connection:
        connection.execute(text(f"DROP INDEX {INDEX}"))
    unindexed = failure_count_s(store)
    with store.engine.begin() as connection:
        connection.execute(text(f"CREATE INDEX {INDEX} ON audit_log (county_code, username, at)"))
        connection.execute(delete(table_of(AuditEntry)).where(AuditEntry.county_code == COUNTY))
    results |= {
        "audit_rows": AUDIT_ROWS,
        "failure_count_ms_indexed": indexed * 1e3,
        "failure_count_ms_without_index": unindexed * 1e3,
        "index_speedup": unindexed / indexed,
        "failed_sign_in_ms": whole * 1e3,
    }

    township = "130532101"
    operator = Actor("bench-op", "基准", "county_operator", COUNTY, (COUNTY,))
    leader = Actor("bench-leader", "基准", "township_leader", COUNTY, (township,))
    village = f"{township}201"
    reads = {
        "grid_figures": lambda a: compute_grid_figures(
            factory, actor=a, area_code=township, at=NOW, days=7, special_tags=()
        ),
        "area_figures": lambda a: compute_area_figures(factory, actor=a, area_code=township, at=NOW, days=7),
        "open_incidents": lambda a: load_open_incidents(
            factory, actor=a, area_code=township, at=NOW, alarming_only=False
        ),
        "household_points": lambda a: load_household_points(factory, actor=a, area_code=village, at=NOW),
    }
    for name, read in reads.items():
        # Interleaved, so that caches warm both sides alike.
        county_s, leader_s = [], []
        for _ in range(5):
            county_s.append(timed(partial(read, operator))[0])
            leader_s.append(timed(partial(read, leader))[0])
        results[f"{name}_s_operator"] = float(np.median(county_s))
        results[f"{name}_s_leader"] = float(np.median(leader_s))
        results[f"{name}_leader_over_operator"] = float(np.median(leader_s) / np.median(county_s))
    store.engine.dispose()
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "access.json").write_text(json.dumps(rounded, ensure_ascii=False, indent=2))
    print(json.dumps(rounded, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
