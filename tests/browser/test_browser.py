"""End to end: `streamlit run app.py` on 127.0.0.1, opened in headless Debian Chromium with no
internet; the county's grids must be drawn.  Saves a screenshot to tests/artifacts/."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from playwright.sync_api import sync_playwright

from devtools.app_server import running_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.map_probe import click_grid, find_grid_point, grid_codes, grid_point, map_in, wait_for_grids
from devtools.sign_in import sign_in
from render.map_layers import SHAPES_FAILED
from services.cases.queue import load_queue
from services.cases.workflow import report_incident
from services.cli.bootstrap import Store, open_store
from services.exchange.imports.service import import_file
from services.mapping.areas import load_areas
from services.settings import Settings
from tests.factories import ADMIN, OPERATOR
from tests.paths import ARTIFACTS


@pytest.fixture(scope="module")
def e2e_database(copy_small_demo, tmp_path_factory) -> tuple[str, tuple[float, float], tuple[str, str]]:
    """The small demo county in a SQLite file, a point inside one of its grids, and that grid's
    code and name."""
    folder = tmp_path_factory.mktemp("e2e")
    url = copy_small_demo(folder / "e2e.db")
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    grids = load_areas(store.session_factory, actor=OPERATOR, levels=("grid",))
    add_neighbour_township(store, grids.total_bounds, folder)
    store.engine.dispose()
    inside = grids.geometry.iloc[0].representative_point()
    return url, (round(inside.x, 6), round(inside.y, 6)), (grids["code"].iloc[5], grids["name"].iloc[5])


NEIGHBOUR_GRID = "130532102201001"


def add_neighbour_township(store: Store, bounds, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """河古庙镇 next to the small demo's one township (one grid, one household), imported as a
    county admin would, so that a township leader has somewhere they may not go."""
    minx, miny, maxx, _ = bounds
    grid = shapely.box(maxx + 0.002, miny, maxx + 0.012, miny + 0.01)
    gpd.GeoDataFrame(
        {
            "grid_code": [NEIGHBOUR_GRID],
            "grid_name": ["河古庙村第1网格"],
            "village_code": [NEIGHBOUR_GRID[:12]],
            "village_name": ["河古庙村"],
            "township_code": [NEIGHBOUR_GRID[:9]],
            "township_name": ["河古庙镇"],
        },
        geometry=[grid],
        crs="EPSG:4326",
    ).to_file(folder / "grids.geojson")
    (folder / "households.csv").write_text(household_rows(grid.centroid.x, grid.centroid.y, "HN0001"), encoding="utf-8")
    now = dt.datetime.now(dt.UTC)
    for kind, name in (("grids", "grids.geojson"), ("households", "households.csv")):
        import_file(
            store.session_factory, kind=kind, path=folder / name, filename=name, crs="wgs84", actor=ADMIN, now=now
        )


@pytest.fixture(scope="module")
def app_url(e2e_database) -> Iterator[str]:
    with running_app({"DATABASE_URL": e2e_database[0], "SCREEN_REFRESH_S": "2"}) as (url, _):
        yield url


@pytest.mark.browser
def test_the_sign_in_page_shows_the_form_alone(app_url: str) -> None:
    """The table and figure it preloads are on the page, so that their code is loaded, but unseen."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(app_url)
        page.get_by_label("密码").wait_for()
        preloaded = [page.get_by_test_id(test_id) for test_id in ("stDataFrame", "stMetric")]
        for element in preloaded:
            element.wait_for(state="attached")
        assert [element.count() for element in preloaded] == [1, 1]
        assert not any(element.is_visible() for element in preloaded)
        page.screenshot(path=str(ARTIFACTS / "sign_in.png"), full_page=True)
        browser.close()


@pytest.mark.browser
def test_the_county_map_draws_its_grids_offline(app_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        sign_in(page, app_url)
        map_frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        wait_for_grids(page, 41)
        assert len(grid_codes(page)) == 41
        assert map_frame.locator("path.area-township").count() == 2
        page.get_by_text("住户").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "county_map.png"), full_page=True)
        browser.close()
    assert [url for url in failed if not url.startswith(app_url)] == []


