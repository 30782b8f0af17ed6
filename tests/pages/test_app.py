"""The dashboard as Streamlit runs it (AppTest), on a seeded SQLite store."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import streamlit as st
import streamlit_folium
from streamlit.testing.v1 import AppTest

import pages.components
import services.screen.wall_figures
from pages.components import SIGNED_IN_KEY
from services.access.sign_in import SessionPolicy, SignedIn, load_actor, sign_in
from services.access.users import add_user, set_disabled
from services.cases.queue import load_queue
from services.cli.bootstrap import open_store
from services.cli.demo.people import DEMO_PASSWORD
from services.errors import StoreUnavailableError
from services.figures.area_figures import compute_grid_figures
from services.mapping.areas import load_areas
from services.settings import Settings
from tests.apptest import open_app
from tests.factories import ADMIN, OPERATOR


@pytest.fixture(scope="module")
def demo_database(copy_small_demo, tmp_path_factory) -> str:
    """The small demo, shared by this module's tests: they add users and move cases as people do."""
    return copy_small_demo(tmp_path_factory.mktemp("app") / "app.db")


def run_app(monkeypatch, url: str) -> AppTest:
    app = open_app(monkeypatch, url)
    app.run()
    return app


def test_map_page_shows_the_county_figures(monkeypatch, demo_database) -> None:
    app = run_app(monkeypatch, demo_database)
    assert not app.exception
    assert app.title[0].value == "民情地图"
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["住户"].replace(",", "")) > 7000
    assert "合成" in app.caption[0].value


def test_a_county_with_its_own_grids_is_not_called_synthetic(monkeypatch, copy_small_demo, tmp_path) -> None:
    url = copy_small_demo(tmp_path / "real.db")
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # one grid imported from the county's own file
        connection.execute(
            sa.text("UPDATE areas SET synthetic = 0 WHERE code = (SELECT min(code) FROM areas WHERE level = 'grid')")
        )
    engine.dispose()
    app = run_app(monkeypatch, url)
    assert not app.exception and app.title[0].value == "民情地图"
    assert not any("合成" in caption.value for caption in app.caption)


def test_an_empty_database_tells_how_to_create_the_demo(monkeypatch, tmp_path) -> None:
    app = run_app(monkeypatch, f"sqlite:///{tmp_path / 'empty.db'}")
    assert not app.exception
    assert "make run" in app.warning[0].value


def test_import_page_offers_every_kind_and_waits_for_a_file(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, "pages/exchange/import_page.py")
    app.run()
    assert not app.exception
    assert app.title[0].value == "数据导入"
    assert app.selectbox(key="import.kind").options == [
        "网格",
        "住户",
        "网格员",
        "历史事件",
        "GPS 定位点",
        "12345 工单",
    ]
    assert app.radio(key="import.crs").value == "wgs84"


def grid_with_households(url: str) -> tuple[str, int]:
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    by_grid = compute_grid_figures(
        store.session_factory,
        actor=OPERATOR,
        area_code="130532",
        at=dt.datetime.now(dt.UTC),
        days=7,
        special_tags=(),
    )
    store.engine.dispose()
    code = by_grid["households"].idxmax()
    return code, int(by_grid.loc[code, "households"])


def test_a_link_to_a_grid_opens_its_panel_with_the_figures_of_the_kpi_service(monkeypatch, demo_database) -> None:
    code, households = grid_with_households(demo_database)
    app = open_app(monkeypatch, demo_database, area=code)
    app.run()
    assert not app.exception
    assert app.subheader[0].value.startswith("网格 · ")
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["住户"].replace(",", "")) == households
    assert [t.label.split(" ")[0] for t in app.tabs] == ["在办事件", "住户", "网格员", "特殊人群"]
    headers = [column for table in app.dataframe for column in table.value.columns]
    assert {"户编号", "户主", "姓名", "岗位", "最后定位"} <= set(headers)
    assert not [column for column in headers if column.isascii()]  # every column shown under its Chinese label
    assert [b.label for b in app.button if b.key and b.key.startswith("crumb-")] == [
        "平乡县",
        "平乡镇",
        app.subheader[0].value.split(" · ")[1].split("第")[0],
    ]


