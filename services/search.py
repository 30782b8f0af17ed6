"""Search box of the 民情地图 page: households by head name or address, incidents by id, areas
by code or name.  Each hit names the selection that shows it on the map."""

from __future__ import annotations

import dataclasses

from sqlalchemy import or_, select

from services.domain import AREA_LEVEL_NAMES, CODE_LENGTHS
from services.privacy import Clearance, shown_names
from services.scope import Scope
from services.selection import LEVEL_OF_LENGTH, Selection
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, Household, Incident


@dataclasses.dataclass(frozen=True)
class SearchHit:
    label: str
    selection: Selection


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_map(
    session_factory: SessionFactory, *, scope: Scope, clearance: Clearance, text: str, limit: int = 20
) -> list[SearchHit]:
    """Hits for `text` inside the scope, areas first, then incidents, then households (each kind
    up to `limit`).  Text shorter than two characters finds nothing (a one-character surname
    would list half a village)."""
    text = text.strip()
    if len(text) < 2:
        return []
    county = scope.county_code
    pattern = _like(text)
    with session_factory() as session:
        areas = query_frame(
            session,
            select(Area.code, Area.name)
            .where(
                Area.county_code == county,
                scope.filter(Area.code),
                or_(Area.code.like(f"{text}%"), Area.name.like(pattern, escape="\\")),
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
                Incident.incident_id.like(pattern, escape="\\"),
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
                or_(Household.head_name.like(pattern, escape="\\"), Household.address.like(pattern, escape="\\")),
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
