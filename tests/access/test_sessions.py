"""Sessions that survive a reload (issue 17): the row behind the cookie, its hand-over, resuming,
ending, the user's own list, and the wall screens' long-lived sessions — on both engines."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from sqlalchemy import select

from services.access.screens import SCREEN_LINK_TTL, issue_screen_session, list_screens, revoke_screen_session
from services.access.sessions import (
    HANDOVER_TTL,
    TOUCH_EVERY,
    end_own_session,
    exchange_handover,
    hash_token,
    list_own_sessions,
    resume_session_row,
    sign_out_by_cookie,
)
from services.access.sign_in import SessionPolicy, resume_from_cookie, resume_session, sign_in, sign_out
from services.access.users import add_user, list_users, set_disabled
from services.cli.bootstrap import open_store
from services.errors import InvalidArgumentError, PermissionDeniedError, SessionExpiredError, UnknownItemError
from services.settings import Settings
from services.store.models import AuditEntry, SignInSession
from tests.factories import ADMIN, COUNTY, GRID_A, OPERATOR, TOWNSHIP, T, seed_areas
from tests.store.test_concurrency import at_once, split

POLICY = SessionPolicy()
PASSWORD = "correct horse 42"
S = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def people(store):
    seed_areas(store)
    add_user(
        store.session_factory,
        actor=ADMIN,
        now=T,
        username="wang.li",
        display_name="王立",
        role="township_leader",
        area_codes=(TOWNSHIP,),
        password=PASSWORD,
    )
    return store


def signed_in(store, at: dt.datetime = T):  # type: ignore[no-untyped-def]
    return sign_in(
        store.session_factory, county_code=COUNTY, username="wang.li", password=PASSWORD, now=at, policy=POLICY
    )


def cookie_of(store, handover: str, at: dt.datetime = T, user_agent: str = "Chromium") -> str:  # type: ignore[no-untyped-def]
    return exchange_handover(
        store.session_factory, county_code=COUNTY, handover=handover, now=at, user_agent=user_agent
    ).value


def reload(store, cookie: str, at: dt.datetime):  # type: ignore[no-untyped-def]
    return resume_from_cookie(store.session_factory, county_code=COUNTY, cookie=cookie, now=at, policy=POLICY)


def audit(store, *actions: str) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    with store.session_factory() as session:
        rows = session.execute(
            select(AuditEntry.username, AuditEntry.action, AuditEntry.detail).order_by(
                AuditEntry.at, AuditEntry.entry_id
            )
        ).all()
    return [tuple(r) for r in rows if r.action in actions]


def row(store, session_key: str) -> SignInSession:  # type: ignore[no-untyped-def]
    with store.session_factory() as session:
        found = session.get(SignInSession, (COUNTY, session_key))
        session.expunge_all()
        return found


def test_a_sign_in_hands_over_a_cookie_once_and_a_reload_resumes_the_session(people) -> None:
    first = signed_in(people)
    assert first.session_key and first.handover
    cookie = cookie_of(people, first.handover, T + S)
    stored = row(people, first.session_key)
    assert stored.token_hash == hash_token(cookie) and stored.handover_hash is None  # only hashes are kept
    assert cookie not in (stored.token_hash, stored.session_key) and len(cookie) >= 43  # 32 random bytes
    assert stored.user_agent == "Chromium"
    with pytest.raises(SessionExpiredError):
        cookie_of(people, first.handover, T + 2 * S)  # one-time
    actor, again = reload(people, cookie, T + 10 * MINUTE)
    assert (actor.username, actor.area_codes, again.session_key) == ("wang.li", (TOWNSHIP,), first.session_key)
    assert [a for _, a, _ in audit(people, "session_resume", "session_refused")] == [
        "session_refused",
        "session_resume",
    ]
    # The tab that signed in keeps its session by key; it learns the cookie has been fetched.
    assert resume_session(people.session_factory, signed_in=first, now=T + 11 * MINUTE, policy=POLICY)[1].handover == ""


def test_a_late_hand_over_is_refused_and_the_tab_stops_offering_it(people) -> None:
    first = signed_in(people)
    with pytest.raises(SessionExpiredError):
        cookie_of(people, first.handover, T + HANDOVER_TTL + S)
    _, touched = resume_session(people.session_factory, signed_in=first, now=T + HANDOVER_TTL + S, policy=POLICY)
    assert touched.handover == ""  # this tab stays signed in; a reload will ask again
    assert audit(people, "session_refused")[0][2] == "一次性登录链接无效、已用过或已过期"


@pytest.mark.parametrize("forged", ["", "x", "A" * 43, "' OR 1=1 --"])
def test_a_forged_cookie_is_refused_and_on_the_record(people, forged) -> None:
    cookie_of(people, signed_in(people).handover)
    with pytest.raises(SessionExpiredError, match="登录已失效"):
        reload(people, forged, T + S)
    assert audit(people, "session_refused") == [("（未知）", "session_refused", "会话凭证无效")]


def test_an_idle_cookie_ends_the_session_and_is_then_refused_for_good(people) -> None:
    cookie = cookie_of(people, signed_in(people).handover)
    with pytest.raises(SessionExpiredError, match="登录已超时"):
        reload(people, cookie, T + POLICY.idle + S)
    with pytest.raises(SessionExpiredError, match="登录已失效"):
        reload(people, cookie, T + POLICY.idle + 2 * S)
    assert [(a, d) for _, a, d in audit(people, "session_expired", "session_refused")] == [
        ("session_expired", "空闲超时"),
        ("session_refused", "会话已结束（空闲超时）"),
    ]


def test_a_busy_session_still_ends_at_its_lifetime(people) -> None:
    first = signed_in(people)
    at, busy = T, first
    while at + POLICY.idle - S < T + POLICY.lifetime:
        at += POLICY.idle - S
        busy = resume_session(people.session_factory, signed_in=busy, now=at, policy=POLICY)[1]
    with pytest.raises(SessionExpiredError, match="登录已超时"):
        resume_session(people.session_factory, signed_in=busy, now=T + POLICY.lifetime + S, policy=POLICY)
    assert row(people, first.session_key).end_reason == "lifetime"


def test_last_seen_is_written_at_most_once_a_minute(people) -> None:
    first = signed_in(people)
    for seconds in (1, 20, 59):
        resume_session(people.session_factory, signed_in=first, now=T + seconds * S, policy=POLICY)
    assert row(people, first.session_key).last_seen_at == T
    resume_session(people.session_factory, signed_in=first, now=T + TOUCH_EVERY, policy=POLICY)
    assert row(people, first.session_key).last_seen_at == T + TOUCH_EVERY


def test_signing_out_ends_the_session_for_every_tab_of_the_browser(people) -> None:
    first = signed_in(people)
    cookie = cookie_of(people, first.handover)
    actor, _ = reload(people, cookie, T + S)
    sign_out(people.session_factory, actor=actor, now=T + 2 * S, signed_in=first)
    with pytest.raises(SessionExpiredError, match="登录已失效"):
        reload(people, cookie, T + 3 * S)
    with pytest.raises(SessionExpiredError):
        resume_session(people.session_factory, signed_in=first, now=T + 3 * S, policy=POLICY)
    assert row(people, first.session_key).end_reason == "signed_out"
    assert not sign_out_by_cookie(people.session_factory, county_code=COUNTY, cookie=cookie, now=T + 4 * S)
    assert len(audit(people, "sign_out")) == 1


def test_the_sign_out_route_ends_the_session_its_cookie_names(people) -> None:
    cookie = cookie_of(people, signed_in(people).handover)
    assert sign_out_by_cookie(people.session_factory, county_code=COUNTY, cookie=cookie, now=T + S)
    with pytest.raises(SessionExpiredError):
        reload(people, cookie, T + 2 * S)
    assert audit(people, "sign_out") == [("wang.li", "sign_out", "已退出登录")]


def test_disabling_a_user_ends_their_sessions_at_once(people) -> None:
    cookies = [cookie_of(people, signed_in(people, T + i * S).handover, T + i * S) for i in range(2)]
    set_disabled(people.session_factory, actor=ADMIN, now=T + 5 * S, username="wang.li", disabled=True)
    for cookie in cookies:
        with pytest.raises(SessionExpiredError, match="停用"):
            reload(people, cookie, T + 6 * S)
    set_disabled(people.session_factory, actor=ADMIN, now=T + 7 * S, username="wang.li", disabled=False)
    with pytest.raises(SessionExpiredError):  # enabling again does not bring old sessions back
        reload(people, cookies[0], T + 8 * S)


def test_a_user_sees_their_sessions_and_ends_one_left_open_elsewhere(people) -> None:
    here, there = signed_in(people), signed_in(people, T + S)
    cookie_of(people, there.handover, T + S, "Firefox on the office PC")
    actor, _ = resume_session(people.session_factory, signed_in=here, now=T + 2 * S, policy=POLICY)
    listed = list_own_sessions(people.session_factory, actor=actor, now=T + 2 * S)
    assert listed["session_key"].tolist() == [there.session_key, here.session_key]
    assert listed["user_agent"].tolist() == ["Firefox on the office PC", ""]
    assert set(listed["kind_name"]) == {"密码"}
    with pytest.raises(UnknownItemError):  # not theirs
        end_own_session(people.session_factory, actor=OPERATOR, session_key=there.session_key, now=T + 3 * S)
    assert end_own_session(people.session_factory, actor=actor, session_key=there.session_key, now=T + 3 * S)
    assert list_own_sessions(people.session_factory, actor=actor, now=T + 4 * S)["session_key"].tolist() == [
        here.session_key
    ]
    assert audit(people, "session_end") == [("wang.li", "session_end", "本人结束")]


def test_a_wall_screen_gets_a_long_session_that_only_shows_its_area_and_can_be_revoked(people) -> None:
    with pytest.raises(PermissionDeniedError):
        issue_screen_session(people.session_factory, actor=OPERATOR, name="wall-1", area_code=TOWNSHIP, now=T)
    with pytest.raises(InvalidArgumentError, match="人员账号"):
        issue_screen_session(people.session_factory, actor=ADMIN, name="wang.li", area_code=TOWNSHIP, now=T)
    issued = issue_screen_session(
        people.session_factory, actor=ADMIN, name="Wall-1", area_code=TOWNSHIP, now=T, days=30
    )
    cookie = cookie_of(people, issued.handover, T + SCREEN_LINK_TTL - S)  # a day to carry the link to the wall
    actor, screen = reload(people, cookie, T + dt.timedelta(days=20))  # a long holiday: no idle limit
    assert (actor.username, actor.role, actor.area_codes, screen.method) == (
        "wall-1",
        "wall_screen",
        (TOWNSHIP,),
        "screen",
    )
    assert not actor.may("browse") and not actor.clearance.personal_data
    assert list_screens(people.session_factory, actor=ADMIN, now=T + S)[
        ["name", "area_code", "live"]
    ].values.tolist() == [["wall-1", TOWNSHIP, 1]]
    assert "wall-1" in list_users(people.session_factory, actor=ADMIN, now=T)["username"].tolist()
    with pytest.raises(SessionExpiredError, match="登录已超时"):
        reload(people, cookie, T + dt.timedelta(days=30, seconds=1))
    again = issue_screen_session(people.session_factory, actor=ADMIN, name="wall-1", area_code=GRID_A, now=T + S)
    cookie = cookie_of(people, again.handover, T + 2 * S)
    assert reload(people, cookie, T + 3 * S)[0].area_codes == (GRID_A,)
    assert revoke_screen_session(people.session_factory, actor=ADMIN, name="wall-1", now=T + 4 * S) == 1
    with pytest.raises(SessionExpiredError):
        reload(people, cookie, T + 5 * S)
    with pytest.raises(UnknownItemError):
        revoke_screen_session(people.session_factory, actor=ADMIN, name="wang.li", now=T + 6 * S)
    on_record = [(u, a) for u, a, _ in audit(people, "screen_session_add", "screen_session_revoke", "session_resume")]
    # Issued twice and revoked by the admin; each first opening and each return of the screen.
    assert sorted(on_record) == sorted(
        [("admin", "screen_session_add")] * 2
        + [("admin", "screen_session_revoke")]
        + [("wall-1", "session_resume")] * 4
    )


def test_a_screen_account_cannot_sign_in_with_a_password(people) -> None:
    issue_screen_session(people.session_factory, actor=ADMIN, name="wall-1", area_code=TOWNSHIP, now=T)
    with pytest.raises(Exception, match="用户名或密码错误"):
        sign_in(people.session_factory, county_code=COUNTY, username="wall-1", password="", now=T + S, policy=POLICY)


def test_sixteen_tabs_resuming_and_ending_one_session_at_once_agree_on_one_end(people) -> None:
    first = signed_in(people)
    cookie = cookie_of(people, first.handover)
    at = T + 2 * MINUTE  # every resume also writes last_seen_at

    def act(index: int) -> object:
        if index % 2:
            return resume_session_row(
                people.session_factory, county_code=COUNTY, session_key=first.session_key, now=at, policy=POLICY
            ).session_key
        return sign_out_by_cookie(people.session_factory, county_code=COUNTY, cookie=cookie, now=at)

    results, refused = split(at_once(16, act), SessionExpiredError)
    ends = [r for r in results if isinstance(r, bool)]
    assert ends.count(True) == 1 and len(ends) == 8
    assert all(r == first.session_key for r in results if not isinstance(r, bool)) and len(refused) <= 8
    assert len(audit(people, "sign_out")) == 1 and row(people, first.session_key).end_reason == "signed_out"


def test_the_command_line_issues_lists_and_revokes_a_screen(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True)

    store = open_store(Settings.from_env({"DATABASE_URL": env["DATABASE_URL"]}))
    seed_areas(store)
    added = cli("screen-session", "add", "wall-1", "--area", TOWNSHIP, "--url", "http://10.0.0.5:8501/")
    assert added.returncode == 0, added.stderr
    issued = json.loads(added.stdout)
    assert issued["url"].startswith("http://10.0.0.5:8501/auth/session?token=")
    assert issued["url"].endswith("&next=%2F%3Fview%3Dscreen")
    token = issued["url"].split("token=")[1].split("&")[0]
    now = dt.datetime.now(dt.UTC)
    cookie = cookie_of(store, token, now)
    assert reload(store, cookie, now + S)[0].role == "wall_screen"
    assert "wall-1" in cli("screen-session", "list").stdout
    assert json.loads(cli("screen-session", "revoke", "wall-1").stdout) == {"screen": "wall-1", "sessions_ended": 1}
    unknown = cli("screen-session", "add", "wall-2", "--area", "130533101")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    store.engine.dispose()
