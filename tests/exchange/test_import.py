"""Import: every DESIGN.md exchange format, every bad input of issue 3 refused with file, row and
field and nothing written, re-import by id, encodings and GCJ-02 landing in the same grids."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import func, select

from geo.gcj02 import wgs84_to_gcj02
from services.exchange.imports.problems import ImportFileError
from services.exchange.imports.service import check_import, import_file
from services.store.models import (
    Area,
    HandlingLimit,
    Household,
    HouseholdTag,
    Incident,
    IncidentEvent,
    PatrolDay,
    PatrolFix,
    PatrolVisit,
    Worker,
)
from tests.factories import COUNTY, GRID_A, GRID_B, OPERATOR, VILLAGE, T, seed_areas

TOWNSHIP_NAME = "平乡镇"


def run(store, kind: str, path: Path, crs: str = "wgs84"):
    return import_file(store.session_factory, kind=kind, path=path, filename=path.name, crs=crs, actor=OPERATOR, now=T)


def check_file(store, kind: str, path: Path):  # type: ignore[no-untyped-def]
    return check_import(
        store.session_factory, kind=kind, path=path, filename=path.name, crs="wgs84", actor=OPERATOR, now=T
    )


def counts(store) -> dict[str, int]:
    with store.session_factory() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Area, Household, HouseholdTag, Worker, Incident, IncidentEvent, PatrolFix, PatrolVisit)
        }


def refused(store, kind: str, path: Path, *expected: str, crs: str = "wgs84") -> str:
    """Import must fail, name what is expected, and leave the store as it was."""
    before = counts(store)
    with pytest.raises(ImportFileError) as caught:
        run(store, kind, path, crs)
    message = str(caught.value)
    assert path.name in message
    for text in expected:
        assert text in message, message
    assert counts(store) == before
    return message


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    return path


def household(household_id: str = "H1", lon: float = 115.005, lat: float = 37.005, **extra: object) -> dict:
    row = dict(
        household_id=household_id,
        head_name="张建国",
        address="平乡镇测试村1号",
        members=3,
        phone="13800000000",
        lon=lon,
        lat=lat,
        tags="独居老人|低保户",
    )
    row.update(extra)
    return row


def grid_layer(features: list[tuple[str, shapely.Geometry]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "grid_code": [code for code, _ in features],
            "grid_name": [f"测试村第{code[-1]}网格" for code, _ in features],
            "village_code": [code[:12] for code, _ in features],
            "village_name": "测试村",
            "township_code": [code[:9] for code, _ in features],
            "township_name": TOWNSHIP_NAME,
        },
        geometry=[geom for _, geom in features],
        crs="EPSG:4326",
    )


@pytest.fixture
def grids_store(store):
    seed_areas(store)
    return store


# --- grids -------------------------------------------------------------------------------------


def test_grids_import_derives_villages_and_townships_as_unions(store, tmp_path) -> None:
    west, east = shapely.box(115.0, 37.0, 115.01, 37.01), shapely.box(115.01, 37.0, 115.02, 37.01)
    path = tmp_path / "grids.geojson"
    grid_layer([(GRID_A, west), (GRID_B, east)]).to_file(path)
    summary = run(store, "grids", path)
    assert summary.written["grids_inserted"] == 2 and summary.written["villages"] == 1
    with store.session_factory() as session:
        village = session.get(Area, (COUNTY, VILLAGE))
        township = session.get(Area, (COUNTY, VILLAGE[:9]))
    assert village.geom.equals(shapely.union(west, east)) and township.name == TOWNSHIP_NAME
    again = run(store, "grids", path)
    assert (again.written["grids_inserted"], again.written["grids_unchanged"]) == (0, 2)


def test_a_self_intersecting_polygon_is_refused_by_feature_and_field(store, tmp_path) -> None:
    bowtie = shapely.Polygon([(115.0, 37.0), (115.01, 37.01), (115.01, 37.0), (115.0, 37.01)])
    path = tmp_path / "bad.geojson"
    grid_layer([(GRID_A, shapely.box(115.02, 37.0, 115.03, 37.01)), (GRID_B, bowtie)]).to_file(path)
    refused(store, "grids", path, "第 2 个要素", "字段 geometry", "自相交")


def test_overlapping_grids_of_one_village_are_refused(store, tmp_path) -> None:
    path = tmp_path / "overlap.geojson"
    grid_layer(
        [(GRID_A, shapely.box(115.0, 37.0, 115.01, 37.01)), (GRID_B, shapely.box(115.005, 37.0, 115.02, 37.01))]
    ).to_file(path)
    refused(store, "grids", path, "字段 geometry", f"网格 {GRID_A} 与同村网格 {GRID_B} 重叠")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("13053210120100", "应为 15 位数字编码"), ("130532101202001", "网格编码应以其村（社区）编码开头")],
)
def test_bad_grid_codes_are_refused(store, tmp_path, code, expected) -> None:
    layer = grid_layer([(GRID_A, shapely.box(115.0, 37.0, 115.01, 37.01))])
    layer["grid_code"] = code
    path = tmp_path / "codes.geojson"
    layer.to_file(path)
    refused(store, "grids", path, "第 1 个要素", "字段 grid_code", expected)


def test_a_gbk_shapefile_without_cpg_keeps_its_chinese_names(store, tmp_path) -> None:
    path = tmp_path / "grids.shp"
    with warnings.catch_warnings():  # the format's 10-character field names: truncated, as in real files
        warnings.simplefilter("ignore")
        grid_layer([(GRID_A, shapely.box(115.0, 37.0, 115.01, 37.01))]).to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    zipped = tmp_path / "grids.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for part in tmp_path.glob("grids.*"):
            if part.suffix != ".zip":
                archive.write(part, part.name)
    for source in (path, zipped):
        run(store, "grids", source)
        with store.session_factory() as session:
            assert session.get(Area, (COUNTY, GRID_A)).name == "测试村第1网格"


# --- households --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "xlsx"])
def test_households_in_any_supported_encoding_land_in_the_same_grids(grids_store, tmp_path, encoding) -> None:
    rows = [household("H1", 115.005, 37.005), household("H2", 115.015, 37.002, tags="")]
    if encoding == "xlsx":
        path = tmp_path / "households.xlsx"
        pd.DataFrame(rows).to_excel(path, index=False)
    else:
        path = write_csv(tmp_path / "households.csv", rows, encoding)
    summary = run(grids_store, "households", path)
    assert summary.written["households_inserted"] == 2 and summary.written["tags"] == 2
    with grids_store.session_factory() as session:
        homes = {h.household_id: (h.grid_code, h.head_name) for h in session.scalars(select(Household))}
    assert homes == {"H1": (GRID_A, "张建国"), "H2": (GRID_B, "张建国")}


def test_gcj02_households_are_converted_and_land_where_the_wgs84_ones_do(grids_store, tmp_path) -> None:
    lon, lat = np.array([115.005, 115.015]), np.array([37.005, 37.002])
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    rows = [household("H1", gcj_lon[0], gcj_lat[0]), household("H2", gcj_lon[1], gcj_lat[1])]
    run(grids_store, "households", write_csv(tmp_path / "gcj.csv", rows), crs="gcj02")
    with grids_store.session_factory() as session:
        homes = sorted(session.scalars(select(Household)), key=lambda h: h.household_id)
    assert [h.grid_code for h in homes] == [GRID_A, GRID_B]
    assert np.allclose([h.lon for h in homes], lon, atol=1e-7) and np.allclose([h.lat for h in homes], lat, atol=1e-7)


def test_a_household_on_a_shared_edge_goes_to_the_smaller_grid_code(grids_store, tmp_path) -> None:
    run(grids_store, "households", write_csv(tmp_path / "edge.csv", [household("H1", 115.01, 37.005)]))
    with grids_store.session_factory() as session:
        assert session.get(Household, (COUNTY, "H1")).grid_code == GRID_A


def test_reimport_updates_by_id_and_says_what_changed(grids_store, tmp_path) -> None:
    path = write_csv(tmp_path / "h.csv", [household("H1"), household("H2", 115.015, 37.002)])
    run(grids_store, "households", path)
    changed = write_csv(
        tmp_path / "h.csv",
        [household("H1", address="平乡镇测试村9号", tags="独居老人"), household("H2", 115.015, 37.002)],
    )
    summary = run(grids_store, "households", changed)
    assert summary.written | {"tags": 0} == {
        "households_inserted": 0,
        "households_updated": 1,
        "households_unchanged": 1,
        "tags": 0,
    }
    with grids_store.session_factory() as session:
        assert session.get(Household, (COUNTY, "H1")).address == "平乡镇测试村9号"
        tags = session.scalars(select(HouseholdTag.tag).where(HouseholdTag.household_id == "H1")).all()
        assert session.scalar(select(func.count()).select_from(Household)) == 2
    assert tags == ["独居老人"]


@pytest.mark.parametrize(
    ("row", "field", "expected"),
    [
        (household(lon=37.005, lat=115.005), "lon/lat", "经度和纬度可能填反了"),
        (household(lon=-3.0, lat=51.5), "lon/lat", "坐标不在中国境内"),
        (household(lon=116.0, lat=38.0), "lon/lat", "坐标不在任何网格内"),
        (household(lon="东经115"), "lon", "不是数字"),
        (household(members=0), "members", "不小于 1 的整数"),
        (household(tags="独居老人|外星人"), "tags", "未知标签 外星人"),
        (household(grid_code=GRID_B), "grid_code", f"与坐标所在网格 {GRID_A} 不一致"),
    ],
)
def test_bad_household_rows_are_refused_by_row_and_field(grids_store, tmp_path, row, field, expected) -> None:
    path = write_csv(tmp_path / "households.csv", [household("H0", 115.015, 37.002), row])
    refused(grids_store, "households", path, "第 3 行", f"字段 {field}", expected)


def test_a_duplicate_id_is_refused(grids_store, tmp_path) -> None:
    path = write_csv(tmp_path / "dup.csv", [household("H1"), household("H2"), household("H1")])
    refused(grids_store, "households", path, "第 4 行", "字段 household_id", "编号 H1 重复（第 2, 4 行）")


def test_a_missing_required_column_is_refused(grids_store, tmp_path) -> None:
    path = write_csv(tmp_path / "nocol.csv", [{k: v for k, v in household().items() if k != "lat"}])
    refused(grids_store, "households", path, "第 1 行", "字段 lat", "缺少必填列")


def test_an_unsupported_format_and_encoding_are_refused(grids_store, tmp_path) -> None:
    text = tmp_path / "households.txt"
    text.write_text("household_id\nH1\n", encoding="utf-8")
    refused(grids_store, "households", text, "不支持的文件格式 .txt")
    utf16 = tmp_path / "households.csv"
    pd.DataFrame([household()]).to_csv(utf16, index=False, encoding="utf-16")
    refused(grids_store, "households", utf16, "无法识别文件编码")


# --- workers, incidents, fixes -----------------------------------------------------------------


def worker(worker_id: str = "W1", grid_codes: str = GRID_A, **extra: object) -> dict:
    row = dict(worker_id=worker_id, name="李秀英", phone="13900000000", role="网格员", grid_codes=grid_codes)
    row.update(extra)
    return row


def test_a_worker_referring_to_a_missing_grid_is_refused(grids_store, tmp_path) -> None:
    path = write_csv(tmp_path / "workers.csv", [worker("W1"), worker("W2", f"{GRID_B}|130532101201009")])
    refused(grids_store, "workers", path, "第 3 行", "字段 grid_codes", "网格 130532101201009 不存在")


def test_workers_import_and_reimport(grids_store, tmp_path) -> None:
    path = write_csv(tmp_path / "workers.csv", [worker("W1"), worker("W2", f"{GRID_A}|{GRID_B}", role="网格长")])
    assert run(grids_store, "workers", path).written["grid_assignments"] == 3
    assert run(grids_store, "workers", path).written["workers_unchanged"] == 2


def incident(incident_id: str = "E1", **extra: object) -> dict:
    row = dict(
        incident_id=incident_id,
        category="环境卫生",
        severity="normal",
        lon=115.005,
        lat=37.005,
        description="垃圾堆放",
        channel="patrol",
        reported_at="2026-11-18 09:00",
        validated_at="2026-11-18 10:00",
        rejected_at="",
        dispatched_at="2026-11-18 10:30",
        assignee_worker_id="",
        handled_at="2026-11-19 09:00",
        closed_at="2026-11-19 12:00",
        level="grid",
        satisfaction="满意",
    )
    row.update(extra)
    return row


def test_incident_history_is_imported_with_its_event_log(grids_store, tmp_path) -> None:
    rows = [incident("E1"), incident("E2", handled_at="", closed_at="", level="township", satisfaction="")]
    summary = run(grids_store, "incidents", write_csv(tmp_path / "incidents.csv", rows))
    assert summary.written["incidents_inserted"] == 2
    with grids_store.session_factory() as session:
        states = {i.incident_id: (i.state, i.level, i.grid_code) for i in session.scalars(select(Incident))}
        actions = session.scalars(
            select(IncidentEvent.action).where(IncidentEvent.incident_id == "E2").order_by(IncidentEvent.seq)
        ).all()
    assert states == {"E1": ("closed", "grid", GRID_A), "E2": ("in_progress", "township", GRID_A)}
    assert actions == ["report", "validate", "dispatch", "accept", "escalate", "escalate"]


def test_imported_incidents_take_the_county_limit_table_like_new_reports(grids_store, tmp_path) -> None:
    with grids_store.session_factory.begin() as session:
        session.add(
            HandlingLimit(county_code=COUNTY, category="安全隐患", severity="urgent", stage="handling", hours=4.0)
        )
    rows = [incident("E1", category="安全隐患", severity="urgent"), incident("E2", severity="urgent"), incident("E3")]
    run(grids_store, "incidents", write_csv(tmp_path / "incidents.csv", rows))
    with grids_store.session_factory() as session:
        limits = dict(session.execute(select(Incident.incident_id, Incident.limit_hours)).all())
    assert limits == {"E1": 4.0, "E2": 24.0, "E3": 72.0}


@pytest.mark.parametrize(
    ("row", "field", "expected"),
    [
        (incident(reported_at="昨天上午"), "reported_at", "无法解析的时间“昨天上午”"),
        (incident(validated_at="2026-11-17 10:00"), "validated_at", "早于 reported_at"),
        (incident(category="外星人入侵"), "category", "取值应为"),
        (incident(assignee_worker_id="W404"), "assignee_worker_id", "网格员 W404 不存在"),
    ],
)
def test_bad_incident_rows_are_refused(grids_store, tmp_path, row, field, expected) -> None:
    path = write_csv(tmp_path / "incidents.csv", [incident("E0"), row | {"incident_id": "E9"}])
    refused(grids_store, "incidents", path, "第 3 行", f"字段 {field}", expected)


def test_fixes_import_records_visits_and_drops_exact_duplicates(grids_store, tmp_path) -> None:
    run(grids_store, "households", write_csv(tmp_path / "h.csv", [household("H1", 115.005, 37.005)]))
    run(grids_store, "workers", write_csv(tmp_path / "w.csv", [worker("W1")]))
    fixes = [
        dict(worker_id="W1", ts="2026-11-20 09:00:00", lon=115.0048, lat=37.005, accuracy_m=8),
        dict(worker_id="W1", ts="2026-11-20 09:00:30", lon=115.0052, lat=37.005, accuracy_m=8),
        dict(worker_id="W1", ts="2026-11-20 09:00:30", lon=115.0052, lat=37.005, accuracy_m=8),
    ]
    summary = run(grids_store, "fixes", write_csv(tmp_path / "fixes.csv", fixes))
    assert summary.written["fixes_inserted"] == 2
    assert summary.dropped == {"exact_duplicates": 1, "inaccurate": 0, "jumps": 0}
    assert summary.written["visits"] == 1 and summary.written["patrol_days"] == 1


def test_fixes_import_drops_inaccurate_fixes_and_gps_spikes_and_says_how_many(grids_store, tmp_path) -> None:
    run(grids_store, "households", write_csv(tmp_path / "h.csv", [household("H1", 115.005, 37.005)]))
    run(grids_store, "workers", write_csv(tmp_path / "w.csv", [worker("W1")]))
    fixes = [
        dict(worker_id="W1", ts=f"2026-11-20 09:{m:02d}:00", lon=115.001 + m * 0.0003, lat=37.005, accuracy_m=8)
        for m in range(10)
    ]
    fixes[3]["accuracy_m"] = 250  # a poor fix
    fixes[6]["lon"] = 115.3  # 26 km away for one minute
    summary = run(grids_store, "fixes", write_csv(tmp_path / "fixes.csv", fixes))
    assert summary.dropped == {"exact_duplicates": 0, "inaccurate": 1, "jumps": 1}
    assert summary.written["fixes_inserted"] == 8
    with grids_store.session_factory() as session:
        day = session.scalars(select(PatrolDay)).one()
    assert (day.worker_id, day.fixes, day.flags) == ("W1", 8, "")
    assert day.distance_m == pytest.approx(9 * 0.0003 * 88_800, rel=0.02)  # 9 minutes of walking east


def test_check_import_reports_problems_and_writes_nothing(grids_store, tmp_path) -> None:
    path = write_csv(tmp_path / "households.csv", [household("H1"), household("H2", lon=116.0, lat=38.0)])
    check = check_file(grids_store, "households", path)
    assert [(p.row, p.field) for p in check.problems] == [(3, "lon/lat")]
    good = write_csv(tmp_path / "good.csv", [household("H1")])
    check = check_file(grids_store, "households", good)
    assert check.problems == [] and check.rows_read == 1 and check.preview["grid_code"].tolist() == [GRID_A]
    assert counts(grids_store)["households"] == 0
    bad_grids = tmp_path / "grids.geojson"
    grid_layer([(GRID_A, shapely.Point(115.0, 37.0).buffer(0.001))]).assign(grid_code="1305").to_file(bad_grids)
    check = check_file(grids_store, "grids", bad_grids)
    assert check.unit == "个要素" and "第 1 个要素" in check.message


def test_cli_import_prints_a_json_summary_and_a_clear_error_without_traceback(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True)

    grids = tmp_path / "grids.geojson"
    grid_layer([(GRID_A, shapely.box(115.0, 37.0, 115.01, 37.01))]).to_file(grids)
    done = cli("import", "grids", str(grids))
    assert done.returncode == 0 and json.loads(done.stdout)["written"]["grids_inserted"] == 1
    bad = write_csv(tmp_path / "households.csv", [household("H1", lon=116.0, lat=38.0)])
    failed = cli("import", "households", str(bad))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "文件 households.csv，第 2 行，字段 lon/lat：坐标不在任何网格内" in failed.stderr
    missing = cli("import", "households", str(tmp_path / "nowhere.csv"))
    assert missing.returncode == 1 and "文件不存在" in missing.stderr


# --- round trip --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported_demo(copy_small_demo, small_demo, tmp_path_factory):
    """The small demo county written out in the exchange formats, and its own figures."""
    from services.cli.bootstrap import open_store
    from services.exchange.exports import (
        export_fixes,
        export_grids,
        export_households,
        export_incidents,
        export_workers,
    )
    from services.figures.area_figures import compute_area_figures
    from services.settings import Settings

    folder = tmp_path_factory.mktemp("exchange")
    at = small_demo.now
    demo = open_store(Settings.from_env({"DATABASE_URL": copy_small_demo(folder / "demo.db")}))
    export_grids(demo.session_factory, actor=OPERATOR, now=T).to_file(folder / "grids.gpkg")
    export_households(demo.session_factory, actor=OPERATOR, now=T).to_csv(
        folder / "households.csv", index=False, encoding="gbk"
    )
    export_workers(demo.session_factory, actor=OPERATOR, now=T).to_excel(folder / "workers.xlsx", index=False)
    export_incidents(demo.session_factory, actor=OPERATOR, now=T).to_csv(
        folder / "incidents.csv", index=False, encoding="utf-8-sig"
    )
    export_fixes(demo.session_factory, actor=OPERATOR, now=T).to_csv(folder / "fixes.csv", index=False)
    figures = {
        area: compute_area_figures(demo.session_factory, actor=OPERATOR, area_code=area, at=at, days=7)
        for area in (COUNTY, "130532101")
    }
    with demo.session_factory() as session:
        homes = dict(session.execute(select(Household.household_id, Household.grid_code)).all())
    demo.engine.dispose()
    return folder, at, figures, homes


def test_an_exported_county_imports_back_with_the_same_grids_and_figures(store, exported_demo) -> None:
    from services.figures.area_figures import compute_area_figures

    folder, at, figures, homes = exported_demo
    for kind, name in (
        ("grids", "grids.gpkg"),
        ("households", "households.csv"),
        ("workers", "workers.xlsx"),
        ("incidents", "incidents.csv"),
        ("fixes", "fixes.csv"),
    ):
        run(store, kind, folder / name)
    with store.session_factory() as session:
        assert dict(session.execute(select(Household.household_id, Household.grid_code)).all()) == homes
    for area, expected in figures.items():
        got = compute_area_figures(store.session_factory, actor=OPERATOR, area_code=area, at=at, days=7)
        for name in (
            "households",
            "open",
            "overdue",
            "at_risk",
            "validation_overdue",
            "reported",
            "closed",
            "closure_rate",
            "visited",
            "coverage",
        ):
            assert getattr(got, name) == pytest.approx(getattr(expected, name)), name


def test_exports_write_exactly_the_exchange_fields(exported_demo) -> None:
    from services.exchange import formats

    folder = exported_demo[0]
    assert list(gpd.read_file(folder / "grids.gpkg").columns) == [*formats.GRID_FIELDS, "geometry"]
    assert list(pd.read_csv(folder / "households.csv", encoding="gbk", nrows=1).columns) == [
        *formats.HOUSEHOLD_FIELDS,
        *formats.HOUSEHOLD_OPTIONAL,
    ]
    assert list(pd.read_excel(folder / "workers.xlsx", nrows=1).columns) == list(formats.WORKER_FIELDS)
    assert list(pd.read_csv(folder / "incidents.csv", nrows=1).columns) == list(formats.INCIDENT_FIELDS)
    assert list(pd.read_csv(folder / "fixes.csv", nrows=1).columns) == list(formats.FIX_FIELDS)


GPX = """<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>{name}</name><trkseg>
<trkpt lat="37.005" lon="115.0048"><time>2026-11-20T01:00:00Z</time><hdop>1.5</hdop></trkpt>
<trkpt lat="37.005" lon="115.0052"><time>2026-11-20T01:00:31Z</time><hdop>2</hdop></trkpt>
<trkpt lat="37.005" lon="115.0056"><time>2026-11-20T01:01:02Z</time></trkpt>
</trkseg></trk></gpx>"""


@pytest.mark.parametrize("track_name", ["W1", ""])
def test_a_gpx_track_is_imported_as_fixes_of_its_worker(grids_store, tmp_path, track_name) -> None:
    run(grids_store, "households", write_csv(tmp_path / "h.csv", [household("H1", 115.005, 37.005)]))
    run(grids_store, "workers", write_csv(tmp_path / "w.csv", [worker("W1")]))
    path = tmp_path / "W1_20261120.gpx"  # without a track name, the worker comes from the file name
    path.write_text(GPX.format(name=track_name), encoding="utf-8")
    summary = run(grids_store, "fixes", path)
    assert summary.written["fixes_inserted"] == 3 and summary.written["visits"] == 1
    with grids_store.session_factory() as session:
        fixes = session.execute(select(PatrolFix.worker_id, PatrolFix.accuracy_m).order_by(PatrolFix.ts)).all()
    assert [tuple(f) for f in fixes] == [("W1", 7.5), ("W1", 10.0), ("W1", 10.0)]


def test_geojson_points_and_timed_linestrings_are_imported_as_fixes(grids_store, tmp_path) -> None:
    run(grids_store, "workers", write_csv(tmp_path / "w.csv", [worker("W1")]))
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"worker_id": "W1", "ts": "2026-11-20 09:00:00", "accuracy_m": 6},
                "geometry": {"type": "Point", "coordinates": [115.0040, 37.005]},
            },
            {
                "type": "Feature",
                "properties": {"worker_id": "W1", "times": ["2026-11-20T09:00:30+08:00", "2026-11-20T09:01:00+08:00"]},
                "geometry": {"type": "LineString", "coordinates": [[115.0044, 37.005], [115.0048, 37.005]]},
            },
        ],
    }
    path = tmp_path / "fixes.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    assert run(grids_store, "fixes", path).written["fixes_inserted"] == 3
    collection["features"][1]["properties"]["times"] = ["2026-11-20T09:00:30+08:00"]
    path.write_text(json.dumps(collection), encoding="utf-8")
    refused(grids_store, "fixes", path, "第 2 个要素有 2 个点却有 1 个时间")


def test_id_numbers_are_checked_and_a_file_without_them_keeps_the_stored_ones(grids_store, tmp_path) -> None:
    bad = [
        household("H1", id_number="13053219800101001"),  # 17 characters
        household("H2", id_number="130532198001010011"),  # the check character is 0
        household("H3", id_number=""),
    ]
    with pytest.raises(ImportFileError) as raised:
        run(grids_store, "households", write_csv(tmp_path / "bad.csv", bad))
    assert [(p.row, p.field) for p in raised.value.problems] == [(2, "id_number"), (3, "id_number")]
    assert "校验位" in raised.value.problems[1].message and counts(grids_store)["households"] == 0
    good = [household("H1", id_number="13053219800101007x"), household("H2", id_number="130532198001010010")]
    run(grids_store, "households", write_csv(tmp_path / "good.csv", good))
    run(grids_store, "households", write_csv(tmp_path / "plain.csv", [household("H1", members=5), household("H2")]))
    with grids_store.session_factory() as session:
        stored = {h.household_id: (h.id_number, h.members) for h in session.scalars(select(Household))}
    assert stored == {"H1": ("13053219800101007X", 5), "H2": ("130532198001010010", 3)}
