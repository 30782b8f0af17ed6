"""The audit log: who signed in (or failed to), who looked at unmasked personal data, who was
refused what, and who changed users or imported files.  Entries are only ever added."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid

import pandas as pd
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from services.access.actor import USER_ROLE_NAMES, Actor
from services.errors import DomainError, InvalidArgumentError, OutOfScopeError, PermissionDeniedError, UnknownItemError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import AuditEntry

LOG = logging.getLogger(__name__)

AUDIT_ACTIONS = {
    "sign_in": "登录成功",
    "sign_in_failed": "登录失败",
    "sign_in_throttled": "登录受限（失败过多）",
    "sign_out": "退出登录",
    "session_expired": "会话过期",
    "session_resume": "重新打开页面（恢复会话）",
    "session_refused": "会话凭证被拒绝",
    "session_end": "结束本人的其他会话",
    "screen_session_add": "发放大屏会话",
    "screen_session_revoke": "撤销大屏会话",
    "unmask": "查看完整个人信息",
    "refused": "越权操作被拒绝",
    "import": "导入数据",
    "export": "导出数据",
    "user_add": "新增用户",
    "user_password": "重置密码",
    "user_disable": "停用用户",
    "user_enable": "启用用户",
    "audit_export": "导出审计日志",
    "report_issue": "签发报表",
    "report_open": "查看已签发报表",
    "report_download": "下载报表",
    "assessment_rules": "修改考核规则",
    "assessment_award": "考核加分",
    "assessment_publish": "发布月度考核",
    "miss_confirm": "确认应报未报",
    "miss_dismiss": "排除应报未报",
    "intake_key_add": "新增接入密钥",
    "intake_key_revoke": "吊销接入密钥",
    "intake_post": "接入上报",
    "intake_refused": "接入请求被拒绝",
}
MAX_SEARCH_TEXT = 64
MAX_ROWS = 10_000


@dataclasses.dataclass(frozen=True)
class Who:
    """Who an entry is about: a signed-in user, or just the name typed at a failed sign-in."""

    county_code: str
    username: str
    role: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Who:
        return cls(actor.county_code, actor.username, actor.role)


def add_entry(
    session: Session, who: Who, action: str, at: dt.datetime, target: str | None = None, detail: str | None = None
) -> None:
    """Adds an entry inside the caller's transaction: it lands exactly when the change does."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditEntry(
            county_code=who.county_code,
            entry_id=uuid.uuid4().hex,
            at=at,
            username=who.username[:32],
            role=who.role,
            action=action,
            target=None if target is None else target[:64],
            detail=detail,
        )
    )
    session.info.setdefault(_LOG_LINES, []).append((who.username, action, who.county_code, who.role))


# Each entry is also a log line (action, county, role, user — never its target or detail, which may
# name a household), written when its transaction commits: a rolled-back change logs nothing.
_LOG_LINES = "minqing_audit_log_lines"


@event.listens_for(Session, "after_commit")
def _log_landed_entries(session: Session) -> None:
    for username, action, county_code, role in session.info.pop(_LOG_LINES, ()):
        LOG.info("%s county=%s role=%s", action, county_code, role or "-", extra={"user": username})


@event.listens_for(Session, "after_rollback")
def _forget_entries(session: Session) -> None:
    session.info.pop(_LOG_LINES, None)


def record(
    session_factory: SessionFactory,
    who: Who,
    action: str,
    at: dt.datetime,
    target: str | None = None,
    detail: str | None = None,
) -> None:
    """Adds an entry in a transaction of its own (for refusals, whose own work is rolled back)."""
    with session_factory.begin() as session:
        add_entry(session, who, action, at, target, detail)


def refuse(
    session_factory: SessionFactory, actor: Actor, at: dt.datetime, target: str, error: DomainError
) -> DomainError:
    """Records that `actor` was refused `target`, and returns the error for the caller to raise."""
    record(session_factory, Who.of(actor), "refused", at, target, str(error))
    return error


def require_permission(
    session_factory: SessionFactory, actor: Actor, permission: str, at: dt.datetime, target: str = ""
) -> None:
    """Refuses, on the record, a role that may not do `permission`."""
    try:
        actor.require(permission)
    except PermissionDeniedError as error:
        raise refuse(session_factory, actor, at, target or permission, error) from None


