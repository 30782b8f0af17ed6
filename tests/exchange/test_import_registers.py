"""Import of files shaped like real county registers (issue 13): Chinese column names, title and
note rows above the header, numbers Excel stored as numbers, the register's job titles, files
with a header and no rows, grids of another county."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from sqlalchemy import select

from services.domain import WORKER_ROLE_WORDS, WORKER_ROLES, WORKER_TITLES
from services.exchange.exports import export_workers
from services.exchange.formats import FIELD_ALIASES, KIND_FIELDS, KIND_OPTIONAL
from services.exchange.imports.readers import header_key
from services.mapping.panels import load_grid_panel, load_worker_card
from services.store.models import Area, Household, Incident, PatrolFix, Worker
from tests.exchange.test_import import counts, grid_layer, refused, run
from tests.factories import COUNTY, GRID_A, GRID_B, OPERATOR, T
from tests.paths import README

TITLE = "平乡县平乡镇测试村住户信息登记表"
NOTE = "填表说明：坐标为 WGS84 经纬度；标签用 | 分隔。填报单位：测试村委会"
HOUSEHOLD_HEADER = ["序号", "户编号", "户主姓名", "地址", "人口数", "联系电话", "经度", "纬度", "标签"]


def household_rows() -> list[list[object]]:
    """Two households as a county register holds them: numbers typed as numbers."""
    return [
        [1, 1001, "张建国", "平乡镇测试村1号", 3, 13800000001, 115.005, 37.005, "独居老人|低保户"],
        [2, 1002, "王秀兰", "平乡镇测试村2号", 2, 13800000002, 115.015, 37.002, None],
    ]


def write_register(
    path: Path, header: list[str], rows: list[list[object]], *, title: str = TITLE, note: str | None = NOTE
) -> Path:
    """An XLSX register: a merged title row, optionally a note row, then the header and the rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    if note is not None:
        sheet.append([note])
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(header))
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.append([None] * len(header))  # the blank formatted rows registers end with
    book.save(path)
    return path


def write_register_csv(
    path: Path, header: list[str], rows: list[list[object]], encoding: str, *, note: str | None = NOTE
) -> Path:
    """The same register saved by Excel as CSV: the merged rows padded with empty cells."""
    lines = [[TITLE] + [""] * (len(header) - 1)]
    if note is not None:
        lines.append([note] + [""] * (len(header) - 1))
    lines += [header, *[["" if v is None else v for v in row] for row in rows]]
    pd.DataFrame(lines).to_csv(path, index=False, header=False, encoding=encoding)
    return path


def register(path: Path, header: list[str], rows: list[list[object]], **options: object) -> Path:
    """An XLSX register, or a CSV one in the encoding `path`'s stem ends with (`x.gbk.csv`)."""
    if path.suffix == ".xlsx":
        return write_register(path, header, rows, **options)  # type: ignore[arg-type]
    return write_register_csv(path, header, rows, path.suffixes[0].lstrip("."), **options)  # type: ignore[arg-type]


@pytest.fixture
def grids_store(store, tmp_path):
    """The test county's two grids, imported from a grid file with Chinese field names."""
    layer = grid_layer(
        [(GRID_A, shapely.box(115.0, 37.0, 115.01, 37.01)), (GRID_B, shapely.box(115.01, 37.0, 115.02, 37.01))]
    )
    layer = layer.rename(
        columns={
            "grid_code": "网格编码",
            "grid_name": "网格名称",
            "village_code": "村（社区）编码",
            "village_name": "村（社区）名称",
            "township_code": "乡镇（街道）编码",
            "township_name": "乡镇（街道）名称",
        }
    )
    layer.to_file(tmp_path / "网格.geojson")
    run(store, "grids", tmp_path / "网格.geojson")
    return store


REGISTER_FILES = ["households.utf-8.csv", "households.utf-8-sig.csv", "households.gbk.csv", "households.xlsx"]


# --- households ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTER_FILES)
def test_a_household_register_with_chinese_headers_under_a_title_and_a_note_is_imported(
    grids_store, tmp_path, name
) -> None:
    rows = household_rows()
    if name.endswith(".csv"):  # what pandas or a county system writes for a numeric column
        rows[1][5] = "13800000002.0"
    path = register(tmp_path / name, HOUSEHOLD_HEADER, rows)
    summary = run(grids_store, "households", path)
    assert summary.rows_read == 2 and summary.written["households_inserted"] == 2
    with grids_store.session_factory() as session:
        homes = {
            h.household_id: (h.head_name, h.phone, h.members, h.grid_code) for h in session.scalars(select(Household))
        }
    assert homes == {
        "1001": ("张建国", "13800000001", 3, GRID_A),
        "1002": ("王秀兰", "13800000002", 2, GRID_B),
    }


