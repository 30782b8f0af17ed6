"""Opening a link to the map: the selection a URL names, as far as the user may see it.  A link
to somewhere outside the user's areas (a forwarded link, or a hand-edited query string) opens
their home area instead, and the attempt goes on the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from services.access.actor import Actor
from services.access.audit import refuse
from services.errors import OutOfScopeError
from services.mapping.selection import Selection
from services.store.engine import SessionFactory


@dataclasses.dataclass(frozen=True)
class OpenedLink:
    selection: Selection
    refused: str | None = None  # what to tell the user when the link was not theirs to open


def open_selection(
    session_factory: SessionFactory, *, actor: Actor, params: Mapping[str, str], at: dt.datetime
) -> OpenedLink:
    home = actor.home_area
    wanted = Selection.from_query(params, actor.county_code, home=home)
    if home.startswith(wanted.area_code):  # above the user's home (the county, for a leader): home
        return OpenedLink(Selection(home, wanted.item_kind, wanted.item_id))
    if actor.scope.reaches(wanted.area_code):
        return OpenedLink(wanted)
    error = refuse(session_factory, actor, at, f"区域 {wanted.area_code}", OutOfScopeError(wanted.area_code))
    return OpenedLink(Selection(home), f"{error}，已回到您负责的区域。")
