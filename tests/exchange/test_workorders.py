"""12345 work orders (`import workorders FILE`) on both engines: cases in 待核实 on the hotline
channel, points from 经纬度, a household address or a village name, re-import by 工单编号, every
problem named by row and field with nothing written; and the intake-key commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.cli.commands import main
from services.domain import CATEGORIES
from services.exchange.imports.problems import ImportFileError
from services.intake.catalogue import HOTLINE_CATEGORIES, hotline_category
from services.store.models import AuditEntry, Incident, IncidentEvent, IntakeRequest
from tests.factories import COUNTY, GRID_A, GRID_B, household, run_import, seed_areas
from tests.paths import ROOT

HEADER = "工单编号,诉求内容,地址,经纬度,受理时间,诉求类别,来电人,来电号码\n"
ORDERS = (
    'GD001,路灯不亮,平乡镇测试村东口,"115.015,37.005",2026-11-20 08:00,路灯照明,王先生,13912345678\n'
    "GD002,门前垃圾无人清运,平乡镇测试村1号,,2026-11-20 09:00,垃圾清运,,\n"
    "GD003,宅基地界线争议,平乡镇测试村,,2026-11-20 10:00,宅基地,李女士,\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def county(store):
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add(household("h1", GRID_A))  # 平乡镇测试村1号 at (115.005, 37.005)
    return store


def test_every_mapped_hotline_category_is_in_the_taxonomy() -> None:
    assert all(sub in CATEGORIES[cat] for cat, sub in HOTLINE_CATEGORIES.values())
    assert hotline_category("安全隐患/危房") == ("安全隐患", "危房") and hotline_category("危房") == (
        "安全隐患",
        "危房",
    )
    assert hotline_category("天气预报") is None


def test_readme_documents_the_hotline_category_mapping() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {f"| {name} | {cat} | {sub} |" for name, (cat, sub) in HOTLINE_CATEGORIES.items()}
    assert {row for row in rows if row in readme} == rows


def test_work_orders_become_hotline_cases_placed_by_coordinates_household_or_village(county, tmp_path) -> None:
    written = run_import(county, "workorders", write(tmp_path / "orders.csv", HEADER + ORDERS, "gbk"))
    assert written == {"workorders_inserted": 3, "workorders_updated": 0, "workorders_unchanged": 0}
    with county.session_factory() as session:
        cases = session.execute(
            select(
                IntakeRequest.external_id, Incident.grid_code, Incident.state, Incident.channel, Incident.subcategory
            )
            .join(Incident, Incident.incident_id == IntakeRequest.incident_id)
            .order_by(IntakeRequest.external_id)
        ).all()
        events = session.scalar(select(func.count()).select_from(IncidentEvent))
        caller = session.scalar(select(IntakeRequest.phone).where(IntakeRequest.external_id == "GD001"))
    assert [tuple(c) for c in cases] == [
        ("GD001", GRID_B, "reported", "hotline", "路灯损坏"),
        ("GD002", GRID_A, "reported", "hotline", "垃圾堆放"),
        ("GD003", GRID_A, "reported", "hotline", "宅基地纠纷"),  # the village's point lies in grid A
    ]
    assert events == 3 and caller == "13912345678"


def test_reimporting_updates_by_order_id(county, tmp_path) -> None:
    run_import(county, "workorders", write(tmp_path / "orders.csv", HEADER + ORDERS))
    changed = ORDERS.replace("路灯不亮", "路灯不亮，已三天")
    written = run_import(county, "workorders", write(tmp_path / "orders2.xlsx.csv", HEADER + changed))
    assert written == {"workorders_inserted": 0, "workorders_updated": 1, "workorders_unchanged": 2}
    with county.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 3
        assert (
            session.scalar(select(Incident.description).where(Incident.subcategory == "路灯损坏")) == "路灯不亮，已三天"
        )


def test_bad_orders_are_refused_by_row_and_field_and_nothing_is_written(county, tmp_path) -> None:
    bad = (
        'GD001,路灯不亮,,"115.015,37.005",昨天上午,路灯照明,,\n'
        "GD002,,火星基地,,2026-11-20 09:00,天气预报,,\n"
        'GD002,漏水,平乡镇测试村,"116.9,38.9",2026-11-20 09:00,供水,,\n'
    )
    with pytest.raises(ImportFileError) as refused:
        run_import(county, "workorders", write(tmp_path / "bad.csv", HEADER + bad))
    found = {(p.row, p.field) for p in refused.value.problems}
    assert found == {
        (2, "accepted_at"),
        (3, "content"),
        (3, "request_category"),
        (3, "address"),
        (4, "order_id"),
        (4, "lon/lat"),
    }
    assert "文件 bad.csv，第 3 行" in str(refused.value)
    with county.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_intake_key_commands_print_the_key_once_and_revoke_it(store, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COUNTY_CODE", COUNTY)
    assert main(["intake-key", "add", "cunqingtong", "--channel", "app"]) == 0
    key = json.loads(capsys.readouterr().out)["api_key"]
    assert main(["intake-key", "list"]) == 0
    listed = capsys.readouterr().out
    assert "cunqingtong" in listed and key not in listed
    assert main(["intake-key", "revoke", "cunqingtong"]) == 0
    assert main(["intake-key", "revoke", "cunqingtong"]) == 2 and "已于" in capsys.readouterr().err
    with store.session_factory() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.at, AuditEntry.action)).all()
    assert sorted(actions) == ["intake_key_add", "intake_key_revoke"]