@pytest.mark.parametrize("name", ["households.utf-8.csv", "households.xlsx"])
def test_problems_are_numbered_by_the_registers_own_rows(grids_store, tmp_path, name) -> None:
    rows = household_rows()
    rows[1][7] = 38.0  # outside every grid
    path = register(tmp_path / name, HOUSEHOLD_HEADER, rows)
    refused(grids_store, "households", path, "第 5 行，字段 lon/lat：坐标不在任何网格内")  # title, note, header


def test_headers_with_spaces_full_width_forms_and_required_marks_are_recognised(grids_store, tmp_path) -> None:
    header = ["序号", "*户编号", " 户主姓名 ", "地\u3000址", "人口数（必填）", "联系电话", "经度", "纬度", "标签"]
    path = register(tmp_path / "households.xlsx", header, household_rows(), note=None)
    assert run(grids_store, "households", path).written["households_inserted"] == 2
    assert header_key("*村（社区）编码（必填）") == header_key(" 村(社区)\u3000编码") == "村(社区)编码"


def test_a_long_number_excel_has_cut_is_refused_not_guessed(grids_store, tmp_path) -> None:
    rows = household_rows()
    rows[0][5] = "1.38E+10"  # a phone Excel showed in scientific form and saved as shown
    path = register(tmp_path / "households.gbk.csv", HOUSEHOLD_HEADER, rows)
    refused(grids_store, "households", path, "第 4 行，字段 phone", "科学计数法", "文本")
    header = [*HOUSEHOLD_HEADER, "身份证号"]
    rows = [[*row, 130532198001010010] for row in household_rows()]  # 18 digits typed as a number
    path = register(tmp_path / "households.xlsx", header, rows)
    refused(grids_store, "households", path, "第 4 行，字段 id_number", "科学计数法")


def test_a_register_without_a_recognisable_header_says_what_it_found(grids_store, tmp_path) -> None:
    header = ["序号", "门牌", "户主", "成员"]
    path = register(tmp_path / "households.xlsx", header, [[1, "1号", "张三", 3]])
    message = refused(grids_store, "households", path, "第 3 行", "字段 household_id", "缺少必填列", "户编号")
    assert "第 3 行：此行最像表头，取作表头；该行的列为：序号、门牌、户主、成员" in message
    path = register(tmp_path / "unknown.xlsx", ["甲", "乙"], [["1", "2"]])
    refused(grids_store, "households", path, "第 1 行", "前 10 行中没有表头", f"第 1 行是“{TITLE}”")


def test_two_columns_for_one_field_are_refused(grids_store, tmp_path) -> None:
    header = [*HOUSEHOLD_HEADER, "手机号"]
    rows = [[*row, 13900000000] for row in household_rows()]
    refused(grids_store, "households", register(tmp_path / "households.xlsx", header, rows), "“联系电话”和“手机号”")


def test_an_unquoted_comma_that_shifts_a_csv_row_is_refused(grids_store, tmp_path) -> None:
    path = register(tmp_path / "households.utf-8.csv", HOUSEHOLD_HEADER, household_rows())
    text = path.read_text(encoding="utf-8").replace("平乡镇测试村2号", "平乡镇,测试村2号")
    path.write_text(text.replace('"平乡镇,测试村2号"', "平乡镇,测试村2号"), encoding="utf-8")
    refused(grids_store, "households", path, "第 5 行", "列数多于表头")


# --- workers and the role vocabulary ----------------------------------------------------------------

WORKER_HEADER = ["工号", "姓名", "电话", "岗位", "负责网格"]
TITLES = ["专职网格员", "兼职网格员", "网格长", "网格指导员", "网格协管员", "微网格员", "楼栋长"]


@pytest.mark.parametrize("name", ["workers.gbk.csv", "workers.xlsx"])
def test_a_worker_register_keeps_each_post_and_counts_it_as_one_role(grids_store, tmp_path, name) -> None:
    rows = [
        [f"W{i}", f"网格员{i}", 13900000000 + i, f" {title} ", int(GRID_A) if i % 2 else f"{GRID_A}|{GRID_B}"]
        for i, title in enumerate(TITLES)
    ]
    summary = run(grids_store, "workers", register(tmp_path / name, WORKER_HEADER, rows))
    assert summary.written["workers_inserted"] == len(TITLES)
    with grids_store.session_factory() as session:
        stored = {w.role_title: (w.role, w.phone) for w in session.scalars(select(Worker))}
    assert stored == {title: (WORKER_ROLE_WORDS[title], str(13900000000 + i)) for i, title in enumerate(TITLES)}
    assert [stored[title][0] for title in ("网格长", "网格指导员", "楼栋长", "兼职网格员")] == [
        "grid_leader",
        "grid_leader",
        "worker",
        "worker",
    ]
    assert load_worker_card(grids_store.session_factory, actor=OPERATOR, worker_id="W6", at=T).role == "楼栋长"
    panel = load_grid_panel(grids_store.session_factory, actor=OPERATOR, grid_code=GRID_B, at=T)
    assert sorted(panel.workers["role"]) == sorted(TITLES[0::2])
    exported = export_workers(grids_store.session_factory, actor=OPERATOR, now=T)
    assert sorted(exported["role"]) == sorted(TITLES)  # the register's wording goes back out
    exported.to_csv(tmp_path / "again.csv", index=False)
    assert run(grids_store, "workers", tmp_path / "again.csv").written["workers_unchanged"] == len(TITLES)


