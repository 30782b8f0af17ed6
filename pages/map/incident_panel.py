"""The dispatch panel of one case (layout only): details, time left, possible duplicates, the
actions its state allows, the timeline and photos.  Each button calls one workflow service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from pages.components import photo_dir, store
from pages.map import reads
from render.markup import markdown_text as md
from services.access.actor import Actor
from services.cases.detail import IncidentDetail
from services.cases.dispatch import suggest_departments, suggest_workers
from services.cases.workflow import (
    NOT_FIXED_REASONS,
    CaseAction,
    Photo,
    TransitionResult,
    accept_incident,
    call_department,
    close_incident,
    dispatch_incident,
    escalate_incident,
    handle_incident,
    mark_duplicate,
    reject_incident,
    reopen_incident,
    report_incident,
    validate_incident,
    verify_incident,
)
from services.domain import (
    CATEGORIES,
    CHANNEL_NAMES,
    CHANNELS,
    CLOSE_REASON_NAMES,
    LOCAL_TZ,
    SATISFACTION,
    SEVERITIES,
    SEVERITY_NAMES,
    STATE_NAMES,
)
from services.errors import DomainError
from services.mapping.selection import Selection

RESULT_KEY = "incident.result"


class Widget(str):
    """A keyword argument read from a widget's state when the button is clicked (a value bound
    when the button was drawn would miss what was typed just before the click)."""


def _time_left(detail: IncidentDetail) -> str:
    if detail.remaining is None:
        return ""
    minutes = int(abs(detail.remaining).total_seconds() // 60)
    text = (
        f"{minutes // 1440} 天 {minutes % 1440 // 60} 小时"
        if minutes >= 1440
        else f"{minutes // 60} 小时 {minutes % 60} 分"
    )
    return f"已超过时限 {text}" if detail.remaining.total_seconds() < 0 else f"剩余 {text}"


def _timeline_lines(detail: IncidentDetail) -> list[str]:
    return [
        f"- **{md(row.at)}** {md(row.action)}（{md(row.change)}）· {md(row.actor)}"
        + (f" · {md(row.level)}" if row.level else "")
        + (f"：{md(row.note)}" if row.note else "")
        for row in detail.timeline.itertuples()
    ]


def _run(action: Callable[..., TransitionResult], detail: IncidentDetail, actor: Actor, **kwargs: object) -> None:
    """Apply one transition; the outcome is shown after the rerun (success, warnings or why not)."""
    values = {name: st.session_state.get(v) if isinstance(v, Widget) else v for name, v in kwargs.items()}
    try:
        case = CaseAction(actor, dt.datetime.now(dt.UTC), detail.incident_id, detail.version)
        result = action(store().session_factory, case, **values)
    except DomainError as error:
        st.session_state[RESULT_KEY] = ("error", str(error))
        return
    reads.forget_incidents()
    warnings = result.warnings
    done = f"操作成功，当前状态：{STATE_NAMES[result.state]}"
    st.session_state[RESULT_KEY] = (
        ("warning", f"{done}。注意：{'；'.join(warnings)}") if warnings else ("success", done)
    )


def show_incident_panel(detail: IncidentDetail, actor: Actor, duplicates: pd.DataFrame | None) -> None:
    with st.container(border=True, key="incident-panel"):
        st.markdown(f"#### 事件 {md(detail.incident_id)}")
        badge = f"**{detail.state_name}**" + (f"　:red[**{detail.alarm}**]" if detail.alarm else "")
        st.markdown(
            f"{badge}　{md(detail.category)}/{md(detail.subcategory)} · {md(detail.severity)} · 处置层级 {md(detail.level)}"
        )
        st.markdown(md(detail.description) if detail.description else "（无描述）")
        st.caption(
            f"{md(detail.channel)} · 上报人 {md(detail.reporter or '—')} · 网格 {md(detail.grid_code)}"
            + (f" · 承办 {md(detail.assignee)}" if detail.assignee else "")
            + (f" · 结案原因 {md(detail.close_reason)}" if detail.close_reason else "")
            + (f" · 满意度 {md(detail.satisfaction)}" if detail.satisfaction else "")
            + (f" · 重复于 {md(detail.duplicate_of)}" if detail.duplicate_of else "")
        )
        if detail.remaining is not None and detail.deadline is not None:
            st.markdown(
                f"**时限** {detail.limit.describe()}，截止 {detail.deadline.astimezone(LOCAL_TZ):%m-%d %H:%M}，**{_time_left(detail)}**"
            )
        outcome = st.session_state.pop(RESULT_KEY, None)
        if outcome:
            getattr(st, outcome[0])(outcome[1])
        _show_actions(detail, actor, duplicates)
        st.markdown("**办理记录**")
        st.markdown("\n".join(_timeline_lines(detail)))
        if detail.photos:
            st.image(
                [str(photo_dir() / path) for path, _ in detail.photos],
                caption=[name for _, name in detail.photos],
                width=160,
            )


def _show_actions(detail: IncidentDetail, actor: Actor, duplicates: pd.DataFrame | None) -> None:
    actions, key = detail.actions, f"act-{detail.incident_id}-{detail.version}"
    if not actions:
        return
    if "validate" in actions:
        left, right = st.columns(2)
        left.button(
            "立案（有效）",
            key=f"{key}-validate",
            type="primary",
            on_click=_run,
            args=(validate_incident, detail, actor),
        )
        with right.popover("判为无效"):
            _with_reason("确认无效", f"{key}-reject", reject_incident, (detail, actor))
    if duplicates is not None and not duplicates.empty:
        st.markdown(f"**可能重复**（同类、{len(duplicates)} 件、近 7 日、附近）")
        for row in duplicates.itertuples():
            st.button(
                f"与 {md(row.incident_id)} 重复（相距 {row.distance_m:.0f} 米）",
                key=f"{key}-dup-{row.incident_id}",
                on_click=_run,
                args=(mark_duplicate, detail, actor),
                kwargs={"original_id": row.incident_id},
            )
    if "dispatch" in actions:
        # A new case gets the list in full; a dispatched one can be reassigned from a popover.
        holder = st.container() if detail.state == "registered" else st.popover("改派")
        with holder:
            suggestions = suggest_workers(store().session_factory, actor=actor, incident_id=detail.incident_id)
            st.markdown("**派遣给网格员**（本网格责任人优先，其余在岗人员按距离）")
            for row in suggestions.itertuples():
                tag = "本网格" if row.responsible else f"{row.distance_m / 1000:.1f} km"
                duty = "" if row.on_duty else "·不在岗"
                st.button(
                    f"派给 {md(row.name)}（{tag}{duty}）",
                    key=f"{key}-dispatch-{row.worker_id}",
                    type="primary" if row.Index == 0 else "secondary",
                    on_click=_run,
                    args=(dispatch_incident, detail, actor),
                    kwargs={"worker_id": row.worker_id},
                )
    if "call_department" in actions:
        departments = suggest_departments(store().session_factory, actor=actor, category=detail.category)
        if not departments.empty:
            with st.popover("吹哨报到（派给部门）"):
                names = dict(zip(departments["department_id"], departments["name"], strict=True))
                chosen = Widget(f"{key}-dept")
                st.selectbox("部门", list(names), format_func=names.__getitem__, key=chosen)
                note = Widget(f"{key}-dept-note")
                st.text_input("说明", key=note)
                st.button(
                    "吹哨",
                    key=f"{key}-call",
                    on_click=_run,
                    args=(call_department, detail, actor),
                    kwargs={"department_id": chosen, "note": note},
                )
    if "accept" in actions:
        st.button("受理", key=f"{key}-accept", type="primary", on_click=_run, args=(accept_incident, detail, actor))
    if "handle" in actions:
        with st.form(f"{key}-handle-form", clear_on_submit=True, border=True):
            handling = st.text_area("处置情况", height=70)
            uploads = st.file_uploader(
                "现场照片（至少一张）", type=["jpg", "jpeg", "png", "webp"], accept_multiple_files=True
            )
            if st.form_submit_button("处置完毕", type="primary"):
                photos = [Photo(u.name, u.getvalue()) for u in uploads or []]
                _run(handle_incident, detail, actor, note=handling, photos=photos, photo_dir=photo_dir())
                st.rerun()
    run = (detail, actor)
    if "verify" in actions:
        left, right = st.columns(2)
        with left.popover("核查结案", type="primary"):
            satisfaction = Widget(f"{key}-satisfaction")
            st.radio("群众满意度", SATISFACTION, horizontal=True, key=satisfaction)
            _confirm("确认结案", f"{key}-verify", verify_incident, run, satisfaction=satisfaction)
        with right.popover("退回重办"):
            _with_reason("确认退回", f"{key}-reopen", reopen_incident, run)
    elif "reopen" in actions:
        with st.popover("重新处置"):
            _with_reason("确认重新处置", f"{key}-reopen", reopen_incident, run)
    if "escalate" in actions or "close" in actions:
        left, right = st.columns(2)
        if "escalate" in actions:
            with left.popover("上报上级"):
                _with_reason("确认上报", f"{key}-escalate", escalate_incident, run)
        if "close" in actions:
            with right.popover("不予处置结案"):
                reason, note = Widget(f"{key}-close-reason"), Widget(f"{key}-close-note")
                st.selectbox("原因", NOT_FIXED_REASONS, format_func=CLOSE_REASON_NAMES.__getitem__, key=reason)
                st.text_input("说明", key=note)
                _confirm("确认结案", f"{key}-close", close_incident, run, reason=reason, note=note)


def _confirm(
    label: str, key: str, action: Callable[..., TransitionResult], run: tuple[object, ...], **kwargs: object
) -> None:
    st.button(label, key=key, on_click=_run, args=(action, *run), kwargs=kwargs)


def _with_reason(label: str, key: str, action: Callable[..., TransitionResult], run: tuple[object, ...]) -> None:
    """A reason field and the button that applies `action` with it."""
    reason = Widget(f"{key}-reason")
    st.text_input("理由", key=reason)
    _confirm(label, key, action, run, reason=reason)


def show_report_form(actor: Actor, point: tuple[float, float], go_to: Callable[[Selection], None]) -> None:
    """A new case at the clicked point (a hotline operator taking a call)."""
    with st.container(border=True, key="report-form"):
        st.markdown(f"#### 新建事件　<small>位置 {point[0]:.5f}, {point[1]:.5f}</small>", unsafe_allow_html=True)
        category = st.selectbox("类别", list(CATEGORIES), key="report.category")
        st.selectbox("小类", CATEGORIES[category], key="report.subcategory")
        st.radio("紧急程度", SEVERITIES, format_func=SEVERITY_NAMES.get, horizontal=True, key="report.severity")
        st.selectbox(
            "来源",
            CHANNELS,
            index=CHANNELS.index("hotline"),
            format_func=CHANNEL_NAMES.__getitem__,
            key="report.channel",
        )
        st.text_input("反映人（可不填）", key="report.reporter")
        st.text_area("事件描述", height=80, key="report.description")
        error = st.session_state.pop("report.error", None)
        if error:
            st.error(error)
        st.button("提交上报", type="primary", key="report.submit", on_click=_submit_report, args=(actor, point, go_to))


def _submit_report(actor: Actor, point: tuple[float, float], go_to: Callable[[Selection], None]) -> None:
    state = st.session_state
    try:
        result = report_incident(
            store().session_factory,
            actor=actor,
            now=dt.datetime.now(dt.UTC),
            category=state["report.category"],
            subcategory=state["report.subcategory"],
            severity=state["report.severity"],
            lon=point[0],
            lat=point[1],
            description=state.get("report.description", ""),
            channel=state["report.channel"],
            reporter=state.get("report.reporter") or None,
        )
    except DomainError as error:
        state["report.error"] = str(error)
        return
    reads.forget_incidents()
    state.pop("map.draft", None)
    state["map.new"] = False
    for key in ("report.description", "report.reporter"):
        state.pop(key, None)
    go_to(Selection(result.grid_code, "incident", result.incident_id))
