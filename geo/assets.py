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
