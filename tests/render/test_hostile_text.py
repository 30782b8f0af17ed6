"""Text from the data never runs as code: the map's HTML, the wall screen's HTML blocks and the
exports, with hostile names in every text field (tests/hostile.py)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import re
from html.parser import HTMLParser

import folium
import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.display import AreaShapes
from pages.map.panels import panel_heading
from render import screen_html
from render.map_layers import (
    area_shapes_document,
    build_base_map,
    build_live_overlays,
    build_overlays,
    build_track_layer,
    legend_html,
)
from render.markup import JINJA_OPENER, html_column, html_text, markdown_text, script_json
from services.access.users import add_user
from services.basemaps import make_basemap, tile_origins
from services.cli.bootstrap import open_store
from services.exchange.downloads import neutralise_formulas, table_as_csv, table_as_xlsx
from services.figures.area_figures import compute_grid_figures
from services.mapping.choropleth import LegendEntry, MapLegend
from services.mapping.map_data import (
    colour_grids,
    load_area_shapes,
    load_household_points,
    load_open_incidents,
    load_worker_positions,
)
from services.mapping.selection import Selection
from services.screen.wall_figures import load_screen
from services.settings import Settings
from services.store.models import Department, HouseholdTag, PatrolFix, User, Worker, WorkerGrid
from tests.apptest import open_app
from tests.factories import (
    ADMIN,
    COUNTY,
    GRID_A,
    GRID_B,
    OPERATOR,
    TOWNSHIP,
    VILLAGE,
    T,
    household,
    incident,
    make_actor,
    seed_areas,
)
from tests.hostile import FORMULAS, PAYLOADS, TEMPLATE_MARKS, TEMPLATE_PAYLOADS, make_hostile
from tests.paths import ROOT
from web.headers import SecurityHeaders, content_security_policies, inline_script_hashes

H = dt.timedelta(hours=1)


class Markup(HTMLParser):
    """What a browser would build from an HTML string: elements, attributes and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(html: str, *, tags: set[str]) -> Markup:
    """`html` holds only the given elements, no event handler, no script source."""
    parsed = Markup(html)
    assert set(parsed.tags) <= tags, parsed.tags
    assert not [a for a in parsed.attributes if a.startswith("on") or a in ("srcdoc", "src", "href")]
    return parsed


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_payload_in_a_label_is_text_of_its_line(payload: str) -> None:
    html = str(html_text(f"{payload}\n第二行"))
    parsed = assert_inert(html, tags={"br"})
    assert "".join(parsed.text) == payload + "第二行"  # readable as written, the line kept
    assert html_column(pd.Series([payload])).iat[0] == str(html_text(payload))


def test_script_json_cannot_end_the_script_it_is_written_into() -> None:
    text = json.loads(script_json({"name": "</script><script>top.XSS=1</script><!--"}))["name"]
    assert text == "</script><script>top.XSS=1</script><!--"
    assert "<" not in script_json({"name": text}) and ">" not in script_json({"name": text})


@pytest.mark.parametrize("payload", TEMPLATE_PAYLOADS)
def test_template_syntax_leaves_markup_and_json_with_no_brace_that_opens_a_template(payload: str) -> None:
    html = str(html_text(payload))
    assert "{" not in html and "".join(Markup(html).text) == payload  # the browser still shows it as written
    text = script_json({"id": payload, "nested": {"tip": payload}, "list": [payload, {"a": 1}]})
    assert JINJA_OPENER.search(text) is None
    assert json.loads(text) == {"id": payload, "nested": {"tip": payload}, "list": [payload, {"a": 1}]}


def test_markdown_text_escapes_formatting_html_and_links() -> None:
    escaped = markdown_text("**粗** <b>x</b> [点](javascript:top.XSS=1) $x$ ~~删~~\n# 标题\n1. 列表")
    assert re.search(r"(?<!\\)[*<>\[\]$~]", escaped) is None  # each one backslashed
    assert escaped.startswith(r"\*\*粗\*\* \<b\>x\</b\>") and "  \n\\# 标题  \n1\\. 列表" in escaped
    assert markdown_text("SJ2026-0001 14:00") == "SJ2026-0001 14:00"  # ordinary text stays as it is


