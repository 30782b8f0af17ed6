"""What the HTTP routes beside the pages share: the process's store for them (opened at the first
request, once) and the caching header of answers that must never be kept."""

from __future__ import annotations

import functools

from services.cli.bootstrap import Store, open_store
from services.settings import Settings

NO_STORE = {"Cache-Control": "no-store"}


@functools.cache
def default_store() -> Store:
    return open_store(Settings.from_env())
