"""The part of a county a caller may see.  Every read service takes one, so that access control
(issue 8) is enforced in one place.  Area codes are hierarchical (6/9/12/15 digits), so an area is
inside the scope when its code starts with one of the scope's codes."""

from __future__ import annotations

import dataclasses

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from services.errors import OutOfScopeError


@dataclasses.dataclass(frozen=True)
class Scope:
    county_code: str
    area_codes: tuple[str, ...]

    @classmethod
    def whole_county(cls, county_code: str) -> Scope:
        return cls(county_code=county_code, area_codes=(county_code,))

    def allows(self, code: str) -> bool:
        return any(code.startswith(prefix) for prefix in self.area_codes)

    def require(self, code: str) -> None:
        if not self.allows(code):
            raise OutOfScopeError(code)

    def filter(self, code_column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        """SQL condition: `code_column` lies inside the scope."""
        return or_(*(code_column.startswith(prefix, autoescape=True) for prefix in self.area_codes))
