"""What the first county-wide page after a start would otherwise build while its user waits,
built in the background as the server starts: the county's outlines document for each basemap's
coordinates (web.map_shapes.DOCUMENTS, ~1 s for a county) and the households per grid behind the
grid figures (services.patrol.coverage.COUNTY_HOUSEHOLDS, ~0.3 s).  Both are kept per process until
their rows change, so a restart (an upgrade, the nightly maintenance) no longer makes the next
person at the wall screen or the duty desk wait for them.  A township's or a supervisor's scope is
built when first asked for, as before."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from services.access.actor import USER_ROLE_AREA_LEVELS, USER_ROLES, Actor
from services.cli.bootstrap import Store
from services.figures.area_figures import LIVE_DAYS, compute_grid_figures
from services.settings import Settings
from web.map_shapes import DOCUMENTS

logger = logging.getLogger(__name__)


def county_actors(county: str) -> list[Actor]:
    """One county-wide actor for each set of tags the grid figures highlight: the counts are kept
    per set, and every county-wide role sees one of them (services.access.actor)."""
    actors: dict[tuple[str, ...], Actor] = {}
    for role in USER_ROLES:
        if "county" in USER_ROLE_AREA_LEVELS[role]:
            actor = Actor("warm-up", "启动预热", role, county, (county,))
            actors.setdefault(actor.clearance.highlighted_tags(), actor)
    return list(actors.values())


def warm_up(store: Store, settings: Settings, *, now: dt.datetime) -> None:
    """Build what the first county-wide map run reads, for the county of `settings`."""
    actors = county_actors(settings.county_code)
    # The outlines first: the larger part, and one a figures failure should not hold back.  They
    # are the same for every county-wide actor.
    for crs in sorted({basemap.crs for basemap in settings.basemaps}):
        DOCUMENTS.get(store, actors[0], crs)
    for actor in actors:
        compute_grid_figures(
            store.session_factory,
            actor=actor,
            area_code=settings.county_code,
            at=now,
            days=LIVE_DAYS,
            special_tags=actor.clearance.highlighted_tags(),
        )


def start_warm_up(store: Callable[[], Store], settings: Callable[[], Settings]) -> threading.Thread:
    """`warm_up` on a thread of its own: the server answers meanwhile, and a page that needs a
    document being built waits for that build rather than making a second one."""

    def run() -> None:
        started = time.perf_counter()
        try:
            warm_up(store(), settings(), now=dt.datetime.now(dt.UTC))
        except Exception:  # a store not yet filled or unreachable: the pages say so when asked
            logger.warning("warm-up failed after %.1f s", time.perf_counter() - started, exc_info=True)
            return
        logger.info("warm-up done in %.1f s", time.perf_counter() - started)

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread
