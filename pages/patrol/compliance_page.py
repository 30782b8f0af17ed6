"""巡查考核: each worker's month against the targets (≥ 20 patrol logs, ≥ 6 valid reports), the
月度考核 score, grade and 十佳网格员, what earned or cost each point, 问题回溯 candidates to
confirm or dismiss, awards, and (for the county admin) the rule table; export as CSV/XLSX."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import streamlit as st

from pages.components import (
    blank_missing,
    current_actor,
    current_minute,
    require_data,
    settings,
    store,
    synthetic_note,
)
from pages.patrol import reads
from render.markup import markdown_text
from services.domain import CATEGORIES, LOCAL_TZ
from services.errors import DomainError
from services.exchange.downloads import table_as_csv, table_as_xlsx
from services.labels import COMPLIANCE_LABELS
from services.patrol.assessment import (
    award_points,
    default_month,
    evidence_of,
    score_sheet,
    top_workers,
)
from services.patrol.assessment_rules import RULE_LABELS, AssessmentRules, change_rules
from services.patrol.misses import DECISIONS, PENDING, decide_miss
from services.patrol.publication import latest_publication, publish_assessment
from services.patrol.supervision import LOG_TARGET, REPORT_TARGET

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALL = "全部乡镇"

st.title("巡查考核")
st.caption(
    f"每名网格员每月巡查日志不少于 {LOG_TARGET} 篇、有效上报不少于 {REPORT_TARGET} 件；未达标者标红。"
    + synthetic_note()
)
require_data()
actor = current_actor()
factory = store().session_factory
now = dt.datetime.now(dt.UTC)
running = dt.datetime.now(LOCAL_TZ).date().replace(day=1)
months = [running]
while len(months) < 7:
    months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
month = st.selectbox(
    "月份",
    months,
    index=months.index(default_month(now)),
    format_func=lambda m: f"{m:%Y年%m月}" + ("（进行中）" if m == running else ""),
    key="compliance.month",
)
minute = current_minute()
assessment = reads.assessment(settings().database_url, actor, month, minute)
scores = assessment.scores
townships = sorted(set(zip(scores["township_code"], scores["township_name"], strict=True)))
township = st.selectbox(
    "乡镇(街道)",
    [ALL, *(code for code, _ in townships)],
    format_func=lambda code: dict(townships).get(code, ALL),
    key="compliance.township",
)
township = None if township == ALL else township
shown_scores = scores if township is None else scores[scores["township_code"] == township]

compliance = reads.compliance(settings().database_url, actor, month, minute)
if township is not None:
    compliance = compliance[compliance["worker_id"].isin(shown_scores["worker_id"])]
left, middle, right = st.columns(3)
left.metric("网格员", len(compliance))
middle.metric("未达标", int(compliance["below_target"].sum()))
right.metric("有可疑巡查天的网格员", int((compliance["flagged_days"] > 0).sum()))
labels = COMPLIANCE_LABELS
shown = compliance.rename(columns=labels)
styled = shown.style.apply(
    lambda row: ["background-color: #fee2e2" if row[labels["below_target"]] else ""] * len(row), axis=1
).format({labels["coverage"]: lambda v: "—" if v != v else f"{v:.0%}", labels["distance_km"]: "{:.1f}"})
st.dataframe(styled, hide_index=True, width="stretch", height=420, key="compliance.table")
left, right = st.columns(2)
left.download_button("导出达标 CSV", table_as_csv(shown), file_name=f"巡查考核_{month:%Y%m}.csv", mime="text/csv")
right.download_button(
    "导出达标 Excel", table_as_xlsx(shown, f"巡查考核_{month:%Y%m}"), file_name=f"巡查考核_{month:%Y%m}.xlsx", mime=XLSX
)

logs_quota, reports_quota = assessment.quotas
if assessment.running:
    st.info(
        f"{month:%Y年%m月}尚未结束：按已过 {assessment.elapsed_share:.0%} 折算，进度定额为巡查日志 {logs_quota:.1f} 篇、"
        f"有效上报 {reports_quota:.1f} 件；分数与十佳为进行中的数字。"
    )
st.subheader("月度考核得分")
left, middle, right = st.columns(3)
left.metric("优秀", int((shown_scores["grade"] == "优秀").sum()))
middle.metric("不合格", int((shown_scores["grade"] == "不合格").sum()))
right.metric("入选十佳", int(top_workers(assessment, township)["worker_id"].nunique()))
average = f"{shown_scores['total'].mean():.1f}" if len(shown_scores) else "—"
st.caption(
    f"平均分 {average}；考核规则第 {assessment.rule_version.version} 版（0 为默认规则）；可疑巡查天只列出，不自动扣分。"
)
sheet = score_sheet(shown_scores)
st.dataframe(blank_missing(sheet), hide_index=True, width="stretch", height=420, key="assessment.table")

st.subheader("十佳网格员")
top = top_workers(assessment, township)
if top.empty:
    st.write("本月没有符合条件的网格员（须两项定额均达标、无应报未报、无不合格项）。")
else:
    st.dataframe(blank_missing(score_sheet(top)), hide_index=True, width="stretch", key="assessment.top")

st.subheader("得分明细")
if len(shown_scores):
    names = dict(zip(shown_scores["worker_id"], shown_scores["name"], strict=True))
    chosen = st.selectbox("网格员", list(names), format_func=lambda w: f"{names[w]}（{w}）", key="assessment.worker")
    st.dataframe(evidence_of(assessment, chosen), hide_index=True, width="stretch", key="assessment.evidence")

name = f"网格员考核_{month:%Y%m}"
left, right = st.columns(2)
left.download_button("导出考核 Excel", table_as_xlsx(sheet, "月度考核"), file_name=f"{name}.xlsx", mime=XLSX)
right.download_button("导出考核 CSV", table_as_csv(sheet), file_name=f"{name}.csv", mime="text/csv")

PUBLISHED_KEY = "assessment.publish_outcome"


def publish_month(chosen: dt.date) -> None:
    """The button's callback: runs before the page does, so the page shows the new version."""
    try:
        done = publish_assessment(factory, actor=actor, month=chosen, now=dt.datetime.now(dt.UTC))
        st.session_state[PUBLISHED_KEY] = (
            True,
            f"已发布 {chosen:%Y年%m月} 考核第 {done.version} 版，网格员 {done.workers} 名",
        )
    except DomainError as error:
        st.session_state[PUBLISHED_KEY] = (False, str(error))


