"""The compiled Avro writer writes exactly what fastavro writes, for every event type and for
the edge values of every Avro type it handles; what it cannot write is refused by the codec
as fastavro refuses it.
"""

from __future__ import annotations

import io
import math
import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.avro_writer import Unsupported, Writer, compile_writer, zigzag_varint
from events.codec import AvroCodec
from events.errors import InvalidEvent
from events.models import MODELS, Event, to_avro
from schemas.catalog import load_catalog
from simulate.activity import day_events
from simulate.city import CityShape, reference_events
from tests.factories import example_event

CATALOG = load_catalog()
HEADER = b"\x00\x00\x00\x00\x07"


def _compiled(schema: dict[str, Any]) -> tuple[Any, Writer]:
    named: dict[str, Any] = {}
    parsed = fastavro.parse_schema(schema, named)
    return parsed, compile_writer(parsed, named)


WRITERS = {et: _compiled(CATALOG.current(et).schema) for et in CATALOG.event_types()}


def _reference(parsed: Any, datum: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, datum)
    return buffer.getvalue()


def _assert_same_as_fastavro(event: Event) -> None:
    parsed, writer = WRITERS[event.event_type]
    assert writer(event, HEADER) == HEADER + _reference(parsed, to_avro(event))


def _simulated_events() -> list[Event]:
    rng = random.Random(11)
    city, events = reference_events(CityShape(streets=3, grids=60), 11)
    day = date(2025, 3, 3)
    for _ in range(3):
        events.extend(day_events(city, day, rng))
        day += timedelta(days=1)
    return events


SIMULATED = _simulated_events()


def test_the_catalog_has_a_compiled_writer_for_every_event_type() -> None:
    assert set(WRITERS) == set(MODELS)


@pytest.mark.parametrize("event_type", sorted(MODELS))
def test_example_of_every_event_type_is_written_as_fastavro_writes_it(event_type: str) -> None:
    _assert_same_as_fastavro(example_event(event_type))


def test_every_simulated_event_is_written_as_fastavro_writes_it() -> None:
    assert len({e.event_type for e in SIMULATED}) >= 15
    for event in SIMULATED:
        _assert_same_as_fastavro(event)


# --- edge values, written into a schema of every type the writer handles ---------------------
EDGES = {
    "type": "record",
    "name": "edge.Values",
    "fields": [
        {"name": "long", "type": "long"},
        {"name": "int", "type": "int"},
        {"name": "text", "type": "string"},
        {"name": "maybe_text", "type": ["null", "string"]},
        {"name": "maybe_long", "type": ["long", "null"]},
        {"name": "flag", "type": "boolean"},
        {"name": "x", "type": "double"},
        {"name": "y", "type": "double"},
        {"name": "single", "type": "float"},
        {"name": "blob", "type": "bytes"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["red", "green"]}},
        {"name": "words", "type": {"type": "array", "items": "string"}},
        {
            "name": "points",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Point",
                    "fields": [
                        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                        {"name": "lat", "type": "double"},
                    ],
                },
            },
        },
        {"name": "maybe_point", "type": ["null", "Point"]},
        {"name": "again", "type": "Colour"},
    ],
}
EDGE_PARSED, EDGE_WRITER = _compiled(EDGES)

LONGS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8192, 2**31, -(2**63), 2**63 - 1]),
)
INTS = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([-(2**31), 2**31 - 1, 0]))
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",))),
    st.sampled_from(["", "占道经营", "\U0001f600\U00010348", "a" * 9000]),
)
DOUBLES = st.one_of(
    st.floats(allow_nan=False), st.sampled_from([-0.0, 0.0, math.inf, -math.inf, 5e-324])
)
SINGLES = st.sampled_from([0.0, -0.0, 1.5, math.inf, -3.25])
MOMENTS = st.one_of(
    st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31), timezones=st.just(UTC)).map(
        lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000)
    ),
    st.sampled_from(
        [
            datetime(1970, 1, 1, tzinfo=UTC),
            datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
            datetime(1970, 1, 2, 13, 16, 57, 727000, tzinfo=UTC),  # 2**27 ms: the table edge
            datetime(2039, 9, 7, 15, 47, 35, 552000, tzinfo=UTC),  # 2**41 ms: the other edge
        ]
    ),
)
POINTS = st.builds(SimpleNamespace, at=MOMENTS, lat=DOUBLES)


