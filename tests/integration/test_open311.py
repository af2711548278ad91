"""Open311 GeoReport v2 on the real stack, served by ``fengqiao gateway``: every endpoint in
JSON and XML with the spec's element names and content types; a form-encoded request filed
onto the case inbox as a resident's CaseReported, its resident's personal data kept in the
gateway's PostgreSQL and never on the log; every refusal in Open311's own form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from events.models import CaseReported, Channel
from events.topics import CASE_INBOX
from tests.integration.gateway_helpers import GatewayWorld, Served
from tests.integration.helpers import read_topic
from tests.integration.open311_helpers import (
    DESCRIPTION,
    PERSONAL,
    inside,
    open311_served,
    open311_world_fixture,  # noqa: F401 (a fixture)
    resident_key,
    services_ready,
    xml_rows,
)
from tests.integration.workflow_helpers import city

APP = "resident.app.ningbo"
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture(scope="module")
def served(world: GatewayWorld) -> Served:
    return open311_served(world)


@pytest.fixture(scope="module")
def key(world: GatewayWorld) -> str:
    return resident_key(world, APP)


def grid() -> str:
    return city()[0].grids[0]


def file(served: Served, fmt: str = "json", **form: str) -> httpx.Response:
    return httpx.post(f"{served.url}/open311/v2/requests.{fmt}", data=form, timeout=30)


def a_request(key: str, **more: str) -> dict[str, str]:
    lat, lon = inside(grid())
    return {
        "api_key": key,
        "service_code": "appearance",
        "lat": str(lat),
        "long": str(lon),
        "description": DESCRIPTION,
        **more,
    }


def inbox_reports(world: GatewayWorld) -> dict[str, CaseReported]:
    return {e.case_id: e for e in world.inbox_events() if isinstance(e, CaseReported)}


def raw_inbox(world: GatewayWorld) -> bytes:
    """Every byte of the case inbox's records, keys and values."""
    records = read_topic(world.connection.kafka_bootstrap, world.topic(CASE_INBOX))
    return b"".join((r.key or b"") + r.value for r in records)


# --- services ---------------------------------------------------------------------------


def test_the_service_list_is_the_categories_in_json_and_xml(served: Served) -> None:
    j = httpx.get(f"{served.url}/open311/v2/services.json", timeout=30)
    assert j.headers["content-type"] == "application/json; charset=utf-8"
    services = j.json()
    assert len(services) == 28
    by_code = {s["service_code"]: s for s in services}
    assert [list(s) for s in services] == [SERVICE_FIELDS] * 28
    appearance = by_code["appearance"]
    assert appearance["service_name"] == "市容市貌"
    assert (appearance["metadata"], appearance["type"]) == (False, "realtime")
    assert "市容市貌" in appearance["keywords"] and appearance["group"]
    x = httpx.get(
        f"{served.url}/open311/v2/services.xml", params={"jurisdiction_id": "ningbo.gov.cn"}
    )
    assert x.headers["content-type"] == "text/xml; charset=utf-8"
    rows = xml_rows(x.content, "services", "service")
    assert [list(r) for r in rows] == [SERVICE_FIELDS] * 28
    assert {r["service_code"]: r for r in rows}["appearance"] == {
        **{k: str(v) for k, v in appearance.items()},
        "metadata": "false",
    }


def test_a_service_definition_has_no_attributes_and_an_unknown_one_is_404(
    served: Served,
) -> None:
    j = httpx.get(f"{served.url}/open311/v2/services/appearance.json", timeout=30)
    assert j.json() == {"service_code": "appearance", "attributes": []}
    x = httpx.get(f"{served.url}/open311/v2/services/appearance.xml", timeout=30)
    assert x.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert b"<service_definition><service_code>appearance</service_code><attributes />" in (
        x.content
    )
    for fmt in ("json", "xml"):
        r = httpx.get(f"{served.url}/open311/v2/services/potholes.{fmt}", timeout=30)
        assert r.status_code == 404
        (error,) = r.json() if fmt == "json" else xml_rows(r.content, "errors", "error")
        assert str(error["code"]) == "404" and "potholes" in str(error["description"])


# --- filing -------------------------------------------------------------------------------


