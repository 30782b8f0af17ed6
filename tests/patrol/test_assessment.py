"""网格员月度考核 (issue 16) on both stores: a hand-built October whose every point is known,
rule versions, awards, 十佳 and the 问题回溯 matcher and decisions."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pandas as pd
import pytest
from sqlalchemy import select

from services.errors import InvalidArgumentError, MissingInputError, PermissionDeniedError, StoreConflictError
from services.patrol.assessment import award_points, compute_assessment, default_month, top_workers
from services.patrol.assessment_rules import AssessmentRules, change_rules, rules_for_month
from services.patrol.misses import MissAlreadyDecidedError, decide_miss, find_miss_candidates, match_misses
from services.store.models import (
    AssessmentRuleVersion,
    AuditEntry,
    MissDecision,
    Worker,
    WorkerGrid,
)
from tests.factories import (
    ADMIN,
    COUNTY,
    GRID_A,
    GRID_B,
    OPERATOR,
    SHANGHAI,
    TOWNSHIP,
    incident,
    make_actor,
    seed_areas,
)
from tests.hostile import PAYLOADS
from tests.patrol.october import LEADER, M_PER_DEG_LAT, NOVEMBER, NOW, OCTOBER, at
from tests.store.test_concurrency import at_once, split


def _row(scores: pd.DataFrame, worker_id: str) -> pd.Series:
    return scores.set_index("worker_id").loc[worker_id]


def test_a_hand_built_month_scores_every_item_exactly(october) -> None:
    result = compute_assessment(october.session_factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    assert not result.running and result.quotas == (20, 6)
    w1, w2 = _row(result.scores, "W1"), _row(result.scores, "W2")
    counts = ["logs", "valid_reports", "invalid_reports", "late_cases", "late_validations", "reopened", "unsatisfied"]
    assert [int(w1[c]) for c in counts] == [22, 8, 2, 1, 1, 1, 1]
    assert [int(w2[c]) for c in counts] == [20, 6, 0, 0, 0, 0, 0]
    items = ["logs_points", "reports_points", "timeliness_points", "quality_points", "coverage_points"]
    assert [float(w1[i]) for i in items] == [30, 24, 17, 6, 7.5]
    assert (float(w1["awards_points"]), float(w1["misses_points"])) == (3, 0)
    assert (float(w1["total"]), w1["grade"]) == (87.5, "合格")
    assert [float(w2[i]) for i in items] == [30, 24, 20, 10, 10]
    assert (int(w2["misses"]), float(w2["total"]), w2["grade"]) == (1, 89.0, "基本合格")
    assert w1["flags"] == "定位不动" and int(w1["flagged_days"]) == 1
    assert w1["failed_items"] == ""  # 质量 6 of 10 holds the 60 % line
    assert float(w1["on_time_share"]) == pytest.approx(2 / 3)


def test_each_point_shows_the_cases_logs_and_days_behind_it(october) -> None:
    result = compute_assessment(october.session_factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    evidence = result.evidence[result.evidence["worker_id"] == "W1"]
    by_item = evidence.groupby("item")["ref"].apply(set)
    assert by_item["timeliness"] == {"C-late", "R1-0"}
    assert by_item["quality"] == {"C-reopen", "C-ok"}
    assert {"X1-0", "X1-1"} <= by_item["reports"] and "R1-nov" not in by_item["reports"]
    assert by_item["flags"] == {"2026-10-08"}
    assert evidence[evidence["item"] == "logs"]["detail"].str.removesuffix(" 篇").astype(int).sum() == 22
    misses = result.evidence[(result.evidence["worker_id"] == "W2") & (result.evidence["item"] == "misses")]
    assert misses["ref"].tolist() == ["C-miss"]


def test_top_workers_need_both_quotas_no_miss_and_no_failed_item(october) -> None:
    result = compute_assessment(october.session_factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    # W2 has a confirmed miss.
    assert top_workers(result)["worker_id"].tolist() == ["W1"]
    assert top_workers(result, TOWNSHIP)["worker_id"].tolist() == ["W1"]
    with october.session_factory.begin() as session:
        session.add(WorkerGrid(county_code=COUNTY, worker_id="W1", grid_code=GRID_B))  # W1 now answers for the miss too
    result = compute_assessment(october.session_factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    assert top_workers(result).empty and int(_row(result.scores, "W1")["misses"]) == 1


def test_a_rule_change_from_a_month_on_leaves_earlier_months_as_scored(october) -> None:
    factory = october.session_factory
    before = compute_assessment(factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW).scores
    with pytest.raises(InvalidArgumentError, match="已结束月份"):
        change_rules(factory, actor=ADMIN, rules=AssessmentRules(late_case_penalty=5), from_month=OCTOBER, now=NOW)
    with pytest.raises(PermissionDeniedError):
        change_rules(factory, actor=OPERATOR, rules=AssessmentRules(), from_month=NOVEMBER, now=NOW)
    version = change_rules(
        factory, actor=ADMIN, rules=AssessmentRules(late_case_penalty=5, log_quota=25), from_month=NOVEMBER, now=NOW
    )
    assert version.version == 1
    after = compute_assessment(factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    assert after.rule_version.version == 0
    pd.testing.assert_frame_equal(after.scores, before)
    november = compute_assessment(factory, actor=OPERATOR, area_code=COUNTY, month=NOVEMBER, now=NOW)
    assert november.rule_version.version == 1 and november.rules.late_case_penalty == 5
    assert november.running and november.quotas[0] == pytest.approx(25 * (19.5 / 30))
    assert rules_for_month(factory, county_code=COUNTY, month=dt.date(2027, 3, 1)).version == 1
    with factory() as session:
        entry = session.query(AuditEntry).filter_by(action="assessment_rules").one()
    assert "超时办结每件扣分 2 → 5" in entry.detail


def test_awards_are_capped_need_a_reason_and_are_audited(october) -> None:
    factory = october.session_factory
    with pytest.raises(MissingInputError):
        award_points(factory, actor=OPERATOR, worker_id="W1", month=OCTOBER, points=1, reason=" ", now=NOW)
    with pytest.raises(InvalidArgumentError, match="最多还可加 7"):
        award_points(factory, actor=OPERATOR, worker_id="W1", month=OCTOBER, points=8, reason="多", now=NOW)
    assert (
        award_points(factory, actor=OPERATOR, worker_id="W1", month=OCTOBER, points=7, reason=PAYLOADS[0], now=NOW)
        == 10
    )
    with pytest.raises(PermissionDeniedError):
        award_points(factory, actor=ADMIN, worker_id="W1", month=OCTOBER, points=1, reason="x", now=NOW)
    result = compute_assessment(factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    assert float(_row(result.scores, "W1")["awards_points"]) == 10
    awards = result.evidence[result.evidence["item"] == "awards"]
    assert awards["detail"].str.contains(PAYLOADS[0], regex=False).any()  # kept literally
    with factory() as session:
        assert session.query(AuditEntry).filter_by(action="assessment_award").count() == 2


def test_the_running_month_pro_rates_the_quotas_and_opens_on_the_last_month_early(october) -> None:
    november = compute_assessment(october.session_factory, actor=OPERATOR, area_code=COUNTY, month=NOVEMBER, now=NOW)
    share = (NOW - dt.datetime(2026, 11, 1, tzinfo=SHANGHAI)) / dt.timedelta(days=30)
    assert november.elapsed_share == pytest.approx(share)
    w1 = _row(november.scores, "W1")
    assert int(w1["logs"]) == 1 and float(w1["logs_points"]) == round(30 * 1 / (20 * share), 2)
    assert default_month(dt.datetime(2026, 11, 1, 8, tzinfo=SHANGHAI)) == OCTOBER
    assert default_month(NOW) == NOVEMBER


# 问题回溯: the matcher


def _case(incident_id: str, *, channel: str = "resident", category: str = "安全隐患", grid: str = GRID_A) -> dict:
    return dict(
        incident_id=incident_id, grid_code=grid, category=category, channel=channel, lon=115.005, lat=37.005,
        reported_at=pd.Timestamp("2026-10-15 12:00", tz="UTC"),
    )  # fmt: skip


def _report(worker: str, *, north_m: float = 0, hours: float = 0, category: str = "安全隐患") -> dict:
    return dict(
        reporter=worker, category=category, lon=115.005, lat=37.005 + north_m / M_PER_DEG_LAT,
        reported_at=pd.Timestamp("2026-10-15 12:00", tz="UTC") + pd.Timedelta(hours=hours),
    )  # fmt: skip


def test_the_matcher_finds_exactly_the_planted_misses() -> None:
    # Each case id has its own grid, so each is matched against one planted report only.
    plans = {
        "near-140m": _report("W-near-140m", north_m=140),  # reported: not a miss
        "far-160m": _report("W-far-160m", north_m=160),  # just outside 150 m: a miss
        "before-71h": _report("W-before-71h", hours=-71),
        "before-73h": _report("W-before-73h", hours=-73),  # too early: a miss
        "after-23h": _report("W-after-23h", hours=23),
        "after-25h": _report("W-after-25h", hours=25),  # too late: a miss
        "other-category": _report("W-other-category", category="环境卫生"),  # a miss
        "other-grid": _report("W-somebody-else"),  # reported by another grid's worker: a miss
    }
    grids = {name: f"1305321012010{i:02d}" for i, name in enumerate(plans)}
    cases = pd.DataFrame([_case(name, grid=grids[name]) for name in plans])
    cases = pd.concat(
        [
            cases,
            pd.DataFrame([_case("by-worker", channel="patrol", grid=grids["far-160m"])]),  # a worker's own report
            pd.DataFrame([_case("not-listed", category="民生服务", grid=grids["far-160m"])]),  # not on the 应报清单
            pd.DataFrame([_case("no-worker", grid="130532101201099")]),  # a grid without workers
        ],
        ignore_index=True,
    )
    reports = pd.DataFrame(list(plans.values()))
    grid_workers = pd.DataFrame({"grid_code": list(grids.values()), "worker_id": [f"W-{name}" for name in plans]})
    found = match_misses(cases, reports, grid_workers, AssessmentRules())
    assert sorted(found["incident_id"]) == sorted(
        ["far-160m", "before-73h", "after-25h", "other-category", "other-grid"]
    )
    wider = match_misses(cases, reports, grid_workers, AssessmentRules(miss_radius_m=200, miss_before_h=80))
    assert sorted(wider["incident_id"]) == ["after-25h", "other-category", "other-grid"]


# 问题回溯: decisions


def test_a_candidate_is_decided_once_by_a_supervisor_of_its_township(october) -> None:
    factory = october.session_factory
    candidates = find_miss_candidates(factory, actor=LEADER, area_code=TOWNSHIP, month=OCTOBER, now=NOW)
    assert candidates.set_index("incident_id").loc["C-miss", "status"] == "已确认应报未报"
    with pytest.raises(MissAlreadyDecidedError):
        decide_miss(factory, actor=OPERATOR, incident_id="C-miss", decision="dismissed", reason="重复", now=NOW)
    other = make_actor("township_leader", "130532102", username="other", name="外乡领导")
    with pytest.raises(Exception, match="不存在或不在您的管辖范围内"):
        decide_miss(factory, actor=other, incident_id="C-miss", decision="dismissed", reason="x", now=NOW)
    with pytest.raises(Exception, match="不存在或不在您的管辖范围内"):  # a worker's own report is no candidate
        decide_miss(factory, actor=LEADER, incident_id="R1-0", decision="confirmed", reason="x", now=NOW)
    with factory() as session:
        assert session.query(AuditEntry).filter_by(action="miss_confirm").count() == 1


def test_simultaneous_decisions_on_one_candidate_leave_one_winner(october) -> None:
    factory = october.session_factory
    with factory.begin() as session:
        session.query(MissDecision).delete()
    barrier = threading.Barrier(16)
    outcomes: list[str] = []

    def decide(n: int) -> None:
        barrier.wait()
        try:
            decision = "confirmed" if n % 2 else "dismissed"
            reason = f"{PAYLOADS[n % len(PAYLOADS)]} #{n}"
            decide_miss(factory, actor=LEADER, incident_id="C-miss", decision=decision, reason=reason, now=NOW)
            outcomes.append("won")
        except MissAlreadyDecidedError:
            outcomes.append("lost")
        except Exception as error:  # noqa: BLE001 - anything else is the failure under test
            outcomes.append(repr(error))

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 15 + ["won"]
    with factory() as session:
        decision = session.query(MissDecision).one()
        entries = session.query(AuditEntry).filter(AuditEntry.action.in_(("miss_confirm", "miss_dismiss"))).count()
    assert entries == 2  # the fixture's and the winner's
    shown = find_miss_candidates(factory, actor=LEADER, area_code=TOWNSHIP, month=OCTOBER, now=NOW)
    assert shown.loc[0, "reason"] == decision.reason and decision.reason.rsplit(" #", 1)[0] in PAYLOADS


def test_the_matcher_on_the_store_ignores_a_report_within_the_window(store) -> None:
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add(Worker(county_code=COUNTY, worker_id="W1", name="张网格", role="worker", on_duty=True))
        session.flush()
        session.add(WorkerGrid(county_code=COUNTY, worker_id="W1", grid_code=GRID_A))
        session.add_all(
            [
                incident("C-seen", category="矛盾纠纷", channel="app", reported_at=at(10)),
                incident(
                    "R-seen",
                    category="矛盾纠纷",
                    channel="patrol",
                    reporter="W1",
                    reported_at=at(9, 12),
                    lat=37.005 + 100 / M_PER_DEG_LAT,
                ),  # fmt: skip
                incident("C-unseen", category="矛盾纠纷", channel="hotline", reported_at=at(20)),
            ]
        )
    found = find_miss_candidates(store.session_factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    assert found["incident_id"].tolist() == ["C-unseen"] and found.loc[0, "status"] == "待认定"
    assert found.loc[0, "workers"] == "W1"


def test_the_command_line_prints_the_months_scores(october, monkeypatch, capsys) -> None:
    from services.cli.commands import main

    monkeypatch.setenv("DATABASE_URL", october.engine.url.render_as_string(hide_password=False))
    argv = ["assess", "--area", COUNTY, "--month", "2026-10", "--at", "2026-11-20T12:00", "--json"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    workers = {w["worker_id"]: w for w in printed["workers"]}
    assert (workers["W1"]["total"], workers["W1"]["grade"], workers["W1"]["county_rank"]) == (87.5, "合格", 1)
    assert workers["W1"]["items"]["timeliness"] == 17 and workers["W1"]["counts"]["late_cases"] == 1
    assert (workers["W2"]["total"], workers["W2"]["grade"]) == (89.0, "基本合格")
    assert printed["running"] is False and printed["quotas"] == {"logs": 20, "valid_reports": 6}
    assert main(["assess", "--area", "999999", "--month", "2026-10"]) == 2


def test_the_worker_card_shows_their_running_months_score(october) -> None:
    from services.mapping.panels import load_worker_card

    card = load_worker_card(october.session_factory, actor=LEADER, worker_id="W1", at=NOW)
    november = compute_assessment(october.session_factory, actor=LEADER, area_code=TOWNSHIP, month=NOVEMBER, now=NOW)
    w1 = _row(november.scores, "W1")
    assert card.month_score == f"2026年11月（进行中）考核 {w1['total']:g} 分 · {w1['grade']}"
    assert card.missed_cases == ()  # the confirmed miss is October's, in W2's grid


def test_the_worker_card_lists_the_running_months_confirmed_misses(october) -> None:
    from services.mapping.panels import load_worker_card

    later = dt.datetime(2026, 10, 28, 12, tzinfo=NOW.tzinfo)  # October still running: its miss is listed
    assert load_worker_card(october.session_factory, actor=LEADER, worker_id="W2", at=later).missed_cases == ("C-miss",)
    assert load_worker_card(october.session_factory, actor=LEADER, worker_id="W1", at=later).missed_cases == ()


def test_simultaneous_awards_stay_within_the_cap(october) -> None:
    factory = october.session_factory  # W1 has 3 of the 10 points already
    outcomes = at_once(
        16,
        lambda n: award_points(
            factory, actor=OPERATOR, worker_id="W1", month=OCTOBER, points=1, reason=f"第{n}次", now=NOW
        ),
    )
    awarded, refused = split(outcomes, InvalidArgumentError)
    assert len(awarded) == 7 and len(refused) == 9
    result = compute_assessment(factory, actor=OPERATOR, area_code=COUNTY, month=OCTOBER, now=NOW)
    assert float(_row(result.scores, "W1")["awards_points"]) == 10


def test_simultaneous_rule_changes_each_land_as_their_own_version(october) -> None:
    factory = october.session_factory
    outcomes = at_once(
        16,
        lambda n: change_rules(
            factory, actor=ADMIN, rules=AssessmentRules(late_case_penalty=n + 1), from_month=NOVEMBER, now=NOW
        ),
    )
    changed, failed = split(outcomes, StoreConflictError)
    assert len(changed) == 16 and failed == []
    with factory() as session:
        versions = session.scalars(select(AssessmentRuleVersion.version).order_by(AssessmentRuleVersion.version)).all()
        entries = session.query(AuditEntry).filter_by(action="assessment_rules").count()
    assert list(versions) == list(range(1, 17)) and entries == 16
