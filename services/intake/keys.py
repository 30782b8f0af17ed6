"""Keys of the intake API (`python -m services.cli intake-key …`, 管理 › 接入管理): one per system
that posts cases (a residents' app, the 12345 hotline, a department's system), named, with the
channel its cases carry.

A key is 32 random bytes (`secrets.token_urlsafe`), shown once when it is made; only its SHA-256
is stored.  A fast hash is enough here and argon2 would be wrong: argon2 slows down guessing of
passwords people chose, while a 256-bit random key cannot be guessed however fast the hash, and
every POST checks its key (argon2's ~130 ms per check would cap the API at a few requests/s)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import secrets

import pandas as pd
from sqlalchemy import func, select

from services.access.actor import Actor
from services.access.audit import Who, add_entry, require_permission
from services.domain import CHANNEL_NAMES
from services.errors import InvalidArgumentError, PermissionDeniedError, StoreConflictError, UnknownItemError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import IntakeKey, IntakeRequest

KEY_CHANNELS = ("app", "hotline", "department")  # what a key may post as (services.domain.CHANNELS)
KEY_NAME = re.compile(r"^[\w.-]{2,24}$")
KEY_PREFIX = "mq_"
KEY_BYTES = 32
SOURCE_PREFIX = "key:"  # intake_requests.source of a request posted under a key


@dataclasses.dataclass(frozen=True)
class KeyHolder:
    """The system a valid key belongs to."""

    county_code: str
    name: str
    channel: str

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}{self.name}"

    @property
    def who(self) -> Who:
        """How its requests appear on the audit log."""
        return Who(self.county_code, f"intake:{self.name}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_intake_key(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime, name: str, channel: str) -> str:
    """A new key named `name` posting as `channel`; returns the key itself (shown once, never stored)."""
    require_permission(session_factory, actor, "manage_intake", now, name)
    name = name.strip()
    if not KEY_NAME.match(name):
        raise InvalidArgumentError("密钥名称须为 2–24 位字母、数字、汉字或 _ . -")
    if channel not in KEY_CHANNELS:
        raise InvalidArgumentError(f"渠道须为：{'、'.join(KEY_CHANNELS)}")
    key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    try:
        with session_factory.begin() as session:
            if session.get(IntakeKey, (actor.county_code, name)) is not None:
                raise InvalidArgumentError(f"密钥名称 {name} 已存在（吊销的名称也不再使用，以免记录混淆）")
            session.add(
                IntakeKey(
                    county_code=actor.county_code,
                    name=name,
                    channel=channel,
                    key_hash=hash_key(key),
                    created_at=now,
                    created_by=actor.username,
                )
            )
            add_entry(session, Who.of(actor), "intake_key_add", now, name, f"渠道 {channel}")
    except StoreConflictError:  # two admins adding the same name at once
        raise InvalidArgumentError(f"密钥名称 {name} 已存在") from None
    return key


def revoke_intake_key(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime, name: str) -> None:
    """From now on the key is refused (403); its requests and their cases stay."""
    require_permission(session_factory, actor, "manage_intake", now, name)
    with session_factory.begin() as session:
        key = session.get(IntakeKey, (actor.county_code, name.strip()))
        if key is None:
            raise UnknownItemError("接入密钥", name)
        if key.revoked_at is not None:
            raise InvalidArgumentError(f"密钥 {name} 已于 {key.revoked_at:%Y-%m-%d %H:%M} 吊销")
        key.revoked_at = now
        add_entry(session, Who.of(actor), "intake_key_revoke", now, key.name)


def list_intake_keys(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> pd.DataFrame:
    """The county's keys: name, channel, channel_name, created_at, created_by, revoked_at, active,
    requests (how many came in under it) and last_request_at."""
    require_permission(session_factory, actor, "manage_intake", now, "接入密钥")
    counts = (
        select(
            IntakeRequest.source,
            func.count().label("requests"),
            func.max(IntakeRequest.received_at).label("last_request_at"),
        )
        .where(IntakeRequest.county_code == actor.county_code)
        .group_by(IntakeRequest.source)
        .subquery()
    )
    statement = (
        select(
            IntakeKey.name,
            IntakeKey.channel,
            IntakeKey.created_at,
            IntakeKey.created_by,
            IntakeKey.revoked_at,
            func.coalesce(counts.c.requests, 0).label("requests"),
            counts.c.last_request_at,
        )
        .outerjoin(counts, counts.c.source == SOURCE_PREFIX + IntakeKey.name)
        .where(IntakeKey.county_code == actor.county_code)
        .order_by(IntakeKey.name)
    )
    with session_factory() as session:
        keys = query_frame(session, statement)
    keys.insert(2, "channel_name", keys["channel"].map(CHANNEL_NAMES))
    keys.insert(6, "active", keys["revoked_at"].isna())
    return keys


def authenticate_key(session_factory: SessionFactory, *, county_code: str, key: str) -> KeyHolder:
    """The holder of a valid, unrevoked key of the county; PermissionDeniedError otherwise (the
    same message for an unknown and a revoked key)."""
    if not key or len(key) > 128:
        raise PermissionDeniedError("api_key 无效或已吊销")
    with session_factory() as session:
        row = session.execute(
            select(IntakeKey.name, IntakeKey.channel).where(
                IntakeKey.county_code == county_code,
                IntakeKey.key_hash == hash_key(key),
                IntakeKey.revoked_at.is_(None),
            )
        ).one_or_none()
    if row is None:
        raise PermissionDeniedError("api_key 无效或已吊销")
    return KeyHolder(county_code, row.name, row.channel)
