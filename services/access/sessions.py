"""Sessions that survive a reload: the server-side row behind a browser's HttpOnly cookie.

A sign-in adds a row (`sign_in_sessions`) and hands the page a one-time token, valid for a minute;
the browser exchanges it at `/auth/session` (web/sessions.py) for its cookie, whose random value
(32 bytes) is stored only as its SHA-256.  Every page run resumes the session: by the row's key
in the tab that signed in, by the cookie in a tab opened later (a reload, a restart of the kiosk
browser).  A resume re-reads the user and writes `last_seen_at` at most once a minute, so most
runs only read.  Sign-out, disabling the user, idle time, the lifetime and revocation end the row
(`ended_at`, `end_reason`), once: of several simultaneous ends exactly one wins and is audited.
A cookie that names no row, or an ended one, is refused on the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid

import pandas as pd
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from services.access.actor import SCREEN_ROLE, Actor
from services.access.audit import Who, add_entry, record
from services.errors import SessionExpiredError, UnknownItemError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import SignInSession, User, UserArea

COOKIE_NAME = "minqing_session"
TOKEN_BYTES = 32
HANDOVER_TTL = dt.timedelta(minutes=1)  # a sign-in's page fetches its cookie at once
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often
KINDS = {"password": "密码", "sso": "统一身份认证", "screen": "大屏"}
END_REASONS = {
    "signed_out": "已退出登录",
    "disabled": "账号已停用",
    "idle": "空闲超时",
    "lifetime": "超过有效期",
    "ended": "本人结束",
    "revoked": "已撤销",
    "replaced": "已重新发放",
    "rotated": "同一浏览器重新登录",
}
EXPIRED = "登录已超时，请重新登录"
DISABLED = "该账号已停用，请联系县级管理员"
ENDED = "登录已失效，请重新登录"


@dataclasses.dataclass(frozen=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=30)
    lifetime: dt.timedelta = dt.timedelta(hours=12)
    free_failures: int = 5  # failures in a row before attempts must wait
    first_wait: dt.timedelta = dt.timedelta(seconds=30)
    longest_wait: dt.timedelta = dt.timedelta(minutes=15)


@dataclasses.dataclass(frozen=True)
class OpenedSession:
    session_key: str
    handover: str  # the one-time token the browser exchanges for its cookie
    expires_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class ResumedSession:
    actor: Actor
    session_key: str
    kind: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    cookie_pending: bool  # the one-time token is still waiting to be exchanged for the cookie


@dataclasses.dataclass(frozen=True)
class Cookie:
    value: str
    expires_at: dt.datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_session(
    session: Session,
    *,
    county_code: str,
    username: str,
    kind: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    handover_ttl: dt.timedelta = HANDOVER_TTL,
) -> OpenedSession:
    """A new session row inside the caller's transaction (a sign-in's, so that it lands with its
    audit entry).  A fresh key and token every time: signing in never reuses an earlier id."""
    handover = secrets.token_urlsafe(TOKEN_BYTES)
    key = uuid.uuid4().hex
    session.add(
        SignInSession(
            county_code=county_code,
            session_key=key,
            username=username,
            kind=kind,
            handover_hash=hash_token(handover),
            handover_until=now + handover_ttl,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    return OpenedSession(key, handover, expires_at)


def exchange_handover(
    session_factory: SessionFactory, *, county_code: str, handover: str, now: dt.datetime, user_agent: str = ""
) -> Cookie:
    """The cookie for a one-time token (used once, within its time).  Raises SessionExpiredError,
    on the record, for a token that is unknown, used, expired or whose session has ended."""
    value = secrets.token_urlsafe(TOKEN_BYTES)
    with session_factory.begin() as session:
        # One UPDATE: of two requests with the same token, only one finds it still there.
        row = session.execute(
            update(SignInSession)
            .where(
                SignInSession.county_code == county_code,
                SignInSession.handover_hash == hash_token(handover),
                SignInSession.handover_until >= now,
                SignInSession.ended_at.is_(None),
            )
            .values(token_hash=hash_token(value), handover_hash=None, handover_until=None, user_agent=user_agent[:256])
            .returning(SignInSession.username, SignInSession.kind, SignInSession.expires_at)
        ).one_or_none()
        if row is not None and row.kind == "screen":
            add_entry(
                session, Who(county_code, row.username, SCREEN_ROLE), "session_resume", now, detail="大屏首次打开"
            )
    if row is None:
        record(
            session_factory,
            Who(county_code, "（未知）"),
            "session_refused",
            now,
            detail="一次性登录链接无效、已用过或已过期",
        )
        raise SessionExpiredError(ENDED)
    return Cookie(value, row.expires_at)


def resume_session_row(
    session_factory: SessionFactory,
    *,
    county_code: str,
    now: dt.datetime,
    policy: SessionPolicy,
    session_key: str | None = None,
    cookie: str | None = None,
) -> ResumedSession:
    """The session named by its key (the tab that signed in) or by the browser's cookie, still in
    force, touched at `now`.  Raises SessionExpiredError when it has ended (and ends it when it
    has just run out), StoreUnavailableError when it cannot be read.  A cookie that names no live
    session is refused on the record; a session resumed from its cookie (a reload) is recorded."""
    if (session_key is None) == (cookie is None):
        raise ValueError("name the session by its key or by its cookie")
    where = (
        SignInSession.session_key == session_key if cookie is None else SignInSession.token_hash == hash_token(cookie)
    )
    with session_factory() as session:  # two queries, as many as the user and their areas alone
        found = session.execute(
            select(SignInSession, User)
            .join(User, User.username == SignInSession.username)
            .where(SignInSession.county_code == county_code, where)
        ).first()
        row = None if found is None else found[0]
        actor = None if found is None else _actor_of(session, county_code, found[1])
    if row is None or row.ended_at is not None:
        if cookie is not None:
            detail = "会话凭证无效" if row is None else f"会话已结束（{END_REASONS.get(row.end_reason or '', '')}）"
            record(
                session_factory,
                Who(county_code, row.username if row else "（未知）"),
                "session_refused",
                now,
                detail=detail,
            )
        raise SessionExpiredError(DISABLED if row is not None and row.end_reason == "disabled" else ENDED)
    who = Who(county_code, row.username, actor.role if actor else None)
    if actor is None:
        _end(session_factory, county_code, row.session_key, "disabled", now)
        raise SessionExpiredError(DISABLED)
    if row.kind == "screen":
        ran_out = "lifetime" if now > row.expires_at else None
    elif now - row.created_at > policy.lifetime or now > row.expires_at:
        ran_out = "lifetime"
    else:
        ran_out = "idle" if now - row.last_seen_at > policy.idle else None
    if ran_out is not None:
        _end(session_factory, county_code, row.session_key, ran_out, now, who, "session_expired")
        raise SessionExpiredError(EXPIRED)
    last_seen = row.last_seen_at
    if now - row.last_seen_at >= TOUCH_EVERY or cookie is not None:
        with session_factory.begin() as session:
            touched = session.execute(
                update(SignInSession)
                .where(
                    SignInSession.county_code == county_code,
                    SignInSession.session_key == row.session_key,
                    SignInSession.ended_at.is_(None),
                )
                .values(last_seen_at=now)
            )
            if cookie is not None and _count(touched):
                add_entry(session, who, "session_resume", now, detail=f"{KINDS.get(row.kind, row.kind)}，重新打开页面")
        if not _count(touched):  # ended between the read and this write
            raise SessionExpiredError(ENDED)
        last_seen = now
    pending = row.token_hash is None and row.handover_until is not None and now <= row.handover_until
    return ResumedSession(actor, row.session_key, row.kind, row.created_at, last_seen, pending)


def end_session(
    session_factory: SessionFactory,
    *,
    county_code: str,
    now: dt.datetime,
    reason: str,
    session_key: str | None = None,
    cookie: str | None = None,
    who: Who | None = None,
    action: str | None = None,
) -> bool:
    """Ends the session named by its key or cookie; True for the one call that ended it (its
    audit entry `action`, if any, lands with the end), False when it had ended already."""
    if cookie is not None:
        with session_factory() as session:
            session_key = session.scalar(
                select(SignInSession.session_key).where(
                    SignInSession.county_code == county_code, SignInSession.token_hash == hash_token(cookie)
                )
            )
        if session_key is None:
            return False
    if session_key is None:
        raise ValueError("name the session by its key or by its cookie")
    return _end(session_factory, county_code, session_key, reason, now, who, action)


def sign_out_by_cookie(session_factory: SessionFactory, *, county_code: str, cookie: str, now: dt.datetime) -> bool:
    """Sign-out by the browser's cookie alone (`/auth/sign-out`); on the record when it ended a
    live session."""
    with session_factory() as session:
        row = session.execute(
            select(SignInSession.session_key, User.username, User.role)
            .join(User, User.username == SignInSession.username)
            .where(SignInSession.county_code == county_code, SignInSession.token_hash == hash_token(cookie))
        ).one_or_none()
    if row is None:
        return False
    who = Who(county_code, row.username, row.role)
    return _end(session_factory, county_code, row.session_key, "signed_out", now, who, "sign_out")


def _end(
    session_factory: SessionFactory,
    county_code: str,
    session_key: str,
    reason: str,
    now: dt.datetime,
    who: Who | None = None,
    action: str | None = None,
) -> bool:
    with session_factory.begin() as session:
        ended = _count(
            session.execute(
                update(SignInSession)
                .where(
                    SignInSession.county_code == county_code,
                    SignInSession.session_key == session_key,
                    SignInSession.ended_at.is_(None),
                )
                .values(ended_at=now, end_reason=reason)
            )
        )
        if ended and who is not None and action is not None:
            add_entry(session, who, action, now, detail=END_REASONS[reason])
    return bool(ended)


def end_user_sessions(session: Session, *, county_code: str, username: str, reason: str, now: dt.datetime) -> int:
    """Ends every live session of a user inside the caller's transaction (disabling the user,
    re-issuing or revoking a screen); the number ended."""
    return _count(
        session.execute(
            update(SignInSession)
            .where(
                SignInSession.county_code == county_code,
                SignInSession.username == username,
                SignInSession.ended_at.is_(None),
            )
            .values(ended_at=now, end_reason=reason)
        )
    )


def list_own_sessions(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> pd.DataFrame:
    """The actor's sessions still in force at `now`, newest first: session_key, kind, kind_name,
    created_at, last_seen_at, expires_at, user_agent (a browser that never fetched its cookie
    shows an empty user agent)."""
    statement = (
        select(
            SignInSession.session_key,
            SignInSession.kind,
            SignInSession.created_at,
            SignInSession.last_seen_at,
            SignInSession.expires_at,
            SignInSession.user_agent,
        )
        .where(
            SignInSession.county_code == actor.county_code,
            SignInSession.username == actor.username,
            SignInSession.ended_at.is_(None),
            SignInSession.expires_at > now,
        )
        .order_by(SignInSession.created_at.desc())
    )
    with session_factory() as session:
        sessions = query_frame(session, statement)
    for column in ("created_at", "last_seen_at", "expires_at"):
        sessions[column] = pd.to_datetime(sessions[column], utc=True)
    sessions.insert(2, "kind_name", [KINDS.get(k, k) for k in sessions["kind"]])
    return sessions.assign(user_agent=sessions["user_agent"].fillna(""))


def end_own_session(session_factory: SessionFactory, *, actor: Actor, session_key: str, now: dt.datetime) -> bool:
    """Ends one of the actor's own sessions (another browser they left signed in); on the record.
    Raises UnknownItemError for a session that is not theirs."""
    with session_factory() as session:
        owner = session.scalar(
            select(SignInSession.username).where(
                SignInSession.county_code == actor.county_code, SignInSession.session_key == session_key
            )
        )
    if owner != actor.username:
        raise UnknownItemError("会话", session_key[:8])
    return _end(session_factory, actor.county_code, session_key, "ended", now, Who.of(actor), "session_end")


def load_actor(session: Session, county_code: str, username: str) -> Actor | None:
    """The enabled user `username` of the county as an Actor, or None."""
    return _actor_of(session, county_code, session.get(User, username))


def _actor_of(session: Session, county_code: str, user: User | None) -> Actor | None:
    if user is None or user.disabled or user.county_code != county_code:
        return None
    username = user.username
    areas = session.scalars(
        select(UserArea.area_code)
        .where(UserArea.county_code == county_code, UserArea.username == username)
        .order_by(UserArea.area_code)
    ).all()
    if not areas:
        return None
    return Actor(user.username, user.display_name, user.role, county_code, tuple(areas))


def screen_user(session: Session, county_code: str, name: str) -> User | None:
    user = session.get(User, name)
    return user if user is not None and user.county_code == county_code and user.role == SCREEN_ROLE else None


def set_areas(session: Session, county_code: str, username: str, area_codes: tuple[str, ...]) -> None:
    for held in session.scalars(
        select(UserArea).where(UserArea.county_code == county_code, UserArea.username == username)
    ):
        session.delete(held)
    session.flush()
    session.add_all(UserArea(county_code=county_code, username=username, area_code=code) for code in area_codes)


def _count(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0