def hostile_shapes() -> AreaShapes:
    west, east = shapely.box(115.00, 37.00, 115.01, 37.01), shapely.box(115.01, 37.00, 115.02, 37.01)
    both = shapely.union(west, east)

    def frame(rows: list[tuple[str, str, shapely.Geometry]]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"code": [r[0] for r in rows], "name": [r[1] for r in rows]}, geometry=[r[2] for r in rows], crs=4326
        )

    return AreaShapes(
        county=frame([(COUNTY, PAYLOADS[0], both)]),
        townships=frame([(TOWNSHIP, PAYLOADS[1], both)]),
        villages=frame([(VILLAGE, PAYLOADS[2], both)]),
        grids=frame([(GRID_A, PAYLOADS[3], west), (GRID_B, PAYLOADS[4], east)]),
    )


def rendered(fmap: folium.Map, *overlays: folium.FeatureGroup) -> str:
    """The HTML of the map with `overlays` on it, as the component receives it."""
    for group in overlays:
        fmap.add_child(group)
    return fmap.get_root().render()


def assert_no_raw_payload(html: str) -> None:
    """No payload reaches the page unescaped, neither as HTML nor as a JSON string that the
    browser would insert as HTML: each one arrives only as escaped text."""
    for payload in PAYLOADS:
        assert payload not in html
        assert script_json(payload)[1:-1] not in html
        assert script_json(str(html_text(payload)))[1:-1] in html


def map_with_texts(
    shapes: AreaShapes,
    *,
    grid_notes: tuple[str, str],
    legend: tuple[str, str],
    incident: tuple[str, str],
    household: tuple[str, str],
    worker: tuple[str, str],
    track_labels: list[str],
    stop: str,
) -> str:
    """The rendered map of a township with these texts in every field: grid value notes, the
    legend's title and entry, (id, label) of a case, a household and a worker, a track's point
    labels and a stop's label, with the live overlays on top."""
    note = {GRID_A: ("#fee2e2", grid_notes[0]), GRID_B: ("#fee2e2", grid_notes[1])}
    base = build_base_map(
        shapes,
        grid_values=note,
        legend=MapLegend(legend[0], (LegendEntry(legend[1], "#fff"),)),
        basemap=make_basemap("none"),
    )
    points = pd.DataFrame({"lon": [115.005], "lat": [37.005]})
    incidents = points.assign(incident_id=incident[0], state="reported", urgent=True, alarm=2, label=incident[1])
    households = points.assign(household_id=household[0], grid_code=GRID_A, family=1, label=household[1])
    workers = points.assign(worker_id=worker[0], on_duty=True, label=worker[1])
    overlays = build_overlays(
        shapes,
        selected_code=TOWNSHIP,
        selected_level="township",
        child_level="village",
        incidents=incidents,
        households=households,
        workers=workers,
    )
    track = pd.DataFrame({"lon": [115.001, 115.002], "lat": [37.001, 37.002], "label": track_labels, "line": [0, 0]})
    day = build_track_layer(track, points.assign(label=stop), households, households, arrow_every=1)
    live = build_live_overlays(note, incidents.assign(fresh=True))
    return rendered(base, *overlays, day, *live)


def test_the_rendered_map_carries_hostile_names_only_as_escaped_text() -> None:
    html = map_with_texts(
        hostile_shapes(),
        grid_notes=(PAYLOADS[5], PAYLOADS[0]),
        legend=(PAYLOADS[1], PAYLOADS[2]),
        incident=("SJ1", PAYLOADS[1] + "\n第二行"),
        household=("h1", PAYLOADS[2]),
        worker=("w1", PAYLOADS[3]),
        track_labels=list(PAYLOADS[4:6]),
        stop=PAYLOADS[5],
    )
    assert_no_raw_payload(html)
    assert "&lt;b onmouseover=top.XSS=5&gt;粗&lt;/b&gt;" in html.replace("\\u003c", "<").replace(
        "\\u003e", ">"
    ).replace("\\u0026", "&")