def test_an_unknown_post_is_refused_with_the_accepted_words(grids_store, tmp_path) -> None:
    path = register(tmp_path / "workers.xlsx", WORKER_HEADER, [["W1", "李四", 13900000000, "村干部", GRID_A]])
    message = refused(grids_store, "workers", path, "第 4 行，字段 role", "未知岗位“村干部”")
    assert all(title in message for titles in WORKER_TITLES.values() for title in titles)


def test_english_role_codes_are_still_accepted_and_name_no_post(grids_store, tmp_path) -> None:
    path = register(tmp_path / "workers.xlsx", WORKER_HEADER, [["W1", "李四", "", "grid_leader", GRID_A]], note=None)
    run(grids_store, "workers", path)
    with grids_store.session_factory() as session:
        worker = session.get(Worker, (COUNTY, "W1"))
    assert (worker.role, worker.role_title) == ("grid_leader", None)
    assert load_worker_card(grids_store.session_factory, actor=OPERATOR, worker_id="W1", at=T).role == "网格长"


# --- incidents and fixes -----------------------------------------------------------------------------

INCIDENT_HEADER = [
    "事件编号",
    "事件类别",
    "紧急程度",
    "经度",
    "纬度",
    "事件描述",
    "来源",
    "上报时间",
    "核实时间",
    "判定无效时间",
    "派遣时间",
    "处置人工号",
    "处置完成时间",
    "结案时间",
    "处置层级",
    "满意度",
]


def at(hour: int, day: int = 18) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0)


@pytest.mark.parametrize("name", ["incidents.gbk.csv", "incidents.xlsx"])
def test_an_incident_register_with_chinese_headers_names_and_excel_times(grids_store, tmp_path, name) -> None:
    rows = [
        ["SJ1", "环境卫生", "一般", 115.005, 37.005, "垃圾堆放", "网格员巡查", at(9), at(10), None, at(11), None]
        + [at(9, 19), at(12, 19), "网格", "满意"],
        ["SJ2", "安全隐患", "紧急", 115.015, 37.002, "电线裸露", "热线", at(9), at(10), None, at(11), None]
        + [None, None, "乡镇(街道)", None],
    ]
    summary = run(grids_store, "incidents", register(tmp_path / name, INCIDENT_HEADER, rows))
    assert summary.written["incidents_inserted"] == 2
    with grids_store.session_factory() as session:
        stored = {
            i.incident_id: (i.severity, i.channel, i.level, i.state, i.grid_code)
            for i in session.scalars(select(Incident))
        }
        reported = session.get(Incident, (COUNTY, "SJ1")).reported_at
    assert stored == {
        "SJ1": ("normal", "patrol", "grid", "closed", GRID_A),
        "SJ2": ("urgent", "hotline", "township", "in_progress", GRID_B),
    }
    assert reported == dt.datetime(2026, 11, 18, 1, 0, tzinfo=dt.UTC)  # 09:00 Asia/Shanghai


def test_a_choice_in_neither_code_nor_name_lists_both(grids_store, tmp_path) -> None:
    row = ["SJ1", "环境卫生", "特急", 115.005, 37.005, "垃圾", "热线", at(9), None, None, None, None, None, None]
    path = register(tmp_path / "incidents.xlsx", INCIDENT_HEADER, [[*row, None, None]])
    refused(grids_store, "incidents", path, "字段 severity", "normal / urgent（或 一般 / 紧急）")


