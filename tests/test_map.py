"""The first map: drawn from the store, with every asset served locally (no internet needed)."""

from __future__ import annotations

import re
from pathlib import Path

from geo.assets import install_assets
from geo.layers import build_area_map
from services.areas import load_areas
from services.scope import Scope
from tests.factories import COUNTY, GRID_B, seed_areas


def test_map_html_loads_no_script_or_stylesheet_from_the_internet(store) -> None:
    seed_areas(store)
    areas = load_areas(store.session_factory, scope=Scope.whole_county(COUNTY), levels=("county", "township", "grid"))
    html = build_area_map(areas).get_root().render()
    links = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert links and all(link.startswith("/app/static/") for link in links), links
    assert "130532101201001" in html


def test_load_areas_keeps_to_the_scope(store) -> None:
    seed_areas(store)
    areas = load_areas(store.session_factory, scope=Scope(COUNTY, (GRID_B,)), levels=("county", "grid"))
    assert areas["code"].tolist() == [GRID_B]


def test_installed_assets_are_the_files_the_map_links_to(tmp_path: Path) -> None:
    install_assets(tmp_path)
    assert (tmp_path / "vendor/leaflet/leaflet.js").stat().st_size > 100_000
    assert (tmp_path / "vendor/leaflet/leaflet.css").exists()
    assert (tmp_path / "vendor/leaflet.markercluster/leaflet.markercluster.js").exists()
