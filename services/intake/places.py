"""A point for a request that gives only an address (a 12345 work order, an Open311 POST with
`address_string`): a household whose registered address is the same text, else the village or
grid whose name the address holds.

Matching is on text folded the way the register's headers are (full-width forms, spaces): a
household's address must match whole; an area name must appear in the address, the longest wins,
and a name held by areas in several townships counts only when the address also names one of
their townships.  A village stands for its representative point (inside it, so a case lands in one
of its grids); an address naming only a township is too coarse for a grid and is not matched."""

from __future__ import annotations

import dataclasses
import unicodedata

import pandas as pd
import shapely
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from services.store.models import Area, Household

MATCHED_LEVELS = ("village", "grid")
LOOKUP_CHUNK = 500


@dataclasses.dataclass(frozen=True)
class Place:
    lon: float
    lat: float
    matched: str  # household | village | grid


def fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def locate_addresses(connection: Connection | Session, county_code: str, addresses: pd.Series) -> pd.Series:
    """For each address, its `Place`, or None when nothing matches (or the match is ambiguous)."""
    folded = addresses.fillna("").astype(str).map(fold)
    wanted = sorted(set(folded) - {""})
    if not wanted:
        return pd.Series([None] * len(addresses), index=addresses.index, dtype=object)
    households: dict[str, Place] = {}
    # Looked up by the text as given and as folded (not a scan of the county's 300,000 addresses).
    texts = sorted({*wanted, *(a.strip() for a in addresses.dropna().astype(str))} - {""})
    for start in range(0, len(texts), LOOKUP_CHUNK):
        chunk = texts[start : start + LOOKUP_CHUNK]
        for row in connection.execute(
            select(Household.address, Household.lon, Household.lat)
            .where(Household.county_code == county_code, Household.address.in_(chunk))
            .order_by(Household.household_id)
        ):
            key = fold(row.address or "")
            if key not in households:  # the first of households sharing an address
                households[key] = Place(float(row.lon), float(row.lat), "household")
    areas = connection.execute(
        select(Area.code, Area.level, Area.name, Area.parent_code, Area.geom).where(
            Area.county_code == county_code, Area.level.in_(("township", *MATCHED_LEVELS))
        )
    ).all()
    township_names = {a.code: fold(a.name) for a in areas if a.level == "township"}
    candidates = [a for a in areas if a.level in MATCHED_LEVELS and fold(a.name)]
    places: dict[str, Place | None] = {}
    for address in wanted:
        if address in households:
            places[address] = households[address]
            continue
        places[address] = _area_place(address, candidates, township_names)
    return folded.map(lambda key: places.get(key)).astype(object)


def _area_place(address: str, candidates: list, township_names: dict[str, str]) -> Place | None:
    named = [a for a in candidates if fold(a.name) in address]
    if not named:
        return None
    longest = max(len(fold(a.name)) for a in named)
    best = [a for a in named if len(fold(a.name)) == longest]
    if len(best) > 1:  # the same name in several places: the address must name the township
        best = [a for a in best if township_names.get(a.code[:9], "\0") in address]
    if len(best) != 1:
        return None
    point = shapely.point_on_surface(best[0].geom)
    return Place(round(float(point.x), 6), round(float(point.y), 6), best[0].level)
