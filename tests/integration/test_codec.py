"""The Avro codec against the real registry: old data read by the current model, current data
read by an old reader, and records that cannot be decoded kept with where they came from.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import fastavro
import pytest
from confluent_kafka import Producer

from events.codec import AvroCodec
from events.errors import DecodeError
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.models import to_avro
from events.registry import COMPATIBILITY, SchemaRegistry, subject_name
from infra.settings import ConnectionSettings
from schemas.catalog import load_catalog
from tests.factories import example_data, example_event
from tests.integration.helpers import (
    Scratch,
    read_topic,
    registry_fixture,  # noqa: F401 (a fixture)
    scratch_fixture,  # noqa: F401 (a fixture)
)

CASE_REPORTED_V1, CASE_REPORTED_V2 = load_catalog().versions("CaseReported")[:2]


def _framed(schema_id: int, schema: dict[str, Any], datum: dict[str, Any]) -> bytes:
    """``datum`` in the Confluent wire format, written by hand with fastavro."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), datum)
    return struct.pack(">bI", 0, schema_id) + body.getvalue()


def test_data_written_with_v1_decodes_as_the_current_model(
    registry: SchemaRegistry, scratch: Scratch
) -> None:
    subject = subject_name(scratch.topic(1), CASE_REPORTED_V1.fullname)
    registry.set_compatibility(subject, COMPATIBILITY)
    v1_id = registry.register(subject, CASE_REPORTED_V1.schema)
    old = example_data("CaseReported")
    del old["attachments_count"]

    decoded = AvroCodec(registry).decode(_framed(v1_id, CASE_REPORTED_V1.schema, old))

    assert decoded.event_type == "CaseReported"
    assert decoded.attachments_count == 0  # type: ignore[attr-defined]
    assert decoded == example_event(
        "CaseReported", attachments_count=0, reporter=None, envelope=old["envelope"]
    )


def test_a_place_written_with_v1_decodes_with_no_boundary(
    registry: SchemaRegistry, scratch: Scratch
) -> None:
    place_v1 = load_catalog().versions("PlaceDefined")[0]
    subject = subject_name(scratch.topic(1), place_v1.fullname)
    registry.set_compatibility(subject, COMPATIBILITY)
    v1_id = registry.register(subject, place_v1.schema)
    old = example_data("PlaceDefined")
    del old["boundary"]

    decoded = AvroCodec(registry).decode(_framed(v1_id, place_v1.schema, old))

    assert decoded == example_event("PlaceDefined", boundary=None, envelope=old["envelope"])


def test_data_written_with_the_current_version_is_read_by_a_v1_reader(
    registry: SchemaRegistry, scratch: Scratch
) -> None:
    topic = scratch.topic(1)
    subject = subject_name(topic, CASE_REPORTED_V1.fullname)
    registry.set_compatibility(subject, COMPATIBILITY)
    v1_id = registry.register(subject, CASE_REPORTED_V1.schema)
    event = example_event("CaseReported")
    codec = AvroCodec(registry, auto_register=True)

    framed = codec.encode(topic, event)

    magic, v2_id = struct.unpack(">bI", framed[:5])
    assert (magic, registry.versions(subject)) == (0, [1, 2])
    assert v2_id != v1_id
    old_reader = fastavro.parse_schema(CASE_REPORTED_V1.schema)
    writer = fastavro.parse_schema(load_catalog().current("CaseReported").schema)
    record = fastavro.schemaless_reader(io.BytesIO(framed[5:]), writer, old_reader)
    expected = to_avro(event)
    del expected["attachments_count"], expected["reporter"]
    assert record == expected


# --- records that cannot be decoded ---------------------------------------------------------
def _truncated(codec: AvroCodec, topic: str) -> bytes:
    return codec.encode(topic, example_event("CaseReported"))[:-20]


BAD_RECORDS = {
    "not confluent framed": (lambda codec, topic: b"\x01" + b"\x00" * 16, "magic byte is 1"),
    "too short": (lambda codec, topic: b"\x00\x00", "too short"),
    "unknown schema id": (
        lambda codec, topic: struct.pack(">bI", 0, 999_999_999) + b"\x02",
        "schema id 999999999",
    ),
    "truncated body": (_truncated, "body does not match"),
}


@pytest.mark.parametrize(("make", "reason"), BAD_RECORDS.values(), ids=BAD_RECORDS)
def test_undecodable_record_raises_decode_error_keeping_raw_bytes_and_position(
    make: Any,
    reason: str,
    connection_settings: ConnectionSettings,
    registry: SchemaRegistry,
    scratch: Scratch,
) -> None:
    topic = scratch.topic(1)
    codec = AvroCodec(registry, auto_register=True)
    raw = make(codec, topic)
    producer = Producer({**kafka_config(connection_settings.kafka_bootstrap)})
    deliveries = Deliveries()
    produce(producer, topic, raw, b"k", deliveries)
    deliveries.flush(producer, 30, "the record")
    [msg] = read_topic(connection_settings.kafka_bootstrap, topic)

    with pytest.raises(DecodeError) as caught:
        AvroCodec(registry).decode(msg.value, msg.topic, msg.partition, msg.offset)

    error = caught.value
    assert (error.raw, error.topic, error.partition, error.offset) == (raw, topic, 0, 0)
    assert reason in error.reason
    assert f"{topic}[0]@0" in str(error)
