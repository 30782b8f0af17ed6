"""The statistics read model and the 月报 on a hand-built store with known numbers, on both engines:
every breakdown, 环比, the stage percentiles, the kpi figures for the same area and period, scope,
period parsing, and `report monthly --json` through the command line."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from services.cli.bootstrap import Store
from services.errors import InvalidArgumentError, OutOfScopeError
from services.figures.area_figures import compute_area_figures
from services.figures.definitions import FIGURE_DEFINITIONS
from services.figures.periods import parse_month, parse_period, parse_range, parse_week
from services.figures.ranking import MIN_CASES_TO_RANK, rank_areas
from services.figures.report_build import HEADLINE_KEYS, build_report, report_json
from services.figures.statistics import compute_statistics
from services.store.engine import make_engine, make_session_factory
from services.store.migrate import upgrade_schema
from services.store.models import Department, IncidentEvent, PatrolDay, PatrolLog, Worker, WorkerGrid
from tests.factories import (
    COUNTY,
    GRID_A,
    GRID_B,
    OPERATOR,
    SHANGHAI,
    TOWNSHIP,
    VILLAGE,
    household,
    incident,
    make_actor,
    run_import,
    seed_areas,
    visit,
)

ROOT = Path(__file__).resolve().parents[2]
OCTOBER = parse_month("2026-10")
NOW = dt.datetime(2026, 11, 23, 14, 0, tzinfo=SHANGHAI)


def oct_(day: int, hour: int, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def sep(day: int, hour: int) -> dt.datetime:
    return oct_(day, hour, month=9)


def _closed(**times: object) -> dict[str, object]:
    return dict(state="closed", close_reason="fixed", **times)


def cases() -> list:  # type: ignore[type-arg]
    """Fresh rows each time (an ORM object belongs to one session)."""
    return [
        # c1: grid A, validate 2 h, dispatch 1 h, handle 24 h (on time), close 4 h, grid level, 满意
        incident(
            "c1",
            subcategory="垃圾堆放",
            reporter="W1",
            satisfaction="满意",
            **_closed(
                reported_at=oct_(2, 8),
                validated_at=oct_(2, 10),
                dispatched_at=oct_(2, 11),
                accepted_at=oct_(2, 12),
                handled_at=oct_(3, 11),
                closed_at=oct_(3, 15),
            ),
        ),
        # c2: resident, validate 4 h, dispatch 2 h, handle 96 h (late), close 6 h, village, 不满意, reopened once
        incident(
            "c2",
            subcategory="污水排放",
            channel="resident",
            level="village",
            satisfaction="不满意",
            **_closed(
                reported_at=oct_(5, 8),
                validated_at=oct_(5, 12),
                dispatched_at=oct_(5, 14),
                handled_at=oct_(9, 14),
                closed_at=oct_(9, 20),
            ),
        ),
        # c3: grid B, urgent (24 h), hotline, called in to department D1, township level, 基本满意
        incident(
            "c3",
            GRID_B,
            category="安全隐患",
            subcategory="消防隐患",
            channel="hotline",
            severity="urgent",
            limit_hours=24.0,
            level="township",
            satisfaction="基本满意",
            assignee_department_id="D1",
            **_closed(
                reported_at=oct_(10, 8),
                validated_at=oct_(10, 9),
                dispatched_at=oct_(10, 12),
                handled_at=oct_(10, 20),
                closed_at=oct_(11, 8),
            ),
        ),
        # c4: app report rejected after 26 h
        incident(
            "c4",
            GRID_B,
            category="安全隐患",
            subcategory="用电安全",
            channel="app",
            state="invalid",
            reported_at=oct_(12, 8),
            rejected_at=oct_(13, 10),
        ),
        # c5: open at T, dispatched 20 October 20:00, deadline 23 October 20:00: overdue
        incident(
            "c5",
            category="矛盾纠纷",
            subcategory="邻里纠纷",
            reporter="W1",
            state="dispatched",
            reported_at=oct_(20, 8),
            validated_at=oct_(20, 18),
            dispatched_at=oct_(20, 20),
        ),
        # c6: grid B, reported 36 h before T and never judged: validation overdue
        incident("c6", GRID_B, subcategory="垃圾堆放", reporter="W2", reported_at=oct_(30, 12)),
        # c7: validated 1 h, closed as a duplicate (closed, not fixed)
        incident(
            "c7",
            subcategory="垃圾堆放",
            reporter="W1",
            state="closed",
            close_reason="duplicate",
            reported_at=oct_(25, 8),
            validated_at=oct_(25, 9),
            closed_at=oct_(25, 10),
        ),
        # September (the previous period): c8 fixed there, c9 rejected, c10 handled there and closed 2 October
        incident(
            "c8",
            **_closed(
                reported_at=sep(10, 8),
                validated_at=sep(10, 9),
                dispatched_at=sep(10, 10),
                handled_at=sep(11, 10),
                closed_at=sep(12, 10),
            ),
        ),
        incident("c9", state="invalid", reported_at=sep(20, 8), rejected_at=sep(20, 9)),
        incident(
            "c10",
            **_closed(
                reported_at=sep(28, 8),
                validated_at=sep(28, 9),
                dispatched_at=sep(28, 10),
                handled_at=sep(30, 10),
                closed_at=oct_(2, 10),
            ),
        ),
    ]


@pytest.fixture
def october(store: Store) -> Store:
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all(cases())
        session.add(
            IncidentEvent(
                county_code=COUNTY,
                incident_id="c2",
                seq=9,
                at=oct_(9, 16),
                actor="supervisor",
                action="reopen",
                from_state="handled",
                to_state="in_progress",
            )
        )
        session.add(Department(county_code=COUNTY, department_id="D1", name="县应急管理局", kind="应急"))
        session.add_all([household(f"HA{i}", GRID_A) for i in range(3)] + [household("HB0", GRID_B)])
        session.add_all(
            [
                visit("HA0", "W1", GRID_A, (oct_(15, 9), oct_(15, 10)), (oct_(15, 9), oct_(15, 10))),
                visit("HB0", "W2", GRID_B, (oct_(16, 9), oct_(16, 10)), (oct_(16, 9), oct_(16, 10))),
                visit("HA1", "W1", GRID_A, (sep(16, 9), sep(16, 10)), (sep(16, 9), sep(16, 10))),  # September
            ]
        )
        for worker_id, name, grid in (("W1", "赵网格", GRID_A), ("W2", "钱网格", GRID_B)):
            session.add(Worker(county_code=COUNTY, worker_id=worker_id, name=name, phone="1", role="worker"))
            session.add(WorkerGrid(county_code=COUNTY, worker_id=worker_id, grid_code=grid))
        logs = [("W1", GRID_A, oct_(1 + i, 9)) for i in range(20)] + [("W2", GRID_B, oct_(5 + i, 9)) for i in range(3)]
        session.add_all(
            PatrolLog(county_code=COUNTY, worker_id=w, logged_at=at, grid_code=g, text="巡查", households_visited=1)
            for w, g, at in logs
        )
        for worker_id, flags in (("W1", ""), ("W2", "still")):
            session.add(
                PatrolDay(
                    county_code=COUNTY,
                    worker_id=worker_id,
                    day=dt.date(2026, 10, 15),
                    fixes=100,
                    first_ts=oct_(15, 9),
                    last_ts=oct_(15, 11),
                    distance_m=1500.0,
                    patrol_s=7200,
                    stops=2,
                    outside_share=0.0,
                    visited=1,
                    flags=flags,
                )
            )
    return store


def test_the_october_statistics_count_every_breakdown_as_worked_out_by_hand(october):
    stats = compute_statistics(october.session_factory, actor=OPERATOR, area_code=VILLAGE, period=OCTOBER, now=NOW)
    f = stats.figures
    assert (f["reports"], f["valid"], f["rejected"], f["reported"]) == (7, 5, 1, 6)
    assert (f["closed"], f["closed_fixed"], f["closed_other"], f["open"]) == (4, 3, 1, 2)
    assert f["closure_rate"] == pytest.approx(4 / 6) and f["fixed_closure_rate"] == pytest.approx(3 / 6)
    assert f["closed_in_period_fixed"] == 4 and f["on_time_rate"] == pytest.approx(3 / 4)  # c10 counts, c2 late
    assert [f[f"level_share.{level}"] for level in ("grid", "village", "township", "county")] == [0.5, 0.25, 0.25, 0]
    assert (f["overdue"], f["at_risk"], f["validation_overdue"]) == (1, 0, 1)
    assert (f["rated"], f["unsatisfied"], f["reopened"]) == (3, 1, 1)
    assert f["satisfaction_rate"] == pytest.approx(2 / 3)
    # Stage times in hours: validate [1, 1, 2, 4, 10, 26], dispatch [1, 2, 2, 3], handle [8, 24, 96],
    # close [4, 6, 12, 48], total [24, 31, 98, 108]; the 90th percentile interpolates linearly.
    assert (f["validate_count"], f["validate_hours_median"], f["validate_hours_p90"]) == (6, 3.0, 18.0)
    assert f["validate_on_time_share"] == pytest.approx(5 / 6)
    assert (f["dispatch_hours_median"], f["dispatch_hours_p90"]) == (2.0, pytest.approx(2.7))
    assert (f["handle_hours_median"], f["handle_hours_p90"]) == (24.0, pytest.approx(81.6))
    assert f["handle_on_time_share"] == pytest.approx(2 / 3)
    assert (f["close_hours_median"], f["close_hours_p90"]) == (9.0, pytest.approx(37.2))
    assert (f["total_count"], f["total_hours_median"]) == (4, 64.5)
    assert "dispatch_on_time_share" not in f  # no limit for dispatch
    assert (f["households"], f["visited"], f["coverage"]) == (4, 2, 0.5)
    assert (f["workers"], f["patrol_logs"], f["patrol_reports"]) == (2, 23, 4)
    assert (f["workers_below_quota"], f["suspicious_days"]) == (2, 1)  # W1: 20 logs but 3 reports
    assert stats.suspicious_days[["name", "flags"]].values.tolist() == [["钱网格", "定位不动"]]

    # 环比: September had c8, c9, c10 reported; year-ago October 2025 has no data at all.
    assert (stats.previous["reports"], stats.previous["valid"], stats.previous["rejected"]) == (3, 2, 1)
    assert (stats.previous["closure_rate"], stats.previous["open"]) == (0.5, 1)
    assert stats.previous["handle_hours_median"] == 36.0  # c8 24 h, c10 48 h
    assert stats.year_ago == {}

    def rows(frame: pd.DataFrame, key: str, *columns: str) -> dict:
        return {k: tuple(v) for k, v in zip(frame[key], frame[list(columns)].values.tolist(), strict=True)}

    assert rows(stats.by_category, "category", "reports", "closed", "closed_in_period_fixed") == {
        "环境卫生": (4, 3, 3),  # c1, c2, c6, c7 reported; c10 closed in October
        "安全隐患": (2, 1, 1),
        "矛盾纠纷": (1, 0, 0),
    }
    sub = stats.by_subcategory.set_index(["category", "subcategory"])["reports"].to_dict()
    assert sub == {("环境卫生", "垃圾堆放"): 3, ("环境卫生", "污水排放"): 1, ("安全隐患", "消防隐患"): 1,
                   ("安全隐患", "用电安全"): 1, ("矛盾纠纷", "邻里纠纷"): 1, ("环境卫生", "（未分小类）"): 0}  # fmt: skip
    assert rows(stats.by_channel, "channel", "reports") == {
        "patrol": (4,),
        "resident": (1,),
        "hotline": (1,),
        "app": (1,),
    }
    assert rows(stats.by_severity, "severity", "reports", "on_time_rate") == {"normal": (6, 2 / 3), "urgent": (1, 1.0)}
    assert stats.by_level["closed"].tolist() == [2, 1, 1, 0]
    assert stats.by_level["gap"].round(2).tolist() == [-0.3, 0.15, 0.15, 0.0]
    children = stats.by_child_area.set_index("code")
    assert children["reports"].to_dict() == {GRID_A: 4, GRID_B: 3}
    assert children["coverage"].to_dict() == {GRID_A: pytest.approx(1 / 3), GRID_B: 1.0}
    assert children["rank"].isna().all()  # far below MIN_CASES_TO_RANK closures
    assert rows(stats.by_department, "name", "reports", "closed", "closure_rate") == {"县应急管理局": (1, 1, 1.0)}
    assert rows(stats.backlog, "unit", "open", "overdue", "validation_overdue") == {
        "测试村第1网格": (1, 1, 0),
        "测试村第2网格": (1, 0, 1),
    }
    assert stats.backlog["unit"].tolist()[0] == "测试村第1网格"  # the overdue first
    assert stats.oldest_open[["incident_id", "state", "overdue"]].values.tolist() == [
        ["c5", "已派遣", True],
        ["c6", "待核实", False],
    ]
    assert stats.satisfaction["count"].tolist() == [1, 1, 1]
    assert stats.unsatisfied_cases["incident_id"].tolist() == ["c2"]
    assert stats.reopened_cases[["incident_id", "times"]].values.tolist() == [["c2", 1]]
    assert len(stats.trend) == 31 and stats.trend["reports"].sum() == 7 and stats.trend["closed"].sum() == 5


@pytest.mark.parametrize("area", [COUNTY, TOWNSHIP, VILLAGE, GRID_A, GRID_B])
def test_a_complete_periods_figures_equal_kpi_at_its_end_over_its_days(october, area):
    stats = compute_statistics(october.session_factory, actor=OPERATOR, area_code=area, period=OCTOBER, now=NOW)
    kpi = compute_area_figures(
        october.session_factory, actor=OPERATOR, area_code=area, at=OCTOBER.end, days=OCTOBER.days
    ).as_dict()
    report = report_json(build_report(stats))
    shared = set(kpi) & set(report) - {"at"}
    assert {"closure_rate", "on_time_rate", "level_share", "coverage", "open", "overdue", "households"} <= shared
    assert {key: report[key] for key in shared} == {key: kpi[key] for key in shared}
    assert dt.datetime.fromisoformat(str(report["at"])) == dt.datetime.fromisoformat(kpi["at"])


def test_the_report_carries_definitions_earlier_values_and_blank_safe_summaries(october):
    stats = compute_statistics(october.session_factory, actor=OPERATOR, area_code=VILLAGE, period=OCTOBER, now=NOW)
    report = build_report(stats, "monthly")
    assert report.title == "测试村 2026年10月 网格化管理月报" and report.rule_version
    assert report.start == dt.datetime(2026, 9, 30, 16, tzinfo=dt.UTC) and report.cutoff == NOW
    reports = next(figure for figure in report.headline if figure.key == "reports")
    assert (reports.value, reports.previous, reports.year_ago) == (7, 3, None)
    assert all(figure.definition == FIGURE_DEFINITIONS[figure.key].definition for figure in report.headline)
    sections = {section.key: section for section in report.sections}
    assert sections["volume"].summary.startswith("本月上报 7 件，环比 +133.3%；")  # 同比 left out: no data
    assert "同比" not in sections["volume"].summary
    assert "满意率 66.7%（参评 3 件）" in sections["satisfaction"].summary
    assert sections["ranking"].summary == f"没有下级区域办结达到 {MIN_CASES_TO_RANK} 件，本期不排名。"
    assert all(len(section.title) <= 31 for section in report.sections)
    for section in report.sections:
        assert set(section.column_kinds) == set(section.table.columns), section.key
    # No resident's name reaches any table (the households are all 张三).
    assert not any(
        section.table.astype(str).apply(lambda c: c.str.contains("张")).any().any() for section in report.sections
    )


def test_an_empty_period_gives_blank_rates_not_zeros(october):
    empty = parse_month("2026-08")
    stats = compute_statistics(october.session_factory, actor=OPERATOR, area_code=VILLAGE, period=empty, now=NOW)
    assert stats.figures["reports"] == 0
    assert stats.figures["closure_rate"] is None and stats.figures["satisfaction_rate"] is None
    assert stats.figures["handle_hours_median"] is None and stats.previous == {}
    report = build_report(stats)
    assert next(s for s in report.sections if s.key == "volume").summary.startswith("本月上报 0 件；")
    assert set(HEADLINE_KEYS) <= set(FIGURE_DEFINITIONS)


def test_a_supervisor_sees_only_their_grid_and_is_refused_elsewhere(october):
    supervisor = make_actor("grid_supervisor", GRID_A)
    stats = compute_statistics(october.session_factory, actor=supervisor, area_code=VILLAGE, period=OCTOBER, now=NOW)
    assert stats.figures["reports"] == 4 and stats.by_child_area["code"].tolist() == [GRID_A]
    assert stats.figures["workers"] == 1
    with pytest.raises(OutOfScopeError):
        compute_statistics(october.session_factory, actor=supervisor, area_code=GRID_B, period=OCTOBER, now=NOW)


def test_running_week_reads_open_cases_at_the_cut_off(october):
    week = parse_week("2026-W44")  # 26 October – 1 November
    cutoff = oct_(30, 13)  # one hour after c6 was reported: not yet validation-overdue
    stats = compute_statistics(october.session_factory, actor=OPERATOR, area_code=VILLAGE, period=week, now=cutoff)
    assert stats.at == cutoff and stats.figures["validation_overdue"] == 0 and stats.figures["open"] == 2
    assert stats.quotas == (5.0, 2.0)  # 20 and 6 × 7 ÷ 30, rounded up


def test_periods_parse_and_step_back_in_local_time():
    week = parse_week("2026-W53")
    assert (week.first_day, week.last_day) == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    assert week.previous().code == "2026-W52" and week.year_ago().code == "2025-W52"  # 2025 has 52 weeks
    assert parse_month("2026-03").previous().code == "2026-02"
    assert parse_month("2026-01").previous().code == "2025-12"
    leap = parse_range("2028-02-01", "2028-02-29")
    assert leap.year_ago().last_day == dt.date(2027, 2, 28) and leap.previous().days == 29
    assert parse_period("2026-11").end == dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "YYYY-MM"),
        ("2026-W54", "2026 年共 53 周"),
        ("11/2026", "无法识别"),
        ("2026-11-09..2026-11-03", "早于"),
    ],
)
def test_a_bad_period_gets_a_chinese_error(text, message):
    with pytest.raises(InvalidArgumentError, match=message):
        parse_period(text)


def test_areas_are_ranked_only_with_enough_closures():
    frame = pd.DataFrame(
        {
            "closed": [MIN_CASES_TO_RANK, MIN_CASES_TO_RANK - 1, 40, 40],
            "closure_rate": [0.9, 1.0, 0.9, 0.95],
            "on_time_rate": [0.8, 1.0, 0.9, None],
        }
    )
    assert rank_areas(frame).tolist() == [3, pd.NA, 2, 1]


def test_readme_lists_every_figure_definition():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### 统计分析与月报的指标", 1)[1].split("\n## ", 1)[0]
    for key, definition in FIGURE_DEFINITIONS.items():
        assert f"`{key}`" in section and definition.definition in section, key


def test_the_command_line_prints_the_report_with_kpis_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade_schema(engine)
    store = Store(engine=engine, session_factory=make_session_factory(engine))
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all(cases())
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path)}

    def run(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)

    report = run("report", "monthly", "--area", VILLAGE, "--month", "2026-10", "--json", "--at", "2026-11-23T14:00")
    kpi = run("kpi", "--area", VILLAGE, "--at", "2026-11-01T00:00", "--days", "31", "--json")
    shared = set(report) & set(kpi)
    assert {"closure_rate", "level_share", "coverage", "reported", "days", "at"} <= shared
    assert {key: report[key] for key in shared} == {key: kpi[key] for key in shared}
    assert report["reports"] == 7 and report["previous"]["reports"] == 3 and report["year_ago"]["reports"] is None
    bad = subprocess.run(
        [sys.executable, "-m", "services.cli", "report", "weekly", "--area", VILLAGE, "--week", "2026-W99", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "周次" in bad.stderr


def test_a_spoiled_coverage_with_hostile_names_gives_a_full_report(store, tmp_path) -> None:
    """Grids as a desktop GIS exports them (winding shared edges simplified per polygon, six
    decimals), named with markup and formulas: the statistics, the report and both files still
    come out, the names kept literally and the grids' counts adding up to the county's."""
    from services.exchange.report_files import report_pdf, report_xlsx
    from tests.coverages import rounded_voronoi
    from tests.hostile import PAYLOADS

    layer = rounded_voronoi()
    layer["village_name"] = [PAYLOADS[int(code[9:12]) % len(PAYLOADS)] for code in layer["village_code"]]
    layer["township_name"] = PAYLOADS[0]
    path = tmp_path / "grids.geojson"
    layer.to_file(path)
    run_import(store, "grids", path)
    codes = layer["grid_code"].tolist()
    with store.session_factory.begin() as session:
        for n, code in enumerate(codes):
            centre = layer.geometry.iloc[n].representative_point()
            session.add(
                incident(
                    f"S{n:03d}",
                    code,
                    lon=centre.x,
                    lat=centre.y,
                    reported_at=dt.datetime(2026, 10, 10, 9, tzinfo=SHANGHAI),
                    validated_at=dt.datetime(2026, 10, 10, 12, tzinfo=SHANGHAI),
                    state="validated",
                )
            )
    township = codes[0][:9]
    stats = compute_statistics(store.session_factory, actor=OPERATOR, area_code=township, period=OCTOBER, now=NOW)
    assert stats.figures["reports"] == len(codes) == int(stats.by_child_area["reports"].sum())
    assert set(stats.by_child_area["name"]) <= set(PAYLOADS)
    report = build_report(stats)
    assert report.area_name == PAYLOADS[0] and report.title.startswith(PAYLOADS[0])
    assert report_xlsx(report)[:2] == b"PK" and report_pdf(report)[:5] == b"%PDF-"
