"""Signing in and staying signed in.

A sign-in checks the password (argon2id) and, after a run of failures on one username, makes the
next attempt wait, doubling each time (the count comes from the audit log, so it works the same for
names that do not exist and survives a restart).  It opens a server-side session
(`services.access.sessions`): the row behind the browser's cookie, so that a reload keeps the user
signed in.  Each page run resumes it, which re-reads the user (a disabled account is out at once)
and ends it when idle too long or past its lifetime.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.access.actor import SCREEN_ROLE, Actor
from services.access.audit import Who, add_entry, record
from services.access.passwords import hash_password, needs_rehash, verify_password
from services.access.sessions import (
    SessionPolicy,
    add_session,
    end_session,
    load_actor,
    resume_session_row,
)
from services.errors import SessionExpiredError, SignInError
from services.store.engine import SessionFactory
from services.store.models import AuditEntry, User

__all__ = ["SessionPolicy", "SignedIn", "load_actor", "resume_session", "sign_in", "sign_in_single_sign_on", "sign_out"]

USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
WRONG_NAME_OR_PASSWORD = "用户名或密码错误"


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """What a tab keeps between page runs (in Streamlit's server-side session state): its session
    row (`session_key`) and, until the browser has fetched its cookie, the one-time `handover`."""

    county_code: str
    username: str
    started_at: dt.datetime
    last_seen_at: dt.datetime
    method: str = "password"  # password | sso | screen
    session_key: str = ""
    handover: str = ""


def sign_in(
    session_factory: SessionFactory,
    *,
    county_code: str,
    username: str,
    password: str,
    now: dt.datetime,
    policy: SessionPolicy,
) -> SignedIn:
    """Checks the password; raises SignInError with a message that never tells which of name and
    password was wrong.  Every outcome is audited."""
    name = username.strip().lower()
    who = Who(county_code, name[:32] or "（空）")
    wait = _wait_after_failures(session_factory, county_code, name, now, policy)
    if wait > dt.timedelta(0):
        record(session_factory, who, "sign_in_throttled", now, detail=f"需等待 {wait.total_seconds():.0f} 秒")
        raise SignInError(_throttled(wait))
    with session_factory() as session:
        known = session.get(User, name) if USERNAME.match(name) else None
    # Checked outside any write transaction: argon2 is slow on purpose, and the lock below is short.
    matches = verify_password(known.password_hash if known else None, password)
    with session_factory.begin() as session:
        # Simultaneous attempts on one name are counted one after another (SQLite's write
        # transactions already are), so that a burst cannot pass as the same free failure.
        _lock_username(session, county_code, name)
        wait = _wait_in(session, county_code, name, now, policy)
        user = session.get(User, name) if USERNAME.match(name) else None
        if wait > dt.timedelta(0):
            add_entry(session, who, "sign_in_throttled", now, detail=f"需等待 {wait.total_seconds():.0f} 秒")
            error = SignInError(_throttled(wait))
        elif (
            user is None
            or user.county_code != county_code
            or not matches
            or known is None
            or user.password_hash != known.password_hash  # changed since it was checked
        ):
            add_entry(session, who, "sign_in_failed", now, detail="用户名或密码错误")
            error = SignInError(WRONG_NAME_OR_PASSWORD)
        elif user.disabled:
            add_entry(session, Who(county_code, name, user.role), "sign_in_failed", now, detail="账号已停用")
            error = SignInError("该账号已停用，请联系县级管理员")
        else:
            if needs_rehash(user.password_hash or ""):
                user.password_hash = hash_password(password)
            add_entry(session, Who(county_code, name, user.role), "sign_in", now, detail="密码")
            return _open(session, county_code, name, "password", now, policy)
    raise error


def _throttled(wait: dt.timedelta) -> str:
    return f"登录失败次数过多，请 {wait.total_seconds():.0f} 秒后再试"


def _lock_username(session: Session, county_code: str, username: str) -> None:
    """Until the transaction ends, other sign-ins on this name wait (PostgreSQL advisory lock; a
    SQLite write transaction holds the whole database already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"{county_code}:{username}", 0))))


def _open(
    session: Session, county_code: str, username: str, method: str, now: dt.datetime, policy: SessionPolicy
) -> SignedIn:
    opened = add_session(
        session, county_code=county_code, username=username, kind=method, now=now, expires_at=now + policy.lifetime
    )
    return SignedIn(county_code, username, now, now, method, opened.session_key, opened.handover)


def start_session(
    session_factory: SessionFactory, *, county_code: str, username: str, now: dt.datetime, policy: SessionPolicy
) -> SignedIn:
    """A session for a user whose sign-in happened elsewhere (tests and benchmarks sign in this
    way without paying for argon2)."""
    with session_factory.begin() as session:
        return _open(session, county_code, username, "password", now, policy)