@pytest.mark.parametrize("name", ["fixes.utf-8-sig.csv", "fixes.xlsx"])
def test_a_fixes_register_with_chinese_headers_is_imported(grids_store, tmp_path, name) -> None:
    run(
        grids_store,
        "workers",
        register(tmp_path / "w.xlsx", WORKER_HEADER, [[1001, "李四", None, "专职网格员", GRID_A]]),
    )
    rows = [[1001, dt.datetime(2026, 11, 20, 9, m), 115.004 + m * 1e-4, 37.005, 8] for m in range(3)]
    summary = run(
        grids_store, "fixes", register(tmp_path / name, ["工号", "定位时间", "经度", "纬度", "定位精度(米)"], rows)
    )
    assert summary.written["fixes_inserted"] == 3
    with grids_store.session_factory() as session:
        assert set(session.scalars(select(PatrolFix.worker_id))) == {"1001"}


# --- empty files -------------------------------------------------------------------------------------

HEADERS = {
    "households": HOUSEHOLD_HEADER,
    "workers": WORKER_HEADER,
    "incidents": INCIDENT_HEADER,
    "fixes": ["工号", "定位时间", "经度", "纬度", "定位精度"],
}


@pytest.mark.parametrize("kind", list(HEADERS))
@pytest.mark.parametrize("suffix", [".utf-8.csv", ".xlsx"])
def test_a_register_with_a_header_and_no_rows_imports_nothing_and_says_so(grids_store, tmp_path, kind, suffix) -> None:
    path = register(tmp_path / f"{kind}{suffix}", HEADERS[kind], [])
    refused(grids_store, kind, path, "只有表头（第 3 行）", "没有", "数据行")
    english = tmp_path / f"{kind}.csv"
    english.write_text(",".join(KIND_FIELDS[kind]) + "\n", encoding="utf-8")
    refused(grids_store, kind, english, "只有表头（第 1 行）")


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_a_grid_file_with_fields_and_no_features_imports_nothing(store, tmp_path, suffix) -> None:
    path = tmp_path / f"grids{suffix}"
    grid_layer([(GRID_A, shapely.box(115.0, 37.0, 115.01, 37.01))]).iloc[:0].to_file(path)
    refused(store, "grids", path, "没有网格要素")
    assert counts(store)["areas"] == 0


# --- grids ---------------------------------------------------------------------------------------


def test_a_gbk_shapefile_with_chinese_field_names_and_numeric_codes_is_imported(store, tmp_path) -> None:
    layer = grid_layer([(GRID_A, shapely.box(115.0, 37.0, 115.01, 37.01))])
    layer = gpd.GeoDataFrame(
        {
            "网格编码": layer["grid_code"].astype(float),  # a numeric DBF field: 130532101201001.0
            "网格名称": layer["grid_name"],
            "村编码": layer["village_code"].astype(float),
            "村名称": layer["village_name"],
            "乡镇编码": layer["township_code"].astype(float),
            "乡镇名称": layer["township_name"],
        },
        geometry=layer.geometry,
        crs=layer.crs,
    )
    path = tmp_path / "网格.shp"
    layer.to_file(path, encoding="GBK")
    run(store, "grids", path)
    with store.session_factory() as session:
        grid = session.get(Area, (COUNTY, GRID_A))
    assert (grid.name, grid.parent_code) == ("测试村第1网格", GRID_A[:12])


def test_grids_of_another_county_say_how_to_switch_the_county(store, tmp_path) -> None:
    other = "130481101201001"
    path = tmp_path / "grids.geojson"
    grid_layer([(other, shapely.box(114.5, 36.5, 114.51, 36.51))]).to_file(path)
    refused(store, "grids", path, "第 1 个要素", "县 130481", f"本系统的县 {COUNTY}", "COUNTY_CODE 改为 130481")


# --- the alias table and its documentation -----------------------------------------------------------


def test_every_exchange_field_has_a_chinese_name_and_no_name_stands_for_two_fields() -> None:
    for kind, fields in KIND_FIELDS.items():
        aliases = FIELD_ALIASES[kind]
        assert set(aliases) == {*fields, *KIND_OPTIONAL.get(kind, ())}, kind
        keys = [header_key(name) for field in aliases for name in (field, *aliases[field])]
        assert len(keys) == len(set(keys)), kind
        assert all(re.search(r"[\u4e00-\u9fff]", names[0]) for names in aliases.values())


def _import_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("### Import") : text.index("### How the figures read")]


def test_the_readme_lists_every_chinese_column_name_and_post() -> None:
    section = _import_section()
    for kind, aliases in FIELD_ALIASES.items():
        for field, names in aliases.items():
            line = next((ln for ln in section.splitlines() if ln.startswith(f"| {kind} | `{field}` |")), "")
            assert line.split("|")[3].strip() == "、".join(names), (kind, field)
    for role in WORKER_ROLES:
        line = next(ln for ln in section.splitlines() if ln.startswith(f"| `{role}` |"))
        assert line.split("|")[3].strip() == "、".join(WORKER_TITLES[role]), role
    assert "COUNTY_CODE" in section
