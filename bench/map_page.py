"""Benchmark of the 民情地图 map (issue 4) at the county scale, for the county view and one grid
view: the reads behind it, the server time to build the map as streamlit-folium sends it, the
bytes sent to the component, and the time until Leaflet has drawn it in headless Chromium.  The
naive alternative (one folium marker per household at the county view) is measured the same way
in the same run.  `python -m bench.map_page [--database URL]`; results as JSON lines on stdout
and in bench/results/map-county.json."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import folium
import pandas as pd
import streamlit_folium
from playwright.sync_api import sync_playwright

from bench.foundation import NOW, RESULTS, timed
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from geo.display import AreaShapes
from render.assets import install_assets
from render.map_layers import build_base_map, build_overlays
from services.access.actor import Actor
from services.basemaps import make_basemap
from services.cli.bootstrap import Store, county_is_empty, create_demo, open_store
from services.figures.area_figures import compute_area_figures, compute_grid_figures
from services.mapping.map_data import (
    colour_grids,
    load_area_shapes,
    load_household_points,
    load_open_incidents,
    load_worker_positions,
)
from services.mapping.selection import Selection
from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
NAIVE_DRAW_TIMEOUT_S = 180
ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))


def component_payload(fmap: folium.Map, overlays: list[folium.FeatureGroup]) -> dict[str, str]:
    """What `st_folium` sends to the browser for this map, built the way it builds it."""
    payload = {
        "script": streamlit_folium._get_map_string(fmap),
        "header": streamlit_folium._get_header(fmap),
        "html": streamlit_folium._get_html(fmap),
    }
    payload["feature_group"] = "".join(
        streamlit_folium._get_feature_group_string(group, map=fmap, idx=i) for i, group in enumerate(overlays)
    )
    payload["layer_control"] = streamlit_folium._get_layer_control_string(folium.LayerControl(collapsed=True), fmap)
    return payload


def page_html(payload: dict[str, str]) -> str:
    """A page that runs the component's script the way the component does, against Leaflet served
    from the app's static folder."""
    vendor = (STATIC / "vendor" / "leaflet").as_uri()
    return f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{vendor}/leaflet.css"><script src="{vendor}/leaflet.js"></script>
{payload["header"]}<style>#map_div {{ width: 1000px; height: 660px; }}</style></head>
<body><div id="map_div"></div>{payload["html"]}
<script>
{payload["script"]}
{payload["feature_group"]}
{payload["layer_control"]}
requestAnimationFrame(function () {{ requestAnimationFrame(function () {{
  window.drawnMs = performance.now();  // since navigation start: parsing, Leaflet, layers, paint
}}); }});
</script></body></html>"""


def draw_seconds(html: str, name: str, timeout_s: float = 60) -> dict:
    """Seconds from navigation start until Leaflet's SVG is in the page and two frames have been
    painted (the browser's own clock), for a page written to bench/results."""
    path = RESULTS / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        try:
            page.goto(path.as_uri(), timeout=timeout_s * 1000, wait_until="commit")
            page.wait_for_function("window.drawnMs !== undefined", timeout=timeout_s * 1000, polling=100)
            paths = page.evaluate("document.querySelectorAll('path').length")
            result = {"drawn_s": round(page.evaluate("window.drawnMs") / 1000, 2), "svg_paths": paths}
        except Exception as error:  # a timeout is the result for the naive page
            result = {"drawn_s": None, "error": re.sub(r"\s+", " ", str(error))[:120]}
        browser.close()
    return result


def measure_view(name: str, selection: Selection, store: Store, shapes: AreaShapes, by_grid: pd.DataFrame) -> dict:
    factory = store.session_factory
    actor = Actor("bench", "基准测试", "county_operator", selection.area_code[:6], (selection.area_code[:6],))
    area = selection.points_area_code
    reads_s, (incidents, households, workers, figures) = timed(
        lambda: (
            load_open_incidents(
                factory, actor=actor, area_code=area, at=NOW, alarming_only=selection.alarming_incidents_only
            ),
            load_household_points(factory, actor=actor, area_code=area, at=NOW) if selection.shows_households else None,
            load_worker_positions(factory, actor=actor, area_code=area, at=NOW) if selection.shows_workers else None,
            compute_area_figures(factory, actor=actor, area_code=selection.area_code, at=NOW, days=7),
        )
    )
    values, legend = colour_grids(by_grid, "open")

    def build() -> dict[str, str]:
        fmap = build_base_map(shapes, grid_values=values, legend=legend, basemap=make_basemap("none"))
        overlays = build_overlays(
            shapes,
            selected_code=selection.area_code,
            selected_level=selection.level,
            child_level=None if selection.level == "county" else selection.child_level,
            incidents=incidents,
            households=households,
            workers=workers,
        )
        return component_payload(fmap, overlays)

    build_s, payload = timed(build, repeat=5)
    sizes = {key: len(value.encode()) for key, value in payload.items()}
    return {
        "view": name,
        "area": selection.area_code,
        "reads_s": round(reads_s, 3),
        "build_s": round(build_s, 3),
        "html_bytes": sum(sizes.values()),
        "base_map_bytes": sizes["script"],
        "overlay_bytes": sizes["feature_group"],
        "points": {
            "incidents": len(incidents),
            "households": 0 if households is None else len(households),
            "workers": 0 if workers is None else len(workers),
        },
        "open_in_area": figures.open,
        **draw_seconds(page_html(payload), f"map-{name}"),
    }


def measure_naive(store: Store, shapes: AreaShapes, by_grid: pd.DataFrame) -> dict:
    """One CircleMarker per household over the same base map: what the county view would ship
    if households were drawn as individual markers."""
    factory = store.session_factory
    county = shapes.county["code"].iloc[0]
    actor = Actor("bench", "基准测试", "county_operator", county, (county,))
    households = load_household_points(factory, actor=actor, area_code=county, at=NOW)
    values, legend = colour_grids(by_grid, "open")

    def build() -> dict[str, str]:
        fmap = build_base_map(shapes, grid_values=values, legend=legend, basemap=make_basemap("none"))
        group = folium.FeatureGroup(name="住户")
        for lon, lat, label in zip(households["lon"], households["lat"], households["label"], strict=True):
            folium.CircleMarker([lat, lon], radius=3, tooltip=label).add_to(group)
        return component_payload(fmap, [group])

    build_s, payload = timed(build)
    return {
        "view": "county_naive_households",
        "households": len(households),
        "build_s": round(build_s, 1),
        "html_bytes": sum(len(v.encode()) for v in payload.values()),
        **draw_seconds(page_html(payload), "map-county-naive", timeout_s=NAIVE_DRAW_TIMEOUT_S),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="", help="a database holding the county demo (made if empty)")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    install_assets(STATIC)
    url = args.database or f"sqlite:///{RESULTS / 'map-county.db'}"
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    if county_is_empty(store, "130532"):
        create_demo(store, scale="county", seed=7, now=NOW)
    actor = ACTOR
    shapes_s, shapes = timed(lambda: load_area_shapes(store.session_factory, actor=actor))
    grid_s, by_grid = timed(
        lambda: compute_grid_figures(
            store.session_factory,
            actor=actor,
            area_code="130532",
            at=NOW,
            days=7,
            special_tags=ACTOR.clearance.highlighted_tags(),
        )
    )
    results = [
        {
            "step": "cached_reads",
            "area_shapes_s": round(shapes_s, 2),
            "grid_figures_s": round(grid_s, 2),
            "grids": len(shapes.grids),
        }
    ]
    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    busiest = by_grid["households"].idxmax()
    for name, selection in (("county", Selection("130532")), ("grid", Selection(busiest))):
        results.append(measure_view(name, selection, store, shapes, by_grid))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    if not args.skip_naive:
        naive = measure_naive(store, shapes, by_grid)
        county = results[1]
        naive["ratio_html_bytes"] = round(naive["html_bytes"] / county["html_bytes"], 1)
        naive["ratio_build_s"] = round(naive["build_s"] / county["build_s"], 1)
        if naive.get("drawn_s") and county.get("drawn_s"):
            naive["ratio_drawn_s"] = round(naive["drawn_s"] / county["drawn_s"], 1)
        results.append(naive)
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    (RESULTS / "map-county.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    store.engine.dispose()


if __name__ == "__main__":
    main()
