"""The map's area outlines behind their signed, versioned link (web/map_shapes.py), fetched with a
real HTTP client from the app as `make run` serves it, on both engines; and the signing key."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import shapely
from sqlalchemy import update

from devtools.app_server import running_app
from services.access import links
from services.access.links import KEY_FILE, link_is_signed, link_key, sign_link
from services.settings import Settings
from services.store.models import Area, User, UserArea
from tests.factories import COUNTY, GRID_A, OPERATOR, TOWNSHIP, add_areas, make_actor, seed_areas
from tests.hostile import SHORT_PAYLOADS
from web import map_shapes
from web.map_shapes import CURRENT, SUPERSEDED, shapes_link

KEY = "test-link-key-0123456789abcdefghijklmnop"
OTHER_TOWNSHIP = COUNTY + "102"
OTHER_GRID = OTHER_TOWNSHIP + "201001"
LEADER = make_actor("township_leader", TOWNSHIP, username="leader", name="乡镇领导")


@pytest.fixture(scope="module")
def served(module_store):
    """The app on a county of two townships, with a leader of the first; (base URL, store, settings)."""
    seed_areas(module_store)
    east = shapely.box(115.02, 37.00, 115.03, 37.01)
    add_areas(
        module_store,
        [
            (OTHER_TOWNSHIP, "township", "东乡", COUNTY, east),
            (OTHER_TOWNSHIP + "201", "village", "东村", OTHER_TOWNSHIP, east),
            (OTHER_GRID, "grid", "东村第1网格", OTHER_TOWNSHIP + "201", east),
        ],
    )
    with module_store.session_factory.begin() as session:
        session.add(User(username="leader", county_code=COUNTY, display_name="乡镇领导", role="township_leader"))
        session.add(User(username="operator", county_code=COUNTY, display_name="值班员", role="county_operator"))
        session.flush()
        session.add(UserArea(county_code=COUNTY, username="leader", area_code=TOWNSHIP))
        session.add(UserArea(county_code=COUNTY, username="operator", area_code=COUNTY))
    url = module_store.engine.url.render_as_string(hide_password=False)
    environment = {"DATABASE_URL": url, "COUNTY_CODE": COUNTY, "LINK_KEY": KEY}
    with running_app(environment) as (base, _):
        yield base.rstrip("/"), module_store, Settings.from_env(environment)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """(status, headers — read in any case —, body) of one GET."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def grid_codes(body: bytes) -> list[str]:
    return sorted(f["properties"]["id"] for f in json.loads(body)["grids"]["features"])


def test_a_leader_fetches_their_townships_outlines_once_per_version(served) -> None:
    base, store, settings = served
    link = shapes_link(store, settings, actor=LEADER, crs="wgs84")
    status, headers, body = fetch(base + link)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert grid_codes(body) == [TOWNSHIP + "201001", TOWNSHIP + "201002"]  # not the other township's grid
    assert [f["properties"]["id"] for f in json.loads(body)["townships"]["features"]] == [TOWNSHIP]
    digest = hashlib.sha256(body).hexdigest()
    assert urlsplit(link).path == f"/map/areas/{digest}.json"
    assert headers["Cache-Control"] == CURRENT and headers["ETag"] == f'"{digest}"'
    assert fetch(base + link, {"If-None-Match": f'"{digest}"'})[0] == 304
    operator = shapes_link(store, settings, actor=OPERATOR, crs="wgs84")
    assert grid_codes(fetch(base + operator)[2]) == [TOWNSHIP + "201001", TOWNSHIP + "201002", OTHER_GRID]


def test_a_link_cannot_be_made_for_another_user_basemap_or_version_by_changing_it(served) -> None:
    base, store, settings = served
    link = shapes_link(store, settings, actor=LEADER, crs="wgs84")
    path, query = link.split("?")
    params = {name: values[0] for name, values in parse_qs(query).items()}
    forged = [
        f"{path}?{urlencode({**params, 'u': 'operator'})}",  # the county operator's outlines
        f"{path}?{urlencode({**params, 'crs': 'gcj02'})}",
        f"{path}?{urlencode({**params, 'sig': '0' * 32})}",
        f"{path}?{urlencode({**params, 'sig': '签' * 32})}",  # not even hex
        f"{path}?{urlencode({name: value for name, value in params.items() if name != 'sig'})}",
        f"/map/areas/{'a' * 64}.json?{query}",
    ]
    for url in forged:
        status, headers, body = fetch(base + url)
        assert (status, headers["Cache-Control"], body.decode()) == (403, "no-store", "链接无效。"), url


