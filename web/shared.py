"""What the HTTP routes beside the pages share: the process's store for them (opened at the first
request, once), the caching header of answers that must never be kept, and the path they live under."""

from __future__ import annotations

import functools

from services.cli.bootstrap import Store, open_store
from services.settings import Settings

NO_STORE = {"Cache-Control": "no-store"}


@functools.cache
def default_store() -> Store:
    return open_store(Settings.from_env())


def route_prefix(base_path: str) -> str:
    """The path the routes live under for Streamlit's server.baseUrlPath: "" or "/<path>"."""
    path = base_path.strip("/")
    return f"/{path}" if path else ""