def test_clicking_the_map_drills_into_the_township_and_the_breadcrumb_goes_back(monkeypatch, demo_database) -> None:
    code, _ = grid_with_households(demo_database)
    clicks = [{"last_active_drawing": {"properties": {"kind": "grid", "id": code}}, "last_object_clicked_count": 3}]

    def fake_st_folium(fig, *, key, on_change=None, **kwargs):  # what the component does on a click
        if clicks:
            st.session_state[key] = clicks.pop()
            on_change()
        return {}

    monkeypatch.setattr(streamlit_folium, "st_folium", fake_st_folium)
    app = open_app(monkeypatch, demo_database)
    app.run()
    app.run()  # the click set the URL during the first run; the second shows it
    assert not app.exception
    assert app.query_params["area"] == code[:9]
    assert app.subheader[0].value == "乡镇(街道) · 平乡镇"
    app.button(key="crumb-130532").click().run()
    assert app.query_params["area"] == "130532"
    assert app.subheader[0].value == "县 · 平乡县"


def test_search_lists_hits_and_a_hit_opens_its_area(monkeypatch, demo_database) -> None:
    code, _ = grid_with_households(demo_database)
    app = open_app(monkeypatch, demo_database)
    app.run()
    app.text_input(key="map.search").input(code).run()
    hits = [b for b in app.button if b.key and b.key.startswith("hit-")]
    assert [b.label for b in hits] == [f"网格 · {hits[0].label.split(' · ')[1]}"] and code in hits[0].label
    hits[0].click().run()
    assert app.query_params["area"] == code
    assert app.subheader[0].value.startswith("网格 · ")


def a_case_to_validate(url: str, user: str = "leader") -> tuple[str, str]:
    """A case waiting for validation inside the areas of the demo `user`."""
    store = open_store(Settings.from_env({"DATABASE_URL": url}))
    with store.session_factory() as session:
        actor = load_actor(session, "130532", user)
    queue = load_queue(store.session_factory, actor=actor, area_code=actor.home_area, at=dt.datetime.now(dt.UTC))
    store.engine.dispose()
    row = queue[queue["state"] == "待核实"].iloc[0]
    return row["incident_id"], row["grid_code"]


def test_a_township_leader_validates_and_dispatches_a_case_from_its_panel(monkeypatch, demo_database) -> None:
    incident_id, grid_code = a_case_to_validate(demo_database)
    app = open_app(monkeypatch, demo_database, user="leader", area=grid_code, incident=incident_id)
    app.run()
    assert not app.exception
    assert any(f"事件 {incident_id}" in m.value for m in app.markdown)
    app.button(key=next(b.key for b in app.button if b.label == "立案（有效）")).click().run()
    assert app.success[0].value == "操作成功，当前状态：待派遣"
    first = next(b for b in app.button if b.label.startswith("派给 "))
    first.click().run()
    assert app.success[0].value == "操作成功，当前状态：已派遣"
    timeline = next(m.value for m in app.markdown if m.value.startswith("- **")).splitlines()
    assert "立案（待核实 → 待派遣）· 乡镇领导（leader）" in timeline[-2]
    assert timeline[-1].endswith(
        "派遣（待派遣 → 已派遣）· 乡镇领导（leader） · 网格：派给 " + first.label.removeprefix("派给 ").split("（")[0]
    )


def test_an_operator_reports_a_case_by_clicking_the_map(monkeypatch, demo_database) -> None:
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    grid = load_areas(store.session_factory, actor=OPERATOR, levels=("grid",)).iloc[3]
    store.engine.dispose()
    inside = grid.geometry.representative_point()
    clicks = [
        {
            "last_active_drawing": None,
            "last_object_clicked_count": 0,
            "last_clicked": {"lng": inside.x, "lat": inside.y},
        }
    ]

    def fake_st_folium(fig, *, key, on_change=None, **kwargs):
        if clicks and st.session_state.get("map.new"):
            st.session_state[key] = clicks.pop()
            on_change()
        return {}

    monkeypatch.setattr(streamlit_folium, "st_folium", fake_st_folium)
    app = open_app(monkeypatch, demo_database)
    app.run()
    app.toggle(key="map.new").set_value(True).run()
    app.run()
    app.selectbox(key="report.category").select("安全隐患").run()
    app.selectbox(key="report.subcategory").select("燃气安全").run()
    app.button(key="report.submit").click().run()
    assert "请填写事件描述" in app.error[0].value
    app.text_area(key="report.description").input("张庄村西头液化气罐漏气，有异味").run()
    app.button(key="report.submit").click().run()
    assert not app.exception
    assert app.query_params["area"] == grid["code"]
    assert app.query_params["incident"].startswith("SJ")
    assert any("张庄村西头液化气罐漏气" in m.value for m in app.markdown)


