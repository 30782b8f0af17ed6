"""`GET /healthz`: up, with the times of the last fixes import and report; 503 when the store is
down or its schema is not this code's; nothing personal in the answer."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from email.message import Message

import pytest
from alembic import command

from devtools.app_server import running_app
from services.operations.health import check_health
from services.store.engine import make_engine, make_session_factory
from services.store.migrate import alembic_config, head_revision
from services.store.models import IssuedReport
from tests.exchange.test_import import household, worker, write_csv
from tests.factories import COUNTY, T, run_import, seed_areas

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:9/nothing"  # the discard port: nothing listens


def fetch(url: str) -> tuple[int, Message, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_a_new_store_is_healthy_and_has_had_no_import_or_report(store) -> None:
    health = check_health(store.session_factory, county_code=COUNTY, now=T)
    assert health.healthy
    assert health.as_dict() == {
        "status": "ok",
        "store": "reachable",
        "schema": {"revision": head_revision(), "expected": head_revision(), "current": True},
        "last_fixes_import_at": None,
        "last_report_at": None,
        "checked_at": T.isoformat(),
    }


def test_the_last_fixes_import_and_report_are_told_and_other_imports_are_not(store, tmp_path) -> None:
    seed_areas(store)
    run_import(store, "households", write_csv(tmp_path / "h.csv", [household("H1", 115.005, 37.005)]))
    after_households = check_health(store.session_factory, county_code=COUNTY, now=T)
    run_import(store, "workers", write_csv(tmp_path / "w.csv", [worker("W1")]))
    fixes = [dict(worker_id="W1", ts="2026-11-20 09:00:00", lon=115.0048, lat=37.005, accuracy_m=8)]
    run_import(store, "fixes", write_csv(tmp_path / "fixes.csv", fixes))
    issued = T + dt.timedelta(hours=2)
    with store.session_factory.begin() as session:
        session.add(
            IssuedReport(
                county_code=COUNTY,
                report_id="R1",
                area_code=COUNTY,
                kind="monthly",
                period_start=T - dt.timedelta(days=30),
                period_end=T,
                version=1,
                title="<script>月报</script>",
                period_label="2026年11月",
                cutoff=T,
                rule_version="v1",
                issued_at=issued,
                issued_by="leader",
                issuer_name="张主任",
                issuer_role="county_leader",
                content="{}",
            )
        )
    health = check_health(store.session_factory, county_code=COUNTY, now=T)
    assert after_households.last_fixes_import_at is None
    assert (health.last_fixes_import_at, health.last_report_at) == (T, issued)
    told = json.dumps(health.as_dict(), ensure_ascii=False)
    assert not any(personal in told for personal in ("张主任", "leader", "月报", "W1", "operator"))


def test_a_store_behind_this_code_is_unhealthy(store) -> None:
    command.downgrade(alembic_config(store.engine), "0016")
    health = check_health(store.session_factory, county_code=COUNTY, now=T)
    assert not health.healthy
    assert health.as_dict()["schema"] == {"revision": "0016", "expected": head_revision(), "current": False}


def test_an_unreachable_store_is_reported_down_not_raised() -> None:
    engine = make_engine(UNREACHABLE)
    try:
        health = check_health(make_session_factory(engine), county_code=COUNTY, now=T)
    finally:
        engine.dispose()
    assert (health.healthy, health.as_dict()["store"], health.as_dict()["status"]) == (False, "down", "unavailable")


@pytest.mark.parametrize("engine_name", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_the_route_answers_200_while_the_store_serves(engine_name, request, tmp_path) -> None:
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
    else:
        url = request.getfixturevalue("postgis_store").engine.url.render_as_string(hide_password=False)
    with running_app({"DATABASE_URL": url, "COUNTY_CODE": COUNTY, "DATA_DIR": str(tmp_path)}) as (base, _):
        status, headers, body = fetch(base.rstrip("/") + "/healthz")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert body["status"] == "ok" and body["schema"]["current"] is True


def test_the_route_answers_503_while_the_store_is_down(tmp_path) -> None:
    with running_app({"DATABASE_URL": UNREACHABLE, "COUNTY_CODE": COUNTY, "DATA_DIR": str(tmp_path)}) as (base, _):
        status, _headers, body = fetch(base.rstrip("/") + "/healthz")
    assert status == 503
    assert (body["status"], body["store"], body["schema"]["revision"]) == ("unavailable", "down", None)