def _datum(value: Any) -> Any:
    if isinstance(value, SimpleNamespace):
        return {k: _datum(v) for k, v in vars(value).items()}
    if isinstance(value, list):
        return [_datum(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        SimpleNamespace,
        long=LONGS,
        int=INTS,
        text=TEXT,
        maybe_text=st.none() | TEXT,
        maybe_long=st.none() | LONGS,
        flag=st.booleans(),
        x=DOUBLES,
        y=DOUBLES,
        single=SINGLES,
        blob=st.binary(),
        at=MOMENTS,
        day=st.dates(),
        colour=st.sampled_from(["red", "green"]),
        words=st.lists(TEXT, max_size=3),
        points=st.lists(POINTS, max_size=3),
        maybe_point=st.none() | POINTS,
        again=st.sampled_from(["red", "green"]),
    )
)
def test_edge_values_are_written_as_fastavro_writes_them(value: SimpleNamespace) -> None:
    assert EDGE_WRITER(value, b"") == _reference(EDGE_PARSED, _datum(value))


@given(LONGS)
def test_zigzag_varint_is_avro_long(n: int) -> None:
    assert zigzag_varint(n) == _reference("long", n)


@pytest.mark.parametrize("n", [2**63, -(2**63) - 1])
def test_a_long_beyond_64_bits_is_refused(n: int) -> None:
    with pytest.raises(OverflowError):
        zigzag_varint(n)


@pytest.mark.parametrize(
    "kind",
    [
        {"type": "map", "values": "string"},
        {"type": "fixed", "name": "Four", "size": 4},
        ["null", "string", "long"],
        ["string", "long"],
    ],
    ids=["map", "fixed", "three-way union", "union without null"],
)
def test_types_the_catalog_does_not_use_are_unsupported(kind: Any) -> None:
    schema = {"type": "record", "name": "odd.One", "fields": [{"name": "f", "type": kind}]}
    with pytest.raises(Unsupported):
        _compiled(schema)


# --- what cannot be written ----------------------------------------------------------------
def _encode(event: Event) -> bytes:
    parsed, writer = WRITERS[event.event_type]
    return AvroCodec.encode_event(HEADER, parsed, writer, event)


def test_the_codec_writes_with_the_compiled_writer() -> None:
    event = example_event("VisitRecorded")
    assert _encode(event) == WRITERS["VisitRecorded"][1](event, HEADER)


def test_text_that_is_not_utf8_names_the_nested_field() -> None:
    event = example_event("CaseReported")
    actor = event.envelope.actor.model_copy(update={"id": "w-\ud800"})
    bad = event.model_copy(update={"envelope": event.envelope.model_copy(update={"actor": actor})})
    with pytest.raises(InvalidEvent) as caught:
        _encode(bad)
    assert (caught.value.field, caught.value.rule) == ("envelope.actor.id", "utf8")


def test_text_that_is_not_utf8_in_an_array_names_its_index() -> None:
    event = example_event("VisitRecorded")
    bad = event.model_copy(update={"items_checked": ("flood", "\udfff")})
    with pytest.raises(InvalidEvent) as caught:
        _encode(bad)
    assert (caught.value.field, caught.value.rule) == ("items_checked.1", "utf8")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("priority", "whenever"),
        ("location", SimpleNamespace(lat="north", lon=1.0)),
        ("attachments_count", 2**40),
        ("title", 7),
    ],
    ids=["unknown symbol", "text for a double", "int beyond 32 bits", "int for a string"],
)
def test_a_value_that_cannot_be_written_is_invalid_event(field: str, value: Any) -> None:
    bad = example_event("CaseReported").model_copy(update={field: value})
    with pytest.raises(Exception) as in_writer:
        WRITERS["CaseReported"][1](bad, HEADER)
    assert not isinstance(in_writer.value, InvalidEvent)
    with pytest.raises(InvalidEvent) as caught:
        _encode(bad)
    assert (caught.value.event_type, caught.value.rule) == ("CaseReported", "avro")
