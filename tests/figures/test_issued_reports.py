"""Issued reports on both engines: a report comes back exactly as it was issued (figures, tables,
dtypes), a re-issue is the next version, roles and areas bound who issues and reads, issuing and
opening are on the record, sixteen simultaneous issues of one period all land as versions 1–16,
and a database filled before the table existed upgrades."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from services.errors import OutOfScopeError, PermissionDeniedError, UnknownItemError
from services.exchange.report_files import report_pdf
from services.figures.issued_reports import (
    issue_report,
    list_issued_reports,
    load_issued_report,
    report_from_json,
    report_to_json,
)
from services.figures.report import ReportSection
from services.store.models import AuditEntry, IssuedReport
from tests.factories import ADMIN, COUNTY, GRID_A, GRID_B, OPERATOR, TOWNSHIP, VILLAGE, T, make_actor, seed_areas
from tests.report_samples import assert_same_report, sample_report
from tests.store.test_concurrency import WRITERS, at_once, split

LEADER = make_actor("township_leader", TOWNSHIP, username="leader", name="乡镇领导")
SUPERVISOR = make_actor("grid_supervisor", GRID_A, GRID_B, username="supervisor", name="网格督导员")
VIEWER = make_actor("viewer", username="viewer", name="只读用户")
OTHER_LEADER = make_actor("township_leader", "130532102", username="other", name="另一乡镇领导")
LATER = T + dt.timedelta(days=3)


def township_report(**changes: object):  # type: ignore[no-untyped-def]
    return sample_report(area_code=TOWNSHIP, area_name="平乡镇", title="平乡镇 2026年11月 网格化管理月报", **changes)


def audit_actions(store) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    with store.session_factory() as session:
        rows = session.execute(select(AuditEntry.username, AuditEntry.action, AuditEntry.target)).all()
    return sorted((u, a, t) for u, a, t in rows)


# --- Report ⇄ JSON ---------------------------------------------------------------------------


def test_a_report_comes_back_from_its_json_exactly() -> None:
    report = sample_report()
    assert_same_report(report_from_json(report_to_json(report)), report)


def test_tables_of_every_dtype_and_index_come_back_exactly() -> None:
    table = pd.DataFrame(
        {
            "整数": np.array([1, 2, 3], dtype="int64"),
            "可空整数": pd.array([1, None, 3], dtype="Int64"),
            "小数": [0.5, float("nan"), float("inf")],
            "文本": pd.array(["甲", None, "=1+1"], dtype="str"),
            "混合": [None, 1.5, "乙"],
            "是否": [True, False, True],
            "时间": pd.to_datetime(
                ["2026-11-01T00:00:00.123456Z", None, "2026-11-30T15:59:59Z"], utc=True, format="ISO8601"
            ),
            "日期": [dt.date(2026, 11, 1), dt.date(2026, 11, 2), None],
        },
        index=pd.Index(["a", "b", "c"], name="键"),
    )
    kinds = dict.fromkeys(table.columns, "text")
    report = sample_report(sections=(ReportSection("odd", "各种类型", "", table, kinds, "none"),))
    back = report_from_json(report_to_json(report))
    assert_same_report(back, report)
    assert back.sections[0].table.dtypes.astype(str).tolist() == table.dtypes.astype(str).tolist()


def test_the_stored_json_is_plain_json_without_nan_literals() -> None:
    text = report_to_json(sample_report())
    assert "NaN" not in text and "Infinity" not in text
    assert '"float":"nan"' in text  # the blank 占比 of the last category, tagged


# --- issuing and re-opening --------------------------------------------------------------------


def test_an_issued_report_reopens_exactly_as_issued(store) -> None:
    seed_areas(store)
    issued = issue_report(store.session_factory, actor=LEADER, report=township_report(), now=T)
    assert (issued.version, issued.area_code, issued.kind, issued.issued_by, issued.issuer_name) == (
        1,
        TOWNSHIP,
        "monthly",
        "leader",
        "乡镇领导",
    )
    assert issued.cutoff == township_report().cutoff and issued.rule_version == "2026.11-1"
    again, report = load_issued_report(store.session_factory, actor=OPERATOR, report_id=issued.report_id, now=LATER)
    assert again == issued
    assert_same_report(report, township_report())
    assert report_pdf(report) == report_pdf(township_report())  # the very file that was sent


def test_issuing_a_period_again_adds_the_next_version_and_keeps_the_first(store) -> None:
    seed_areas(store)
    first = issue_report(store.session_factory, actor=LEADER, report=township_report(), now=T)
    corrected = township_report(headline=township_report().headline[:2], rule_version="2026.12-1")
    second = issue_report(store.session_factory, actor=OPERATOR, report=corrected, now=LATER)
    october = township_report(
        start=dt.datetime(2026, 9, 30, 16, tzinfo=dt.UTC),
        end=dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC),
        period_label="2026年10月",
    )
    earlier = issue_report(store.session_factory, actor=LEADER, report=october, now=LATER)
    weekly = issue_report(store.session_factory, actor=LEADER, report=township_report(kind="weekly"), now=LATER)
    assert (first.version, second.version, earlier.version, weekly.version) == (1, 2, 1, 1)
    listed = list_issued_reports(store.session_factory, actor=LEADER, area_code=TOWNSHIP, now=LATER)
    assert [r.report_id for r in listed] == [second.report_id, first.report_id, weekly.report_id, earlier.report_id]
    assert listed[0].label == "平乡镇 2026年11月 网格化管理月报（第 2 版）"
    only_monthly = list_issued_reports(
        store.session_factory, actor=LEADER, area_code=TOWNSHIP, now=LATER, kind="monthly"
    )
    assert weekly.report_id not in {r.report_id for r in only_monthly} and len(only_monthly) == 3
    _, kept = load_issued_report(store.session_factory, actor=LEADER, report_id=first.report_id, now=LATER)
    assert_same_report(kept, township_report())
    assert list_issued_reports(store.session_factory, actor=OPERATOR, area_code=COUNTY, now=LATER) == ()


@pytest.mark.parametrize(
    ("actor", "area_code"),
    [(ADMIN, COUNTY), (OPERATOR, GRID_A), (LEADER, TOWNSHIP), (LEADER, GRID_B), (SUPERVISOR, GRID_A)],
)
def test_each_role_issues_for_the_areas_it_answers_for(store, actor, area_code) -> None:
    seed_areas(store)
    issued = issue_report(store.session_factory, actor=actor, report=sample_report(area_code=area_code), now=T)
    assert issued.area_code == area_code and issued.issued_by == actor.username
    assert audit_actions(store) == [(actor.username, "report_issue", issued.report_id)]


@pytest.mark.parametrize(
    ("actor", "area_code", "error"),
    [
        (VIEWER, COUNTY, PermissionDeniedError),
        (LEADER, COUNTY, OutOfScopeError),
        (OTHER_LEADER, TOWNSHIP, OutOfScopeError),
        (SUPERVISOR, VILLAGE, OutOfScopeError),  # two grids of the village are not the village
    ],
)
def test_a_report_beyond_the_role_or_its_areas_is_refused_on_the_record(store, actor, area_code, error) -> None:
    seed_areas(store)
    with pytest.raises(error):
        issue_report(store.session_factory, actor=actor, report=sample_report(area_code=area_code), now=T)
    with store.session_factory() as session:
        assert session.scalar(select(sa.func.count()).select_from(IssuedReport)) == 0
    assert [action for _, action, _ in audit_actions(store)] == ["refused"]


def test_only_those_holding_the_whole_area_see_its_issued_reports(store) -> None:
    seed_areas(store)
    issued = issue_report(store.session_factory, actor=LEADER, report=township_report(), now=T)
    for outsider in (OTHER_LEADER, SUPERVISOR):
        with pytest.raises(UnknownItemError):  # as if it did not exist
            load_issued_report(store.session_factory, actor=outsider, report_id=issued.report_id, now=LATER)
        with pytest.raises(OutOfScopeError):
            list_issued_reports(store.session_factory, actor=outsider, area_code=TOWNSHIP, now=LATER)
    with pytest.raises(UnknownItemError):
        load_issued_report(store.session_factory, actor=OPERATOR, report_id="no-such-report", now=LATER)
    _, report = load_issued_report(store.session_factory, actor=VIEWER, report_id=issued.report_id, now=LATER)
    assert report.area_code == TOWNSHIP  # a county viewer reads it
    assert audit_actions(store) == sorted(
        [
            ("leader", "report_issue", issued.report_id),
            ("other", "refused", f"报表 {issued.report_id}"),
            ("other", "refused", TOWNSHIP),
            ("supervisor", "refused", f"报表 {issued.report_id}"),
            ("supervisor", "refused", TOWNSHIP),
            ("operator", "refused", "报表 no-such-report"),
            ("viewer", "report_open", issued.report_id),
        ]
    )


# --- at once -------------------------------------------------------------------------------------


def test_sixteen_simultaneous_issues_of_one_period_land_as_versions_one_to_sixteen(store) -> None:
    seed_areas(store)
    leaders = [dataclasses.replace(LEADER, username=f"leader{i}") for i in range(WRITERS)]
    issued, _ = split(
        at_once(
            WRITERS,
            lambda i: issue_report(store.session_factory, actor=leaders[i], report=township_report(), now=T),
        ),
        type(None),
    )
    assert sorted(r.version for r in issued) == list(range(1, WRITERS + 1))
    with store.session_factory() as session:
        stored = session.execute(select(IssuedReport.version, IssuedReport.issued_by)).all()
    assert sorted(stored) == sorted((r.version, r.issued_by) for r in issued)  # none lost, none doubled
    assert len({who for _, who in stored}) == WRITERS
    assert sum(action == "report_issue" for _, action, _ in audit_actions(store)) == WRITERS


# --- the migration -------------------------------------------------------------------------------


def test_a_database_filled_before_issued_reports_upgrades_and_goes_down_again(store) -> None:
    from alembic import command

    from services.store.migrate import alembic_config

    seed_areas(store)
    config = alembic_config(store.engine)
    command.downgrade(config, "0007")
    assert "issued_reports" not in sa.inspect(store.engine).get_table_names()
    command.upgrade(config, "head")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM areas").scalar() == 5  # the filled part stays
    issued = issue_report(store.session_factory, actor=LEADER, report=township_report(), now=T)
    command.downgrade(config, "0007")  # a filled issued_reports goes down too
    assert "issued_reports" not in sa.inspect(store.engine).get_table_names()
    command.upgrade(config, "head")
    assert list_issued_reports(store.session_factory, actor=LEADER, area_code=TOWNSHIP, now=T) == ()
    assert issue_report(store.session_factory, actor=LEADER, report=township_report(), now=T).version == issued.version
