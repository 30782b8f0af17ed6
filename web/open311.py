"""The Open311 GeoReport v2 API (`/open311/v2/…`), a thin HTTP edge over `services.intake`: Starlette
routes that Streamlit's own server runs beside the pages (serve.py), on the same port and store.

Each route reads the request, calls one service in a worker thread (the store is synchronous) and
answers JSON.  Errors are the spec's list of `{code, description}` with the matching status:
400 bad input (naming the field), 403 a bad or revoked key, 404 an unknown service or request,
429 over the rate, 503 the database unreachable; anything else is logged and answered with a
plain 500, never a traceback.

GETs are public and limited per client address by a token bucket held in this process (with
several server processes behind a balancer each keeps its own, so the effective limit is per
process; behind a reverse proxy every client shares the proxy's address unless the proxy is
trusted with `--forwarded-allow-ips`).  A POST with a bad key spends a token too, so guessing keys
is as slow as reading."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.cli.bootstrap import Store, open_store
from services.domain import LOCAL_TZ
from services.errors import (
    DomainError,
    InvalidArgumentError,
    InvalidFieldError,
    PermissionDeniedError,
    StoreUnavailableError,
    UnknownItemError,
)
from services.intake.requests import (
    RequestQuery,
    find_requests,
    get_request,
    list_services,
    service_definition,
    submit_request,
)
from services.settings import Settings

LOG = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
MAX_TRACKED_CLIENTS = 10_000
API_PATH = "open311/v2"


class TokenBucket:
    """`per_minute` requests a minute per client, in bursts of up to `per_minute`; in-process."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = max(per_minute, 1.0)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, when)
        self.lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the client may go on, else the seconds until it may."""
        with self.lock:
            now = self.clock()
            tokens, when = self.buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - when) * self.rate)
            if tokens < 1:
                self.buckets[client] = (tokens, now)
                return (1 - tokens) / self.rate if self.rate > 0 else math.inf
            if len(self.buckets) >= MAX_TRACKED_CLIENTS and client not in self.buckets:
                self._forget_full(now)
            self.buckets[client] = (tokens - 1, now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        """Clients whose bucket has refilled are as good as new: forget them."""
        for client, (tokens, when) in list(self.buckets.items()):
            if tokens + (now - when) * self.rate >= self.capacity:
                del self.buckets[client]


def errors(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def too_many(wait_s: float) -> JSONResponse:
    seconds = str(math.ceil(wait_s))
    response = errors(429, f"请求过于频繁，请 {seconds} 秒后再试")
    response.headers["Retry-After"] = seconds
    return response


def _status_of(error: DomainError) -> int:
    if isinstance(error, PermissionDeniedError):
        return 403
    if isinstance(error, UnknownItemError):
        return 404
    if isinstance(error, InvalidArgumentError):
        return 400
    if isinstance(error, StoreUnavailableError):
        return 503
    return 500


class Open311:
    """The routes and what they share: the store (opened at the first request), the county, the limiter."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self._store = store
        self._store_lock = threading.Lock()
        self.limiter = TokenBucket(settings.intake_get_per_min)

    def store(self) -> Store:
        with self._store_lock:
            if self._store is None:
                self._store = open_store(self.settings)
            return self._store

    def routes(self, base_path: str = "") -> list[BaseRoute]:
        root = f"/{base_path}/{API_PATH}" if base_path else f"/{API_PATH}"
        return [
            Route(f"{root}/services.json", self._guard(self.services), methods=["GET"]),
            Route(f"{root}/services/{{service_code}}.json", self._guard(self.service), methods=["GET"]),
            Route(f"{root}/requests.json", self._guard(self.requests), methods=["GET", "POST"]),
            Route(f"{root}/requests/{{service_request_id}}.json", self._guard(self.request), methods=["GET"]),
        ]

    def _guard(self, handler: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        """The rate limit, then the handler; domain errors as the spec's error list."""

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            client = request.client.host if request.client else "unknown"
            if request.method == "GET":
                wait = self.limiter.take(client)
                if wait:
                    return too_many(wait)
            try:
                body = await handler(request)
            except DomainError as error:
                status = _status_of(error)
                wait = self.limiter.take(client) if status == 403 else 0.0  # guessing keys costs like reading
                if wait:
                    return too_many(wait)
                if status >= 500:
                    LOG.error("open311 %s %s: %s", request.method, request.url.path, error)
                return errors(status, str(error) if status < 500 else "服务暂时不可用，请稍后再试")
            except Exception:  # the edge of the process: log it whole, answer without it
                LOG.exception("open311 %s %s failed", request.method, request.url.path)
                return errors(500, "服务器内部错误")
            status = 201 if request.method == "POST" and body[1] else 200
            return JSONResponse(body[0], status_code=status)

        return endpoint

    async def services(self, request: Request) -> tuple[object, bool]:
        return list_services(), False

    async def service(self, request: Request) -> tuple[object, bool]:
        return service_definition(request.path_params["service_code"]), False

    async def request(self, request: Request) -> tuple[object, bool]:
        found = await run_in_threadpool(
            get_request,
            self.store().session_factory,
            county_code=self.settings.county_code,
            service_request_id=request.path_params["service_request_id"],
        )
        return found, False

    async def requests(self, request: Request) -> tuple[object, bool]:
        if request.method == "POST":
            return await self._post(request)
        params = request.query_params
        query = RequestQuery(**{field: params.get(field, "") for field in RequestQuery.__dataclass_fields__})
        found = await run_in_threadpool(
            find_requests,
            self.store().session_factory,
            county_code=self.settings.county_code,
            query=query,
            now=dt.datetime.now(LOCAL_TZ),
        )
        return found, False

    async def _post(self, request: Request) -> tuple[object, bool]:
        fields = await read_fields(request)
        api_key = fields.pop("api_key", "") or request.query_params.get("api_key", "")
        submitted = await run_in_threadpool(
            submit_request,
            self.store().session_factory,
            county_code=self.settings.county_code,
            api_key=api_key,
            fields=fields,
            now=dt.datetime.now(LOCAL_TZ),
        )
        return submitted.as_open311(), submitted.created


async def read_fields(request: Request) -> dict[str, str]:
    """A POST's fields: form-encoded as the spec says, or a JSON object (`attribute` may be an
    object: {"attribute": {"subcategory": …}} is read as attribute[subcategory])."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise InvalidFieldError("body", f"请求体超过 {MAX_BODY_BYTES // 1024} KB")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidFieldError("body", "须为 UTF-8 编码") from None
    if content_type == "application/json":
        try:
            data = json.loads(text or "{}")
        except json.JSONDecodeError as error:
            raise InvalidFieldError("body", f"不是有效的 JSON（第 {error.lineno} 行第 {error.colno} 列）") from None
        if not isinstance(data, dict):
            raise InvalidFieldError("body", "JSON 须为一个对象")
        return _flatten(data)
    if content_type in ("application/x-www-form-urlencoded", ""):
        try:
            return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
        except ValueError:
            raise InvalidFieldError("body", "不是有效的表单编码") from None
    raise InvalidFieldError("Content-Type", "须为 application/x-www-form-urlencoded 或 application/json")


def _flatten(data: dict[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in data.items():
        if name == "attribute" and isinstance(value, dict):
            fields.update({f"attribute[{key}]": _scalar(f"attribute[{key}]", v) for key, v in value.items()})
        else:
            fields[str(name)] = _scalar(str(name), value)
    return fields


def _scalar(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | dict | list):
        raise InvalidFieldError(name, "应为文字或数字")
    return str(value)


def open311_routes(base_path: str = "") -> list[BaseRoute]:
    """The API's routes under the app's base URL path, for `st.App(routes=…)`."""
    return Open311(Settings.from_env()).routes(base_path)
