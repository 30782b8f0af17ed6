"""Opening the store: engine, schema upgrade, and the demo county when the store is empty."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Engine, func, select

from services.access.passwords import hash_password
from services.cli.demo import generate_demo
from services.cli.demo.load import load_demo
from services.cli.demo.people import DEMO_PASSWORD
from services.mapping.areas import county_is_synthetic
from services.settings import Settings
from services.store.engine import SessionFactory, make_engine, make_session_factory
from services.store.migrate import upgrade_schema
from services.store.models import Area, User


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


def give_demo_users_passwords(store: Store, county_code: str) -> int:
    """A demo county made before sign-in existed has users with no password: they get the demo
    password, so that `make run` keeps opening.  Only a wholly synthetic county qualifies — real
    users get theirs from `user passwd`."""
    if not county_is_synthetic(store.session_factory, county_code):
        return 0
    with store.session_factory.begin() as session:
        users = session.scalars(select(User).where(User.county_code == county_code, User.password_hash.is_(None))).all()
        password_hash = hash_password(DEMO_PASSWORD) if users else None
        for user in users:
            user.password_hash = password_hash
        return len(users)
