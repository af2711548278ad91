"""The gateway's intake of a request's bytes against its intake of the parsed body: the same
event for every submittable type, the same refusal for every kind of fault, what is not JSON
refused as such, and batches split into their items or refused whole."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from events.gateway.intake import SUBMITTABLE, batch_items, intake
from events.gateway.problems import Invalid
from tests.factories import example_data

NOW = datetime(2025, 3, 3, 10, 0, 0, 123_456, tzinfo=UTC)  # kept to the millisecond


def _body(event_type: str = "CaseReported", **overrides: Any) -> dict[str, Any]:
    data = example_data(event_type, **overrides)
    envelope = {
        k: v for k, v in data["envelope"].items() if k not in ("source_system", "recorded_time")
    }
    return {"event_type": event_type, **data, "envelope": envelope}


def _refusal(body: Any, system: str = "dept.app") -> list[tuple[str, str, str, str, Any]]:
    with pytest.raises(Invalid) as caught:
        intake(body, system, NOW)
    return [(e.field, e.rule, e.message, e.message_zh, e.expected) for e in caught.value.errors]


@pytest.mark.parametrize("event_type", SUBMITTABLE)
def test_bytes_and_a_parsed_body_make_the_same_stamped_event(event_type: str) -> None:
    raw = orjson.dumps(_body(event_type))
    fast, judged = intake(raw, "dept.app", NOW), intake(orjson.loads(raw), "dept.app", NOW)
    assert type(fast) is type(judged) and type(fast).__name__ == event_type
    assert fast == judged and fast.model_dump() == judged.model_dump()
    assert fast.model_fields_set == judged.model_fields_set
    assert fast.envelope.model_fields_set == judged.envelope.model_fields_set
    assert fast.envelope.source_system == "dept.app"
    assert fast.envelope.recorded_time == datetime(2025, 3, 3, 10, 0, 0, 123_000, tzinfo=UTC)


def _stamping(**given: str) -> dict[str, Any]:
    body = _body()
    return {**body, "envelope": {**body["envelope"], **given}}


REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("a stamped field", _stamping(source_system="mine")),
    ("both stamped fields", _stamping(source_system="a", recorded_time="b")),
    ("fields at fault", _body(priority="soon", attachments_count=-1)),
    ("a rule joining fields", _body("CaseRejected", reason="duplicate", duplicate_of=None)),
    ("an unknown field", {**_body(), "colour": "red"}),
    ("a missing field", {k: v for k, v in _body().items() if k != "case_id"}),
    ("a derived type", {**_body(), "event_type": "DeadlineBreached"}),
    ("no type", {k: v for k, v in _body().items() if k != "event_type"}),
    ("a string for a number", _body(attachments_count="2")),
    ("a float for an integer", _body(attachments_count=2.0)),
]


@pytest.mark.parametrize("body", [b for _, b in REFUSED], ids=[n for n, _ in REFUSED])
def test_a_refusal_reads_the_same_from_bytes_and_from_a_parsed_body(body: dict[str, Any]) -> None:
    raw = orjson.dumps(body)
    assert _refusal(raw) == _refusal(orjson.loads(raw))


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b"{", "json_invalid"),
        (b'{"a": NaN}', "json_invalid"),  # not JSON, though pydantic's parser would read it
        (b"[1, 2]", "object"),
        (b'"CaseReported"', "object"),
    ],
)
def test_what_is_not_a_json_object_is_refused_for_what_it_is(raw: bytes, rule: str) -> None:
    assert [r[1] for r in _refusal(raw)] == [rule]


def test_a_number_orjson_cannot_read_is_not_json_however_the_contract_bounds_it() -> None:
    body = orjson.dumps(_body()).replace(b'"attachments_count":', b'"attachments_count":1e400,"x":')
    assert [r[1] for r in _refusal(body)] == ["json_invalid"]


def test_a_system_the_envelope_cannot_hold_is_refused_by_either_pass() -> None:
    raw = orjson.dumps(_body())
    refused = _refusal(raw, system="s" * 65)
    assert refused == _refusal(orjson.loads(raw), system="s" * 65)
    assert [r[:2] for r in refused] == [("envelope.source_system", "string_too_long")]


def test_a_batch_gives_its_items_as_parsed_in_order() -> None:
    good, bad = _body(), _body(priority="soon")
    raw = orjson.dumps({"events": [good, bad, 7, good]})
    assert batch_items(raw, 10) == orjson.loads(raw)["events"]


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b"nope", "json_invalid"),
        (b"[]", "batch_shape"),
        (b'{"events": {}}', "batch_shape"),
        (b'{"events": [], "more": 1}', "batch_shape"),
        (b'{"events": []}', "batch_size"),
        (orjson.dumps({"events": [1, 2, 3]}), "batch_size"),
    ],
)
def test_a_batch_that_is_not_one_is_refused_whole(raw: bytes, rule: str) -> None:
    with pytest.raises(Invalid) as caught:
        batch_items(raw, 2)
    assert [e.rule for e in caught.value.errors] == [rule]
