"""Managing users (`services.cli user …`, county admins only): add, reset a password, disable or
enable.  Each change is checked in full before anything is written, and audited with it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.access.actor import ROLE_NAMES, USER_ROLE_AREA_LEVELS, USER_ROLE_NAMES, Actor
from services.access.audit import Who, add_entry, require_permission
from services.access.passwords import MIN_PASSWORD_LENGTH, hash_password
from services.access.sessions import end_user_sessions
from services.access.sign_in import USERNAME
from services.domain import CODE_LENGTHS
from services.errors import InvalidArgumentError, StoreConflictError, UnknownItemError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Area, User, UserArea

LEVEL_OF_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}


def add_user(
    session_factory: SessionFactory,
    *,
    actor: Actor,
    now: dt.datetime,
    username: str,
    display_name: str,
    role: str,
    area_codes: tuple[str, ...],
    password: str,
) -> None:
    require_permission(session_factory, actor, "manage_users", now, username)
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidArgumentError("用户名须以小写字母开头，由 2–32 位小写字母、数字和 _ . - 组成")
    if not display_name.strip() or len(display_name.strip()) > 32:
        raise InvalidArgumentError("请填写姓名（最多 32 个字）")
    if role not in USER_ROLE_NAMES:
        raise InvalidArgumentError(f"角色须为：{'、'.join(USER_ROLE_NAMES)}")
    _check_password(password)
    codes = tuple(dict.fromkeys(code.strip() for code in area_codes if code.strip()))
    if not codes:
        raise InvalidArgumentError("请指定该用户负责的区域编码")
    if role == "township_leader" and len(codes) != 1:
        raise InvalidArgumentError("乡镇领导只负责一个乡镇")
    password_hash = hash_password(password)  # slow on purpose: not while holding the write lock
    try:
        with session_factory.begin() as session:
            if session.get(User, name) is not None:
                raise InvalidArgumentError(f"用户名 {name} 已存在")
            known = set(
                session.scalars(select(Area.code).where(Area.county_code == actor.county_code, Area.code.in_(codes)))
            )
            for code in codes:
                if code not in known:
                    raise InvalidArgumentError(f"区域编码 {code} 不在本县")
                if LEVEL_OF_LENGTH[len(code)] not in USER_ROLE_AREA_LEVELS[role]:
                    raise InvalidArgumentError(f"{USER_ROLE_NAMES[role]}不能负责区域 {code}（层级不符）")
            session.add(
                User(
                    username=name,
                    county_code=actor.county_code,
                    display_name=display_name.strip(),
                    role=role,
                    password_hash=password_hash,
                    disabled=False,
                )
            )
            session.flush()
            session.add_all(UserArea(county_code=actor.county_code, username=name, area_code=code) for code in codes)
            add_entry(
                session, Who.of(actor), "user_add", now, name, f"{USER_ROLE_NAMES[role]}，区域 {'、'.join(codes)}"
            )
    except StoreConflictError as error:  # another admin added the same name at the same moment
        raise InvalidArgumentError(f"用户名 {name} 已存在") from error


def set_password(
    session_factory: SessionFactory, *, actor: Actor, now: dt.datetime, username: str, password: str
) -> None:
    require_permission(session_factory, actor, "manage_users", now, username)
    _check_password(password)
    password_hash = hash_password(password)
    with session_factory.begin() as session:
        user = _user(session, actor, username)
        user.password_hash = password_hash
        add_entry(session, Who.of(actor), "user_password", now, user.username)


def set_disabled(
    session_factory: SessionFactory, *, actor: Actor, now: dt.datetime, username: str, disabled: bool
) -> None:
    """Disabling ends the user's sessions (a browser still open is out at its next page run)."""
    require_permission(session_factory, actor, "manage_users", now, username)
    if disabled and username.strip().lower() == actor.username:
        raise InvalidArgumentError("不能停用自己的账号")
    with session_factory.begin() as session:
        user = _user(session, actor, username)
        user.disabled = disabled
        if disabled:  # out at once, and the list of sessions says so
            end_user_sessions(
                session, county_code=actor.county_code, username=user.username, reason="disabled", now=now
            )
        add_entry(session, Who.of(actor), "user_disable" if disabled else "user_enable", now, user.username)


def list_users(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> pd.DataFrame:
    """username, display_name, role, role_name, areas, disabled of the county's users."""
    require_permission(session_factory, actor, "manage_users", now, "用户列表")
    with session_factory() as session:
        users = query_frame(
            session,
            select(User.username, User.display_name, User.role, User.disabled)
            .where(User.county_code == actor.county_code)
            .order_by(User.username),
        )
        areas = query_frame(
            session, select(UserArea.username, UserArea.area_code).where(UserArea.county_code == actor.county_code)
        )
    held = areas.groupby("username")["area_code"].agg(lambda codes: "|".join(sorted(codes)))
    return users.assign(
        role_name=[ROLE_NAMES[r] for r in users["role"]],
        areas=[held.get(u, "") for u in users["username"]],
        disabled=users["disabled"].astype(bool),
    )


def _user(session: Session, actor: Actor, username: str) -> User:
    user = session.get(User, username.strip().lower())
    if user is None or user.county_code != actor.county_code:
        raise UnknownItemError("用户", username)
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgumentError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
