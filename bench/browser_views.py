"""Browser bench of issue 18, the way a user's browser sees the app: headless Chromium signs in on
the county demo and the bench times the 登录 click until Leaflet has drawn every grid of the
county, cold (a just-started server, an empty browser cache) and warm (the next sign-in), then a
drill-down click until the township's outline is drawn.  Times are the browser's own (PROBE_JS:
from the click's event time to the first animation frame that has it, i.e. the next paint);
Playwright's round trips, which session 8's figures included, are reported beside them.  It also
counts the bytes the app sends, on the wire (a counting proxy between Chromium and the app: after
websocket compression), for the first view, per map rerun and per wall-screen refresh.  Warm
sign-ins are the median of WARM_SIGN_INS.

Each figure is measured for this checkout and for BEFORE_REV (run from a git worktree), one after
the other on the same database, on SQLite and on PostGIS.  `python -m bench.browser_views`;
results in bench/results/browser-views.json."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench.foundation import run_from_command_line
from devtools.app_server import ROOT, running_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.counting_proxy import CountingProxy, counting_proxy
from devtools.map_probe import GRIDS_DRAWN_IN_PAGE_JS, MAP_FRAME, click_grid
from services.cli.bootstrap import Store
from services.cli.demo.people import DEMO_PASSWORD
from services.cli.simulator import Simulator
from services.store.models import Area

COUNTY = "130532"
# The code before the grids went onto a canvas (session 10).  Session 8 compared with 99a0978 (the
# outlines still in the map's script): that code cannot open a database migrated since (0017, 0018).
BEFORE_REV = "22dc037"
SCREEN_REFRESH_S = 5
WARM_SIGN_INS = 3  # single timings on this machine wander by ±0.5 s: the median of three
SCREEN_REFRESHES = 4
IN_MAP = "document.querySelector('" + MAP_FRAME + "')?.contentDocument"
TIMEOUT_MS = 120_000
# In the page: a trusted click, on the page or in the map's iframe, starts a new measurement (its
# event time, in the page's clock); a requestAnimationFrame loop notes the first frame with all
# {grids} grids on the map (drawn on a canvas now, as SVG paths before) and the first with a
# selected area's outline.  The iframe's document is replaced as the component starts, so the
# loop listens to each new one.
PROBE_JS = """
(() => {
  if (window !== window.top) { return; }
  const start = (at) => { window.__probe = {clickAt: at, grids: null, selected: null}; };
  start(null);
  document.addEventListener('click', (e) => { if (e.isTrusted) { start(e.timeStamp); } }, true);
  let heard = null;
  const frame = (now) => {
    const probe = window.__probe, iframe = document.querySelector('MAP_FRAME'), map = iframe?.contentDocument;
    if (map && map !== heard) {
      heard = map;
      const offset = iframe.contentWindow.performance.timeOrigin - performance.timeOrigin;
      map.addEventListener('click', (e) => { if (e.isTrusted) { start(e.timeStamp + offset); } }, true);
    }
    if (probe.clickAt !== null && map) {
      const grids = Math.max(map.querySelectorAll('path.area-grid').length, GRIDS_DRAWN);
      if (probe.grids === null && grids >= {grids}) { probe.grids = now; }
      if (probe.selected === null && map.querySelector('path.area-selected')) { probe.selected = now; }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();
""".replace("MAP_FRAME", MAP_FRAME.replace("'", "\\'")).replace("GRIDS_DRAWN", GRIDS_DRAWN_IN_PAGE_JS)


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A worktree of `rev` beside this checkout, sharing its virtualenv."""
    path = Path("/tmp") / f"minqing-bench-{rev}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT, check=True)
        (path / ".venv").symlink_to(ROOT / ".venv")
    # It opens the database this checkout has upgraded, so it gets the later migrations too.  That
    # holds while they only add what the older code does not read (0021: the areas' version
    # triggers); one that changes a table it reads makes the comparison wrong: compare with an
    # older BEFORE_REV then, on a database of its own.
    versions = Path("services/store/migrations/versions")
    for migration in (ROOT / versions).glob("*.py"):
        if not (path / versions / migration.name).exists():
            shutil.copy(migration, path / versions / migration.name)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


def app_idle(page: Page) -> None:
    """Streamlit runs no script: its status widget ("Running…") is gone, and stays gone a moment
    (the rest of a rerun's messages arrive after the map has drawn)."""
    for _ in range(2):
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS, polling=50
        )
        time.sleep(0.5)


def grids_drawn(page: Page, grids: int) -> None:
    page.wait_for_function(
        f"() => Math.max({IN_MAP}?.querySelectorAll('path.area-grid').length || 0, {GRIDS_DRAWN_IN_PAGE_JS}) >= {grids}",
        timeout=TIMEOUT_MS,
        polling="raf",
    )


def seconds_since_click(page: Page, mark: str) -> float:
    """From the last click to the first frame that showed `mark` (PROBE_JS), by the browser's clock."""
    page.wait_for_function(f"() => window.__probe.{mark} !== null", timeout=TIMEOUT_MS, polling=100)
    return round(page.evaluate(f"() => (window.__probe.{mark} - window.__probe.clickAt) / 1000"), 2)


def sign_in_and_draw(page: Page, url: str, proxy: CountingProxy, grids: int) -> dict:
    """From the 登录 click until all `grids` are drawn: seconds and bytes (websocket, HTTP)."""
    page.context.clear_cookies()
    page.goto(url)
    page.get_by_label("用户名").fill("operator")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    before = proxy.snapshot()
    start = time.perf_counter()
    page.get_by_role("button", name="登录", exact=True).click()
    grids_drawn(page, grids)
    seconds = time.perf_counter() - start
    app_idle(page)
    after = proxy.snapshot()
    return {
        "drawn_s": seconds_since_click(page, "grids"),
        "drawn_s_playwright": round(seconds, 2),
        "ws_kb": kb(after.websocket - before.websocket),
        "http_kb": kb(after.http - before.http),
    }


def drill_down(page: Page, proxy: CountingProxy, grid_code: str) -> dict:
    """A click on a grid of the county view: the map moves to its township; seconds until the
    township's outline is drawn, and the rerun's websocket bytes."""
    before = proxy.snapshot()
    start = time.perf_counter()
    click_grid(page, grid_code)
    page.wait_for_function(
        f"() => ({IN_MAP}?.querySelectorAll('path.area-selected').length || 0) > 0", timeout=TIMEOUT_MS, polling="raf"
    )
    seconds = time.perf_counter() - start
    app_idle(page)
    after = proxy.snapshot()
    return {
        "drawn_s": seconds_since_click(page, "selected"),
        "drawn_s_playwright": round(seconds, 2),
        "ws_kb": kb(after.websocket - before.websocket),
    }


def screen_refreshes(page: Page, url: str, proxy: CountingProxy, grids: int, store: Store) -> dict:
    """Websocket bytes per refresh of the wall screen over SCREEN_REFRESHES refreshes, while the
    simulator reports a case or so each refresh and moves cases on (a still county sends an
    unchanged screen, which Streamlit does not send again)."""
    page.goto(url + "?view=screen")
    grids_drawn(page, grids)
    simulator = Simulator(
        store.session_factory,
        county_code=COUNTY,
        photo_dir=Path(tempfile.mkdtemp()),
        reports_per_hour=3600 / SCREEN_REFRESH_S,
    )
    stop = threading.Event()

    def simulate() -> None:
        while not stop.wait(SCREEN_REFRESH_S):
            simulator.tick(dt.datetime.now(dt.UTC), SCREEN_REFRESH_S)

    writer = threading.Thread(target=simulate)
    writer.start()
    try:
        time.sleep(SCREEN_REFRESH_S * 1.5)
        before = proxy.snapshot()
        time.sleep(SCREEN_REFRESH_S * SCREEN_REFRESHES)
        after = proxy.snapshot()
    finally:
        stop.set()
        writer.join()
    return {"ws_kb_per_refresh": kb((after.websocket - before.websocket) / SCREEN_REFRESHES)}


def kb(size: float) -> float:
    return round(size / 1024, 1)


def measure_code(root: Path, store: Store) -> dict:
    url = store.engine.url.render_as_string(hide_password=False)
    with store.session_factory() as session:
        grids = sorted(session.query(Area.code).filter(Area.level == "grid").all())
    grid_code = grids[len(grids) // 2][0]
    environment = {"DATABASE_URL": url, "SCREEN_REFRESH_S": str(SCREEN_REFRESH_S)}
    with running_app(environment, root=root, wait_s=120) as (app_url, _):
        port = int(app_url.rstrip("/").rsplit(":", 1)[1])
        with counting_proxy(port) as proxy, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            context.add_init_script(PROBE_JS.replace("{grids}", str(len(grids))))
            page = context.new_page()
            proxied = f"http://127.0.0.1:{proxy.port}/"
            result = {"cold": sign_in_and_draw(page, proxied, proxy, len(grids))}
            result["drill_down"] = drill_down(page, proxy, grid_code)
            warm = []
            for _ in range(WARM_SIGN_INS):  # the next sign-ins: the browser's cache and the server's are warm
                page.close()
                page = context.new_page()
                warm.append(sign_in_and_draw(page, proxied, proxy, len(grids)))
            each = [w["drawn_s"] for w in warm]
            result["warm"] = {**warm[-1], "drawn_s": statistics.median(each), "drawn_s_each": each}
            result["drill_down_warm"] = drill_down(page, proxy, grid_code)
            result["screen"] = screen_refreshes(page, proxied, proxy, len(grids), store)
            browser.close()
    return result


def measure_store(engine_name: str, store: Store) -> dict:
    now = measure_code(ROOT, store)  # first: the database's pages are not yet in the OS cache
    with checkout(BEFORE_REV) as before_root:
        before = measure_code(before_root, store)
    ratios = {
        "cold_drawn": ratio(before["cold"]["drawn_s"], now["cold"]["drawn_s"]),
        "warm_drawn": ratio(before["warm"]["drawn_s"], now["warm"]["drawn_s"]),
        "drill_down_drawn": ratio(before["drill_down_warm"]["drawn_s"], now["drill_down_warm"]["drawn_s"]),
        "rerun_ws_bytes": ratio(before["drill_down_warm"]["ws_kb"], now["drill_down_warm"]["ws_kb"]),
        "screen_ws_bytes": ratio(before["screen"]["ws_kb_per_refresh"], now["screen"]["ws_kb_per_refresh"]),
    }
    return {"engine": engine_name, "before": before, "now": now, "before_over_now": ratios}


def ratio(before: float, now: float) -> float | None:
    return round(before / now, 1) if now else None


def main() -> None:
    run_from_command_line("browser-views", measure_store)


if __name__ == "__main__":
    main()