def test_a_filed_request_becomes_a_residents_case_report_without_personal_data(
    world: GatewayWorld, served: Served, key: str
) -> None:
    before = datetime.now(UTC)
    r = file(served, "xml", **a_request(key, media_url="https://img.example.cn/1.jpg"), **PERSONAL)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    (answer,) = xml_rows(r.content, "service_requests", "request")
    assert list(answer) == ["service_request_id", "service_notice", "account_id"]
    case_id = answer["service_request_id"]
    assert case_id and answer["account_id"] == "acct-42" and answer["service_notice"]
    report = inbox_reports(world)[case_id]  # on the inbox: Kafka acknowledged it
    assert report.channel == Channel.resident
    assert (report.grid_id, report.category_code) == (grid(), "appearance")
    assert report.description == DESCRIPTION and report.attachments_count == 1
    lat, lon = inside(grid())
    assert report.location is not None
    assert (report.location.lat, report.location.lon) == (lat, lon)
    assert report.envelope.source_system == APP
    assert before <= report.envelope.recorded_time <= datetime.now(UTC)
    assert report.reporter_ref is not None and len(report.reporter_ref) == 64
    assert report.envelope.actor.id == report.reporter_ref
    raw = raw_inbox(world)
    for value in PERSONAL.values():
        assert value.encode() not in raw, value
    with world.conn() as conn:
        kept = conn.execute(
            "SELECT first_name, last_name, phone, email, device_id, account_id, reporter_ref"
            " FROM open311_reporters WHERE service_request_id = %s",
            (case_id,),
        ).fetchone()
    assert kept == (*PERSONAL.values(), report.reporter_ref)
    # the same contact, the same pseudonym; none given, none made
    again = file(served, **a_request(key, email="WANG.XM@example.cn")).json()[0]
    anonymous = file(served, **a_request(key)).json()[0]
    reports = inbox_reports(world)
    assert reports[again["service_request_id"]].reporter_ref == report.reporter_ref
    assert reports[anonymous["service_request_id"]].reporter_ref is None
    assert anonymous["account_id"] is None


