"""Open311 requests as services, on both engines: the spec's examples (with this county's
services and places), every field refused by name, idempotent POSTs under 16 threads, keys."""

from __future__ import annotations

import datetime as dt
import threading
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from services.domain import CATEGORIES
from services.errors import InvalidArgumentError, InvalidFieldError, PermissionDeniedError, UnknownItemError
from services.intake.catalogue import SERVICE_CODES
from services.intake.keys import add_intake_key, list_intake_keys, revoke_intake_key
from services.intake.requests import (
    RequestQuery,
    find_requests,
    get_request,
    list_received_requests,
    list_services,
    service_definition,
    submit_request,
)
from services.store.models import AuditEntry, Incident, IncidentEvent, IntakeKey, IntakeRequest
from tests.factories import ADMIN, COUNTY, GRID_A, GRID_B, T, household, make_actor, seed_areas
from tests.store.test_concurrency import at_once, split

# The spec's POST example (GeoReport v2, "POST Service Request"), with a service, place and
# attribute of this county instead of San Francisco's.
SPEC_POST = (
    "service_code=safety&lat=37.005&long=115.005&address_string=1234+5th+street"
    "&email=smit333%40sfgov.edu&device_id=tt222111&account_id=123456&first_name=john&last_name=smith"
    "&phone=111111111&description=A+large+sinkhole+is+destroying+the+street"
    "&media_url=http%3A%2F%2Fwww.city.gov%2Fmedia%2F12345&attribute[subcategory]=%E5%8D%B1%E6%88%BF"
)


def spec_fields(**changes: str) -> dict[str, str]:
    return {**dict(parse_qsl(SPEC_POST)), **changes}


@pytest.fixture
def county(store):
    seed_areas(store)
    key = add_intake_key(store.session_factory, actor=ADMIN, now=T, name="村情通", channel="app")
    return store, key


def post(store, key: str, now: dt.datetime = T, **changes: str):
    return submit_request(
        store.session_factory, county_code=COUNTY, api_key=key, fields=spec_fields(**changes), now=now
    )


def test_services_are_the_category_taxonomy_with_subcategory_as_a_required_attribute() -> None:
    assert [s["service_name"] for s in list_services()] == list(CATEGORIES)
    assert set(SERVICE_CODES.values()) == set(CATEGORIES)
    definition = service_definition("safety")
    subcategory = definition["attributes"][0]
    assert subcategory["code"] == "subcategory" and subcategory["required"] is True
    assert [v["key"] for v in subcategory["values"]] == list(CATEGORIES["安全隐患"])
    with pytest.raises(UnknownItemError):
        service_definition("001")


def test_the_spec_post_example_makes_a_case_in_reported_like_report_incident(county) -> None:
    store, key = county
    submitted = post(store, key)
    assert submitted.created and submitted.as_open311()[0]["service_request_id"] == submitted.service_request_id
    with store.session_factory() as session:
        case = session.get(Incident, (COUNTY, submitted.service_request_id))
        events = session.scalars(
            select(IncidentEvent.action).where(IncidentEvent.incident_id == case.incident_id)
        ).all()
        kept = session.get(IntakeRequest, (COUNTY, case.incident_id))
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "intake_post")).all()
    assert (case.state, case.grid_code, case.channel, case.category, case.subcategory) == (
        "reported",
        GRID_A,
        "app",
        "安全隐患",
        "危房",
    )
    assert events == ["report"]
    assert (kept.phone, kept.email, kept.first_name, kept.source) == (
        "111111111",
        "smit333@sfgov.edu",
        "john",
        "key:村情通",
    )
    assert [(a.username, a.target) for a in audit] == [("intake:村情通", case.incident_id)]


