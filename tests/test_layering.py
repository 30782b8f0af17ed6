"""The layering of DESIGN.md, enforced: services/ and geo/ never import streamlit, geo/ never
imports SQLAlchemy, pages/ never import SQLAlchemy (they call services)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "services": ("streamlit", "streamlit_folium"),
    "geo": ("streamlit", "streamlit_folium", "sqlalchemy", "services", "pages"),
    "pages": ("sqlalchemy", "geoalchemy2", "psycopg"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported_modules(path):
            if name.split(".")[0] in FORBIDDEN[package]:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_layering(package: str) -> None:
    assert violations(package) == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    offender = tmp_path / "bad.py"
    offender.write_text("import streamlit as st\nfrom sqlalchemy import select\n", encoding="utf-8")
    assert {"streamlit", "sqlalchemy"} <= imported_modules(offender)