def test_a_request_just_filed_reads_open_with_its_requested_time(served: Served, key: str) -> None:
    filed = file(served, **a_request(key, address_string="海曙区 某小区 3 号楼")).json()
    case_id = filed[0]["service_request_id"]
    r = httpx.get(f"{served.url}/open311/v2/requests/{case_id}.json", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    (request,) = r.json()
    assert list(request) == REQUEST_FIELDS
    assert request["status"] == "open" and request["status_notes"]
    assert request["requested_datetime"] == request["updated_datetime"]
    assert request["requested_datetime"].endswith("+08:00")
    assert (request["service_code"], request["service_name"]) == ("appearance", "市容市貌")
    assert request["description"] == DESCRIPTION
    assert request["address"] == "海曙区 某小区 3 号楼" and request["address_id"] == grid()
    assert (request["agency_responsible"], request["expected_datetime"]) == (None, None)
    x = httpx.get(f"{served.url}/open311/v2/requests/{case_id}.xml", timeout=30)
    (row,) = xml_rows(x.content, "service_requests", "request")
    assert list(row) == REQUEST_FIELDS
    assert row["service_request_id"] == case_id and row["status"] == "open"
    assert float(row["lat"] or 0) == request["lat"]


def test_a_request_is_placed_by_address_id_or_by_an_address_naming_its_grid(
    world: GatewayWorld, served: Served, key: str
) -> None:
    town, _ = city()
    second = town.grids[1]
    by_id = file(served, api_key=key, service_code="appearance", address_id=second).json()
    named = file(
        served,
        api_key=key,
        service_code="appearance",
        address_string="浙江省宁波市海曙区第1街道第1社区第2网格 中山路 8 号",
    ).json()
    reports = inbox_reports(world)
    assert reports[by_id[0]["service_request_id"]].grid_id == second
    assert reports[named[0]["service_request_id"]].grid_id == second
    assert reports[by_id[0]["service_request_id"]].location is None
    # no description: the service's name stands in for it
    assert reports[by_id[0]["service_request_id"]].description == "市容市貌"


def test_requests_are_listed_by_the_specs_filters(served: Served, key: str) -> None:
    food = file(served, **{**a_request(key), "service_code": "food-drug"}).json()[0]
    mine = [file(served, **a_request(key)).json()[0]["service_request_id"] for _ in range(2)]
    url = f"{served.url}/open311/v2/requests.json"
    listed = httpx.get(url, timeout=30).json()
    ids = [r["service_request_id"] for r in listed]
    assert set(mine) | {food["service_request_id"]} <= set(ids)
    assert ids.index(mine[1]) < ids.index(mine[0])  # newest first
    by_code = httpx.get(url, params={"service_code": "food-drug"}).json()
    assert [r["service_request_id"] for r in by_code] == [food["service_request_id"]]
    both = httpx.get(url, params={"service_request_id": ",".join(mine), "status": "closed"})
    assert {r["service_request_id"] for r in both.json()} == set(mine)  # ids override status
    assert httpx.get(url, params={"status": "closed"}).json() == []
    assert {r["status"] for r in httpx.get(url, params={"status": "open"}).json()} == {"open"}
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert httpx.get(url, params={"start_date": later}).json() == []
    earlier = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    assert len(httpx.get(url, params={"start_date": earlier}).json()) == len(listed)
    assert httpx.get(url, params={"end_date": earlier}).json() == []
    x = httpx.get(f"{served.url}/open311/v2/requests.xml", params={"service_code": "food-drug"})
    assert [
        r["service_request_id"] for r in xml_rows(x.content, "service_requests", "request")
    ] == [food["service_request_id"]]


# --- refusals, in Open311's form -----------------------------------------------------------


def errors_of(r: httpx.Response, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        body: list[dict[str, Any]] = r.json()
        return body
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    return xml_rows(r.content, "errors", "error")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_refusal_of_a_filing_is_in_open311_form(
    world: GatewayWorld, served: Served, key: str, fmt: str
) -> None:
    system_key = resident_key(world, "dept.system", kind="system")
    lat, lon = inside(grid())
    cases: list[tuple[dict[str, str], int, str]] = [
        ({k: v for k, v in a_request(key).items() if k != "api_key"}, 403, "api_key"),
        (a_request("fq_0123456789abcdef.not-the-secret-at-all-xx"), 403, "Invalid api_key"),
        (a_request("not a key"), 403, "Invalid api_key"),
        (a_request(system_key), 403, "resident app"),
        ({**a_request(key), "service_code": ""}, 400, "service_code was not provided"),
        ({**a_request(key), "service_code": "potholes"}, 404, "potholes"),
        ({"api_key": key, "service_code": "appearance"}, 400, "a location is required"),
        ({**a_request(key), "long": ""}, 400, "lat and long must be sent together"),
        ({**a_request(key), "lat": "north"}, 400, "lat must be a number"),
        ({**a_request(key), "lat": "95"}, 400, "lat must be between"),
        ({**a_request(key), "lat": "0", "long": "0"}, 400, "lies in no grid"),
        (
            {"api_key": key, "service_code": "appearance", "address_id": "nowhere"},
            400,
            "address_id",
        ),
        (
            {"api_key": key, "service_code": "appearance", "address_string": "第1网格"},
            400,
            "names no single grid",
        ),
        ({**a_request(key), "description": "长" * 4001}, 400, "limited to 4000 characters"),
        ({**a_request(key), "media_url": "ftp://x/y.jpg"}, 400, "media_url"),
        ({**a_request(key), "jurisdiction_id": "sfgov.org"}, 404, "sfgov.org"),
    ]
    before = len(inbox_reports(world))
    for form, status, says in cases:
        r = file(served, fmt, **form)
        assert r.status_code == status, (form, r.text)
        errors = errors_of(r, fmt)
        assert errors and str(errors[0]["code"]) == str(status), r.text
        assert says in " ".join(str(e["description"]) for e in errors), (says, r.text)
    several = file(served, fmt, **{**a_request(key), "lat": "north", "description": "长" * 4001})
    assert len(errors_of(several, fmt)) == 2
    assert len(inbox_reports(world)) == before  # nothing refused reached the inbox
    assert abs(lat) > 0 and abs(lon) > 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_refusal_of_a_query_is_in_open311_form(served: Served, fmt: str) -> None:
    url = f"{served.url}/open311/v2/requests.{fmt}"
    cases: list[tuple[dict[str, str], int, str]] = [
        ({"start_date": "2026-01-01"}, 400, "w3 datetime"),
        ({"start_date": "2026-01-01T00:00:00"}, 400, "time zone"),
        ({"end_date": "yesterday"}, 400, "end_date"),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            400,
            "90 days",
        ),
        (
            {"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
            400,
            "before start_date",
        ),
        ({"status": "pending"}, 400, "open or closed"),
        ({"jurisdiction_id": "sfgov.org"}, 404, "sfgov.org"),
    ]
    for params, status, says in cases:
        r = httpx.get(url, params=params, timeout=30)
        assert r.status_code == status, (params, r.text)
        errors = errors_of(r, fmt)
        assert str(errors[0]["code"]) == str(status) and says in str(errors[0]["description"])
    missing = httpx.get(f"{served.url}/open311/v2/requests/c-19990101-0000000000.{fmt}")
    assert missing.status_code == 404
    assert "c-19990101-0000000000" in str(errors_of(missing, fmt)[0]["description"])


def test_an_unknown_format_is_404_in_xml_the_required_format(served: Served) -> None:
    r = httpx.get(f"{served.url}/open311/v2/services.csv", timeout=30)
    assert r.status_code == 404
    assert "csv" in str(errors_of(r, "xml")[0]["description"])


def test_a_filing_kafka_does_not_acknowledge_in_time_is_refused_and_nothing_kept(
    world: GatewayWorld, served: Served, key: str
) -> None:
    impatient = world.serve(FQ_GATEWAY_ACK_TIMEOUT_S="0.000001")
    services_ready(impatient)

    def kept() -> tuple[int, int]:
        with world.conn() as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM open311_requests),"
                " (SELECT count(*) FROM open311_reporters)"
            ).fetchone()
        assert counts is not None
        return counts[0], counts[1]

    before = kept()
    r = file(impatient, "xml", **a_request(key), **PERSONAL)
    assert r.status_code == 400
    (error,) = errors_of(r, "xml")
    assert error["code"] == "503" and "retry" in str(error["description"])
    assert kept() == before
    impatient.stop()