def test_get_shows_the_spec_fields_and_no_personal_data(county) -> None:
    store, key = county
    made = post(store, key).service_request_id
    # The spec's GET example: a date range and a status.
    query = RequestQuery(start_date="2026-11-01T00:00:00Z", end_date="2026-11-30T00:00:00Z", status="open")
    found = find_requests(store.session_factory, county_code=COUNTY, query=query, now=T)
    assert [r["service_request_id"] for r in found] == [made]
    row = found[0]
    assert row["status"] == "open" and row["status_notes"] == "待核实"
    assert row["service_code"] == "safety" and row["agency_responsible"] == "测试村第1网格"
    assert row["requested_datetime"] == "2026-11-20T12:00:00+08:00" and row["expected_datetime"] is None
    assert row["media_url"] == "http://www.city.gov/media/12345"
    text = repr(found) + repr(get_request(store.session_factory, county_code=COUNTY, service_request_id=made))
    assert not any(secret in text for secret in ("111111111", "smit333", "john", "smith"))
    closed = find_requests(store.session_factory, county_code=COUNTY, query=RequestQuery(status="closed"), now=T)
    assert closed == []


def test_get_lists_only_requests_that_came_in_through_the_api(county) -> None:
    from tests.factories import incident

    store, key = county
    with store.session_factory.begin() as session:
        session.add(incident("SJ202611200001", GRID_B, reported_at=T))
    found = find_requests(store.session_factory, county_code=COUNTY, query=RequestQuery(), now=T)
    assert found == []
    with pytest.raises(UnknownItemError):
        get_request(store.session_factory, county_code=COUNTY, service_request_id="SJ202611200001")


def test_pages_and_id_lists(county) -> None:
    store, key = county
    made = [post(store, key, now=T + dt.timedelta(minutes=i)).service_request_id for i in range(5)]
    page2 = find_requests(store.session_factory, county_code=COUNTY, query=RequestQuery(page="2", page_size="2"), now=T)
    assert [r["service_request_id"] for r in page2] == made[::-1][2:4]
    some = find_requests(
        store.session_factory, county_code=COUNTY, query=RequestQuery(service_request_id=f"{made[0]},{made[3]}"), now=T
    )
    assert sorted(r["service_request_id"] for r in some) == [made[0], made[3]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service_code": ""}, "service_code"),
        ({"service_code": "001"}, "service_code"),
        ({"lat": "north"}, "lat"),
        ({"lat": "91"}, "lat"),
        ({"long": "nan"}, "long"),
        ({"long": ""}, "long"),
        ({"lat": "", "long": "", "address_string": ""}, "lat"),
        ({"lat": "", "long": "", "address_string": "火星某地"}, "address_string"),
        ({"lat": "38.5", "long": "116.5"}, "lat"),  # outside the county's grids
        ({"description": " "}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"attribute[subcategory]": ""}, "attribute[subcategory]"),
        ({"attribute[subcategory]": "邻里纠纷"}, "attribute[subcategory]"),  # another service's
        ({"attribute[severity]": "high"}, "attribute[severity]"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"first_name": "x" * 33}, "first_name"),
        ({"last_name": "x" * 33}, "last_name"),
        ({"external_id": "x" * 65}, "external_id"),
        ({"address_string": "x" * 257}, "address_string"),
    ],
)
def test_bad_input_of_every_field_is_refused_naming_it_and_writes_nothing(county, changes, field) -> None:
    store, key = county
    with pytest.raises(InvalidFieldError) as refused:
        post(store, key, **changes)
    assert refused.value.field == field and str(refused.value).startswith(field)
    with store.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0
        assert session.scalar(select(func.count()).select_from(IntakeRequest)) == 0
        refusals = session.scalars(select(AuditEntry.target).where(AuditEntry.action == "intake_refused")).all()
    assert refusals == [field]


def test_an_address_only_request_is_placed_at_the_household_with_that_address(county) -> None:
    store, key = county
    with store.session_factory.begin() as session:
        session.add(household("h1", GRID_A))  # 平乡镇测试村1号 at (115.005, 37.005)
    made = post(store, key, lat="", long="", address_string="平乡镇 测试村1号").service_request_id
    with store.session_factory() as session:
        case = session.get(Incident, (COUNTY, made))
    assert (case.lon, case.lat, case.grid_code) == (115.005, 37.005, GRID_A)


