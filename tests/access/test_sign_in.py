"""Signing in, sessions, managing users and reading the audit log (issue 8)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from sqlalchemy import select

from services.access.audit import AuditQuery, record_export, search_audit
from services.access.sign_in import (
    SessionPolicy,
    SignedIn,
    load_actor,
    resume_session,
    sign_in,
    sign_in_single_sign_on,
    sign_out,
)
from services.access.users import add_user, list_users, set_disabled, set_password
from services.cli.bootstrap import give_demo_users_passwords, open_store
from services.cli.demo.people import DEMO_PASSWORD
from services.errors import InvalidArgumentError, PermissionDeniedError, SessionExpiredError, SignInError
from services.settings import Settings
from services.store.models import Area, AuditEntry, User, UserArea
from tests.factories import ADMIN, COUNTY, GRID_A, GRID_B, OPERATOR, TOWNSHIP, T, seed_areas

POLICY = SessionPolicy()
PASSWORD = "correct horse 42"
S = dt.timedelta(seconds=1)


@pytest.fixture
def people(store):
    seed_areas(store)
    add_user(
        store.session_factory,
        actor=ADMIN,
        now=T,
        username="Wang.Li",
        display_name="王立",
        role="grid_supervisor",
        area_codes=(GRID_A, GRID_B),
        password=PASSWORD,
    )
    return store


def attempt(store, password: str = PASSWORD, username: str = "wang.li", at: dt.datetime = T) -> SignedIn:  # type: ignore[no-untyped-def]
    return sign_in(
        store.session_factory, county_code=COUNTY, username=username, password=password, now=at, policy=POLICY
    )


def audit(store, action: str | None = None) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    with store.session_factory() as session:
        rows = session.execute(
            select(AuditEntry.username, AuditEntry.action, AuditEntry.detail).order_by(
                AuditEntry.at, AuditEntry.entry_id
            )
        ).all()
    return [tuple(r) for r in rows if action is None or r.action == action]


def test_the_right_password_signs_in_and_the_user_acts_in_their_grids(people) -> None:
    signed_in = attempt(people, username="  Wang.Li ")
    assert (signed_in.username, signed_in.started_at, signed_in.method) == ("wang.li", T, "password")
    actor, touched = resume_session(people.session_factory, signed_in=signed_in, now=T + 10 * S * 60, policy=POLICY)
    assert (actor.role, actor.area_codes, actor.home_area) == ("grid_supervisor", (GRID_A, GRID_B), GRID_A[:12])
    assert touched.last_seen_at == T + 10 * S * 60
    assert audit(people, "sign_in") == [("wang.li", "sign_in", "密码")]
    with people.session_factory() as session:
        assert session.get(User, "wang.li").password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("username", "password"), [("wang.li", "wrong"), ("nobody", PASSWORD), ("", ""), ("x" * 200, "y")]
)
def test_a_wrong_name_or_password_gets_one_message_and_goes_on_the_record(people, username, password) -> None:
    with pytest.raises(SignInError, match="^用户名或密码错误$"):
        attempt(people, password, username)
    assert [(a, d) for _, a, d in audit(people, "sign_in_failed")] == [("sign_in_failed", "用户名或密码错误")]


def test_a_disabled_user_is_told_only_after_the_right_password_and_is_out_of_open_sessions(people) -> None:
    signed_in = attempt(people)
    set_disabled(people.session_factory, actor=ADMIN, now=T + S, username="wang.li", disabled=True)
    with pytest.raises(SessionExpiredError, match="停用"):
        resume_session(people.session_factory, signed_in=signed_in, now=T + 2 * S, policy=POLICY)
    with pytest.raises(SignInError, match="^用户名或密码错误$"):
        attempt(people, "wrong", at=T + 3 * S)
    with pytest.raises(SignInError, match="已停用"):
        attempt(people, at=T + 4 * S)
    set_disabled(people.session_factory, actor=ADMIN, now=T + 5 * S, username="wang.li", disabled=False)
    assert attempt(people, at=T + 6 * S).username == "wang.li"


def test_repeated_failures_make_the_next_attempts_wait_longer_each_time(people) -> None:
    at = T
    for _ in range(POLICY.free_failures):
        at += S
        with pytest.raises(SignInError, match="用户名或密码错误"):
            attempt(people, "guess", at=at)
    with pytest.raises(SignInError, match="请 29 秒后再试"):
        attempt(people, at=at + S)  # even the right password waits: the guesser must not learn it
    with pytest.raises(SignInError, match="用户名或密码错误"):
        attempt(people, "guess", at=at + 30 * S)
    with pytest.raises(SignInError, match="请 60 秒后再试"):
        attempt(people, at=at + 30 * S)  # doubled
    assert attempt(people, at=at + 91 * S).username == "wang.li"
    with pytest.raises(SignInError, match="用户名或密码错误"):
        attempt(people, "guess", at=at + 93 * S)  # the count restarts after a success: no wait
    assert [a for _, a, _ in audit(people)].count("sign_in_throttled") == 2


def test_names_that_do_not_exist_are_slowed_down_the_same_way(people) -> None:
    for second in range(1, POLICY.free_failures + 1):
        with pytest.raises(SignInError):
            attempt(people, "guess", username="ghost", at=T + second * S)
    with pytest.raises(SignInError, match="秒后再试"):
        attempt(people, "guess", username="ghost", at=T + 7 * S)


def test_sessions_end_when_idle_or_too_old_and_say_so(people) -> None:
    signed_in = attempt(people)
    with pytest.raises(SessionExpiredError, match="登录已超时"):
        resume_session(people.session_factory, signed_in=signed_in, now=T + POLICY.idle + S, policy=POLICY)
    with pytest.raises(SessionExpiredError, match="登录已失效"):  # ended for good, not just this once
        resume_session(people.session_factory, signed_in=signed_in, now=T + S, policy=POLICY)
    busy = attempt(people)
    at = T
    while at - T < POLICY.lifetime:
        at += POLICY.idle - S
        busy = resume_session(people.session_factory, signed_in=busy, now=min(at, T + POLICY.lifetime), policy=POLICY)[
            1
        ]
    with pytest.raises(SessionExpiredError):
        resume_session(people.session_factory, signed_in=busy, now=T + POLICY.lifetime + S, policy=POLICY)
    assert [a for _, a, _ in audit(people)].count("session_expired") == 2


def test_single_sign_on_lets_in_only_users_of_this_system(people) -> None:
    assert sign_in_single_sign_on(people.session_factory, county_code=COUNTY, username="Wang.Li", now=T).method == "sso"
    with pytest.raises(SignInError, match="未在本系统开通"):
        sign_in_single_sign_on(people.session_factory, county_code=COUNTY, username="zhang.san", now=T)
    actions = [(u, a) for u, a, _ in audit(people) if a.startswith("sign_in")]
    assert sorted(actions) == [("wang.li", "sign_in"), ("zhang.san", "sign_in_failed")]


def test_sign_out_is_on_the_record(people) -> None:
    with people.session_factory() as session:
        actor = load_actor(session, COUNTY, "wang.li")
    sign_out(people.session_factory, actor=actor, now=T)
    assert audit(people, "sign_out") == [("wang.li", "sign_out", None)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "1abc"}, "用户名"),
        ({"username": "li'; drop table users;--"}, "用户名"),
        ({"display_name": ""}, "姓名"),
        ({"role": "root"}, "角色"),
        ({"password": "short"}, "至少 8 位"),
        ({"area_codes": ()}, "区域"),
        ({"area_codes": ("130533101",)}, "不在本县"),
        ({"role": "township_leader", "area_codes": (GRID_A,)}, "层级不符"),
        ({"role": "township_leader", "area_codes": (TOWNSHIP, "130532102")}, "只负责一个乡镇"),
        ({"username": "wang.li"}, "已存在"),
    ],
)
def test_a_bad_new_user_is_refused_whole(people, changes, message) -> None:
    values = dict(
        username="li.si",
        display_name="李四",
        role="township_leader",
        area_codes=(TOWNSHIP,),
        password=PASSWORD,
    )
    with pytest.raises(InvalidArgumentError, match=message):
        add_user(people.session_factory, actor=ADMIN, now=T, **(values | changes))
    assert list_users(people.session_factory, actor=ADMIN, now=T)["username"].tolist() == ["wang.li"]


def test_only_a_county_admin_manages_users_and_a_new_password_replaces_the_old(people) -> None:
    with pytest.raises(PermissionDeniedError, match="无权管理用户"):
        set_password(people.session_factory, actor=OPERATOR, now=T, username="wang.li", password="another pass")
    set_password(people.session_factory, actor=ADMIN, now=T, username="wang.li", password="another pass")
    with pytest.raises(SignInError):
        attempt(people, at=T + S)
    assert attempt(people, "another pass", at=T + 2 * S).username == "wang.li"
    with pytest.raises(InvalidArgumentError, match="不能停用自己"):
        set_disabled(people.session_factory, actor=ADMIN, now=T, username="admin", disabled=True)
    users = list_users(people.session_factory, actor=ADMIN, now=T)
    assert users[["username", "role_name", "areas", "disabled"]].values.tolist() == [
        ["wang.li", "网格督导员", f"{GRID_A}|{GRID_B}", False]
    ]
    changes = [(u, a) for u, a, _ in audit(people) if a.startswith("user_") or a == "refused"]
    assert sorted(changes) == [("admin", "user_add"), ("admin", "user_password"), ("operator", "refused")]


def test_the_audit_log_is_searched_literally_and_its_export_is_on_the_record(people) -> None:
    for name in ("ghost", "gh%st"):
        with pytest.raises(SignInError):
            attempt(people, "x", username=name, at=T + S)
    query = AuditQuery(since=T - S, until=T + 60 * S, actions=("sign_in_failed",))
    failed = search_audit(people.session_factory, actor=ADMIN, query=query, now=T)
    assert sorted(failed["username"]) == ["gh%st", "ghost"] and set(failed["action_name"]) == {"登录失败"}
    found = search_audit(people.session_factory, actor=ADMIN, query=AuditQuery(T - S, T + 60 * S, "gh%st"), now=T)
    assert found["username"].tolist() == ["gh%st"]
    by_text = search_audit(people.session_factory, actor=ADMIN, query=AuditQuery(T - S, T + 60 * S, text="%"), now=T)
    assert by_text.empty  # `%` is a character: no target or detail holds one
    with pytest.raises(InvalidArgumentError, match="过长"):
        search_audit(people.session_factory, actor=ADMIN, query=AuditQuery(T, T + S, text="x" * 65), now=T)
    record_export(people.session_factory, actor=ADMIN, query=query, rows=2, at=T + 2 * S)
    exported = search_audit(
        people.session_factory, actor=ADMIN, query=AuditQuery(T - S, T + 60 * S, actions=("audit_export",)), now=T
    )
    assert exported["detail"].str.endswith("2 条").all() and len(exported) == 1


def test_the_command_line_adds_a_user_who_can_then_sign_in(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args], input=stdin, env=env, capture_output=True, text=True
        )

    store = open_store(Settings.from_env({"DATABASE_URL": env["DATABASE_URL"]}))
    seed_areas(store)
    added = cli(
        "user", "add", "zhao.liu", "--name", "赵六", "--role", "township_leader", "--area", TOWNSHIP, stdin=PASSWORD
    )
    assert added.returncode == 0 and json.loads(added.stdout) == {"user": "zhao.liu", "done": "add"}
    refused = cli("user", "add", "zhao.qi", "--name", "赵七", "--role", "viewer", "--area", COUNTY, stdin="short")
    assert refused.returncode == 2 and "密码至少 8 位" in refused.stderr and "Traceback" not in refused.stderr
    assert cli("user", "disable", "zhao.liu").returncode == 0
    listed = cli("user", "list").stdout
    assert "zhao.liu" in listed and "True" in listed and "zhao.qi" not in listed
    assert cli("user", "enable", "zhao.liu").returncode == 0
    now = dt.datetime.now(dt.UTC)
    signed = sign_in(
        store.session_factory, county_code=COUNTY, username="zhao.liu", password=PASSWORD, now=now, policy=POLICY
    )
    assert signed.username == "zhao.liu"
    assert [u.startswith("cli:") for u, a, _ in audit(store) if a == "user_add"] == [True]
    store.engine.dispose()


def test_users_of_an_older_demo_county_get_the_demo_password_but_real_users_never_do(store) -> None:
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add(User(username="old", county_code=COUNTY, display_name="旧用户", role="viewer", password_hash=None))
        session.add(UserArea(county_code=COUNTY, username="old", area_code=COUNTY))
    assert give_demo_users_passwords(store, COUNTY) == 1
    assert give_demo_users_passwords(store, COUNTY) == 0  # done once
    assert attempt(store, DEMO_PASSWORD, "old").username == "old"
    with store.session_factory.begin() as session:
        session.get(User, "old").password_hash = None
        session.get(Area, (COUNTY, GRID_A)).synthetic = False  # a county with real grids
    assert give_demo_users_passwords(store, COUNTY) == 0
