"""End to end with hostile text in every field (tests/hostile.py): the app as `make run` serves it
(serve.py, with its Content-Security-Policy), signed in, through the map at county and township
level with hovers, a household card, a case panel, the queue, 巡查考核, the audit log and the
wall screen.  No script from the data may run (it would set `top.XSS` or open a dialog), the
text must show as written, and the policy must refuse nothing Streamlit itself needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Frame, FrameLocator, Page, sync_playwright
from sqlalchemy import func, select

from devtools.app_server import running_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.map_probe import hover_grid, wait_for_grids
from devtools.sign_in import sign_in
from services.cli.bootstrap import open_store
from services.domain import LOCAL_TZ
from services.patrol.assessment_rules import current_month
from services.settings import Settings
from services.store.models import Incident
from tests.hostile import PAYLOADS, TEMPLATE_MARKS, TEMPLATE_PAYLOADS, make_hostile
from tests.paths import ARTIFACTS

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
PAYLOAD_STARTS = tuple({payload[0] for payload in PAYLOADS + TEMPLATE_PAYLOADS})  # how a hostile name begins


@pytest.fixture(scope="module")
def hostile_county(copy_small_demo, tmp_path_factory) -> dict:
    """The small demo county with a payload in every text, and the rows the test opens."""
    url = copy_small_demo(tmp_path_factory.mktemp("hostile") / "hostile.db")
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    make_hostile(store.session_factory)
    with store.engine.connect() as connection:
        sql = connection.exec_driver_sql
        township = sql("SELECT code, name FROM areas WHERE level = 'township' ORDER BY code LIMIT 1").one()
        household = sql(
            "SELECT household_id, grid_code, head_name, address FROM households "
            f"WHERE grid_code LIKE '{township.code}%' ORDER BY household_id LIMIT 1"
        ).one()
        case = sql(
            "SELECT i.incident_id, i.grid_code, i.description FROM incidents i "
            "WHERE i.state = 'in_progress' AND EXISTS (SELECT 1 FROM incident_events e "
            "WHERE e.incident_id = i.incident_id AND e.note IS NOT NULL) ORDER BY i.incident_id LIMIT 1"
        ).one()
        county = sql("SELECT name FROM areas WHERE level = 'county'").scalar()
        grids = {f"{name} {code}" for code, name in sql("SELECT code, name FROM areas WHERE level = 'grid'")}
        # The screen ranks workers by this month's patrol reports: early on the 1st there may be none.
        month_start = dt.datetime.combine(current_month(dt.datetime.now(dt.UTC)), dt.time(), LOCAL_TZ)
        patrol_reports = connection.scalar(
            select(func.count()).where(
                Incident.channel == "patrol", Incident.reported_at >= month_start, Incident.rejected_at.is_(None)
            )
        )
    store.engine.dispose()
    return {
        "url": url,
        "county_name": county,
        "township": township.code,
        "township_name": township.name,
        "household": household.household_id,
        "household_grid": household.grid_code,
        "head_name": household.head_name,
        "address": household.address,
        "incident": case.incident_id,
        "incident_grid": case.grid_code,
        "description": case.description,
        "grid_tips": grids,
        "patrol_reports_this_month": patrol_reports,
    }


@pytest.fixture(scope="module")
def app_url(hostile_county) -> Iterator[str]:
    with running_app({"DATABASE_URL": hostile_county["url"], "SCREEN_REFRESH_S": "3"}) as (url, _):
        yield url


class Watch:
    """What a page did that it must not: dialogs, refused resources (CSP), the payloads' marker."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.refused: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("console", lambda m: self.refused.append(m.text) if "Content Security Policy" in m.text else None)

    def assert_nothing_ran(self) -> None:
        frames: list[Frame] = self.page.frames
        assert [f.evaluate("typeof window.XSS") for f in frames] == ["undefined"] * len(frames)
        assert self.dialogs == [] and self.refused == []
        for frame in frames:  # nothing the payloads would have made: images, SVGs, frames from the data
            assert frame.locator("img[src='x'], img[src='y'], svg[onload], b[onmouseover]").count() == 0
        for frame in frames:  # nor what a template payload would have made, run on the server
            assert not [mark for mark in TEMPLATE_MARKS if mark in frame.content()]
        titles = self.page.locator("iframe").evaluate_all("(fs) => fs.map((f) => f.title)")
        assert set(titles) <= {"streamlit_folium.st_folium"}


def settled_map(page: Page) -> FrameLocator:
    frame = page.frame_locator(MAP_FRAME).first
    wait_for_grids(page)
    page.wait_for_timeout(1500)  # names placed and decluttered
    return frame


