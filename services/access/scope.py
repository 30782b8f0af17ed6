"""The part of a county a user may see: their areas (`services.access.actor.Actor.scope`).  Every
service filters its queries by it.  Area codes are hierarchical (6/9/12/15 digits), so an area is
inside the scope when its code starts with one of the scope's codes; a larger area holding some
of them is seen only in those parts (`parts`, `within`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from services.errors import OutOfScopeError
from services.store.models import WorkerGrid


@dataclasses.dataclass(frozen=True)
class Scope:
    county_code: str
    area_codes: tuple[str, ...]

    @classmethod
    def whole_county(cls, county_code: str) -> Scope:
        return cls(county_code=county_code, area_codes=(county_code,))

    def allows(self, code: str) -> bool:
        return any(code.startswith(prefix) for prefix in self.area_codes)

    def parts(self, area_code: str) -> tuple[str, ...]:
        """The pieces of `area_code` inside the scope: the area itself when the scope covers it,
        else the scope's areas inside it (a supervisor's grids in their village), else none."""
        if self.allows(area_code):
            return (area_code,)
        return tuple(code for code in self.area_codes if code.startswith(area_code))

    def reaches(self, area_code: str) -> bool:
        """Some of the area is inside the scope (the caller may look at it, seeing only that part)."""
        return bool(self.parts(area_code))

    def within(self, code_column: InstrumentedAttribute[str], area_code: str) -> ColumnElement[bool]:
        """SQL condition: `code_column` lies in the part of `area_code` inside the scope."""
        parts = self.parts(area_code)
        if not parts:
            raise OutOfScopeError(area_code)
        return or_(*(code_within(code_column, prefix) for prefix in parts))

    def within_codes(self, codes: pd.Index, area_code: str) -> np.ndarray:
        """`within` over codes already read: which of them lie in the part of `area_code` inside
        the scope (a prefix is the same condition as the range on digit strings)."""
        parts = self.parts(area_code)
        if not parts:
            raise OutOfScopeError(area_code)
        return np.asarray(codes.astype(str).str.startswith(parts), dtype=bool)

    def filter(self, code_column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        """SQL condition: `code_column` lies inside the scope."""
        return or_(*(code_within(code_column, prefix) for prefix in self.area_codes))

    def holds_worker(self, worker_id_column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        """SQL condition: the worker holds a grid inside the scope (for a whole-county scope, any
        worker of the county, including those without a grid yet)."""
        if self.allows(self.county_code):
            return true()
        return worker_id_column.in_(
            select(WorkerGrid.worker_id).where(
                WorkerGrid.county_code == self.county_code, self.filter(WorkerGrid.grid_code)
            )
        )


def code_within(code_column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    """SQL condition: the code starts with the digits of `prefix`, written as a range so that a
    plain b-tree index serves it on both engines (LIKE 'p%' cannot use one on SQLite)."""
    if not prefix.isdigit():
        raise ValueError(f"an area code has only digits: {prefix!r}")
    upper = str(int(prefix) + 1).zfill(len(prefix))
    if len(upper) > len(prefix):  # all nines: every digit string at or above it starts with it
        return code_column >= prefix
    return and_(code_column >= prefix, code_column < upper)
