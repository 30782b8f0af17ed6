"""Leaflet served by the app itself: government intranets (and these machines) have no internet,
and inside the streamlit-folium component one failed CDN script stops the whole map.

`install_assets` copies Leaflet from the pip packages `xstatic-leaflet` and
`xstatic-leaflet-markercluster` into the app's `static/` folder (served at `/app/static/`), and
`use_local_assets` points folium's class-level asset lists there.  Only Leaflet itself is kept:
jQuery, Bootstrap and awesome-markers are not needed by the layers we draw.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import folium
import folium.plugins
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster

STATIC_URL = "/app/static/vendor"
VENDOR_SOURCES = {
    "leaflet": Path(xstatic.pkg.leaflet.BASE_DIR),
    "leaflet.markercluster": Path(xstatic.pkg.leaflet_markercluster.BASE_DIR),
}


def install_assets(static_dir: Path) -> None:
    """Copy the vendored files under `static_dir/vendor` (idempotent)."""
    for name, source in VENDOR_SOURCES.items():
        target = static_dir / "vendor" / name
        if not target.exists():
            shutil.copytree(source, target)


def use_local_assets() -> None:
    folium.Map.default_js = [("leaflet", f"{STATIC_URL}/leaflet/leaflet.js")]
    folium.Map.default_css = [("leaflet_css", f"{STATIC_URL}/leaflet/leaflet.css")]
    cluster_js = [("markerclusterjs", f"{STATIC_URL}/leaflet.markercluster/leaflet.markercluster.js")]
    cluster_css = [
        ("markerclustercss", f"{STATIC_URL}/leaflet.markercluster/MarkerCluster.css"),
        ("markerclusterdefaultcss", f"{STATIC_URL}/leaflet.markercluster/MarkerCluster.Default.css"),
    ]
    for plugin in (folium.plugins.MarkerCluster, folium.plugins.FastMarkerCluster):
        plugin.default_js = cluster_js
        plugin.default_css = cluster_css


def install_tiles(static_dir: Path, tiles_dir: Path) -> None:
    """Serve a local `{z}/{x}/{y}.png` tile folder at `/app/static/tiles/` (a link, not a copy:
    a county's tiles run to gigabytes)."""
    link = static_dir / "tiles"
    if link.is_symlink() and link.resolve() == tiles_dir.resolve():
        return
    if link.is_symlink():
        link.unlink()
    if link.exists():
        raise ValueError(f"{link} 已存在且不是链接，无法指向 {tiles_dir}")
    if not tiles_dir.is_dir():
        raise ValueError(f"LOCAL_TILES_DIR 不是文件夹：{tiles_dir}")
    link.symlink_to(tiles_dir.resolve(), target_is_directory=True)
