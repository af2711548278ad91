"""Open311's pure rules: where a point or an address lies, what a filed form becomes, the
filters of GET requests with the spec's defaults, a case's public status, the pseudonym."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events.gateway.open311.rules import (
    DEFAULT_SPAN,
    Filing,
    Grid,
    Open311Error,
    public_status,
    read_filing,
    read_query,
    report_body,
    reporter_ref,
)
from events.models import CaseReported

SQUARE = Grid("g1", "第1网格", ((121.0, 29.0), (121.1, 29.0), (121.1, 29.1), (121.0, 29.1)))
SQUARE_NAMED = Grid("g1", "第1网格", SQUARE.ring, ("海曙区", "第1街道", "第1社区", "第1网格"))
OTHER = Grid("g2", "第1网格", ((121.1, 29.0), (121.2, 29.0), (121.2, 29.1), (121.1, 29.1)))
OTHER_NAMED = Grid("g2", "第1网格", OTHER.ring, ("海曙区", "第1街道", "第2社区", "第1网格"))
GRIDS = (SQUARE_NAMED, OTHER_NAMED)
NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def filing(**form: str) -> Filing:
    return read_filing({"service_code": "appearance", **form}, lambda c: c == "appearance", GRIDS)


def refusal(**form: str) -> Open311Error:
    with pytest.raises(Open311Error) as caught:
        read_filing(form, lambda c: c == "appearance", GRIDS)
    return caught.value


def test_a_point_lies_in_the_grid_whose_polygon_holds_it() -> None:
    assert SQUARE.contains(121.05, 29.05) and not SQUARE.contains(121.15, 29.05)
    assert not SQUARE.contains(121.05, 29.2)  # outside the box at once
    found = filing(lat="29.05", long="121.15")
    assert found.grid_id == "g2"


def test_an_address_places_a_request_only_when_it_names_one_grid_whole() -> None:
    named = filing(address_string="浙江省宁波市海曙区第1街道第2社区第1网格 8号")
    assert named.grid_id == "g2"
    assert "no single grid" in str(refusal(service_code="appearance", address_string="第1网格"))
    by_id = filing(address_id="g1")
    assert by_id.grid_id == "g1"


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({}, 400, "service_code was not provided"),
        ({"service_code": " "}, 400, "service_code was not provided"),
        ({"service_code": "potholes"}, 404, "potholes"),
        ({"service_code": "appearance"}, 400, "a location is required"),
        ({"service_code": "appearance", "lat": "29.05"}, 400, "sent together"),
        ({"service_code": "appearance", "lat": "x", "long": "121"}, 400, "lat must be a number"),
        ({"service_code": "appearance", "lat": "nan", "long": "121"}, 400, "lat must be between"),
        ({"service_code": "appearance", "lat": "29", "long": "181"}, 400, "long must be between"),
        ({"service_code": "appearance", "lat": "0", "long": "0"}, 400, "lies in no grid"),
        ({"service_code": "appearance", "address_id": "g9"}, 400, "address_id"),
        ({"service_code": "appearance\x00"}, 400, "NUL"),
    ],
)
def test_a_form_at_fault_is_refused_naming_why(
    form: dict[str, str], status: int, says: str
) -> None:
    error = refusal(**form)
    assert error.status == status and says in str(error)
    assert error.errors[0][0] == status


def test_every_fault_of_a_form_is_named_at_once() -> None:
    error = refusal(
        service_code="appearance",
        lat="29.05",
        long="121.05",
        description="长" * 4001,
        media_url="javascript:alert(1)",
        phone="1" * 201,
    )
    assert error.status == 400 and len(error.errors) == 3
    assert filing(lat="29.05", long="121.05", description="长" * 4000)


def test_a_filing_becomes_a_residents_case_report_without_personal_data() -> None:
    found = read_filing(
        {
            "service_code": "appearance",
            "lat": "29.05",
            "long": "121.05",
            "email": "a@b.cn",
            "first_name": "王",
            "description": "",
            "media_url": "https://x.cn/1.jpg",
        },
        lambda c: True,
        GRIDS,
    )
    ref = reporter_ref(b"k" * 32, "app", found.personal)
    body = report_body(found, "c-1", "e-1", NOW, "市容市貌", ref)
    body["envelope"].update(source_system="app", recorded_time=NOW)
    report = CaseReported.model_validate({k: v for k, v in body.items() if k != "event_type"})
    assert report.channel == "resident" and report.description == "市容市貌"
    assert report.attachments_count == 1 and report.reporter_ref == ref
    assert "a@b.cn" not in report.model_dump_json() and "王" not in report.model_dump_json()


def test_the_pseudonym_is_keyed_and_follows_the_contact() -> None:
    key = b"k" * 32
    assert reporter_ref(key, "a", {"email": "A@B.cn"}) == reporter_ref(
        key, "b", {"email": "a@b.cn"}
    )
    assert reporter_ref(key, "a", {"phone": "138 0013"}) == reporter_ref(
        key, "a", {"phone": "1380013"}
    )
    assert reporter_ref(key, "a", {"account_id": "1"}) != reporter_ref(
        key, "b", {"account_id": "1"}
    )
    assert reporter_ref(b"j" * 32, "a", {"email": "a@b.cn"}) != reporter_ref(
        key, "a", {"email": "a@b.cn"}
    )
    assert reporter_ref(key, "a", {"first_name": "王"}) is None


def test_a_query_has_the_specs_defaults() -> None:
    q = read_query({}, NOW)
    assert (q.start, q.end, q.ids, q.statuses) == (NOW - DEFAULT_SPAN, NOW, (), ())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert read_query({"start_date": "2026-01-01T00:00:00Z"}, NOW).end == start + DEFAULT_SPAN
    assert read_query({"end_date": "2026-01-01T08:00:00+08:00"}, NOW).start == start - DEFAULT_SPAN
    q = read_query(
        {"service_request_id": "a, b,", "status": "Open,closed", "service_code": ""}, NOW
    )
    assert (q.ids, q.statuses, q.service_codes) == (("a", "b"), ("open", "closed"), ())
    exactly = read_query(
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:00Z"}, NOW
    )
    assert exactly.end - exactly.start == DEFAULT_SPAN


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"start_date": "2026-01-01"}, "w3 datetime"),
        ({"start_date": "2026-01-01T00:00:00"}, "time zone"),
        ({"end_date": "soon"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"}, "90 days"),
        ({"start_date": "2026-01-02T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "before"),
        ({"status": "open,pending"}, "open or closed"),
    ],
)
def test_a_bad_filter_is_refused_400(params: dict[str, str], says: str) -> None:
    with pytest.raises(Open311Error) as caught:
        read_query(params, NOW)
    assert caught.value.status == 400 and says in str(caught.value)


def test_a_case_is_closed_once_closed_or_rejected_and_open_otherwise() -> None:
    assert public_status(None)[0] == "open"
    for status in ("reported", "accepted", "dispatched", "in_progress", "suspended", "resolved"):
        assert public_status(status)[0] == "open"
    assert public_status("closed") == ("closed", "已结案")
    assert public_status("rejected")[0] == "closed"
    assert public_status("verified")[1] and public_status("rejected")[1] != public_status(None)[1]
