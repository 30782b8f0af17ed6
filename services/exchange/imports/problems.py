"""Problems found in an import file, each naming the file, the row and the field."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import SupportsInt

from services.errors import DomainError

MAX_LISTED = 50


@dataclasses.dataclass(frozen=True)
class Problem:
    row: int | None  # spreadsheet row (the header is row 1) or feature number (from 1)
    field: str | None
    message: str

    def describe(self, filename: str, unit: str = "行") -> str:
        where = [f"文件 {filename}"]
        if self.row is not None:
            where.append(f"第 {self.row} {unit}")
        if self.field:
            where.append(f"字段 {self.field}")
        return f"{'，'.join(where)}：{self.message}"


class ImportFileError(DomainError):
    """The file cannot be imported; nothing was written."""

    def __init__(self, filename: str, problems: list[Problem], unit: str = "行") -> None:
        self.filename = filename
        self.problems = problems
        self.unit = unit
        shown = "\n".join(p.describe(filename, unit) for p in problems[:MAX_LISTED])
        more = f"\n……另有 {len(problems) - MAX_LISTED} 处问题" if len(problems) > MAX_LISTED else ""
        super().__init__(f"导入失败，未写入任何数据（共 {len(problems)} 处问题）：\n{shown}{more}")


class ProblemList:
    """Collects problems while checking a file; `raise_if_any` ends the import."""

    def __init__(self, filename: str, unit: str = "行") -> None:
        self.filename = filename
        self.unit = unit
        self.items: list[Problem] = []

    def add(self, row: int | None, field: str | None, message: str) -> None:
        self.items.append(Problem(row, field, message))

    def add_rows(self, rows: Iterable[SupportsInt], field: str | None, message: str) -> None:
        for row in rows:
            self.add(int(row), field, message)

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportFileError(self.filename, sorted(self.items, key=_order), self.unit)


def _order(problem: Problem) -> tuple[int, str]:
    return (problem.row if problem.row is not None else -1, problem.field or "")