if not assessment.running and actor.may("publish_assessment") and actor.scope.allows(actor.county_code):
    published = latest_publication(factory, county_code=actor.county_code, month=month)
    st.caption(
        "指挥大屏按上月已发布的考核结果排名网格员。"
        + (
            f"{month:%Y年%m月}已发布第 {published.version} 版（{markdown_text(published.publisher_name)}，"
            f"{published.published_at.astimezone(LOCAL_TZ):%m-%d %H:%M}）。"
            if published
            else f"{month:%Y年%m月}尚未发布。"
        )
    )
    st.button(
        f"发布 {month:%Y年%m月} 考核结果" if published is None else "重新发布（加分、回溯认定之后）",
        key="assessment.publish",
        on_click=publish_month,
        args=(month,),
    )
    if PUBLISHED_KEY in st.session_state:
        succeeded, message = st.session_state.pop(PUBLISHED_KEY)
        (st.success if succeeded else st.error)(markdown_text(message))

st.subheader("问题回溯（应报未报）")
candidates = reads.miss_candidates(settings().database_url, actor, month, minute)
if township is not None:
    candidates = candidates[candidates["grid_code"].str.startswith(township)]
st.dataframe(
    candidates[["incident_id", "grid_code", "category", "workers", "status", "reason", "decider_name"]].rename(
        columns={
            "incident_id": "事件",
            "grid_code": "网格",
            "category": "类别",
            "workers": "网格员",
            "status": "认定",
            "reason": "理由",
            "decider_name": "认定人",
        }
    ),
    hide_index=True,
    width="stretch",
    key="misses.table",
)
pending = candidates[candidates["status"] == PENDING]["incident_id"].tolist()
if actor.may("decide_misses") and pending:
    with st.form("misses.form"):
        case = st.selectbox("待认定的事件", pending, key="misses.case")
        decision = st.radio("认定", list(DECISIONS), format_func=DECISIONS.get, horizontal=True, key="misses.decision")
        reason = st.text_input("理由", key="misses.reason")
        if st.form_submit_button("提交认定"):
            try:
                decide_miss(factory, actor=actor, incident_id=case, decision=decision, reason=reason, now=now)
                reads.forget()
                st.success(f"事件 {markdown_text(case)}：{DECISIONS[decision]}")
            except DomainError as error:
                st.error(markdown_text(error))

if actor.may("award_points") and len(shown_scores):
    st.subheader("加分")
    with st.form("awards.form"):
        names = dict(zip(shown_scores["worker_id"], shown_scores["name"], strict=True))
        worker = st.selectbox("网格员", list(names), format_func=lambda w: f"{names[w]}（{w}）", key="awards.worker")
        points = st.number_input(
            "分值", min_value=0.5, max_value=float(assessment.rules.award_cap), step=0.5, key="awards.points"
        )
        reason = st.text_input("加分理由", key="awards.reason")
        if st.form_submit_button("加分"):
            try:
                total = award_points(
                    factory, actor=actor, worker_id=worker, month=month, points=points, reason=reason, now=now
                )
                reads.forget()
                st.success(f"已加分，{markdown_text(names[worker])}本月加分合计 {total:g} 分")
            except DomainError as error:
                st.error(markdown_text(error))

if actor.may("edit_assessment_rules"):
    st.subheader("考核规则")
    current = assessment.rules
    with st.form("rules.form"):
        values: dict[str, Any] = {}  # AssessmentRules fields, each of its own type
        numbers = [f.name for f in dataclasses.fields(AssessmentRules) if f.name != "miss_categories"]
        columns = st.columns(3)
        for i, field in enumerate(numbers):
            value = getattr(current, field)
            values[field] = columns[i % 3].number_input(
                RULE_LABELS[field], value=value, min_value=type(value)(0), key=f"rules.{field}"
            )
        values["miss_categories"] = tuple(
            st.multiselect(
                RULE_LABELS["miss_categories"],
                list(CATEGORIES),
                default=list(current.miss_categories),
                key="rules.categories",
            )
        )
        starts = [m for m in months if m >= running] + [(running + dt.timedelta(days=32)).replace(day=1)]
        from_month = st.selectbox(
            "自哪个月起生效", sorted(set(starts)), format_func=lambda m: f"{m:%Y年%m月}", key="rules.from"
        )
        if st.form_submit_button("保存为新版本"):
            try:
                version = change_rules(
                    factory, actor=actor, rules=AssessmentRules(**values), from_month=from_month, now=now
                )
                reads.forget()
                st.success(f"已保存考核规则第 {version.version} 版，自 {from_month:%Y年%m月} 起生效")
            except DomainError as error:
                st.error(markdown_text(error))
