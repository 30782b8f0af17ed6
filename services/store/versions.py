"""What a process computed from a topic's rows, kept until the topic's version token moves.

The tokens live in `data_versions` and database triggers move them on every write (migrations
0017 and 0021), so a value cached here is right in every process of a deployment, whoever wrote:
the check is one primary-key read.  The token is read before the value is computed, so a write
that commits in between makes the stored value newer than its token, never older: the next read
recomputes."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from services.store.models import DataVersion

HOUSEHOLDS = "households"  # households and their tags (the triggers of migration 0017)
AREAS = "areas"  # the areas: grids, villages, townships, the county (migration 0021)

T = TypeVar("T")


def read_version(session: Session | Connection, county_code: str, topic: str) -> int:
    """The topic's token in the county; 0 before its first write."""
    version = session.scalar(
        select(DataVersion.version).where(DataVersion.county_code == county_code, DataVersion.topic == topic)
    )
    return int(version or 0)


class VersionedCache(Generic[T]):
    """Values per (county, key) computed from `topic`'s rows, at most `size` per database.  Keyed by
    the engine too (held weakly), so two databases with the same county codes never share a value."""

    def __init__(self, topic: str, size: int = 64) -> None:
        self.topic = topic
        self.size = size
        self._lock = threading.Lock()
        self._by_engine: weakref.WeakKeyDictionary[Engine, OrderedDict[Hashable, tuple[int, T]]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, session: Session | Connection, county_code: str, key: Hashable, compute: Callable[[], T]) -> T:
        bind = session.get_bind() if isinstance(session, Session) else session
        engine = bind if isinstance(bind, Engine) else bind.engine
        version = read_version(session, county_code, self.topic)
        entry = (county_code, key)
        with self._lock:
            values = self._by_engine.setdefault(engine, OrderedDict())
            held = values.get(entry)
            if held is not None and held[0] == version:
                values.move_to_end(entry)
                return held[1]
        value = compute()
        with self._lock:
            values[entry] = (version, value)
            values.move_to_end(entry)
            while len(values) > self.size:
                values.popitem(last=False)
        return value