def tooltip_after_hover(page: Page, frame: FrameLocator, selector: str) -> str:
    frame.locator(selector).first.hover(force=True)
    return last_tooltip(frame)


def last_tooltip(frame: FrameLocator) -> str:
    tip = frame.locator(".leaflet-tooltip").last
    tip.wait_for(timeout=10_000)
    return tip.inner_text()


@pytest.mark.browser
def test_hostile_text_shows_as_written_and_runs_nowhere(app_url: str, hostile_county: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    data = hostile_county
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        watch = Watch(page)
        sign_in(page, app_url)

        frame = settled_map(page)  # the county
        labels = frame.locator(".area-label span").all_inner_texts()
        assert data["township_name"] in labels  # a township name, as written
        hover_grid(page)
        tip = last_tooltip(frame)
        assert tip.splitlines()[0] in data["grid_tips"]  # the grid's hostile name and code, literally
        page.get_by_text(data["county_name"], exact=True).first.wait_for()  # breadcrumb
        page.screenshot(path=str(ARTIFACTS / "hostile_county.png"))
        watch.assert_nothing_ran()

        sign_in(page, f"{app_url}?area={data['township']}")  # a township: village names, all open cases
        frame = settled_map(page)
        page.get_by_role("heading", name=f"乡镇(街道) · {data['township_name']}").wait_for(timeout=30_000)
        villages = frame.locator(".area-label.child span")
        texts = villages.evaluate_all("(spans) => spans.map((s) => s.textContent)")
        assert len(texts) > 5 and all(text.startswith(PAYLOAD_STARTS) for text in texts)
        shown = frame.locator(".area-label span").evaluate_all(
            "(spans) => spans.filter((s) => s.style.visibility !== 'hidden').map((s) => {"
            " const r = s.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"
        )
        overlapping = [
            (a, b)
            for i, a in enumerate(shown)
            for b in shown[i + 1 :]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
        ]
        assert len(shown) > 3 and overlapping == []  # names that would collide give way
        tip = tooltip_after_hover(page, frame, "path.incident")
        assert "·" in tip
        page.screenshot(path=str(ARTIFACTS / "hostile_township.png"))
        watch.assert_nothing_ran()

        sign_in(page, f"{app_url}?area={data['household_grid']}&household={data['household']}")
        page.get_by_role("heading", name=f"住户 {data['household']}").wait_for(timeout=60_000)
        page.get_by_text(data["address"]).wait_for()
        page.get_by_role("button", name="显示完整信息").click()
        page.get_by_text(f"户主 {data['head_name']}").wait_for(timeout=30_000)  # unmasked, as written
        frame = settled_map(page)
        tooltip_after_hover(page, frame, "path.household")
        watch.assert_nothing_ran()

        sign_in(page, f"{app_url}?area={data['incident_grid']}&incident={data['incident']}")
        page.get_by_role("heading", name=f"事件 {data['incident']}").wait_for(timeout=60_000)
        page.get_by_text(data["description"], exact=True).wait_for()
        page.locator('[data-testid="stMarkdownContainer"] li').first.wait_for()  # the timeline, notes included
        settled_map(page)
        page.screenshot(path=str(ARTIFACTS / "hostile_case.png"))
        watch.assert_nothing_ran()

        for link, text in (("案件队列", "共 "), ("巡查考核", "未达标")):
            page.get_by_role("link", name=link).click()
            page.get_by_text(text).first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            watch.assert_nothing_ran()

        sign_in(page, f"{app_url}?view=screen")
        page.get_by_text(f"{data['county_name']}网格化综合指挥中心").wait_for(timeout=60_000)
        settled_map(page)
        page.get_by_text("乡镇办结率排名").wait_for()
        ranked = {"乡镇办结率排名": True, "本月有效上报": data["patrol_reports_this_month"] > 0}
        for panel, filled in ranked.items():  # townships and workers ranked, by hostile names
            cells = page.locator(f".panel:has(h4:has-text('{panel}')) td").all_inner_texts()
            assert any(cell.startswith(PAYLOAD_STARTS) for cell in cells) if filled else cells == ["—"], cells
        page.wait_for_timeout(4000)  # a refresh of the live part
        page.screenshot(path=str(ARTIFACTS / "hostile_screen.png"))
        watch.assert_nothing_ran()

        sign_in(page, app_url, user="admin")  # the audit log is for county admins
        page.get_by_role("link", name="审计日志").click()
        page.get_by_text("条目").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        watch.assert_nothing_ran()
        browser.close()
