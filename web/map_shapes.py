"""The map's area outlines, sent to each browser once per version instead of with every rerun.

A county's 2,000 grid polygons are ~0.7 MB of GeoJSON.  streamlit-folium sends a map's whole
script over the websocket on every rerun and every wall-screen refresh, so the pages put only a
link into the map (render.map_layers.AreaShapesSource) and the browser fetches the outlines here:

    GET /map/areas/<digest>.json?u=<username>&crs=<wgs84|gcj02>&sig=<signature>

- The digest is the SHA-256 of the document, so a link names one version: while it is current the
  answer may be kept for a year (`immutable`), and an import that changes the outlines changes
  the link (and remounts the map, as any change of its base does).
- The signature (services.access.links) binds the user, the basemap's coordinates and the digest:
  nobody can fetch another user's outlines, or make a link at all, by guessing.
- The outlines are always those of the user the link names, as they may see them now: a user
  disabled or moved to another township since gets 403 or their own areas, never the old ones.
  A link to an older version of their own outlines is answered with the current ones, uncached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from geo.display import AreaShapes
from render.map_layers import area_shapes_document
from services.access.actor import Actor
from services.access.links import link_is_signed, link_key, sign_link
from services.access.sessions import load_actor
from services.cli.bootstrap import Store
from services.errors import StoreError
from services.mapping.map_data import load_area_shapes
from services.settings import Settings
from services.store.versions import AREAS, read_version
from web.shared import NO_STORE, default_store, route_prefix

CRS_CHOICES = ("wgs84", "gcj02")
LINK_PURPOSE = "map-areas/v1"  # signed first: a signature made for another kind of link never fits
DOCUMENTS_KEPT = 64  # one per scope and basemap in use: a county, its townships, some supervisors
CURRENT = "private, max-age=31536000, immutable"
SUPERSEDED = "private, no-cache"


@dataclasses.dataclass(frozen=True)
class ShapesDocument:
    shapes: AreaShapes  # what the pages draw and name: shared, never to be changed in place
    body: bytes  # UTF-8 JSON of their outlines: grids, townships, county (area_shapes_document)
    digest: str  # hex SHA-256 of body


class _Documents:
    """Documents by (database, county, areas, crs), each kept while the county's areas version
    token (services.store.versions.AREAS) stays where it was when it was built, whichever process
    writes the areas; the least recently used dropped beyond DOCUMENTS_KEPT.  The pages take their
    area shapes from here too, so what a page names, outlines and frames is always the version its
    link fetches; one build per key at a time (others wait for it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, str, tuple[str, ...], str], tuple[int, ShapesDocument]] = OrderedDict()
        self._building: dict[tuple[str, str, tuple[str, ...], str], threading.Lock] = {}

    def get(self, store: Store, actor: Actor, crs: str) -> ShapesDocument:
        key = (str(store.engine.url), actor.county_code, actor.area_codes, crs)
        # The token is read before any lock: page runs and fetches of a kept document never queue
        # behind each other's reads, only behind a build of their key.
        with store.session_factory() as session:
            version = read_version(session, actor.county_code, AREAS)
        found = self._current(key, version)
        if found is not None:
            return found
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            found = self._current(key, version)  # built meanwhile by whoever held the lock
            return found if found is not None else self._build(key, store, actor, crs, version)

    def _current(self, key: tuple[str, str, tuple[str, ...], str], version: int) -> ShapesDocument | None:
        with self._lock:
            found = self._kept.get(key)
            if found is None or found[0] != version:
                return None
            self._kept.move_to_end(key)
            return found[1]

    def _build(
        self, key: tuple[str, str, tuple[str, ...], str], store: Store, actor: Actor, crs: str, version: int
    ) -> ShapesDocument:
        shapes = load_area_shapes(store.session_factory, actor=actor).in_crs(crs)
        body = area_shapes_document(shapes).encode()
        document = ShapesDocument(shapes, body, hashlib.sha256(body).hexdigest())
        with self._lock:
            self._kept[key] = (version, document)
            self._kept.move_to_end(key)
            while len(self._kept) > DOCUMENTS_KEPT:
                dropped, _ = self._kept.popitem(last=False)
                self._building.pop(dropped, None)  # its lock goes with it: neither grows without bound
        return document


DOCUMENTS = _Documents()


def shapes_link(store: Store, settings: Settings, *, actor: Actor, crs: str, base_path: str = "") -> str:
    """The signed link to `actor`'s outlines over a `crs` basemap, for the map's AreaShapesSource."""
    digest = DOCUMENTS.get(store, actor, crs).digest
    signature = sign_link(link_key(settings), LINK_PURPOSE, actor.county_code, actor.username, crs, digest)
    prefix = route_prefix(base_path)
    query = urllib.parse.urlencode({"u": actor.username, "crs": crs, "sig": signature})
    return f"{prefix}/map/areas/{digest}.json?{query}"


def _actor_named(store: Store, county_code: str, username: str) -> Actor | None:
    with store.session_factory() as session:
        return load_actor(session, county_code, username)


def map_shape_routes(
    base_path: str = "",
    *,
    store: Callable[[], Store] = default_store,
    settings: Callable[[], Settings] = Settings.from_env,
) -> list[Route]:
    prefix = route_prefix(base_path)

    def refused(status: int, message: str) -> Response:
        return Response(message, status_code=status, media_type="text/plain; charset=utf-8", headers=NO_STORE)

    async def area_outlines(request: Request) -> Response:
        digest = request.path_params["digest"]
        username, crs, signature = (request.query_params.get(name, "") for name in ("u", "crs", "sig"))
        config = settings()
        if crs not in CRS_CHOICES or not link_is_signed(
            link_key(config), signature, LINK_PURPOSE, config.county_code, username, crs, digest
        ):
            return refused(403, "链接无效。")
        try:
            actor = await run_in_threadpool(_actor_named, store(), config.county_code, username)
            if actor is None:
                return refused(403, "该账号已停用或不再负责任何区域。")
            document = await run_in_threadpool(DOCUMENTS.get, store(), actor, crs)
        except StoreError as error:
            return refused(503, str(error))
        etag = f'"{document.digest}"'
        caching = {"Cache-Control": CURRENT if document.digest == digest else SUPERSEDED, "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=caching)
        return Response(document.body, media_type="application/json", headers=caching)

    return [Route(prefix + "/map/areas/{digest:str}.json", area_outlines, methods=["GET"])]