@dataclasses.dataclass(frozen=True)
class AuditQuery:
    since: dt.datetime
    until: dt.datetime
    username: str = ""
    actions: tuple[str, ...] = ()
    text: str = ""  # found in the target or the detail, taken literally


def search_audit(session_factory: SessionFactory, *, actor: Actor, query: AuditQuery, now: dt.datetime) -> pd.DataFrame:
    """Entries of the actor's county matching `query`, newest first (at most MAX_ROWS):
    at, username, role, role_name, action, action_name, target, detail.  Only a county admin may read it."""
    require_permission(session_factory, actor, "read_audit", now, "审计日志")
    if query.since.tzinfo is None or query.until.tzinfo is None:
        raise InvalidArgumentError("时间必须带时区")
    if len(query.text) > MAX_SEARCH_TEXT or len(query.username) > 32:
        raise InvalidArgumentError(f"搜索内容过长（最多 {MAX_SEARCH_TEXT} 个字符）")
    unknown = set(query.actions) - set(AUDIT_ACTIONS)
    if unknown:
        raise InvalidArgumentError(f"未知的审计类型：{'、'.join(sorted(unknown))}")
    statement = (
        select(
            AuditEntry.at,
            AuditEntry.username,
            AuditEntry.role,
            AuditEntry.action,
            AuditEntry.target,
            AuditEntry.detail,
        )
        .where(
            AuditEntry.county_code == actor.county_code,
            AuditEntry.at >= query.since,
            AuditEntry.at < query.until,
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.entry_id)
        .limit(MAX_ROWS)
    )
    if query.username.strip():
        statement = statement.where(AuditEntry.username == query.username.strip())
    if query.actions:
        statement = statement.where(AuditEntry.action.in_(query.actions))
    if query.text.strip():
        text = query.text.strip()
        statement = statement.where(
            AuditEntry.target.contains(text, autoescape=True) | AuditEntry.detail.contains(text, autoescape=True)
        )
    with session_factory() as session:
        entries = query_frame(session, statement)
    entries["at"] = pd.to_datetime(entries["at"], utc=True)
    entries.insert(3, "role_name", [USER_ROLE_NAMES.get(r, "") for r in entries["role"]])
    entries.insert(5, "action_name", [AUDIT_ACTIONS[a] for a in entries["action"]])
    return entries.assign(target=entries["target"].fillna(""), detail=entries["detail"].fillna(""))


def record_export(
    session_factory: SessionFactory, *, actor: Actor, query: AuditQuery, rows: int, at: dt.datetime
) -> None:
    """Exporting the log is itself on the record (what was exported, how many entries)."""
    require_permission(session_factory, actor, "read_audit", at, "审计日志")
    detail = f"{query.since:%Y-%m-%d %H:%M} 至 {query.until:%Y-%m-%d %H:%M}，{rows} 条"
    record(session_factory, Who.of(actor), "audit_export", at, query.username or None, detail)


def require_area(session_factory: SessionFactory, actor: Actor, area_code: str, at: dt.datetime) -> None:
    """Refuses, on the record, an area outside the actor's scope (a hand-edited link, say)."""
    if not actor.scope.reaches(area_code):
        raise refuse(session_factory, actor, at, area_code, OutOfScopeError(area_code))


def require_whole_area(session_factory: SessionFactory, actor: Actor, area_code: str, at: dt.datetime) -> None:
    """Refuses, on the record, an area not wholly inside the actor's scope: a report speaks for
    its whole area, so a supervisor of two grids reports on those grids, not on their village."""
    if not actor.scope.allows(area_code):
        raise refuse(session_factory, actor, at, area_code, OutOfScopeError(area_code))


def refuse_item(session_factory: SessionFactory, actor: Actor, at: dt.datetime, kind: str, item_id: str) -> DomainError:
    """An item that exists outside the actor's scope: refused on the record, with the same message
    as an item that does not exist (so a refusal tells nothing about other areas)."""
    return refuse(session_factory, actor, at, f"{kind} {item_id}", UnknownItemError(kind, item_id))
