"""End to end: `streamlit run app.py` on 127.0.0.1, opened in headless Debian Chromium with no
internet; the county's grids must be drawn.  Saves a screenshot to tests/artifacts/."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from services.bootstrap import create_demo, open_store
from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    create_demo(store, scale="small", seed=7, now=dt.datetime.now(dt.UTC))
    store.engine.dispose()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.browser
def test_the_county_map_draws_its_grids_offline(app_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto(app_url)
        map_frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        grids = map_frame.locator("path.area-grid")
        grids.first.wait_for(state="attached", timeout=60_000)
        assert grids.count() == 40
        assert map_frame.locator("path.area-township").count() == 1
        page.get_by_text("住户").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "county_map.png"), full_page=True)
        browser.close()
    assert [url for url in failed if not url.startswith(app_url)] == []
