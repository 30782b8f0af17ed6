"""What the 民情地图 page shows: an area (county → township → village → grid) and, optionally,
one item in it (a household, an incident or a worker).  It round-trips through the URL query
string, so a leader can send a link to a grid, and it decides what a click on the map means."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from services.domain import AREA_LEVELS, CODE_LENGTHS

ITEM_KINDS = ("household", "incident", "worker")
LEVEL_OF_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}


@dataclasses.dataclass(frozen=True)
class Selection:
    area_code: str
    item_kind: str | None = None
    item_id: str | None = None

    @classmethod
    def county(cls, county_code: str) -> Selection:
        return cls(county_code)

    @classmethod
    def from_query(cls, params: Mapping[str, str], county_code: str, home: str | None = None) -> Selection:
        """The selection a URL names; no area, or anything malformed or from another county,
        falls back to `home` (default: the county): a stale or hand-edited link must still open
        the map."""
        fallback = home or county_code
        area = params.get("area", fallback)
        if not (area.isdigit() and len(area) in LEVEL_OF_LENGTH and area.startswith(county_code)):
            area = fallback
        for kind in ITEM_KINDS:
            item = params.get(kind)
            if item:
                return cls(area, kind, item)
        return cls(area)

    def to_query(self) -> dict[str, str]:
        query = {"area": self.area_code}
        if self.item_kind and self.item_id:
            query[self.item_kind] = self.item_id
        return query

    @property
    def level(self) -> str:
        return LEVEL_OF_LENGTH[len(self.area_code)]

    @property
    def child_level(self) -> str | None:
        index = AREA_LEVELS.index(self.level)
        return AREA_LEVELS[index + 1] if index + 1 < len(AREA_LEVELS) else None

    @property
    def points_area_code(self) -> str:
        """The area whose points the map draws: a grid shows its whole village, for context."""
        return self.area_code[: CODE_LENGTHS["village"]] if self.level == "grid" else self.area_code

    @property
    def shows_households(self) -> bool:
        """Households only at village or grid view: the county view never ships 300,000 points."""
        return self.level in ("village", "grid")

    @property
    def shows_workers(self) -> bool:
        return self.level != "county"

    @property
    def alarming_incidents_only(self) -> bool:
        """At county view only overdue, at-risk and urgent cases are points; the rest are counts."""
        return self.level == "county"

    def crumbs(self, home: str | None = None) -> list[str]:
        """Codes from the county (or from the user's `home` area) down to the selected area: the
        breadcrumb, which never offers a way above the user's own area."""
        codes = [self.area_code[: CODE_LENGTHS[level]] for level in AREA_LEVELS[: AREA_LEVELS.index(self.level) + 1]]
        return [code for code in codes if home is None or len(code) >= len(home)]

    def after_click(self, properties: Mapping[str, object]) -> Selection:
        """The selection after a click on a map feature (its GeoJSON properties `kind`, `id`,
        and for a household its grid `g`).  A grid click drills one level down from the current
        area, towards that grid; outside the current area it moves to the neighbour at the same
        level.  A household opens its card in its grid; an incident or worker opens its card and
        keeps the area."""
        kind, item_id = properties.get("kind"), str(properties.get("id", ""))
        if kind == "grid" and item_id.startswith(self.area_code[:6]) and len(item_id) == CODE_LENGTHS["grid"]:
            depth = len(self.area_code)
            if item_id.startswith(self.area_code):
                next_level = self.child_level or "grid"
                return Selection(item_id[: CODE_LENGTHS[next_level]])
            return Selection(item_id[:depth])
        if kind == "household" and item_id:
            grid = str(properties.get("g") or self.area_code)
            return Selection(grid, "household", item_id)
        if kind in ("incident", "worker") and item_id:
            return Selection(self.area_code, kind, item_id)
        return self
