"""The layering of DESIGN.md, enforced: services/ and geo/ never import streamlit; services/ never
import the map rendering (folium, branca, geo.layers, geo.assets, geo.view): they return data;
geo/ never imports SQLAlchemy nor anything above it (services, pages, web); pages/ never import
SQLAlchemy nor the storage package (they call services)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Forbidden modules, each with everything under it (`services.store` also forbids `services.store.models`).
FORBIDDEN = {
    "services": ("streamlit", "streamlit_folium", "folium", "branca", "geo.layers", "geo.assets", "geo.view"),
    "geo": ("streamlit", "streamlit_folium", "sqlalchemy", "services", "pages", "web"),
    "pages": ("sqlalchemy", "psycopg", "services.store"),
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


def violations(package: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[package]):
                found.append(f"{path.relative_to(root).as_posix()} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_layering(package: str) -> None:
    assert violations(package) == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    offender = tmp_path / "bad.py"
    offender.write_text("import streamlit as st\nfrom sqlalchemy import select\n", encoding="utf-8")
    assert {"streamlit", "sqlalchemy"} <= imported_modules(offender)


def test_a_forbidden_package_forbids_its_submodules_but_not_its_namesakes(tmp_path: Path) -> None:
    offender = tmp_path / "pages" / "bad.py"
    offender.parent.mkdir()
    offender.write_text("from services.store.models import Area\nfrom services.storefront import x\n", encoding="utf-8")
    assert violations("pages", root=tmp_path) == ["pages/bad.py imports services.store.models"]