def test_a_disabled_or_moved_user_gets_no_outlines_they_may_no_longer_see(served) -> None:
    base, store, settings = served
    link = shapes_link(store, settings, actor=LEADER, crs="wgs84")
    try:
        with store.session_factory.begin() as session:
            session.execute(update(User).where(User.username == "leader").values(disabled=True))
        status, _, body = fetch(base + link)
        assert (status, body.decode()) == (403, "该账号已停用或不再负责任何区域。")
        with store.session_factory.begin() as session:
            session.execute(update(User).where(User.username == "leader").values(disabled=False))
            session.execute(update(UserArea).where(UserArea.username == "leader").values(area_code=OTHER_TOWNSHIP))
        status, headers, body = fetch(base + link)  # the old link: their outlines as they are now, not kept
        assert status == 200 and grid_codes(body) == [OTHER_GRID] and headers["Cache-Control"] == SUPERSEDED
    finally:
        with store.session_factory.begin() as session:
            session.execute(update(UserArea).where(UserArea.username == "leader").values(area_code=TOWNSHIP))


def test_hostile_names_arrive_escaped_and_gcj02_outlines_are_shifted(served) -> None:
    base, store, settings = served
    with store.session_factory.begin() as session:
        session.execute(update(Area).where(Area.code == OTHER_GRID).values(name=SHORT_PAYLOADS[0]))
    # A scope no test asked for before.
    operator = make_actor("county_operator", TOWNSHIP, OTHER_TOWNSHIP, username="operator2")
    with store.session_factory.begin() as session:
        session.add(User(username="operator2", county_code=COUNTY, display_name="值班员", role="county_operator"))
        session.flush()
        session.add_all(
            UserArea(county_code=COUNTY, username="operator2", area_code=code) for code in operator.area_codes
        )
    documents = {}
    for crs in ("wgs84", "gcj02"):
        status, _, body = fetch(base + shapes_link(store, settings, actor=operator, crs=crs))
        assert status == 200
        documents[crs] = json.loads(body)
    tips = [f["properties"]["tip"] for f in documents["wgs84"]["grids"]["features"]]
    assert not any("<img" in tip for tip in tips)
    assert any(tip.startswith("&lt;img src=x onerror=top.XSS=1&gt;") for tip in tips)
    west = [shapely.from_geojson(json.dumps(documents[crs]["county"]["features"][0]["geometry"])) for crs in documents]
    shift = shapely.distance(shapely.centroid(west[0]), shapely.centroid(west[1]))
    assert 0.001 < shift < 0.01  # GCJ-02 moves northern China by a few hundred metres


def test_processes_starting_at_once_all_sign_with_the_one_key_they_made(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEY_FILE
    keys: list[bytes] = []
    barrier = threading.Barrier(16)

    def start() -> None:  # what each process does on its first link: read the key, or make it
        barrier.wait()
        keys.append(links._kept_key(path))

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 16 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert path.stat().st_mode & 0o077 == 0 and list(path.parent.iterdir()) == [path]  # no draft left behind
    assert link_key(Settings.from_env({"DATA_DIR": str(tmp_path / "data")})) == keys[0]
    assert link_key(Settings.from_env({"DATA_DIR": str(tmp_path / "data"), "LINK_KEY": KEY})) == KEY.encode()
    with pytest.raises(ValueError, match="LINK_KEY 太短"):
        link_key(Settings.from_env({"LINK_KEY": "short"}))
    signature = sign_link(keys[0], COUNTY, "leader", "wgs84", "d")
    assert link_is_signed(keys[0], signature, COUNTY, "leader", "wgs84", "d")
    assert not link_is_signed(keys[0], signature, COUNTY, "leader", "wgs84", "e")
    assert not link_is_signed(b"another", signature, COUNTY, "leader", "wgs84", "d")


def test_documents_are_built_once_however_many_ask_and_kept_while_the_areas_stay(store, monkeypatch) -> None:
    seed_areas(store)
    builds: list[tuple[str, ...]] = []
    real_load = map_shapes.load_area_shapes

    def counted_load(session_factory, *, actor):  # type: ignore[no-untyped-def]
        builds.append(actor.area_codes)
        return real_load(session_factory, actor=actor)

    monkeypatch.setattr(map_shapes, "load_area_shapes", counted_load)
    monkeypatch.setattr(map_shapes, "DOCUMENTS_KEPT", 2)
    documents = map_shapes._Documents()
    found: list[map_shapes.ShapesDocument] = []
    barrier = threading.Barrier(16)

    def ask() -> None:
        barrier.wait()
        found.append(documents.get(store, OPERATOR, "wgs84"))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 16 and len({id(document) for document in found}) == 1 and builds == [(COUNTY,)]
    assert documents.get(store, OPERATOR, "wgs84") is found[0] and len(builds) == 1
    # A write to the areas by anyone (here not through any service this process knows of) moves the
    # areas' token: the next page run and the next fetch get the renamed outlines.
    with store.session_factory.begin() as session:
        session.execute(update(Area).where(Area.code == GRID_A).values(name="新名字网格"))
    renamed = documents.get(store, OPERATOR, "wgs84")
    assert renamed is not found[0] and len(builds) == 2 and "新名字网格" in renamed.body.decode()
    assert renamed.digest != found[0].digest
    documents.get(store, LEADER, "wgs84")
    documents.get(store, OPERATOR, "gcj02")  # a third key: the least recently used (the operator's) goes
    documents.get(store, OPERATOR, "wgs84")
    assert len(builds) == 5 and len(documents._kept) == 2 and len(documents._building) == 2
