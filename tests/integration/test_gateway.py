"""The gateway on the real stack: submissions accepted only once Kafka has them, stamped with
the caller's system; invalid ones refused naming every field, in English and Chinese, and never
sent; batches answered item by item; a submission's status and the outcomes read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from events.models import OutcomeStatus
from tests.factories import example_event
from tests.integration.gateway_helpers import (
    GatewayWorld,
    Served,
    gateway_world_fixture,  # noqa: F401 (a fixture)
    get,
    key_fixture,  # noqa: F401 (a fixture)
    outcome,
    post,
    served_fixture,  # noqa: F401 (a fixture)
    submission,
)
from tests.integration.projection_helpers import wait_for

SYSTEM = "dept.market-supervision.app"


def on_inbox(world: GatewayWorld, event_id: str) -> list[Any]:
    return [e for e in world.inbox_events() if e.envelope.event_id == event_id]


def test_a_valid_event_is_answered_202_once_kafka_has_it_stamped_with_the_system(
    world: GatewayWorld, served: Served, key: str
) -> None:
    before = datetime.now(UTC)
    body = submission()
    r = post(served, key, "/v1/events", body)
    assert r.status_code == 202, r.text
    event_id = body["envelope"]["event_id"]
    assert r.headers["location"] == f"/v1/submissions/{event_id}"
    assert r.json() == {
        "event_id": event_id,
        "event_type": "CaseReported",
        "status": "pending",
        "location": f"/v1/submissions/{event_id}",
    }
    (event,) = on_inbox(world, event_id)
    assert event.envelope.source_system == SYSTEM
    assert before.replace(microsecond=0) <= event.envelope.recorded_time <= datetime.now(UTC)
    sent = example_event("CaseReported", envelope=body["envelope"])
    assert event.model_dump(exclude={"envelope"}) == sent.model_dump(exclude={"envelope"})
    status = get(served, key, r.headers["location"])
    assert status.status_code == 200
    assert status.json()["status"] == "pending"


def test_an_invalid_event_names_every_field_at_fault_in_both_languages_and_is_never_sent(
    world: GatewayWorld, served: Served, key: str
) -> None:
    body = submission(priority="whenever", title="")
    del body["grid_id"]
    r = post(served, key, "/v1/events", body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["title"] == "invalid event"
    assert "detail_zh" in problem
    errors = {e["field"]: e for e in problem["errors"]}
    assert set(errors) == {"grid_id", "priority", "title"}
    assert errors["grid_id"]["rule"] == "missing"
    assert errors["grid_id"]["message_zh"] == "缺少必填字段"
    assert errors["priority"]["rule"] == "enum"
    assert "urgent" in errors["priority"]["expected"]
    assert errors["title"]["rule"] == "string_too_short"
    assert errors["title"]["expected"] == {"min_length": 1}
    assert on_inbox(world, body["envelope"]["event_id"]) == []


def test_a_nul_character_is_refused_naming_its_field_and_never_sent(
    world: GatewayWorld, served: Served, key: str
) -> None:
    """PostgreSQL's text cannot hold U+0000: an event carrying one would pass the log and then
    stop every projection, so the contract refuses it."""
    body = submission(description="漏水\u0000严重")
    body["envelope"]["event_id"] = body["envelope"]["event_id"][:-1] + "\u0000"
    r = post(served, key, "/v1/events", body)
    assert r.status_code == 422
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert set(errors) == {"description", "envelope.event_id"}
    assert {e["rule"] for e in errors.values()} == {"string_pattern_mismatch"}
    assert errors["description"]["message_zh"].startswith("字符串含有不允许的字符")
    assert on_inbox(world, body["envelope"]["event_id"]) == []


@pytest.mark.parametrize("field", ["source_system", "recorded_time"])
def test_a_body_never_chooses_its_source_system_or_recording_time(
    world: GatewayWorld, served: Served, key: str, field: str
) -> None:
    body = submission()
    body["envelope"][field] = "other-system" if field == "source_system" else "2025-03-03T09:35:00Z"
    r = post(served, key, "/v1/events", body)
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert (error["field"], error["rule"]) == (f"envelope.{field}", "set_by_gateway")
    assert on_inbox(world, body["envelope"]["event_id"]) == []


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"event_type": "DeadlineBreached"}, "event_type", "not_a_submission"),
        ({"event_type": "SubmissionOutcome"}, "event_type", "not_a_submission"),
        ({"event_type": "NoSuchEvent"}, "event_type", "not_a_submission"),
        ({"envelope": {}}, "event_type", "missing"),
        ([1, 2], "(body)", "object"),
    ],
)
def test_what_is_not_a_submission_is_refused_naming_the_rule(
    served: Served, key: str, body: Any, field: str, rule: str
) -> None:
    r = post(served, key, "/v1/events", body)
    assert r.status_code == 422
    assert (r.json()["errors"][0]["field"], r.json()["errors"][0]["rule"]) == (field, rule)


def test_a_body_that_is_not_json_is_refused(served: Served, key: str) -> None:
    r = httpx.post(
        f"{served.url}/v1/events",
        content=b"{not json",
        headers={"X-Api-Key": key, "content-type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["rule"] == "json_invalid"


def test_a_batch_answers_each_item_on_its_own_in_order(
    world: GatewayWorld, served: Served, key: str
) -> None:
    good = [submission(case_id=f"case-b-{i}") for i in range(3)]
    bad = submission(priority="whenever")
    r = post(served, key, "/v1/events/batch", {"events": [good[0], bad, good[1], 7, good[2]]})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["accepted"], answer["refused"]) == (3, 2)
    assert [item["status"] for item in answer["results"]] == [202, 422, 202, 422, 202]
    assert [item["index"] for item in answer["results"]] == [0, 1, 2, 3, 4]
    assert answer["results"][1]["problem"]["errors"][0]["field"] == "priority"
    ids = [g["envelope"]["event_id"] for g in good]
    assert [item["receipt"]["event_id"] for item in answer["results"][::2]] == ids
    inbox = {e.envelope.event_id for e in world.inbox_events()}
    assert set(ids) <= inbox
    assert bad["envelope"]["event_id"] not in inbox


@pytest.mark.parametrize(
    ("body", "rule"),
    [({"events": []}, "batch_size"), ({"items": []}, "batch_shape"), ([], "batch_shape")],
)
def test_a_batch_of_the_wrong_shape_or_size_is_refused(
    served: Served, key: str, body: Any, rule: str
) -> None:
    r = post(served, key, "/v1/events/batch", body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["rule"] == rule


def test_a_submission_reads_pending_then_accepted_or_rejected_and_only_by_its_system(
    world: GatewayWorld, served: Served, key: str
) -> None:
    accepted, rejected = submission(), submission()
    for body in (accepted, rejected):
        assert post(served, key, "/v1/events", body).status_code == 202
    a, b = accepted["envelope"]["event_id"], rejected["envelope"]["event_id"]
    world.write_outcomes(
        [
            outcome(a, SYSTEM, OutcomeStatus.ACCEPTED, 1, sequence=1, events=2),
            outcome(b, SYSTEM, OutcomeStatus.REJECTED, 2, code="CASE_EXISTS", message="已存在"),
        ]
    )

    def answered() -> bool:
        return bool(get(served, key, f"/v1/submissions/{b}").json()["status"] != "pending")

    wait_for(answered, 30, "the outcomes to be materialized")
    got = get(served, key, f"/v1/submissions/{a}").json()
    assert (got["status"], got["sequence"]) == ("accepted", 1)
    got = get(served, key, f"/v1/submissions/{b}").json()
    assert (got["status"], got["code"], got["message"]) == ("rejected", "CASE_EXISTS", "已存在")
    other = world.key("dept.housing.app")[1]
    r = get(served, other, f"/v1/submissions/{a}")
    assert r.status_code == 404
    assert r.json()["parameter"] == "event_id"


def test_an_event_id_of_any_characters_gets_a_location_that_finds_it(
    served: Served, key: str
) -> None:
    body = submission(envelope={"event_id": "事件/1 ?#"})
    r = post(served, key, "/v1/events", body)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == "/v1/submissions/%E4%BA%8B%E4%BB%B6%2F1%20%3F%23"
    found = get(served, key, r.headers["location"])
    assert found.status_code == 200
    assert found.json()["event_id"] == "事件/1 ?#"


def test_a_batch_holding_one_event_twice_sends_both_and_knows_the_submission_once(
    served: Served, key: str
) -> None:
    body = submission()
    r = post(served, key, "/v1/events/batch", {"events": [body, body]})
    assert [i["status"] for i in r.json()["results"]] == [202, 202]
    found = get(served, key, f"/v1/submissions/{body['envelope']['event_id']}")
    assert found.json()["status"] == "pending"
