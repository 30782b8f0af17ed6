"""Search box of the 民情地图 page: households by address (and by head name for roles that may
see names), incidents by id, areas by code or name.  Each hit names the selection that shows it
on the map.  The text is matched literally: `%`, `_` and quotes are plain characters."""

from __future__ import annotations

import dataclasses

from sqlalchemy import or_, select

from services.access.actor import Actor
from services.access.privacy import shown_names
from services.domain import AREA_LEVEL_NAMES, CODE_LENGTHS
from services.errors import InvalidArgumentError
from services.mapping.selection import LEVEL_OF_LENGTH, Selection
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, Household, Incident


@dataclasses.dataclass(frozen=True)
class SearchHit:
    label: str
    selection: Selection


MAX_TEXT = 64


def search_map(session_factory: SessionFactory, *, actor: Actor, text: str, limit: int = 20) -> list[SearchHit]:
    """Hits for `text` inside the scope, areas first, then incidents, then households (each kind
    up to `limit`).  Text shorter than two characters finds nothing (a one-character surname
    would list half a village), longer than MAX_TEXT is refused.  Head names are searched only
    for roles that may unmask them: for anyone else a hit would confirm who lives where."""
    scope = actor.scope
    clearance = actor.clearance
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise InvalidArgumentError(f"搜索内容过长（最多 {MAX_TEXT} 个字）")
    if len(text) < 2:
        return []
    county = scope.county_code
    household_columns = [Household.address] + ([Household.head_name] if actor.may("unmask_personal_data") else [])
    with session_factory() as session:
        areas = query_frame(
            session,
            select(Area.code, Area.name)
            .where(
                Area.county_code == county,
                scope.filter(Area.code),
                or_(Area.code.startswith(text, autoescape=True), Area.name.contains(text, autoescape=True)),
            )
            .order_by(Area.code)
            .limit(limit),
        )
        incidents = query_frame(
            session,
            select(Incident.incident_id, Incident.grid_code, Incident.category)
            .where(
                Incident.county_code == county,
                scope.filter(Incident.grid_code),
                Incident.incident_id.contains(text, autoescape=True),
            )
            .order_by(Incident.incident_id.desc())
            .limit(limit),
        )
        households = query_frame(
            session,
            select(Household.household_id, Household.grid_code, Household.head_name, Household.address)
            .where(
                Household.county_code == county,
                scope.filter(Household.grid_code),
                or_(*(column.contains(text, autoescape=True) for column in household_columns)),
            )
            .order_by(Household.household_id)
            .limit(limit),
        )
    hits = [
        SearchHit(f"{AREA_LEVEL_NAMES[LEVEL_OF_LENGTH[len(code)]]} · {name}（{code}）", Selection(code))
        for code, name in zip(areas["code"], areas["name"], strict=True)
        if len(code) in LEVEL_OF_LENGTH
    ]
    hits += [
        SearchHit(f"事件 · {i} {c}", Selection(g[: CODE_LENGTHS["grid"]], "incident", i))
        for i, g, c in zip(incidents["incident_id"], incidents["grid_code"], incidents["category"], strict=True)
    ]
    names = shown_names(households["head_name"], clearance)
    hits += [
        SearchHit(f"住户 · {n} · {a}", Selection(g, "household", h))
        for h, g, n, a in zip(
            households["household_id"], households["grid_code"], names, households["address"], strict=True
        )
    ]
    return hits
