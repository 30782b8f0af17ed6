"""Benchmark of the big screen (issue 7): one refresh cycle at the county scale — the server time
to read the figures and build what streamlit-folium sends, and the bytes sent per cycle — and a
soak run: the page in headless Chromium for at least 200 refresh cycles with the simulator
running, sampling the server's RSS and the page's JS heap.
`python -m bench.screen [--database URL] [--cycles 200]`; results in bench/results/screen.json."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.foundation import NOW, RESULTS, timed
from bench.map_page import component_payload
from devtools.app_server import ROOT, running_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.sign_in import sign_in
from render.map_layers import build_base_map, build_live_overlays
from services.access.actor import Actor
from services.basemaps import make_basemap
from services.cli.bootstrap import county_is_empty, create_demo, open_store
from services.figures.area_figures import compute_grid_figures
from services.mapping.map_data import colour_grids, load_area_shapes
from services.screen.wall_figures import load_screen
from services.settings import Settings

ACTOR = Actor("bench", "基准测试", "county_operator", "130532", ("130532",))


def measure_cycle(url: str) -> dict:
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    if county_is_empty(store, "130532"):
        create_demo(store, scale="county", seed=7, now=NOW)
    factory = store.session_factory
    shapes = load_area_shapes(factory, actor=ACTOR)
    grid_s, by_grid = timed(
        lambda: compute_grid_figures(factory, actor=ACTOR, area_code="130532", at=NOW, days=7, special_tags=())
    )

    def cycle() -> dict[str, str]:
        figures = load_screen(factory, actor=ACTOR, at=NOW, fresh=dt.timedelta(seconds=30))
        values, _ = colour_grids(by_grid, "open")
        base = build_base_map(shapes, grid_values={}, legend=None, basemap=make_basemap("none"), dark=True)
        points = figures.open_points
        live = points.assign(fresh=points["incident_id"].isin(figures.newest_ids))
        return component_payload(base, build_live_overlays(values, live))

    cycle_s, payload = timed(cycle, repeat=7)
    store.engine.dispose()
    return {
        "step": "cycle",
        "cycle_server_s": round(cycle_s, 3),
        "grid_figures_s_once_a_minute": round(grid_s, 2),
        "bytes_per_cycle": sum(len(v.encode()) for v in payload.values()),
        "of_which_live_overlay_bytes": len(payload["feature_group"].encode()),
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def soak(cycles: int) -> dict:
    """The page refreshing every second with the simulator running, on a copy of the small demo."""
    folder = RESULTS / "soak"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    url = f"sqlite:///{folder / 'soak.db'}"
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    create_demo(store, scale="small", seed=7, now=dt.datetime.now(dt.UTC))
    store.engine.dispose()
    env = {"DATABASE_URL": url, "SCREEN_REFRESH_S": "1", "DATA_DIR": str(folder)}
    samples: list[dict[str, object]] = []
    errors: list[str] = []
    with running_app(env) as (app_url, server):
        simulator = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "simulate", "--interval", "2", "--reports-per-hour", "600"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[*CHROMIUM_ARGS, "--enable-precise-memory-info", "--js-flags=--expose-gc"],
                )
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.on("pageerror", lambda error: errors.append(str(error)))
                sign_in(page, f"{app_url}?view=screen")
                page.get_by_text("平乡县网格化综合指挥中心").wait_for(timeout=60_000)
                started = time.monotonic()
                for cycle in range(cycles + 1):
                    time.sleep(1.0)
                    if cycle % 20 == 0:
                        page.evaluate("window.gc && window.gc()")
                        samples.append(
                            {
                                "cycle": cycle,
                                "seconds": round(time.monotonic() - started),
                                "server_rss_mb": _rss_mb(server.pid),
                                "js_heap_mb": round(page.evaluate("performance.memory.usedJSHeapSize") / 2**20, 1),
                                "dom_nodes": page.evaluate("document.getElementsByTagName('*').length"),
                            }
                        )
                        print(json.dumps(samples[-1]), flush=True)
                browser.close()
        finally:
            simulator.terminate()
            simulator.wait(timeout=20)
    first, last = samples[1] if len(samples) > 1 else samples[0], samples[-1]
    return {
        "step": "soak",
        "cycles": cycles,
        "page_errors": errors[:5],
        "server_rss_mb_first_last": [first["server_rss_mb"], last["server_rss_mb"]],
        "js_heap_mb_first_last": [first["js_heap_mb"], last["js_heap_mb"]],
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="", help="a database holding the county demo (made if empty)")
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results = [measure_cycle(args.database or f"sqlite:///{RESULTS / 'map-county.db'}")]
    print(json.dumps(results[-1]), flush=True)
    if args.cycles > 0:
        results.append(soak(args.cycles))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "samples"}, ensure_ascii=False), flush=True)
    (RESULTS / "screen.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
