"""Opening the store: engine, schema upgrade, and the demo county when the store is empty."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Engine, func, select

from services.demo import generate_demo
from services.demo.load import load_demo
from services.settings import Settings
from services.store.engine import SessionFactory, make_engine, make_session_factory
from services.store.migrate import upgrade_schema
from services.store.models import Area


@dataclasses.dataclass(frozen=True)
class Store:
    engine: Engine
    session_factory: SessionFactory


def open_store(settings: Settings) -> Store:
    """Create the engine once per process and bring the schema up to date."""
    if settings.database_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    return Store(engine=engine, session_factory=make_session_factory(engine))


def county_is_empty(store: Store, county_code: str) -> bool:
    with store.session_factory() as session:
        return not session.scalar(select(func.count()).where(Area.county_code == county_code))


def create_demo(store: Store, *, scale: str, seed: int, now: dt.datetime) -> dict[str, int]:
    return load_demo(store.engine, generate_demo(scale, seed=seed, now=now))
