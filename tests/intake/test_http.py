"""The Open311 API through a real HTTP client (urllib) against the app as `make run` serves it
(`streamlit run serve.py` on a free port), on both engines."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from devtools.app_server import running_app
from services.intake.keys import add_intake_key, revoke_intake_key
from services.store.models import Incident
from tests.factories import ADMIN, T, seed_areas
from tests.intake.test_requests import SPEC_POST

GET_PER_MIN = 40


@pytest.fixture(scope="module")
def api(module_store):
    seed_areas(module_store)
    key = add_intake_key(module_store.session_factory, actor=ADMIN, now=T, name="hotline12345", channel="hotline")
    url = module_store.engine.url.render_as_string(hide_password=False)
    with running_app({"DATABASE_URL": url, "COUNTY_CODE": "130532", "INTAKE_GET_PER_MIN": str(GET_PER_MIN)}) as (
        base,
        _,
    ):
        yield base + "open311/v2/", key, module_store


def call(url: str, data: bytes | None = None, content_type: str = "application/x-www-form-urlencoded"):
    """(status, headers, parsed JSON body) of one request."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_services_and_a_service_definition(api) -> None:
    base, _, _ = api
    status, headers, services = call(base + "services.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert "safety" in [s["service_code"] for s in services]
    status, _, definition = call(base + "services/safety.json")
    assert status == 200 and definition["attributes"][0]["code"] == "subcategory"
    assert call(base + "services/001.json")[:3:2] == (
        404,
        [{"code": 404, "description": "服务 001 不存在或不在您的管辖范围内"}],
    )


def test_the_spec_post_then_get_it_back_form_encoded_and_as_json(api) -> None:
    base, key, _ = api
    status, _, made = call(base + "requests.json", f"api_key={key}&external_id=w-1&{SPEC_POST}".encode())
    assert status == 201 and set(made[0]) == {"service_request_id", "service_notice", "account_id"}
    request_id = made[0]["service_request_id"]
    body = json.dumps(
        {
            "api_key": key,
            "external_id": "w-1",
            "service_code": "safety",
            "lat": 37.005,
            "long": 115.005,
            "description": "重复推送",
            "attribute": {"subcategory": "危房"},
        }
    ).encode()
    status, _, again = call(base + "requests.json", body, "application/json")
    assert (status, again[0]["service_request_id"]) == (200, request_id)
    status, _, found = call(base + f"requests/{request_id}.json")
    assert status == 200 and found[0]["status"] == "open" and "111111111" not in json.dumps(found)
    status, _, listed = call(base + "requests.json?" + urlencode({"service_request_id": request_id}))
    assert [r["service_request_id"] for r in listed] == [request_id]


def test_errors_are_the_spec_list_with_the_right_status(api) -> None:
    base, key, store = api
    with store.session_factory() as session:
        before = session.scalar(select(func.count()).select_from(Incident))
    cases = [
        (f"api_key=wrong&{SPEC_POST}".encode(), "application/x-www-form-urlencoded", 403),
        (f"api_key={key}&{SPEC_POST}&lat=95".encode(), "application/x-www-form-urlencoded", 400),
        (b"{not json", "application/json", 400),
        (b"<xml/>", "text/xml", 400),
    ]
    for data, content_type, expected in cases:
        status, _, body = call(base + "requests.json", data, content_type)
        assert status == expected and body[0]["code"] == expected and body[0]["description"]
    assert call(base + "requests.json", f"api_key={key}&{SPEC_POST}&lat=95".encode())[2][0]["description"].startswith(
        "lat"
    )
    assert call(base + "requests/SJ000.json")[0] == 404
    assert call(base + "requests.json?status=pending")[2][0]["description"].startswith("status")
    with store.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == before


def test_sixteen_simultaneous_identical_posts_over_http_make_one_case(api) -> None:
    base, key, store = api
    barrier = threading.Barrier(16)
    answers: list[tuple[int, str]] = []

    def send() -> None:
        barrier.wait()
        status, _, body = call(base + "requests.json", f"api_key={key}&external_id=burst&{SPEC_POST}".encode())
        answers.append((status, body[0].get("service_request_id", body[0].get("description"))))

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [200] * 15 + [201]
    assert len({request_id for _, request_id in answers}) == 1


def test_a_revoked_key_is_refused_at_once(api) -> None:
    base, _, store = api
    key = add_intake_key(store.session_factory, actor=ADMIN, now=T, name="dept-water", channel="department")
    assert call(base + "requests.json", f"api_key={key}&{SPEC_POST}".encode())[0] == 201
    revoke_intake_key(store.session_factory, actor=ADMIN, now=T, name="dept-water")
    assert call(base + "requests.json", f"api_key={key}&{SPEC_POST}".encode())[0] == 403


def test_gets_past_the_rate_get_429_with_retry_after(api) -> None:
    base, _, _ = api
    statuses = []
    for _ in range(GET_PER_MIN + 5):
        status, headers, body = call(base + "services.json")
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1 and body[0]["code"] == 429
            break
    assert statuses[-1] == 429 and len(statuses) <= GET_PER_MIN + 1
