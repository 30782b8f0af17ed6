"""Areas read for the map, and the Leaflet files the app serves itself (no internet needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from render.assets import install_assets, install_tiles
from services.mapping.areas import load_areas
from tests.factories import COUNTY, GRID_B, make_actor, seed_areas


def test_load_areas_keeps_to_the_scope_and_the_areas_holding_it(store) -> None:
    seed_areas(store)
    areas = load_areas(store.session_factory, actor=make_actor("grid_supervisor", GRID_B), levels=("county", "grid"))
    assert areas["code"].tolist() == [COUNTY, GRID_B]  # not GRID_A, the neighbour


def test_installed_assets_are_the_files_the_map_links_to(tmp_path: Path) -> None:
    install_assets(tmp_path)
    assert (tmp_path / "vendor/leaflet/leaflet.js").stat().st_size > 100_000
    assert (tmp_path / "vendor/leaflet/leaflet.css").exists()
    assert (tmp_path / "vendor/leaflet.markercluster/leaflet.markercluster.js").exists()


def test_a_local_tile_folder_is_served_under_static_tiles(tmp_path: Path) -> None:
    tiles = tmp_path / "tiles-src"
    (tiles / "12" / "3370").mkdir(parents=True)
    (tiles / "12" / "3370" / "1552.png").write_bytes(b"png")
    static = tmp_path / "static"
    static.mkdir()
    install_tiles(static, tiles)
    install_tiles(static, tiles)  # idempotent
    assert (static / "tiles" / "12" / "3370" / "1552.png").read_bytes() == b"png"
    with pytest.raises(ValueError, match="LOCAL_TILES_DIR"):
        install_tiles(tmp_path / "other", tmp_path / "missing")
