"""Publishing a finished month's 网格员月度考核 (issue 16) and the wall screen's ranking by it, on
both stores, from the hand-built October (tests/patrol/october.py: W2 89 分 before W1 87.5 分)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from render.screen_html import right_panels
from services.errors import InvalidArgumentError, OutOfScopeError, PermissionDeniedError
from services.patrol.assessment import compute_assessment
from services.patrol.publication import latest_publication, publish_assessment
from services.screen.wall_figures import load_screen
from services.store.migrate import alembic_config
from services.store.models import AssessmentPublication, AssessmentScore, AuditEntry, Worker
from tests.factories import COUNTY, GRID_A, OPERATOR, TOWNSHIP, make_actor
from tests.hostile import PAYLOADS
from tests.patrol.october import LEADER, NOVEMBER, NOW, OCTOBER
from tests.store.test_concurrency import WRITERS, at_once, split

LATER = NOW + dt.timedelta(days=1)
FRESH = dt.timedelta(minutes=10)


def test_publishing_stores_each_workers_score_as_scored_and_is_audited(october) -> None:
    done = publish_assessment(october.session_factory, actor=OPERATOR, month=OCTOBER, now=NOW)
    assert (done.month, done.version, done.workers, done.publisher_name) == (OCTOBER, 1, 2, OPERATOR.display_name)
    scores = compute_assessment(october.session_factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    with october.session_factory() as session:
        stored = session.scalars(select(AssessmentScore).order_by(AssessmentScore.worker_id)).all()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "assessment_publish")).all()
    expected = scores.scores.set_index("worker_id")
    assert [(s.worker_id, s.total, s.grade, s.county_rank) for s in stored] == [
        (w, float(expected.loc[w, "total"]), expected.loc[w, "grade"], _rank(expected.loc[w, "county_rank"]))
        for w in ("W1", "W2")
    ]
    assert [(s.total, s.grade) for s in stored] == [(87.5, "合格"), (89.0, "基本合格")]
    assert [(a.target, a.detail) for a in audit] == [("2026-10", "第 1 版，网格员 2 名")]
    assert latest_publication(october.session_factory, county_code=COUNTY, month=OCTOBER) == done


def _rank(value: object) -> int | None:
    return None if value is None or str(value) == "<NA>" else int(value)  # type: ignore[call-overload]


def test_a_running_month_a_township_and_a_viewer_cannot_publish(october) -> None:
    with pytest.raises(InvalidArgumentError, match="尚未结束"):
        publish_assessment(october.session_factory, actor=OPERATOR, month=NOVEMBER, now=NOW)
    with pytest.raises(PermissionDeniedError):
        publish_assessment(october.session_factory, actor=LEADER, month=OCTOBER, now=NOW)
    township_operator = make_actor("county_operator", TOWNSHIP, username="op2", name="乡镇值班员")
    with pytest.raises(OutOfScopeError):
        publish_assessment(october.session_factory, actor=township_operator, month=OCTOBER, now=NOW)
    with october.session_factory() as session:
        assert session.scalars(select(AssessmentPublication)).all() == []
        refused = session.scalars(select(AuditEntry.action).where(AuditEntry.action == "refused")).all()
    assert len(refused) == 2


def test_the_screen_ranks_by_the_published_month_once_there_is_one(october) -> None:
    before = load_screen(october.session_factory, actor=OPERATOR, at=NOW, fresh=FRESH)
    assert before.worker_ranking_month is None and list(before.worker_ranking.columns) == ["name", "reports"]
    assert "本月有效上报" in "".join(right_panels(before))

    publish_assessment(october.session_factory, actor=OPERATOR, month=OCTOBER, now=NOW)
    after = load_screen(october.session_factory, actor=OPERATOR, at=NOW, fresh=FRESH)
    assert after.worker_ranking_month == OCTOBER
    assert after.worker_ranking.values.tolist() == [["李网格", 89.0, "基本合格"], ["张网格", 87.5, "合格"]]
    html = "".join(right_panels(after))
    assert "2026年10月 网格员考核（已发布）" in html and "89.0 分 基本合格" in html

    supervisor = make_actor("grid_supervisor", GRID_A, username="sup", name="网格长")
    own = load_screen(october.session_factory, actor=supervisor, at=NOW, fresh=FRESH)
    assert own.worker_ranking["name"].tolist() == ["张网格"]  # only the workers of their grids

    december = dt.datetime(2026, 12, 20, 12, tzinfo=NOW.tzinfo)  # November is unpublished: no stale October
    assert load_screen(october.session_factory, actor=OPERATOR, at=december, fresh=FRESH).worker_ranking_month is None


def test_publishing_again_adds_a_version_and_the_screen_shows_the_newest(october) -> None:
    publish_assessment(october.session_factory, actor=OPERATOR, month=OCTOBER, now=NOW)
    with october.session_factory.begin() as session:
        session.get(Worker, (COUNTY, "W1")).name = PAYLOADS[0]  # a renamed worker, hostile text and all
    again = publish_assessment(october.session_factory, actor=OPERATOR, month=OCTOBER, now=LATER)
    assert again.version == 2
    screen = load_screen(october.session_factory, actor=OPERATOR, at=LATER, fresh=FRESH)
    assert PAYLOADS[0] in screen.worker_ranking["name"].tolist()
    html = "".join(right_panels(screen))
    assert PAYLOADS[0] not in html  # shown escaped, never as markup
    with october.session_factory() as session:
        versions = session.execute(
            select(AssessmentScore.version, AssessmentScore.name).where(AssessmentScore.worker_id == "W1")
        ).all()
    assert sorted(versions) == [(1, "张网格"), (2, PAYLOADS[0])]  # the first version stays as it was


def test_simultaneous_publications_land_as_versions_one_to_sixteen(october) -> None:
    outcomes = at_once(
        WRITERS, lambda i: publish_assessment(october.session_factory, actor=OPERATOR, month=OCTOBER, now=NOW)
    )
    done, failed = split(outcomes)
    assert failed == []
    assert sorted(p.version for p in done) == list(range(1, WRITERS + 1))
    with october.session_factory() as session:
        per_version = session.execute(
            select(AssessmentScore.version, AssessmentScore.worker_id).order_by(AssessmentScore.version)
        ).all()
    assert len(per_version) == 2 * WRITERS  # every version whole: both workers in each


def test_the_command_line_publishes_the_countys_finished_month(october, monkeypatch, capsys) -> None:
    from services.cli.commands import main

    monkeypatch.setenv("DATABASE_URL", october.engine.url.render_as_string(hide_password=False))
    argv = ["assess", "--area", COUNTY, "--month", "2026-10", "--at", "2026-11-20T12:00", "--publish"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"month": "2026-10", "version": 1, "workers": 2}
    assert main(["assess", "--area", TOWNSHIP, "--month", "2026-10", "--publish"]) == 2


def test_the_publication_tables_go_down_and_up_on_a_filled_database(october) -> None:
    publish_assessment(october.session_factory, actor=OPERATOR, month=OCTOBER, now=NOW)
    config = alembic_config(october.engine)
    command.downgrade(config, "0013")
    assert "assessment_scores" not in sa.inspect(october.engine).get_table_names()
    command.upgrade(config, "head")
    assert latest_publication(october.session_factory, county_code=COUNTY, month=OCTOBER) is None
    assert publish_assessment(october.session_factory, actor=OPERATOR, month=OCTOBER, now=NOW).version == 1
