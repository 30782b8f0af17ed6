"""Wall screens: an account of its own per named screen (role `wall_screen`: it may only look at
the 指挥大屏 of its area) and a long-lived screen session a county admin issues, so that the screen
comes back by itself after a power cut or a reload.  Issuing gives a one-time link (valid for a
day) that the screen's browser opens once to get its cookie; issuing again ends the screen's
earlier session; revoking ends it at the screen's next refresh.  All of it is on the record, and
so is every time the screen's browser comes back with its cookie."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import func, select

from services.access.actor import SCREEN_ROLE, Actor
from services.access.audit import Who, add_entry, require_area, require_permission
from services.access.sessions import add_session, end_user_sessions, screen_user, set_areas
from services.access.sign_in import USERNAME
from services.errors import InvalidArgumentError, UnknownAreaError, UnknownItemError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, SignInSession, User, UserArea

SCREEN_DAYS = 180  # how long a screen session lasts unless revoked
SCREEN_LINK_TTL = dt.timedelta(days=1)  # time to carry the one-time link to the wall
SCREEN_PATH = "/?view=screen"


@dataclasses.dataclass(frozen=True)
class IssuedScreen:
    name: str
    area_code: str
    handover: str  # the one-time token of the link (`/auth/session?token=…`)
    expires_at: dt.datetime
    link_until: dt.datetime


def issue_screen_session(
    session_factory: SessionFactory,
    *,
    actor: Actor,
    name: str,
    area_code: str,
    now: dt.datetime,
    days: int = SCREEN_DAYS,
) -> IssuedScreen:
    """A new session for the screen `name` showing `area_code` (the screen's account is made on
    first use); the screen's earlier sessions end.  Only a county admin may; raises
    InvalidArgumentError for a bad name or a name a person already uses, UnknownAreaError."""
    require_permission(session_factory, actor, "manage_screens", now, name)
    name = name.strip().lower()
    if not USERNAME.match(name):
        raise InvalidArgumentError("大屏名称须以小写字母开头，由 2–32 位小写字母、数字、_ . - 组成")
    if not 1 <= days <= 3660:
        raise InvalidArgumentError("有效天数须在 1 到 3660 之间")
    require_area(session_factory, actor, area_code, now)
    with session_factory.begin() as session:
        if session.get(Area, (actor.county_code, area_code)) is None:
            raise UnknownAreaError(area_code)
        user = session.get(User, name)
        if user is not None and screen_user(session, actor.county_code, name) is None:
            raise InvalidArgumentError(f"名称 {name} 已是人员账号，请换一个大屏名称")
        if user is None:
            session.add(
                User(
                    username=name,
                    county_code=actor.county_code,
                    display_name=f"大屏 {name}"[:32],
                    role=SCREEN_ROLE,
                    password_hash=None,  # a screen never signs in with a password
                    disabled=False,
                )
            )
            session.flush()
        else:
            user.disabled = False
            end_user_sessions(session, county_code=actor.county_code, username=name, reason="replaced", now=now)
        set_areas(session, actor.county_code, name, (area_code,))
        expires = now + dt.timedelta(days=days)
        opened = add_session(
            session,
            county_code=actor.county_code,
            username=name,
            kind="screen",
            now=now,
            expires_at=expires,
            handover_ttl=SCREEN_LINK_TTL,
        )
        add_entry(
            session, Who.of(actor), "screen_session_add", now, name, f"区域 {area_code}，有效至 {expires:%Y-%m-%d}"
        )
    return IssuedScreen(name, area_code, opened.handover, expires, now + SCREEN_LINK_TTL)


def revoke_screen_session(session_factory: SessionFactory, *, actor: Actor, name: str, now: dt.datetime) -> int:
    """Ends the screen's sessions (it shows the sign-in form at its next refresh); the number
    ended.  Raises UnknownItemError for a name that is not a screen."""
    require_permission(session_factory, actor, "manage_screens", now, name)
    name = name.strip().lower()
    with session_factory.begin() as session:
        if screen_user(session, actor.county_code, name) is None:
            raise UnknownItemError("大屏", name)
        ended = end_user_sessions(session, county_code=actor.county_code, username=name, reason="revoked", now=now)
        add_entry(session, Who.of(actor), "screen_session_revoke", now, name, f"结束 {ended} 个会话")
    return ended


def list_screens(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> pd.DataFrame:
    """name, area_code, live (sessions in force), last_seen_at, expires_at of the county's screens."""
    require_permission(session_factory, actor, "manage_screens", now, "大屏")
    live = (
        select(
            SignInSession.username,
            func.count().label("live"),
            func.max(SignInSession.last_seen_at).label("last_seen_at"),
            func.max(SignInSession.expires_at).label("expires_at"),
        )
        .where(
            SignInSession.county_code == actor.county_code,
            SignInSession.ended_at.is_(None),
            SignInSession.expires_at > now,
        )
        .group_by(SignInSession.username)
        .subquery()
    )
    statement = (
        select(
            User.username.label("name"),
            func.min(UserArea.area_code).label("area_code"),
            func.coalesce(func.max(live.c.live), 0).label("live"),
            func.max(live.c.last_seen_at).label("last_seen_at"),
            func.max(live.c.expires_at).label("expires_at"),
        )
        .join(UserArea, (UserArea.username == User.username) & (UserArea.county_code == User.county_code))
        .outerjoin(live, live.c.username == User.username)
        .where(User.county_code == actor.county_code, User.role == SCREEN_ROLE)
        .group_by(User.username)
        .order_by(User.username)
    )
    with session_factory() as session:
        screens = query_frame(session, statement)
    return screens.assign(live=screens["live"].astype(int))
