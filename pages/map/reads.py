"""The map page's reads, cached: area shapes change only on import, figures by the minute.
Each wrapper calls one service; arguments are the cache key (settings name the database, the
actor who may see what, so no user is ever served another user's cached rows)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st

from geo.display import AreaShapes, display_points
from pages.components import settings, store
from services.access.actor import Actor
from services.figures.area_figures import LIVE_DAYS, AreaFigures, compute_area_figures, compute_grid_figures
from services.mapping.map_data import (
    load_household_points,
    load_open_incidents,
    load_worker_positions,
)
from services.patrol.supervision import WorkerDay, load_worker_day
from web.map_shapes import DOCUMENTS, shapes_link


def area_shapes(actor: Actor, crs: str) -> AreaShapes:
    """The areas `actor` may see, as drawn over a `crs` basemap: kept by web/map_shapes.py
    beside the outlines document the map fetches, so both are always the same version (shared
    between sessions: read them, never change them in place)."""
    return DOCUMENTS.get(store(), actor, crs).shapes


def area_shapes_link(actor: Actor, crs: str) -> str:
    """Where the map fetches the outlines of `area_shapes`."""
    return shapes_link(store(), settings(), actor=actor, crs=crs, base_path=st.get_option("server.baseUrlPath"))


@st.cache_data(ttl=120, show_spinner="正在统计各网格…")
def grid_figures(
    url: str, actor: Actor, area_code: str, at: dt.datetime, special_tags: tuple[str, ...]
) -> pd.DataFrame:
    return compute_grid_figures(
        store().session_factory, actor=actor, area_code=area_code, at=at, days=LIVE_DAYS, special_tags=special_tags
    )


@st.cache_data(ttl=120, show_spinner=False)
def area_figures(url: str, actor: Actor, area_code: str, at: dt.datetime) -> AreaFigures:
    return compute_area_figures(store().session_factory, actor=actor, area_code=area_code, at=at, days=LIVE_DAYS)


@st.cache_data(ttl=60, show_spinner=False)
def open_incidents(
    url: str, actor: Actor, area_code: str, at: dt.datetime, alarming_only: bool, crs: str
) -> pd.DataFrame:
    frame = load_open_incidents(
        store().session_factory, actor=actor, area_code=area_code, at=at, alarming_only=alarming_only
    )
    return display_points(frame, crs)


@st.cache_data(ttl=300, show_spinner=False)
def household_points(url: str, actor: Actor, area_code: str, at: dt.datetime, crs: str) -> pd.DataFrame:
    frame = load_household_points(store().session_factory, actor=actor, area_code=area_code, at=at)
    return display_points(frame, crs)


@st.cache_data(ttl=60, show_spinner=False)
def worker_positions(url: str, actor: Actor, area_code: str, at: dt.datetime, crs: str) -> pd.DataFrame:
    frame = load_worker_positions(store().session_factory, actor=actor, area_code=area_code, at=at)
    return display_points(frame, crs)


def forget_incidents() -> None:
    """After a case changed: its colour, counts and figures must show the change at once."""
    for cached in (open_incidents, grid_figures, area_figures):
        cached.clear()


@st.cache_data(ttl=300, show_spinner="正在生成巡查轨迹…")
def worker_day(url: str, actor: Actor, worker_id: str, day: dt.date, crs: str) -> WorkerDay:
    found = load_worker_day(store().session_factory, actor=actor, worker_id=worker_id, day=day)
    return dataclasses.replace(
        found,
        track=display_points(found.track, crs),
        stops=display_points(found.stops, crs),
        visited=display_points(found.visited, crs),
        waiting=display_points(found.waiting, crs),
    )