def sign_in_single_sign_on(
    session_factory: SessionFactory,
    *,
    county_code: str,
    username: str,
    now: dt.datetime,
    policy: SessionPolicy | None = None,
) -> SignedIn:
    """A user the identity provider vouches for (st.login); they must also be a user here (a
    person: a wall screen's account signs in only by its screen session)."""
    name = username.strip().lower()
    with session_factory.begin() as session:
        user = session.get(User, name) if USERNAME.match(name) else None
        if user is None or user.county_code != county_code or user.disabled or user.role == SCREEN_ROLE:
            add_entry(
                session, Who(county_code, name[:32]), "sign_in_failed", now, detail="统一身份认证：本系统无此可用账号"
            )
            error = SignInError(f"统一身份认证账号 {name[:32]} 未在本系统开通或已停用，请联系县级管理员")
        else:
            add_entry(session, Who(county_code, name, user.role), "sign_in", now, detail="统一身份认证")
            return _open(session, county_code, name, "sso", now, policy or SessionPolicy())
    raise error


def resume_session(
    session_factory: SessionFactory, *, signed_in: SignedIn, now: dt.datetime, policy: SessionPolicy
) -> tuple[Actor, SignedIn]:
    """The acting user of a tab's session still in force, and the session touched at `now`.
    Raises SessionExpiredError when it has ended, StoreUnavailableError when it cannot be read.
    A session without a row (`session_key` empty) lives in this tab alone and is checked here."""
    if signed_in.session_key:
        resumed = resume_session_row(
            session_factory,
            county_code=signed_in.county_code,
            session_key=signed_in.session_key,
            now=now,
            policy=policy,
        )
        return resumed.actor, dataclasses.replace(
            signed_in,
            started_at=resumed.created_at,
            last_seen_at=resumed.last_seen_at,
            method=resumed.kind,
            handover=signed_in.handover if resumed.cookie_pending else "",
        )
    who = Who(signed_in.county_code, signed_in.username)
    if now - signed_in.last_seen_at > policy.idle or now - signed_in.started_at > policy.lifetime:
        record(session_factory, who, "session_expired", now)
        raise SessionExpiredError("登录已超时，请重新登录")
    with session_factory() as session:  # StoreUnavailableError when it cannot be read
        actor = load_actor(session, signed_in.county_code, signed_in.username)
    if actor is None:
        raise SessionExpiredError("该账号已停用，请联系县级管理员")
    return actor, dataclasses.replace(signed_in, last_seen_at=now)


def resume_from_cookie(
    session_factory: SessionFactory, *, county_code: str, cookie: str, now: dt.datetime, policy: SessionPolicy
) -> tuple[Actor, SignedIn]:
    """The session a browser's cookie names, for a tab opened after the sign-in (a reload)."""
    resumed = resume_session_row(session_factory, county_code=county_code, cookie=cookie, now=now, policy=policy)
    signed_in = SignedIn(
        county_code,
        resumed.actor.username,
        resumed.created_at,
        resumed.last_seen_at,
        resumed.kind,
        resumed.session_key,
    )
    return resumed.actor, signed_in


def sign_out(
    session_factory: SessionFactory, *, actor: Actor, now: dt.datetime, signed_in: SignedIn | None = None
) -> None:
    """Ends the tab's session (every tab and reload of that browser with it); on the record."""
    if signed_in is not None and signed_in.session_key:
        ended = end_session(
            session_factory,
            county_code=actor.county_code,
            session_key=signed_in.session_key,
            reason="signed_out",
            now=now,
            who=Who.of(actor),
            action="sign_out",
        )
        if ended:
            return
    record(session_factory, Who.of(actor), "sign_out", now)


def _wait_after_failures(
    session_factory: SessionFactory, county_code: str, username: str, now: dt.datetime, policy: SessionPolicy
) -> dt.timedelta:
    with session_factory() as session:
        return _wait_in(session, county_code, username, now, policy)


def _wait_in(
    session: Session, county_code: str, username: str, now: dt.datetime, policy: SessionPolicy
) -> dt.timedelta:
    """How long `username` must still wait: none for the first `free_failures` failures in a
    row (since the last success, within `longest_wait`), then `first_wait`, doubling."""
    since = now - policy.longest_wait
    last_success = session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.county_code == county_code,
            AuditEntry.username == username[:32],
            AuditEntry.action == "sign_in",
            AuditEntry.at >= since,
        )
    )
    failures, last_failure = session.execute(
        select(func.count(), func.max(AuditEntry.at)).where(
            AuditEntry.county_code == county_code,
            AuditEntry.username == username[:32],
            AuditEntry.action == "sign_in_failed",
            AuditEntry.at >= (last_success or since),
        )
    ).one()
    if failures < policy.free_failures:
        return dt.timedelta(0)
    wait = min(policy.first_wait * 2 ** (failures - policy.free_failures), policy.longest_wait)
    return max(last_failure + wait - now, dt.timedelta(0))