def test_the_queue_counts_cases_by_need_and_filters_them(monkeypatch, demo_database) -> None:
    minute = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    # The page counts at its current minute: pinned, so that no case crosses a limit in between.
    monkeypatch.setattr(pages.components, "current_minute", lambda: minute)
    app = open_app(monkeypatch, demo_database, "pages/cases/queue_page.py")
    app.run()
    assert not app.exception
    assert app.title[0].value == "案件队列"
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    queue = load_queue(store.session_factory, actor=OPERATOR, area_code="130532", at=minute)
    store.engine.dispose()
    metrics = {m.label: int(m.value) for m in app.metric}
    assert metrics == {need: int((queue["need"] == need).sum()) for need in metrics}
    assert sum(metrics.values()) == len(queue) > 0
    need = queue["need"].iloc[-1]
    app.multiselect(key="queue.needs").set_value([need]).run()
    table = app.dataframe[0].value
    assert table["待办"].unique().tolist() == [need] and len(table) == metrics[need]
    assert not [column for column in table.columns if column.isascii()]


def test_the_compliance_page_lists_workers_against_the_targets_and_exports(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, "pages/patrol/compliance_page.py")
    app.run()
    assert not app.exception
    assert app.title[0].value == "巡查考核"
    metrics = {m.label: int(m.value) for m in app.metric}
    table = app.dataframe[0].value
    assert metrics["网格员"] == len(table) > 0 and metrics["未达标"] == int(table["未达标"].sum())
    assert {"巡查日志", "有效上报", "巡查里程(km)", "网格走访覆盖", "可疑情况"} <= set(table.columns)
    assert not [column for column in table.columns if column.isascii()]


def test_the_big_screen_renders_and_shows_stale_data_when_the_database_is_lost(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, view="screen")
    app.run()
    assert not app.exception
    html = " ".join(m.value for m in app.markdown)
    assert "平乡县网格化综合指挥中心" in html and "今日上报" in html and "告警：超期与紧急" in html
    assert "数据更新中断" not in html

    def lost(*args, **kwargs):
        raise StoreUnavailableError("数据库暂时无法连接")

    monkeypatch.setattr(services.screen.wall_figures, "load_screen", lost)
    app.run()
    assert not app.exception
    html = " ".join(m.value for m in app.markdown)
    assert "数据更新中断" in html and "今日上报" in html  # the last good figures stay on screen
    monkeypatch.undo()  # the database is back
    monkeypatch.setenv("DATABASE_URL", demo_database)
    app.run()
    assert "数据更新中断" not in " ".join(m.value for m in app.markdown)


def test_a_report_judged_invalid_needs_a_reason(monkeypatch, demo_database) -> None:
    incident_id, grid_code = a_case_to_validate(demo_database)
    app = open_app(monkeypatch, demo_database, area=grid_code, incident=incident_id)
    app.run()
    confirm = next(b for b in app.button if b.label == "确认无效")
    confirm.click().run()
    assert app.error[0].value == "请填写判为无效的理由"
    reason = next(t for t in app.text_input if t.key.endswith("-reject-reason"))
    reason.input("重复来电，已有同一事件在办").run()
    next(b for b in app.button if b.label == "确认无效").click().run()
    assert app.success[0].value == "操作成功，当前状态：无效"