def test_template_syntax_in_any_field_of_the_map_is_never_run_by_the_server() -> None:
    """Names, ids, tooltips, legend, track and stop labels all holding Jinja syntax: the rendered
    map (as streamlit-folium renders it, which reads each element's script again as a template)
    carries each one as escaped text and none of the marks running it would leave."""
    names = TEMPLATE_PAYLOADS
    shapes = hostile_shapes()
    for frame in (shapes.county, shapes.townships, shapes.villages, shapes.grids):
        frame["name"] = [names[i % len(names)] for i in range(len(frame))]
    html = map_with_texts(
        shapes,
        grid_notes=(names[0], names[1]),
        legend=(names[2], names[3]),
        incident=(names[1], names[0]),
        household=(names[2], names[1]),
        worker=(names[3], names[2]),
        track_labels=list(names[:2]),
        stop=names[3],
    )
    for mark in TEMPLATE_MARKS:
        assert mark not in html
    assert html.count("注释") >= 4  # the comment is text, not dropped
    assert JINJA_OPENER.search(html) is None  # nothing left that a later render could run
    assert JINJA_OPENER.search(area_shapes_document(shapes)) is None  # the outlines the map fetches
    for payload in names[:3]:  # the tooltips of a case, a household and a worker, as written
        assert script_json(str(html_text(payload)))[1:-1] in html


def test_the_legend_is_built_from_escaped_parts() -> None:
    html = str(legend_html(MapLegend(PAYLOADS[0], (LegendEntry(PAYLOADS[1], "#fff"),))))
    parsed = assert_inert(html, tags={"b", "div", "i", "hr"})
    assert PAYLOADS[0] in "".join(parsed.text) and PAYLOADS[1] in "".join(parsed.text)


def test_the_map_shows_a_metric_scale_and_a_plain_attribution() -> None:
    html = rendered(build_base_map(hostile_shapes(), grid_values={}, legend=None, basemap=make_basemap("amap")))
    assert "L.control.scale({metric: true, imperial: false})" in html
    assert "L.control.scale()" not in html  # folium's own, with miles and feet
    prefix = re.search(r"setPrefix\((.*?)\);", html)
    assert prefix is not None and json.loads(prefix[1]).endswith(">Leaflet</a>")  # no flag, Leaflet credited
    assert json.dumps("© 高德地图") in html  # the basemap's own credit stays


def test_area_names_come_largest_first_so_that_the_browser_keeps_those_when_names_collide() -> None:
    big, small = shapely.box(115.0, 37.0, 115.1, 37.1), shapely.box(115.1, 37.0, 115.101, 37.001)
    villages = gpd.GeoDataFrame(
        {"code": [VILLAGE[:-1] + "1", VILLAGE[:-1] + "2"], "name": ["小村", "大村"]}, geometry=[small, big], crs=4326
    )
    shapes = AreaShapes(county=villages, townships=villages, villages=villages, grids=villages)
    overlays = build_overlays(
        shapes,
        selected_code=VILLAGE[:-3],
        selected_level="township",
        child_level="village",
        incidents=pd.DataFrame(columns=["incident_id", "lon", "lat", "state", "urgent", "alarm", "label"]),
        households=None,
        workers=None,
    )
    html = rendered(build_base_map(shapes, grid_values={}, legend=None, basemap=make_basemap("none")), overlays[0])
    after = html[html.index("area-label child") :]
    children = after[: after.index(".addTo(")]  # the layer of the children's names, with its data
    assert children.index("大村") < children.index("小村")
    assert "window.declutterLabels" in html


@pytest.fixture
def hostile_village(store):
    """Two grids, households, cases, workers, a department and users, then every text made hostile."""
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all([household("h1", GRID_A), household("h2", GRID_B)])
        session.add(HouseholdTag(county_code=COUNTY, household_id="h1", tag="独居老人"))
        session.add_all(
            [
                incident("SJ-late", state="dispatched", reported_at=T - 100 * H, dispatched_at=T - 90 * H),
                incident("SJ-urgent", GRID_B, severity="urgent", limit_hours=24.0, reported_at=T - H),
            ]
        )
        session.add_all(
            [
                Worker(
                    county_code=COUNTY, worker_id="w1", name="赵网格", phone="13700000001", role="worker", on_duty=True
                ),
                WorkerGrid(county_code=COUNTY, worker_id="w1", grid_code=GRID_A),
                PatrolFix(county_code=COUNTY, worker_id="w1", ts=T - H, lon=115.002, lat=37.002, accuracy_m=5),
                Department(county_code=COUNTY, department_id="d1", name="城管局", kind="城管"),
                User(username="u1", county_code=COUNTY, display_name="张三", role="viewer", password_hash=None),
            ]
        )
    make_hostile(store.session_factory)
    return store


