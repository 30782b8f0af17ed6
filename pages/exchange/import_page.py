"""数据导入: a county admin uploads a file, sees what it holds and every problem before anything is
written, then imports it."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from pages.components import current_actor, local_times, store, uploaded_file
from services.errors import DomainError
from services.exchange.imports.service import CRS_CHOICES, KIND_NAMES, KINDS, check_import, import_file

FORMATS = {
    "grids": ["geojson", "json", "gpkg", "zip"],
    "fixes": ["csv", "xlsx", "gpx", "geojson", "json"],
    "default": ["csv", "xlsx"],
}
DETAIL_NAMES = {
    "grids_removed": "撤销的网格",
    "neighbours_reshaped": "为拼接而调整的相邻网格",
    "slivers_absorbed": "并入相邻网格的细缝（< 0.5 米）",
    "households_moved": "随边界调整改属新网格的住户",
    "incidents_moved": "随边界调整改属新网格的在办事件",
    "worker_grids_removed": "解除的网格员分工",
    "villages": "重算村（社区）边界",
    "townships": "重算乡镇边界",
    "county_created": "新建县界",
    "tags": "住户标签",
    "grid_assignments": "网格分工",
    "events": "生成事件记录",
    "visits": "重算走访记录",
    "exact_duplicates": "丢弃的重复定位点",
    "inaccurate": "丢弃的低精度定位点（>100 米）",
    "jumps": "丢弃的漂移点（>120 km/h）",
    "patrol_days": "重算的巡查日",
}
CRS_NAMES = {"wgs84": "WGS84 / CGCS2000（GPS、天地图）", "gcj02": "GCJ-02（高德、腾讯）"}

st.title("数据导入")
st.caption("顺序：网格 → 住户 → 网格员 → 历史事件 / GPS 定位点。整个文件检查通过后才写入；重复导入按编号更新。")

left, right = st.columns(2)
kind = left.selectbox("数据类型", KINDS, format_func=lambda k: KIND_NAMES[k], key="import.kind")
crs = right.radio("坐标系", CRS_CHOICES, format_func=lambda c: CRS_NAMES[c], horizontal=True, key="import.crs")
accepted = FORMATS.get(kind, FORMATS["default"])
hint = "；Shapefile 请连同 .dbf/.shx/.prj 打包为 zip" if kind == "grids" else ""
upload = st.file_uploader(f"选择文件（{' / '.join(accepted)}{hint}）", type=accepted, key=f"import.file.{kind}")
remove_missing = kind == "grids" and st.checkbox(
    "撤销文件中没有的网格（文件所含乡镇中、文件里已没有的网格：其住户和事件按坐标归入新网格，网格员分工解除）",
    key="import.remove_missing",
)
if upload is None:
    st.stop()

with uploaded_file(upload) as path:
    # Checked once per file, kind and CRS: clicking 确认导入 reruns the page and must not re-check.
    check_key = (upload.file_id, kind, crs, remove_missing)
    the_file = {
        "kind": kind,
        "path": path,
        "filename": upload.name,
        "crs": crs,
        "actor": current_actor(),
        "remove_missing": remove_missing,
    }
    if st.session_state.get("import.check_key") != check_key:
        st.session_state["import.check"] = check_import(
            store().session_factory, **the_file, now=dt.datetime.now(dt.UTC)
        )
        st.session_state["import.check_key"] = check_key
    check = st.session_state["import.check"]
    if check.message:
        first = check.problems[0].describe(upload.name, check.unit)
        st.error(f"发现 {len(check.problems)} 处问题，未写入任何数据。请修改文件后重新上传。\n\n首个问题：{first}")
        st.dataframe(
            [{"行/要素": p.row, "字段": p.field, "问题": p.message} for p in check.problems],
            hide_index=True,
            width="stretch",
        )
        st.stop()
    st.success(f"检查通过：共 {check.rows_read:,} 条{KIND_NAMES[kind]}，可以导入。以下为前 {len(check.preview)} 条：")
    st.dataframe(local_times(check.preview), hide_index=True, width="stretch")
    if st.button("确认导入", type="primary", key="import.go"):
        bar = st.progress(0.0, text="开始导入")
        try:
            summary = import_file(
                store().session_factory,
                **the_file,
                now=dt.datetime.now(dt.UTC),
                progress=lambda fraction, message: bar.progress(fraction, text=message),
            )
        except DomainError as error:  # the store changed since the check, e.g. grids removed
            st.error(str(error))
            st.stop()
        main = {action: summary.written.get(f"{kind}_{action}", 0) for action in ("inserted", "updated", "unchanged")}
        st.success(
            f"导入完成：{upload.name}，读取 {summary.rows_read:,} 条：新增 {main['inserted']:,}，"
            f"更新 {main['updated']:,}，未变化 {main['unchanged']:,}。"
        )
        st.dataframe(
            [
                {"项目": DETAIL_NAMES.get(key, key), "数量": value}
                for key, value in (summary.written | summary.dropped).items()
                if not key.startswith(f"{kind}_")
            ],
            hide_index=True,
        )
