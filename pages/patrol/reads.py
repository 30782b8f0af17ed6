"""The 巡查考核 page's reads, cached by the minute: the township filter, the worker picked for the
evidence and the forms rerun the page, and at county scale the month's assessment takes seconds.
Arguments are the cache key (the database, the actor who may see what, the month, the minute);
`forget` after a write (a decision, an award, a rule change) so the next run reads it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from pages.components import store
from services.access.actor import Actor
from services.patrol.assessment import Assessment, compute_assessment
from services.patrol.misses import find_miss_candidates
from services.patrol.supervision import compute_compliance


@st.cache_data(ttl=300, show_spinner="正在计算本月考核…", max_entries=32)
def assessment(url: str, actor: Actor, month: dt.date, at: dt.datetime) -> Assessment:
    return compute_assessment(store().session_factory, actor=actor, area_code=actor.home_area, month=month, now=at)


@st.cache_data(ttl=300, show_spinner=False, max_entries=32)
def compliance(url: str, actor: Actor, month: dt.date, at: dt.datetime) -> pd.DataFrame:
    return compute_compliance(store().session_factory, actor=actor, area_code=actor.home_area, month=month, now=at)


@st.cache_data(ttl=300, show_spinner=False, max_entries=32)
def miss_candidates(url: str, actor: Actor, month: dt.date, at: dt.datetime) -> pd.DataFrame:
    return find_miss_candidates(store().session_factory, actor=actor, area_code=actor.home_area, month=month, now=at)


def forget() -> None:
    for read in (assessment, compliance, miss_candidates):
        read.clear()
