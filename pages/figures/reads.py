"""The statistics page's reads, cached by the minute: arguments are the cache key (the database,
the actor who may see what, the area, the period and the minute)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from pages.components import store
from services.access.actor import Actor
from services.figures.periods import Period
from services.figures.report import Report
from services.figures.report_build import build_report
from services.figures.report_sheets import complete_report
from services.figures.statistics import compute_statistics


@st.cache_data(ttl=300, show_spinner="正在统计…", max_entries=64)
def statistics_report(url: str, actor: Actor, area_code: str, period: Period, at: dt.datetime) -> Report:
    stats = compute_statistics(store().session_factory, actor=actor, area_code=area_code, period=period, now=at)
    return build_report(stats)


@st.cache_data(ttl=300, show_spinner="正在生成报表…", max_entries=16)
def file_report(url: str, actor: Actor, area_code: str, period: Period, at: dt.datetime) -> Report:
    """The shown report with the sections only its files carry, for downloading and issuing."""
    shown = statistics_report(url, actor, area_code, period, at)
    return complete_report(store().session_factory, actor=actor, report=shown)
