"""What the HTTP routes beside the pages share: the process's store (one per database URL,
opened at its first use and shared with the pages and the start-up warm-up), the caching header of
answers that must never be kept, and the path they live under."""

from __future__ import annotations

import threading

from services.cli.bootstrap import Store, open_store
from services.settings import Settings

NO_STORE = {"Cache-Control": "no-store"}


_STORES: dict[str, Store] = {}
_OPENING = threading.Lock()


def store_for(settings: Settings) -> Store:
    """The process's store of `settings`' database: one engine per URL, so that the pages, the
    routes and the warm-up share its caches (the version-token caches of services.store.versions
    are kept per engine) and its connection pool."""
    with _OPENING:  # the warm-up and the first request may ask at once
        held = _STORES.get(settings.database_url)
        if held is None:
            held = _STORES[settings.database_url] = open_store(settings)
        return held


def default_store() -> Store:
    return store_for(Settings.from_env())


def route_prefix(base_path: str) -> str:
    """The path the routes live under for Streamlit's server.baseUrlPath: "" or "/<path>"."""
    path = base_path.strip("/")
    return f"/{path}" if path else ""