def test_services_give_the_map_plain_text_and_the_map_escapes_it(hostile_village) -> None:
    factory = hostile_village.session_factory
    incidents = load_open_incidents(factory, actor=OPERATOR, area_code=VILLAGE, at=T, alarming_only=False)
    households = load_household_points(factory, actor=OPERATOR, area_code=VILLAGE, at=T)
    workers = load_worker_positions(factory, actor=OPERATOR, area_code=VILLAGE, at=T)
    labels = pd.concat([incidents["label"], households["label"], workers["label"]])
    assert not labels.str.contains("<br>").any()  # lines are plain text, not HTML
    assert workers["label"].str.startswith(tuple(PAYLOADS)).all()
    shapes = load_area_shapes(factory, actor=OPERATOR)
    by_grid = compute_grid_figures(factory, actor=OPERATOR, area_code=COUNTY, at=T, days=7, special_tags=())
    values, legend = colour_grids(by_grid, "open")
    html = rendered(
        build_base_map(shapes, grid_values=values, legend=legend, basemap=make_basemap("none")),
        *build_overlays(
            shapes,
            selected_code=VILLAGE,
            selected_level="village",
            child_level="grid",
            incidents=incidents,
            households=households,
            workers=workers,
        ),
    )
    drawn = pd.concat(
        [shapes.grids["name"], shapes.townships["name"], *(f["label"] for f in (incidents, households, workers))]
    )
    for name in drawn:
        assert script_json(name)[1:-1] not in html
        assert script_json(str(html_text(name)))[1:-1] in html


def test_the_wall_screen_shows_hostile_names_as_text(hostile_village) -> None:
    figures = load_screen(hostile_village.session_factory, actor=OPERATOR, at=T, fresh=dt.timedelta(minutes=1))
    blocks = screen_html.tiles(figures) + screen_html.left_panels(figures) + screen_html.right_panels(figures)
    blocks.append(screen_html.banner("screen-title", PAYLOADS[0] + "网格化综合指挥中心"))
    text = ""
    for block in blocks:
        text += "".join(assert_inert(block, tags={"div", "h4", "table", "tr", "td"}).text)
    assert PAYLOADS[0] + "网格化综合指挥中心" in text
    assert figures.alarms["category"].notna().all() and len(figures.alarms) == 2


def test_the_screen_table_escapes_every_cell_and_keeps_its_classes() -> None:
    html = screen_html.table("告警", [[PAYLOADS[0], "12", PAYLOADS[2]]], alarm_column=0)
    parsed = assert_inert(html, tags={"div", "h4", "table", "tr", "td"})
    assert parsed.text == ["告警", PAYLOADS[0], "12", PAYLOADS[2]]
    assert '<td class="alarm">' in html and '<td class="num">12</td>' in html


def test_a_supervisor_holding_two_grids_sees_the_panel_headed_with_what_they_hold() -> None:
    names = {TOWNSHIP: "平乡镇", GRID_A: "一格", GRID_B: "二格", VILLAGE: "测试村"}
    supervisor = make_actor("grid_supervisor", GRID_A, GRID_B)
    assert panel_heading(supervisor, Selection(TOWNSHIP), names) == "平乡镇 · 您负责的2个网格：一格、二格"
    assert panel_heading(OPERATOR, Selection(TOWNSHIP), names) == "乡镇(街道) · 平乡镇"
    assert panel_heading(supervisor, Selection(GRID_A), names) == "网格 · 一格"
    assert panel_heading(OPERATOR, Selection(TOWNSHIP), {TOWNSHIP: "**镇**"}) == r"乡镇(街道) · \*\*镇\*\*"


@pytest.mark.parametrize("formula", FORMULAS)
def test_an_export_shows_a_formula_from_the_data_as_text(formula: str) -> None:
    table = pd.DataFrame({"姓名": [formula, "王五"], "户数": [-3, 2], "比例": [0.5, -0.25]})
    rows = list(csv.reader(io.StringIO(table_as_csv(table).decode("utf-8-sig"), newline="")))
    assert rows[1:] == [["'" + formula, "-3", "0.5"], ["王五", "2", "-0.25"]]  # numbers stay numbers
    sheet = openpyxl.load_workbook(io.BytesIO(table_as_xlsx(table, "考核"))).active
    cells = [[cell for cell in row] for row in sheet.iter_rows(min_row=2)]
    # (openpyxl reads a CR inside a cell back as LF)
    assert cells[0][0].data_type == "s" and cells[0][0].value == "'" + formula.replace("\r", "\n")
    assert [c.value for c in cells[1]] == ["王五", 2, -0.25] and cells[0][1].data_type == "n"  # numbers stay numbers
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_neutralising_leaves_ordinary_cells_and_marks_formula_like_headers() -> None:
    table = pd.DataFrame({"=列": ["普通", None, "1-2"], "n": [1, 2, 3]})
    safe = neutralise_formulas(table)
    assert list(safe.columns) == ["'=列", "n"]
    assert safe["'=列"].fillna("").tolist() == ["普通", "", "1-2"] and safe["n"].tolist() == [1, 2, 3]