def _figures_shown(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The figures that carry a value: the sign-in form's hidden preload figure carries none."""
    return [m.label for m in app.metric if m.value]


def test_nobody_gets_past_the_sign_in_form_without_the_password(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, user=None, area="130532101")
    app.run()
    assert not app.exception and app.title[0].value == "民情地图" and not _figures_shown(app)
    app.text_input(key="auth.username").input("leader")
    app.text_input(key="auth.password").input("wrong password")
    app.button[0].click().run()
    assert app.warning[0].value == "用户名或密码错误" and not _figures_shown(app)
    assert app.text_input(key="auth.password").value == ""  # never kept past the attempt
    app.text_input(key="auth.username").input("leader")
    app.text_input(key="auth.password").input(DEMO_PASSWORD)
    app.button[0].click().run()
    assert not app.exception
    assert app.query_params["area"] == "130532101" and app.subheader[0].value.startswith("乡镇(街道) · ")
    assert any("乡镇领导（leader）" in c.value for c in app.sidebar.caption)


def test_an_idle_session_ends_with_a_notice(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    app.session_state[SIGNED_IN_KEY] = SignedIn("130532", "operator", long_ago, long_ago)
    app.run()
    assert not app.exception and not _figures_shown(app)
    assert app.warning[0].value == "登录已超时，请重新登录"


def test_the_pages_offered_follow_the_role(monkeypatch, demo_database) -> None:
    recorded: list[list[str]] = []
    real_navigation = st.navigation

    def recording_navigation(pages, **kwargs):  # type: ignore[no-untyped-def]
        recorded.append([page.title for section in pages.values() for page in section])
        return real_navigation(pages, **kwargs)

    monkeypatch.setattr(st, "navigation", recording_navigation)
    for user in ("admin", "operator", "viewer"):
        assert not open_app(monkeypatch, demo_database, user=user).run().exception
    offered = dict(zip(("admin", "operator", "viewer"), recorded, strict=True))
    assert {"审计日志", "用户管理", "数据导入"} <= set(offered["admin"])
    assert "数据导入" in offered["operator"] and not {"审计日志", "用户管理"} & set(offered["operator"])
    assert not {"数据导入", "审计日志", "用户管理"} & set(offered["viewer"])


def test_the_audit_page_lists_the_sign_ins(monkeypatch, demo_database) -> None:
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    now = dt.datetime.now(dt.UTC)
    sign_in(
        store.session_factory,
        county_code="130532",
        username="viewer",
        password=DEMO_PASSWORD,
        now=now,
        policy=SessionPolicy(),
    )
    store.engine.dispose()
    app = open_app(monkeypatch, demo_database, "pages/access/audit_page.py", user="admin")
    app.run()
    assert not app.exception and app.title[0].value == "审计日志"
    assert int(app.metric[0].value.replace(",", "")) >= 1
    app.text_input(key="audit.username").input("viewer").run()
    assert app.metric[0].value == "1"


def test_disabling_a_user_ends_their_wall_screen_at_its_next_refresh(monkeypatch, demo_database) -> None:
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    now = dt.datetime.now(dt.UTC)
    add_user(
        store.session_factory,
        actor=ADMIN,
        now=now,
        username="duty",
        display_name="值班大屏",
        role="county_operator",
        area_codes=("130532",),
        password="wall screen 1",
    )
    app = open_app(monkeypatch, demo_database, user="duty", view="screen")
    app.run()
    assert not app.exception and "今日上报" in " ".join(m.value for m in app.markdown)
    set_disabled(store.session_factory, actor=ADMIN, now=now, username="duty", disabled=True)
    store.engine.dispose()
    app.run()
    assert not app.exception and "今日上报" not in " ".join(m.value for m in app.markdown)
    assert app.warning[0].value == "该账号已停用，请联系县级管理员"


def test_a_county_admin_adds_a_user_on_the_users_page(monkeypatch, demo_database) -> None:
    app = open_app(monkeypatch, demo_database, "pages/access/users_page.py", user="admin")
    app.run()
    assert not app.exception and "leader" in app.dataframe[0].value["用户名"].tolist()
    for key, value in (
        ("users.username", "sun.ba"),
        ("users.name", "孙八"),
        ("users.areas", "130532101"),
        ("users.password", "pass word 8"),
        ("users.password2", "pass word 8"),
    ):
        app.text_input(key=key).input(value)
    app.selectbox(key="users.role").select("township_leader")
    next(b for b in app.button if b.label == "新增").click().run()
    assert app.success[0].value == "已保存，并记入审计日志。"
    assert "sun.ba" in app.dataframe[0].value["用户名"].tolist()
    app.text_input(key="users.username").input("sun.ba")
    app.text_input(key="users.password").input("pass word 8")
    app.text_input(key="users.password2").input("pass word 8")
    next(b for b in app.button if b.label == "新增").click().run()
    assert app.error[0].value == "用户名 sun.ba 已存在"


def test_the_map_keeps_its_place_in_the_page_when_a_refusal_notice_goes(monkeypatch, demo_database) -> None:
    """A notice shown once (a link outside the user's township) must not move the map down one
    place for that run only: Streamlit would mount the map's iframe again at the next run."""
    store = open_store(Settings.from_env({"DATABASE_URL": demo_database}))
    with store.engine.connect() as connection:
        township = connection.exec_driver_sql("SELECT area_code FROM user_areas WHERE username = 'leader'").scalar()
    store.engine.dispose()
    other = f"{int(township) + 1}001001"  # a grid of the next township (the small demo has one)

    def fake_st_folium(fig, *, key, on_change=None, **kwargs):
        st.markdown("the map")
        return {}

    monkeypatch.setattr(streamlit_folium, "st_folium", fake_st_folium)

    def map_place(app: AppTest) -> int:
        def holds_map(node) -> bool:
            if getattr(node, "type", None) == "markdown" and node.value == "the map":
                return True
            return any(holds_map(child) for child in getattr(node, "children", {}).values())

        return next(index for index, child in app.main.children.items() if holds_map(child))

    app = open_app(monkeypatch, demo_database, user="leader", area=other)
    app.run()
    assert not app.exception
    assert [w.value for w in app.warning] == [f"无权查看区域 {other}，已回到您负责的区域。"]
    first = map_place(app)
    app.run()  # the map's first report reruns the page; the notice has been said
    assert not app.exception and not app.warning
    assert app.query_params["area"] == township
    assert map_place(app) == first
