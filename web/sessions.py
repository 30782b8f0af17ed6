"""The two routes that give and take the browser's session cookie, served by Streamlit's own
server next to the pages (`st.App(..., routes=...)` in serve.py).

A Streamlit script cannot set a cookie, let alone an HttpOnly one; what it can do is show an
image.  After a sign-in the page shows an invisible one from `/auth/session?token=…` (a one-time
token, valid for a minute): this route exchanges it for the session's cookie — HttpOnly,
SameSite=Strict, Secure when the request came over HTTPS, Path=/ (under the base URL) — and
every later page run (`st.context.cookies` holds HttpOnly cookies too) resumes the session from
it.  A wall screen's one-time link is the same route opened as a page, with `next=`: it sets the
cookie and then moves to that page (by an HTML refresh from this origin, so the Strict cookie
goes along even when the link was opened from a chat app).  `/auth/sign-out` ends the session
the cookie names and clears the cookie.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.access.sessions import COOKIE_NAME, exchange_handover, sign_out_by_cookie
from services.cli.bootstrap import Store
from services.errors import SessionExpiredError, StoreError
from services.settings import Settings
from web.shared import NO_STORE, default_store, route_prefix

# A transparent 1×1 GIF: what the invisible image gets.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def session_routes(
    base_path: str = "", *, store: Callable[[], Store] = default_store, county_code: str | None = None
) -> list[Route]:
    """The routes under `base_path` (Streamlit's server.baseUrlPath, without slashes)."""
    prefix = route_prefix(base_path)
    cookie_path = prefix or "/"
    county = county_code or Settings.from_env().county_code

    def secure(request: Request) -> bool:
        return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"

    def page_after(request: Request) -> str | None:
        """The page to go to next: a path of this app only (never another site)."""
        target = request.query_params.get("next")
        if target is None:
            return None
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            return prefix + "/"
        return prefix + target

    def answer(request: Request, status: int, message: str) -> Response:
        target = page_after(request)
        if target is None:
            return Response(PIXEL, status_code=status, media_type="image/gif", headers=NO_STORE)
        refresh = f'<meta http-equiv="refresh" content="0;url={html.escape(target)}">' if status < 400 else ""
        body = (
            f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">{refresh}<title>民情地图</title></head>'
            f'<body><p>{html.escape(message)}</p><p><a href="{html.escape(target)}">进入民情地图</a></p></body></html>'
        )
        return Response(body, status_code=status, media_type="text/html", headers=NO_STORE)

    async def open_session(request: Request) -> Response:
        now = dt.datetime.now(dt.UTC)
        try:
            cookie = await run_in_threadpool(
                exchange_handover,
                store().session_factory,
                county_code=county,
                handover=request.query_params.get("token", ""),
                now=now,
                user_agent=request.headers.get("user-agent", ""),
            )
        except SessionExpiredError:
            return answer(request, 403, "登录链接无效、已使用或已过期，请重新登录或向管理员索取新链接。")
        except StoreError as error:
            return answer(request, 503, str(error))
        response = answer(request, 200, "已登录，正在进入……")
        response.set_cookie(
            COOKIE_NAME,
            cookie.value,
            max_age=max(int((cookie.expires_at - now).total_seconds()), 0),
            path=cookie_path,
            secure=secure(request),
            httponly=True,
            samesite="strict",
        )
        return response

    async def end_session(request: Request) -> Response:
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie:
            with contextlib.suppress(StoreError):  # the cookie goes anyway; the session runs out by itself
                await run_in_threadpool(
                    sign_out_by_cookie,
                    store().session_factory,
                    county_code=county,
                    cookie=cookie,
                    now=dt.datetime.now(dt.UTC),
                )
        response = answer(request, 200, "已退出登录。")
        response.delete_cookie(COOKIE_NAME, path=cookie_path, secure=secure(request), httponly=True, samesite="strict")
        return response

    return [
        Route(f"{prefix}/auth/session", open_session, methods=["GET"]),
        Route(f"{prefix}/auth/sign-out", end_session, methods=["GET"]),
    ]
