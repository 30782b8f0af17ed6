"""People who act in the dashboard (until sign-in, issue 8, the user is picked from this list)."""

from __future__ import annotations

from sqlalchemy import select

from services.store.engine import SessionFactory
from services.store.models import User
from services.workflow import Actor


def list_actors(session_factory: SessionFactory, *, county_code: str) -> list[Actor]:
    with session_factory() as session:
        rows = session.execute(
            select(User.username, User.display_name).where(User.county_code == county_code).order_by(User.username)
        ).all()
    return [Actor(r.username, r.display_name) for r in rows]
