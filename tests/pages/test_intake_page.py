"""管理 › 接入管理 under AppTest on both engines: a county admin makes a key (shown once), sees a
request that came in with the sender masked, and revokes the key."""

from __future__ import annotations

import datetime as dt

from services.intake.keys import add_intake_key
from services.intake.requests import submit_request
from tests.apptest import open_app
from tests.factories import ADMIN, COUNTY

PAGE = "pages/intake/intake_page.py"


def test_an_admin_makes_a_key_sees_a_masked_request_and_revokes_the_key(demo_store, monkeypatch) -> None:
    now = dt.datetime.now(dt.UTC)
    key = add_intake_key(demo_store.session_factory, actor=ADMIN, now=now, name="hotline", channel="hotline")
    with demo_store.session_factory() as session:
        from sqlalchemy import select

        from services.store.models import Household

        address = session.scalars(select(Household.address).order_by(Household.household_id).limit(1)).one()
    fields = {
        "service_code": "sanitation",
        "address_string": address,
        "description": "门前垃圾堆放",
        "attribute[subcategory]": "垃圾堆放",
        "external_id": "T-1",
        "first_name": "王小明",
        "phone": "13912345678",
    }
    made = submit_request(demo_store.session_factory, county_code=COUNTY, api_key=key, fields=fields, now=now)
    url = demo_store.engine.url.render_as_string(hide_password=False)
    app = open_app(monkeypatch, url, PAGE, user="admin").run()
    assert not app.exception
    requests = app.dataframe[1].value
    row = requests[requests["编号"] == made.service_request_id].iloc[0]
    assert (row["诉求人"], row["电话"], row["对方编号"]) == ("王**", "139****5678", "T-1")
    app.text_input(key="intake.name").input("cunqingtong")
    app.selectbox(key="intake.channel").select("app")
    app.button[0].click().run()  # the form's 创建
    shown = [c.value for c in app.code]
    assert len(shown) == 1 and shown[0].startswith("mq_")
    assert set(app.dataframe[0].value["名称"]) == {"hotline", "cunqingtong"}
    app.run()
    assert not app.code  # the key is shown once
    app.selectbox(key="intake.chosen").select("hotline")
    app.button(key="intake.revoke").click().run()
    keys = app.dataframe[0].value.set_index("名称")
    assert not keys.loc["hotline", "有效"] and keys.loc["cunqingtong", "有效"]
    assert "已吊销" in app.success[0].value


def test_the_page_is_only_for_county_admins(demo_store, monkeypatch) -> None:
    url = demo_store.engine.url.render_as_string(hide_password=False)
    app = open_app(monkeypatch, url, PAGE, user="operator").run()
    assert "无权管理接入密钥" in app.error[0].value
