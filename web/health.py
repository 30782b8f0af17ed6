"""`GET /healthz` for a monitoring system (load balancer, systemd watchdog, Prometheus blackbox):
200 with the store's health as JSON when it serves, 503 when the store is down or its schema is
not the one this code expects.  Nothing personal in it, so it needs no sign-in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.cli.bootstrap import Store
from services.errors import StoreError
from services.operations.health import Health, check_health
from services.settings import Settings
from web.shared import NO_STORE, default_store, route_prefix


def health_routes(
    base_path: str = "",
    *,
    store: Callable[[], Store] = default_store,
    settings: Callable[[], Settings] = Settings.from_env,
) -> list[Route]:
    prefix = route_prefix(base_path)

    def current_health() -> Health:
        now = dt.datetime.now(dt.UTC)
        try:
            opened = store()  # opened once; a store down at start is tried again on the next call
        except StoreError:
            return Health(checked_at=now, store_reachable=False)
        return check_health(opened.session_factory, county_code=settings().county_code, now=now)

    async def healthz(_request: Request) -> Response:
        health = await run_in_threadpool(current_health)
        return JSONResponse(health.as_dict(), status_code=200 if health.healthy else 503, headers=NO_STORE)

    return [Route(prefix + "/healthz", healthz, methods=["GET"])]