@pytest.mark.browser
def test_a_map_whose_outlines_cannot_be_fetched_says_so(app_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.route("**/map/areas/**", lambda route: route.fulfill(status=403, body="链接无效。"))
        sign_in(page, app_url)
        notice = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').locator(".shapes-failed")
        notice.wait_for(timeout=60_000)
        assert notice.inner_text() == SHAPES_FAILED
        browser.close()


@pytest.mark.browser
def test_clicking_a_grid_drills_down_to_its_panel_and_the_breadcrumb_returns_to_the_county(
    app_url: str, e2e_database
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    grid_code, grid_name = e2e_database[2]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        sign_in(page, app_url)
        map_frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        wait_for_grids(page, 41)
        # Each click on the same grid goes one level down: township, village, grid.
        for expected in (grid_code[:9], grid_code[:12], grid_code):
            page.wait_for_timeout(500)  # the map has moved to the area clicked
            click_grid(page, grid_code)  # on the polygon itself, not on a marker above it
            page.wait_for_function(f"() => location.search.includes('area={expected}')", timeout=30_000)
            page.get_by_role("heading", name=re.compile(r"^(乡镇\(街道\)|村\(社区\)|网格) · ")).first.wait_for()
        heading = page.get_by_role("heading", name=f"网格 · {grid_name}")
        heading.wait_for(timeout=30_000)
        page.get_by_role("tab", name=re.compile("^住户")).wait_for()
        map_frame.locator("path.household").first.wait_for(state="attached", timeout=30_000)
        # The fetched outlines lie in a pane under the overlays: the selection's outline stays on top.
        assert map_frame.locator(".leaflet-overlay-pane path.area-selected").count() == 1
        assert map_frame.locator(".leaflet-areas-pane canvas").count() == 1  # the grids, all 41 of them
        assert len(grid_codes(page)) == 41
        page.wait_for_timeout(1500)  # let tables and the map settle before the screenshot
        page.screenshot(path=str(ARTIFACTS / "grid_view.png"))
        page.get_by_role("button", name="平乡县").click()
        page.wait_for_function(
            "() => location.search.includes('area=130532') && !location.search.includes('area=1305321')"
        )
        page.get_by_role("heading", name="县 · 平乡县").wait_for(timeout=30_000)
        assert map_frame.locator("path.household").count() == 0  # the county view ships no households
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "county_view.png"))
        browser.close()


# Records in the top page each value the map's component sends, with the JS stack that sent it.
RECORD_SENT_VALUES_JS = """() => {
  const s = window.Streamlit, send = s.setComponentValue;
  window.top.__sent = [];
  s.setComponentValue = function (value) {
    window.top.__sent.push({count: value.last_object_clicked_count, stack: new Error().stack});
    return send.apply(this, arguments);
  };
}"""


@pytest.mark.browser
def test_a_grid_click_is_sent_at_once_and_once(app_url: str, e2e_database) -> None:
    """Not 250 ms later by streamlit-folium's debounce, and not a second time by it; a double
    click is one move."""
    grid_code = e2e_database[2][0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        sign_in(page, app_url)
        wait_for_grids(page, 41)
        page.wait_for_timeout(500)  # the component's own first report
        map_in(page).locator(".leaflet-container").evaluate(RECORD_SENT_VALUES_JS)
        click_grid(page, grid_code)
        page.wait_for_function(f"() => location.search.includes('area={grid_code[:9]}')", timeout=30_000)
        page.wait_for_timeout(1000)  # long past the debounce
        sent = page.evaluate("() => window.__sent")
        assert len(sent) == 1 and "sendClickAtOnce" in sent[0]["stack"]
        page.wait_for_timeout(500)  # the map has moved to the township
        x, y = grid_point(page, grid_code)
        page.mouse.dblclick(x, y)
        page.wait_for_function(f"() => location.search.includes('area={grid_code[:12]}')", timeout=30_000)
        page.wait_for_timeout(1000)
        assert len(page.evaluate("() => window.__sent")) == 2
        assert "area=" + grid_code not in page.url  # one level down, not two
        # The grid, then one of a neighbouring village, clicked in quick succession: the second is
        # meant (it moves to that village, or to that grid if the first had landed), not a double click.
        page.wait_for_timeout(500)  # the map has moved to the village
        first_at = grid_point(page, grid_code)
        other, second_at = next(
            (code, point)
            for code in grid_codes(page)
            if code[:12] != grid_code[:12] and (point := find_grid_point(page, code)) is not None
        )
        page.mouse.click(*first_at)
        page.wait_for_timeout(100)
        page.mouse.click(*second_at)
        page.wait_for_function(f"() => location.search.includes('area={other[:12]}')", timeout=30_000)
        page.wait_for_timeout(1000)
        assert len(page.evaluate("() => window.__sent")) == 4
        browser.close()


@pytest.mark.browser
def test_a_supervisor_clicks_a_case_on_the_map_and_dispatches_it_to_the_first_suggestion(app_url, e2e_database) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    store = open_store(Settings.from_env({"DATABASE_URL": e2e_database[0]}))
    queue = load_queue(store.session_factory, actor=OPERATOR, area_code="130532", at=dt.datetime.now(dt.UTC))
    store.engine.dispose()
    case = queue[queue["state"] == "待核实"].iloc[-1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        sign_in(page, f"{app_url}?area={case['grid_code']}")
        marker = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').locator(
            f"path.incident-{case['incident_id']}"
        )
        marker.wait_for(state="attached", timeout=60_000)
        marker.dispatch_event("click")
        page.get_by_role("heading", name=f"事件 {case['incident_id']}").wait_for(timeout=30_000)
        page.get_by_role("button", name="立案（有效）").click()
        page.get_by_text("操作成功，当前状态：待派遣").wait_for(timeout=30_000)
        first = page.get_by_role("button", name=re.compile("^派给 ")).first
        worker = first.inner_text().removeprefix("派给 ").split("（")[0]
        first.click()
        page.get_by_text("操作成功，当前状态：已派遣").wait_for(timeout=30_000)
        timeline = page.locator('[data-testid="stMarkdownContainer"] li')
        timeline.filter(has_text=f"派给 {worker}").wait_for(timeout=30_000)
        assert timeline.filter(has_text="派遣（待派遣 → 已派遣）").count() == 1
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "dispatched.png"))
        browser.close()


@pytest.mark.browser
def test_clicking_a_worker_draws_the_days_route_and_the_households_it_reached(app_url, e2e_database) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    store = open_store(Settings.from_env({"DATABASE_URL": e2e_database[0]}))
    with store.engine.connect() as connection:
        village = connection.exec_driver_sql(
            "SELECT substr(g.grid_code, 1, 12) FROM patrol_days d JOIN worker_grids g USING (county_code, worker_id) "
            "ORDER BY d.visited DESC LIMIT 1"
        ).scalar()
    store.engine.dispose()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        sign_in(page, f"{app_url}?area={village}")
        map_frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        workers = map_frame.locator("path.worker")
        workers.first.wait_for(state="attached", timeout=60_000)
        workers.first.dispatch_event("click")
        page.get_by_role("heading", name="巡查轨迹").wait_for(timeout=30_000)
        map_frame.locator("path.track").wait_for(state="attached", timeout=30_000)
        assert map_frame.locator("path.visited").count() > 0
        assert page.get_by_text("走访住户").count() == 1
        page.wait_for_timeout(4000)  # software rendering paints a route of hundreds of points slowly
        page.screenshot(path=str(ARTIFACTS / "patrol_day.png"))
        browser.close()


@pytest.mark.browser
def test_the_big_screen_shows_a_new_case_within_a_refresh_and_without_a_reload(app_url, e2e_database) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        sign_in(page, f"{app_url}?view=screen")
        page.get_by_text("平乡县网格化综合指挥中心").wait_for(timeout=60_000)
        map_frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        wait_for_grids(page)
        page.evaluate("window.__sameDocument = true")
        store = open_store(Settings.from_env({"DATABASE_URL": e2e_database[0]}))
        lon, lat = e2e_database[1]
        case = report_incident(
            store.session_factory,
            actor=OPERATOR,
            now=dt.datetime.now(dt.UTC),
            category="安全隐患",
            subcategory="燃气安全",
            severity="urgent",
            lon=lon,
            lat=lat,
            description="液化气泄漏",
            channel="hotline",
        ).incident_id
        store.engine.dispose()
        map_frame.locator(f"path.incident-{case}").wait_for(state="attached", timeout=20_000)
        page.get_by_text(case[-8:]).first.wait_for(timeout=20_000)  # in the alarm list, as an urgent case
        assert page.evaluate("window.__sameDocument") is True  # no reload
        page.wait_for_timeout(2500)
        page.screenshot(path=str(ARTIFACTS / "screen_1920x1080.png"))
        page.set_viewport_size({"width": 3840, "height": 2160})
        sign_in(page, f"{app_url}?view=screen&scale=2")
        page.get_by_text("平乡县网格化综合指挥中心").wait_for(timeout=60_000)
        wait_for_grids(page)
        page.wait_for_timeout(4000)
        page.screenshot(path=str(ARTIFACTS / "screen_3840x2160.png"))
        browser.close()


def household_rows(lon: float, lat: float, household_id: str = "HX0001") -> str:
    header = "household_id,head_name,address,members,phone,lon,lat,tags\n"
    return header + f"{household_id},王秀兰,平乡镇测试地址1号,2,13800000000,{lon},{lat},独居老人\n"


