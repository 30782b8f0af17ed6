"""The layering of DESIGN.md, enforced.

Two kinds of rule: third-party and project modules a layer must never import (streamlit outside
pages, SQLAlchemy outside services, folium outside render, the store from pages), and the order
of the rooms: each package's `__init__` docstring ends with an "Imports:" line naming the rooms
it may use, and nothing under it imports any other room of the project."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.paths import ROOT

PROJECT = ("services", "geo", "render", "pages", "web")
RENDERING = ("streamlit_folium", "folium", "branca", "jinja2", "render")

# Forbidden modules, each with everything under it (`services.store` also forbids `services.store.models`).
FORBIDDEN = {
    "services": ("streamlit", *RENDERING, "pages", "web"),
    "geo": ("streamlit", "sqlalchemy", *RENDERING, "services", "pages", "web"),
    "render": ("streamlit", "sqlalchemy", "psycopg", "services.store", "pages"),
    "pages": ("sqlalchemy", "psycopg", "services.store", "folium", "branca", "jinja2"),
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


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(package: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for name in imported_modules(path):
            if any(_under(name, banned) for banned in FORBIDDEN[package]):
                found.append(f"{path.relative_to(root).as_posix()} imports {name}")
    return found


def declared_rooms(root: Path = ROOT) -> dict[str, tuple[str, ...]]:
    """Each package with an "Imports:" line in its __init__ docstring: the rooms it may import."""
    rooms = {}
    for init in sorted(root.rglob("__init__.py")):
        if ".venv" in init.parts or init.relative_to(root).parts[0] == "tests":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        for line in doc.splitlines():
            if line.startswith("Imports:"):
                allowed = line.removeprefix("Imports:").split("(")[0]
                package = ".".join(init.parent.relative_to(root).parts)
                rooms[package] = tuple(name.strip() for name in allowed.split(",") if name.strip())
    return rooms


def room_of(module: str, rooms: dict[str, tuple[str, ...]]) -> str:
    """The innermost declared room holding `module` (`services.domain` is in the room `services`)."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        if ".".join(parts[:length]) in rooms:
            return ".".join(parts[:length])
    return parts[0]


def room_violations(root: Path = ROOT) -> list[str]:
    rooms = declared_rooms(root)
    found = []
    for package, allowed in rooms.items():
        for path in sorted((root / Path(*package.split("."))).rglob("*.py")):
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            if room_of(module, rooms) != package:
                continue  # a sub-room with its own line
            for name in imported_modules(path):
                if name.split(".")[0] not in PROJECT:
                    continue
                target = room_of(name, rooms)
                if target != package and target not in allowed:
                    found.append(f"{path.relative_to(root).as_posix()} imports {name} (room {target})")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_layering(package: str) -> None:
    assert violations(package) == []


def test_every_room_imports_only_the_rooms_its_docstring_names() -> None:
    assert room_violations() == []


def test_every_service_package_declares_its_rooms() -> None:
    packages = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "services").glob("*/__init__.py")}
    assert packages - set(declared_rooms()) == set()


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    offender = tmp_path / "bad.py"
    offender.write_text("import streamlit as st\nfrom sqlalchemy import select\n", encoding="utf-8")
    assert {"streamlit", "sqlalchemy"} <= imported_modules(offender)


def test_a_forbidden_package_forbids_its_submodules_but_not_its_namesakes(tmp_path: Path) -> None:
    offender = tmp_path / "pages" / "bad.py"
    offender.parent.mkdir()
    offender.write_text("from services.store.models import Area\nfrom services.storefront import x\n", encoding="utf-8")
    assert violations("pages", root=tmp_path) == ["pages/bad.py imports services.store.models"]


def test_a_room_may_not_import_a_room_above_it(tmp_path: Path) -> None:
    for package, allowed in (("services", ""), ("services/store", "services"), ("services/cases", "services")):
        (tmp_path / package).mkdir(parents=True)
        (tmp_path / package / "__init__.py").write_text(f'"""Room.\n\nImports: {allowed}\n"""\n', encoding="utf-8")
    (tmp_path / "services" / "domain.py").write_text("from services.cases.workflow import x\n", encoding="utf-8")
    (tmp_path / "services" / "cases" / "workflow.py").write_text(
        "from services.domain import y\nfrom services.store.models import Area\n", encoding="utf-8"
    )
    assert sorted(room_violations(tmp_path)) == [
        "services/cases/workflow.py imports services.store.models (room services.store)",
        "services/domain.py imports services.cases.workflow (room services.cases)",
    ]


def layout_table_paths(readme: str) -> set[str]:
    """The paths named in the first column of README's Layout table (`pages/map/` → pages/map)."""
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {path.strip("/") for cell in first_cells for path in re.findall(r"`([^`]+)`", cell)}


def test_readme_layout_table_matches_the_tree() -> None:
    listed = layout_table_paths((ROOT / "README.md").read_text(encoding="utf-8"))
    rooms = {
        init.parent.relative_to(ROOT).as_posix()
        for parent in ("services", "pages")
        for init in (ROOT / parent).glob("*/__init__.py")
    }
    top = {path.name for path in ROOT.iterdir() if path.is_dir() and not path.name.startswith((".", "_"))}
    assert sorted(rooms - listed) == []
    assert sorted(top - listed - {"static"}) == []  # static/ is written at start-up (render/assets.py)
    assert sorted(path for path in listed if not (ROOT / path).exists()) == []