def test_every_export_goes_through_the_one_writer() -> None:
    """Only services/exchange/downloads.py writes CSV or Excel; pages hand it their tables."""
    writers = [
        str(path.relative_to(ROOT))
        for folder in ("pages", "services")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"\.to_(csv|excel)\(", path.read_text(encoding="utf-8"))
    ]
    assert writers == ["services/exchange/downloads.py"]


def test_tiles_of_a_basemap_come_from_its_servers_one_origin_per_subdomain() -> None:
    assert tile_origins(make_basemap("none")) == () and tile_origins(make_basemap("local")) == ()
    assert tile_origins(make_basemap("amap")) == tuple(f"https://webrd0{i}.is.autonavi.com" for i in "1234")
    assert tile_origins(make_basemap("xyz", xyz_url="http://10.0.0.5:8080/{z}/{x}/{y}.png")) == (
        "http://10.0.0.5:8080",
    )


def test_the_page_policy_refuses_inline_scripts_and_the_map_frame_may_only_reach_the_app() -> None:
    hashes = inline_script_hashes("<html><script>window.prerenderReady = false</script><script src=a.js></script>")
    assert len(hashes) == 1 and hashes[0].startswith("'sha256-")
    page, component = content_security_policies(tile_origins=["https://t0.tianditu.gov.cn"], page_script_hashes=hashes)
    directives = {d.split()[0]: d.split()[1:] for d in page.split("; ")}
    assert directives["script-src"] == ["'self'", hashes[0]]
    assert directives["frame-ancestors"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert "https://t0.tianditu.gov.cn" in directives["img-src"] and directives["connect-src"] == ["'self'"]
    frame = {d.split()[0]: d.split()[1:] for d in component.split("; ")}
    assert "'unsafe-eval'" in frame["script-src"] and frame["connect-src"] == ["'self'"]


def test_the_middleware_sets_the_policy_of_each_response() -> None:
    sent: list[dict] = []

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message) -> None:  # type: ignore[no-untyped-def]
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request"}

    middleware = SecurityHeaders(app, page_policy="P", component_policy="C", component_prefix="/component/")
    for path in ("/", "/component/streamlit_folium.st_folium/index.html"):
        asyncio.run(middleware({"type": "http", "path": path, "headers": []}, receive, send))
    page, component = (dict(m["headers"]) for m in sent if m["type"] == "http.response.start")
    assert page[b"content-security-policy"] == b"P" and component[b"content-security-policy"] == b"C"
    assert page[b"x-frame-options"] == b"SAMEORIGIN" and page[b"content-type"] == b"text/html"
    websocket: list[str] = []

    async def stream(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        websocket.append(scope["type"])

    asyncio.run(
        SecurityHeaders(stream, page_policy="P", component_policy="C", component_prefix="/c/")(
            {"type": "websocket", "path": "/_stcore/stream"}, receive, send
        )
    )
    assert websocket == ["websocket"]


def test_the_sidebar_shows_a_hostile_display_name_as_written(monkeypatch, tmp_path, copy_small_demo) -> None:
    url = copy_small_demo(tmp_path / "names.db")
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    name = "**粗**<b>x</b>"
    add_user(
        store.session_factory,
        actor=ADMIN,
        now=dt.datetime.now(dt.UTC),
        username="odd",
        display_name=name,
        role="viewer",
        area_codes=("130532",),
        password="a-long-password-1",
    )
    store.engine.dispose()
    app = open_app(monkeypatch, url, user="odd")
    app.run()
    assert not app.exception
    caption = next(c.value for c in app.sidebar.caption if "当前用户" in c.value)
    assert markdown_text(name) in caption
