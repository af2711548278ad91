"""The publisher SDK on the real stack: every event type survives the trip through Kafka and
the registry; a case's events stay in one partition in order; bad input is refused with its
specific error and publishes nothing; unreachable services fail fast with their own errors.
"""

from __future__ import annotations

import struct
import time
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest

from events.codec import AvroCodec, SchemaNotRegistered
from events.errors import (
    BrokerUnavailable,
    FengqiaoError,
    InvalidEvent,
    RegistryUnavailable,
    UnknownEventType,
)
from events.models import MODELS, Event
from events.registry import SchemaRegistry
from infra.settings import ConnectionSettings
from schemas.catalog import load_catalog
from tests.factories import example_data, example_event
from tests.integration.helpers import (
    Scratch,
    read_topic,
    record_count,
    registry_fixture,  # noqa: F401 (a fixture)
    scratch_fixture,  # noqa: F401 (a fixture)
    scratch_publisher,
)

CATALOG = load_catalog()
E = TypeVar("E", bound=FengqiaoError)


def _submission(event_type: str, **overrides: Any) -> dict[str, Any]:
    return {"event_type": event_type, **example_data(event_type, **overrides)}


def _registered_id(registry_url: str, subject: str) -> int:
    """The id of the latest version of ``subject``, asked of the registry directly."""
    answer = httpx.get(f"{registry_url}/subjects/{subject}/versions/latest", timeout=10)
    return int(answer.raise_for_status().json()["id"])


@pytest.mark.parametrize("event_type", CATALOG.event_types())
def test_every_event_type_round_trips_through_kafka(
    event_type: str,
    connection_settings: ConnectionSettings,
    scratch: Scratch,
    registry: SchemaRegistry,
) -> None:
    event = example_event(event_type)
    # The event's own stream, workflow included: the log must carry every type in the catalog.
    inbox: dict[str, str] = {event.stream: scratch.topic()}
    with scratch_publisher(connection_settings, inbox) as publisher:
        receipt = publisher.publish(event)

    [msg] = read_topic(connection_settings.kafka_bootstrap, inbox[event.stream])
    assert (msg.partition, msg.offset) == (receipt.partition, receipt.offset)
    assert msg.key == event.key().encode() == getattr(event, event.key_field).encode()
    value = msg.value
    magic, schema_id = struct.unpack(">bI", value[:5])
    subject = f"{msg.topic}-{CATALOG.current(event_type).fullname}"
    assert magic == 0
    assert schema_id == _registered_id(connection_settings.registry_url, subject)
    codec = AvroCodec(registry)
    assert codec.decode(value, msg.topic, msg.partition, msg.offset) == event


def test_events_of_one_case_land_in_one_partition_in_publish_order(
    connection_settings: ConnectionSettings, scratch: Scratch, registry: SchemaRegistry
) -> None:
    inbox = scratch.inbox(partitions=12)
    kinds = ["CaseReported", "CaseAccepted", "CaseDispatched", "CaseClaimed", "CaseResolved"]
    events = [example_event(kinds[i % len(kinds)]) for i in range(20)]
    assert len({e.key() for e in events}) == 1
    with scratch_publisher(connection_settings, inbox) as publisher:
        result = publisher.publish_batch(events)

    assert result.ok, result.failures
    by_id = {r.event_id: r for r in result.receipts}
    receipts = [by_id[e.envelope.event_id] for e in events]
    assert len({r.partition for r in receipts}) == 1
    offsets = [r.offset for r in receipts]
    assert offsets == sorted(offsets) and len(set(offsets)) == 20
    stored = read_topic(connection_settings.kafka_bootstrap, inbox["case"])
    codec = AvroCodec(registry)
    assert [codec.decode(m.value) for m in stored] == events


# --- bad input: its own error, the field named, nothing published --------------------------
def _refused(
    connection: ConnectionSettings,
    scratch: Scratch,
    submission: Event | dict[str, Any],
    error: type[E],
    **settings: Any,
) -> tuple[E, str]:
    """Publish ``submission`` to a new topic expecting ``error``; prove the topic stays empty.
    Returns the error and the topic."""
    inbox = scratch.inbox(partitions=1)
    with (
        scratch_publisher(connection, inbox, **settings) as publisher,
        pytest.raises(error) as caught,
    ):
        publisher.publish(submission)
    assert record_count(connection.kafka_bootstrap, inbox["case"]) == 0
    return caught.value, inbox["case"]


def _without(event_type: str, field: str) -> dict[str, Any]:
    data = _submission(event_type)
    del data[field]
    return data


BAD_INPUT = {
    "missing field": (_without("CaseReported", "title"), InvalidEvent, "title", "missing"),
    "wrong type": (
        _submission("VisitRecorded", households_visited="many"),
        InvalidEvent,
        "households_visited",
        "int_type",
    ),
    "oversize text": (
        _submission("CaseReported", description="长" * 5001),
        InvalidEvent,
        "description",
        "string_too_long",
    ),
    "lone surrogate": (
        _submission("CaseReported", title="占道\ud800经营"),
        InvalidEvent,
        "title",
        "string_unicode",
    ),
    "naive datetime": (
        _submission("CaseReported", envelope={"event_time": datetime(2025, 3, 3, 9, 30)}),
        InvalidEvent,
        "envelope.event_time",
        "timezone_aware",
    ),
}