def test_bad_revoked_and_missing_keys_get_403_and_are_on_the_record(county) -> None:
    store, key = county
    for wrong in ("", "mq_guess", key + "x"):
        with pytest.raises(PermissionDeniedError):
            post(store, wrong)
    revoke_intake_key(store.session_factory, actor=ADMIN, now=T, name="村情通")
    with pytest.raises(PermissionDeniedError):
        post(store, key)
    with store.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0
        refused = session.scalar(select(func.count()).where(AuditEntry.action == "intake_refused"))
    assert refused == 4
    keys = list_intake_keys(store.session_factory, actor=ADMIN, now=T)
    assert keys[["name", "active"]].values.tolist() == [["村情通", False]]


def test_the_same_external_id_twice_is_one_case_but_another_key_may_reuse_it(county) -> None:
    store, key = county
    first = post(store, key, external_id="app-1")
    again = post(store, key, external_id="app-1", description="另一段描述")
    other_key = add_intake_key(store.session_factory, actor=ADMIN, now=T, name="hotline", channel="hotline")
    other = post(store, other_key, external_id="app-1")
    assert (first.created, again.created, other.created) == (True, False, True)
    assert again.service_request_id == first.service_request_id != other.service_request_id
    keys = list_intake_keys(store.session_factory, actor=ADMIN, now=T).set_index("name")
    assert keys.loc["村情通", "requests"] == 1 and keys.loc["hotline", "channel"] == "hotline"


def test_sixteen_simultaneous_identical_posts_make_one_case(county) -> None:
    store, key = county
    barrier = threading.Barrier(16)
    results: list[object] = []

    def send() -> None:
        barrier.wait()
        try:
            results.append(post(store, key, external_id="burst-1"))
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            results.append(error)

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = {getattr(r, "service_request_id", repr(r)) for r in results}
    with store.session_factory() as session:
        cases = session.scalar(select(func.count()).select_from(Incident))
        posts = session.scalar(select(func.count()).where(AuditEntry.action == "intake_post"))
    assert (len(ids), cases, posts, sum(getattr(r, "created", False) for r in results)) == (1, 1, 1, 1)


def test_keys_are_a_county_admins_and_shown_once(county) -> None:
    store, key = county
    assert key.startswith("mq_") and len(key) > 40
    with pytest.raises(PermissionDeniedError):
        add_intake_key(store.session_factory, actor=make_actor("county_operator"), now=T, name="x1", channel="app")
    with pytest.raises(InvalidArgumentError, match="已存在"):
        add_intake_key(store.session_factory, actor=ADMIN, now=T, name="村情通", channel="app")
    with store.session_factory() as session:
        stored = session.scalars(select(AuditEntry.detail)).all()
    assert not any(key in (d or "") for d in stored)


def test_the_page_lists_received_requests_with_personal_data_masked(county) -> None:
    store, key = county
    post(store, key, external_id="app-9")
    shown = list_received_requests(store.session_factory, actor=ADMIN, now=T)
    assert shown[["external_id", "name", "phone", "email"]].values.tolist() == [
        ["app-9", "s" + "*" * 8, "111****1111", "s***@sfgov.edu"]  # smith + john
    ]


def test_sixteen_admins_adding_one_key_name_at_once_make_one_key(county) -> None:
    store, _ = county
    outcomes = at_once(
        16, lambda n: add_intake_key(store.session_factory, actor=ADMIN, now=T, name="12345热线", channel="hotline")
    )
    made, taken = split(outcomes, InvalidArgumentError)
    assert len(made) == 1 and len(taken) == 15 and all("已存在" in str(error) for error in taken)
    with store.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IntakeKey).where(IntakeKey.name == "12345热线")) == 1