@pytest.mark.browser
def test_an_admin_sees_problems_before_importing_and_then_the_summary(
    app_url: str, e2e_database, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    bad = tmp_path / "bad_households.csv"
    bad.write_text(household_rows(116.5, 38.5), encoding="gbk")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        # Opened from the sidebar, as a user does: a deep link to a non-default page shows
        # Streamlit's spurious "Page not found" dialog in headless mode (streamlit#8860).
        sign_in(page, app_url)
        page.get_by_role("link", name="数据导入").click()
        page.get_by_text("数据类型").wait_for()
        page.locator('[data-testid="stSelectbox"]').first.click()
        page.get_by_role("option", name="住户").click()
        page.get_by_text("选择文件（csv / xlsx）").wait_for()  # the uploader of the chosen kind
        page.locator('input[type="file"][accept*=".csv"]').set_input_files(str(bad))
        page.get_by_text("未写入任何数据").wait_for(timeout=30_000)
        assert page.get_by_text("坐标不在任何网格内").count() >= 1
        page.wait_for_timeout(1000)  # let the problem table's canvas paint before the screenshot
        page.screenshot(path=str(ARTIFACTS / "import_problems.png"), full_page=True)

        good = tmp_path / "households.csv"
        lon, lat = e2e_database[1]
        good.write_text(household_rows(lon, lat), encoding="utf-8")
        page.locator('input[type="file"][accept*=".csv"]').set_input_files(str(good))
        page.get_by_text("检查通过").wait_for(timeout=30_000)
        page.get_by_role("button", name="确认导入").click()
        page.get_by_text("导入完成：households.csv，读取 1 条：新增 1，更新 0，未变化 0。").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "import_done.png"), full_page=True)
        browser.close()


@pytest.mark.browser
def test_a_township_leader_stays_in_their_township_and_sees_residents_masked(app_url, e2e_database) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    store = open_store(Settings.from_env({"DATABASE_URL": e2e_database[0]}))
    with store.engine.connect() as connection:
        township = connection.exec_driver_sql("SELECT area_code FROM user_areas WHERE username = 'leader'").scalar()
        own, other = (
            connection.exec_driver_sql(
                f"SELECT grid_code, household_id, phone FROM households WHERE grid_code {op} '{township}%' "
                "ORDER BY household_id LIMIT 1"
            ).one()
            for op in ("LIKE", "NOT LIKE")
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        # A hand-edited link to another township's grid opens the leader's own township instead.
        sign_in(page, f"{app_url}?area={other.grid_code}", user="leader")
        page.get_by_text(f"无权查看区域 {other.grid_code}，已回到您负责的区域。").wait_for(timeout=60_000)
        page.wait_for_function(f"() => location.search.includes('area={township}')", timeout=30_000)
        page.get_by_role("heading", name=re.compile(r"^乡镇\(街道\) · ")).wait_for(timeout=30_000)
        wait_for_grids(page, 40)  # the township's grids only
        assert NEIGHBOUR_GRID not in grid_codes(page)
        page.screenshot(path=str(ARTIFACTS / "leader_refused.png"))
        # Another township's household, named in the query string under the leader's own area: refused.
        sign_in(page, f"{app_url}?area={township}&household={other.household_id}", user="leader")
        page.get_by_text(f"住户 {other.household_id} 不存在或不在您的管辖范围内").wait_for(timeout=60_000)
        # A household of their own: phone masked until 显示完整信息, which goes on the audit log.
        sign_in(page, f"{app_url}?area={own.grid_code}&household={own.household_id}", user="leader")
        masked = f"{own.phone[:3]}****{own.phone[-4:]}"
        page.get_by_text(masked).wait_for(timeout=60_000)
        assert page.get_by_text(own.phone).count() == 0
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "leader_masked.png"))
        page.get_by_role("button", name="显示完整信息").click()
        page.get_by_text(own.phone).wait_for(timeout=30_000)
        page.get_by_text("本次查看已记入审计日志。").wait_for()
        browser.close()
    with store.engine.connect() as connection:
        logged = connection.exec_driver_sql(
            "SELECT action, target FROM audit_log WHERE username = 'leader' AND action IN ('refused', 'unmask')"
        ).all()
    store.engine.dispose()
    assert set(logged) == {
        ("refused", f"区域 {other.grid_code}"),
        ("refused", f"住户 {other.household_id}"),
        ("unmask", f"住户 {own.household_id}"),
    }