@pytest.mark.parametrize(("data", "error", "field", "rule"), BAD_INPUT.values(), ids=BAD_INPUT)
def test_bad_input_names_field_and_rule_and_publishes_nothing(
    data: dict[str, Any],
    error: type[InvalidEvent],
    field: str,
    rule: str,
    connection_settings: ConnectionSettings,
    scratch: Scratch,
) -> None:
    refusal, _ = _refused(connection_settings, scratch, data, error)
    assert (refusal.field, refusal.rule) == (field, rule)
    assert field in str(refusal)


def test_text_that_is_not_utf8_is_refused_by_the_codec_naming_the_field(
    connection_settings: ConnectionSettings, scratch: Scratch
) -> None:
    # model_copy skips validation, so the bad text reaches the encoder.
    event = example_event("CaseReported").model_copy(update={"title": "占道\ud800经营"})
    refusal, _ = _refused(connection_settings, scratch, event, InvalidEvent)
    assert (refusal.field, refusal.rule) == ("title", "utf8")


def test_unknown_event_type_lists_the_known_ones_and_publishes_nothing(
    connection_settings: ConnectionSettings, scratch: Scratch
) -> None:
    data = {**example_data("CaseClosed"), "event_type": "CaseTeleported"}
    refusal, _ = _refused(connection_settings, scratch, data, UnknownEventType)
    assert refusal.event_type == "CaseTeleported"
    assert all(known in str(refusal) for known in MODELS)


def test_workflow_events_are_not_accepted_as_submissions(
    connection_settings: ConnectionSettings, scratch: Scratch
) -> None:
    event = example_event("SubmissionRejected")
    refusal, _ = _refused(connection_settings, scratch, event, InvalidEvent)
    assert (refusal.field, refusal.rule) == ("event_type", "not_a_submission")


def test_batch_publishes_the_good_and_reports_each_bad_by_index(
    connection_settings: ConnectionSettings, scratch: Scratch, registry: SchemaRegistry
) -> None:
    good = [example_event("CaseReported"), example_event("VisitRecorded")]
    batch: list[Any] = [
        good[0],
        _without("CaseReported", "title"),
        _submission("CaseAccepted"),
        {**example_data("CaseClosed"), "event_type": "CaseTeleported"},
        good[1],
        _submission("CaseClosed", envelope={"event_time": datetime(2025, 3, 3, 9, 30)}),
    ]
    good_ids = {
        good[0].envelope.event_id,
        batch[2]["envelope"]["event_id"],
        good[1].envelope.event_id,
    }
    inbox = scratch.inbox()
    acknowledged: list[int] = []
    with scratch_publisher(connection_settings, inbox) as publisher:
        result = publisher.publish_batch(batch, progress=acknowledged.append)

    assert {r.event_id for r in result.receipts} == good_ids
    assert [(f.index, type(f.error)) for f in result.failures] == [
        (1, InvalidEvent),
        (3, UnknownEventType),
        (5, InvalidEvent),
    ]
    bad_ids = [batch[i]["envelope"]["event_id"] for i in (1, 3, 5)]
    assert [f.event_id for f in result.failures] == bad_ids
    assert sum(acknowledged) == len(batch)
    stored = read_topic(connection_settings.kafka_bootstrap, inbox["case"])
    codec = AvroCodec(registry)
    assert sorted(codec.decode(m.value).envelope.event_id for m in stored) == sorted(good_ids)


# --- services that cannot be reached, schemas that are not registered ----------------------
def test_unreachable_broker_raises_broker_unavailable_within_the_timeout(
    connection_settings: ConnectionSettings, scratch: Scratch
) -> None:
    inbox = scratch.inbox(partitions=1)
    publisher = scratch_publisher(
        connection_settings, inbox, kafka_bootstrap="127.0.0.1:1", publish_timeout_s=2
    )
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as caught:
        publisher.publish(example_event("CaseReported"))
    assert time.monotonic() - started < 6
    assert "acknowledg" in str(caught.value)
    publisher.close()


def test_unreachable_registry_raises_registry_unavailable_and_publishes_nothing(
    connection_settings: ConnectionSettings, scratch: Scratch
) -> None:
    url = "http://127.0.0.1:1/apis/ccompat/v7"
    event = example_event("CaseReported")
    refusal, _ = _refused(
        connection_settings, scratch, event, RegistryUnavailable, registry_url=url
    )
    assert "127.0.0.1:1" in str(refusal)


def test_unregistered_schema_is_refused_with_the_command_that_registers_it(
    connection_settings: ConnectionSettings, scratch: Scratch
) -> None:
    event = example_event("CaseReported")
    refusal, topic = _refused(
        connection_settings, scratch, event, SchemaNotRegistered, auto_register=False
    )
    assert f"{topic}-fengqiao.case.CaseReported" in str(refusal)
    assert "fengqiao schemas register" in str(refusal)
