"""Security headers on every response the app serves: defence in depth behind the escaping of
render.markup, for when some text slips through anyway.

Two Content-Security-Policies, because the pages differ in what they must run:
- the Streamlit page (and everything but component frames): scripts only from the app itself,
  plus the hash of the one inline script in Streamlit's index.html.  Inline event handlers
  (`<img onerror=…>` in an `unsafe_allow_html` block) and injected inline scripts are refused.
- the frames of components (`/component/…`, the folium map): streamlit-folium inserts the map's
  generated script inline and `eval`s the overlays it swaps in, so that frame needs
  'unsafe-inline' and 'unsafe-eval'.  What both still hold: nothing loads or connects outside
  the app (plus the basemap's tile servers, images only), so a script that did run could not
  send what it read anywhere; no plugins; no `<base>` rewriting; forms post only to the app.
Both forbid framing by other sites (`frame-ancestors 'self'`, and X-Frame-Options for older
browsers).  `'self'` covers the websocket (ws/wss to the same host, CSP level 3).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

from starlette.datastructures import MutableHeaders

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def inline_script_hashes(index_html: str) -> tuple[str, ...]:
    """CSP sources ('sha256-…') of the inline scripts of a page."""
    return tuple(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(index_html)
    )


def streamlit_index_hashes() -> tuple[str, ...]:
    """The inline scripts of the installed Streamlit's page (found again on every start, so an
    upgrade of Streamlit cannot silently break the page)."""
    import streamlit

    index = Path(streamlit.__file__).parent / "static" / "index.html"
    return inline_script_hashes(index.read_text(encoding="utf-8"))


def _policy(directives: dict[str, Iterable[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def content_security_policies(*, tile_origins: Iterable[str], page_script_hashes: Iterable[str]) -> tuple[str, str]:
    """(policy of the Streamlit page, policy of component frames)."""
    images = ("'self'", "data:", "blob:", *tile_origins)
    common = {
        "default-src": ("'self'",),
        "style-src": ("'self'", "'unsafe-inline'"),  # Streamlit's CSS-in-JS and Leaflet's inline styles
        "img-src": images,
        "font-src": ("'self'", "data:"),
        "connect-src": ("'self'",),
        "object-src": ("'none'",),
        "base-uri": ("'self'",),
        "form-action": ("'self'",),
        "frame-ancestors": ("'self'",),
    }
    page = _policy({**common, "script-src": ("'self'", *page_script_hashes)})
    component = _policy({**common, "script-src": ("'self'", "'unsafe-inline'", "'unsafe-eval'")})
    return page, component


class SecurityHeaders:
    """ASGI middleware: sets the policies (and a few plain headers) on every HTTP response;
    `component_prefix` is where component frames are served (`/component/` under the base URL)."""

    def __init__(self, app: ASGIApp, *, page_policy: str, component_policy: str, component_prefix: str) -> None:
        self.app = app
        self.page_policy = page_policy
        self.component_policy = component_policy
        self.component_prefix = component_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.component_policy if scope["path"].startswith(self.component_prefix) else self.page_policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = policy
                headers["X-Frame-Options"] = "SAMEORIGIN"
                headers["X-Content-Type-Options"] = "nosniff"
                # Tile servers that check where their key is used (天地图) still see the origin.
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
            await send(message)

        await self.app(scope, receive, send_with_headers)
