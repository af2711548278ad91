"""Event models: round trip through Avro, validation errors that name the field, registry."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from events.errors import UnknownEventType
from events.models import DERIVED_EVENT_TYPES, MODELS, CaseReported, from_avro, model_for, to_avro
from schemas.catalog import load_catalog
from tests.factories import T0, example_data, example_event

CATALOG = load_catalog()
PARSED = {t: fastavro.parse_schema(CATALOG.current(t).schema) for t in CATALOG.event_types()}


def _through_avro(event_type: str, datum: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, PARSED[event_type], datum)
    buffer.seek(0)
    record = fastavro.schemaless_reader(buffer, PARSED[event_type], None)
    assert isinstance(record, dict)
    return record


@pytest.mark.parametrize("event_type", sorted(MODELS))
def test_round_trip_through_avro(event_type: str) -> None:
    event = example_event(event_type)
    assert from_avro(event_type, _through_avro(event_type, to_avro(event))) == event


def test_round_trip_with_every_optional_field_null() -> None:
    event = example_event("CaseReported", location=None, reporter_ref=None, visit_id=None)
    assert from_avro("CaseReported", _through_avro("CaseReported", to_avro(event))) == event


def test_timestamps_are_normalised_to_utc_millis() -> None:
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2025, 3, 3, 17, 30, 0, 123456, tzinfo=shanghai)
    event = example_event("CaseClosed", envelope={"event_time": local})
    assert event.envelope.event_time == datetime(2025, 3, 3, 9, 30, 0, 123000, tzinfo=UTC)
    assert event.envelope.event_time.tzinfo is UTC
    assert from_avro("CaseClosed", _through_avro("CaseClosed", to_avro(event))) == event


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-03T09:30:00Z", datetime(2025, 3, 3, 9, 30, tzinfo=UTC)),
        ("2025-03-03T09:30:00.123456Z", datetime(2025, 3, 3, 9, 30, 0, 123000, tzinfo=UTC)),
        ("2025-03-03T17:30:00.5+08:00", datetime(2025, 3, 3, 9, 30, 0, 500000, tzinfo=UTC)),
        ("2025-03-03T09:30:00-00:00", datetime(2025, 3, 3, 9, 30, tzinfo=UTC)),
        ("0001-01-01T00:00:00.000999Z", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_from_json_are_normalised_to_python_utc(text: str, expected: datetime) -> None:
    # JSON's times come with pydantic's own tzinfo: the model's are datetime.UTC all the same.
    data = example_data("CaseClosed")
    event = MODELS["CaseClosed"].model_validate(
        {**data, "envelope": {**data["envelope"], "event_time": text}}
    )
    assert event.envelope.event_time == expected
    assert event.envelope.event_time.tzinfo is UTC


def test_a_boundary_ring_that_closes_on_itself_is_read_open() -> None:
    closed = example_event("PlaceDefined", boundary=[*SQUARE, SQUARE[0]])
    assert closed.boundary == example_event("PlaceDefined", boundary=SQUARE).boundary
    assert closed.boundary is not None and len(closed.boundary) == 4


def test_a_place_without_a_boundary_round_trips_as_null() -> None:
    event = example_event("PlaceDefined", boundary=None)
    record = _through_avro("PlaceDefined", to_avro(event))
    assert record["boundary"] is None
    assert from_avro("PlaceDefined", record) == event


def test_keys() -> None:
    assert example_event("CaseClaimed").key() == "case-2025-000123"
    assert example_event("VisitRecorded").key() == "330206001001001"
    assert example_event("WorkerAssigned").key() == "worker-042"
    assert example_event("SlaPolicyDefined").key() == "sla.default"
    assert example_event("CalendarDefined").key() == "2025.1"
    assert example_event("PlaceDefined", code="g-1").key() == "g-1"


def test_registry() -> None:
    assert model_for("CaseReported") is CaseReported
    assert DERIVED_EVENT_TYPES == {
        "DeadlineScheduled",
        "DeadlineWarned",
        "DeadlineBreached",
        "CaseUrged",
        "CaseSupervised",
        "CaseNoticed",
    }
    assert all(MODELS[t].stream == "case" for t in DERIVED_EVENT_TYPES)
    with pytest.raises(UnknownEventType, match="CaseLost"):
        model_for("CaseLost")
    with pytest.raises(UnknownEventType):
        from_avro("CaseLost", {})


def test_models_are_frozen() -> None:
    event = example_event("CaseClosed")
    with pytest.raises(ValidationError):
        event.envelope = event.envelope


NAIVE = datetime(2025, 3, 3, 9, 30)
MISSING: Any = object()
SQUARE = [
    {"lat": 29.90, "lon": 121.50},
    {"lat": 29.90, "lon": 121.51},
    {"lat": 29.91, "lon": 121.51},
    {"lat": 29.91, "lon": 121.50},
]
ONE_LIMIT = {"stage": "claim", "priority": "normal", "working_hours": 8, "warn_before_hours": 0}


def bad(event_type: str, loc: str, rule: str, **overrides: Any) -> Any:
    """A test case: ``overrides`` applied to a valid example must fail ``rule`` at ``loc``."""
    return pytest.param(event_type, overrides, loc, rule, id=f"{event_type}-{loc}-{rule}")


@pytest.mark.parametrize(
    ("event_type", "overrides", "loc", "rule"),
    [
        bad("CaseReported", "title", "missing", title=MISSING),
        bad("CaseClaimed", "department_code", "string_type", department_code=42),
        bad("CaseEvaluated", "satisfaction", "int_type", satisfaction="5"),
        bad("CaseEvaluated", "satisfaction", "less_than_equal", satisfaction=6),
        bad("CaseEvaluated", "satisfaction", "greater_than_equal", satisfaction=0),
        bad("CaseReported", "title", "string_too_long", title="长" * 201),
        bad("CaseReported", "description", "string_too_long", description="x" * 5001),
        bad("CaseReported", "title", "string_too_short", title=""),
        bad("CaseReported", "channel", "enum", channel="fax"),
        bad("CaseReported", "colour", "extra_forbidden", colour="red"),
        bad("CaseReported", "attachments_count", "greater_than_equal", attachments_count=-1),
        bad("CaseReported", "location.lat", "less_than_equal", location={"lat": 91.0, "lon": 0.0}),
        bad("CaseClosed", "envelope.event_time", "timezone_aware", envelope={"event_time": NAIVE}),
        bad(
            "CaseClosed",
            "envelope.actor.role",
            "enum",
            envelope={"actor": {"id": "x", "role": "x"}},
        ),
        bad("CaseClosed", "envelope.sequence", "greater_than_equal", envelope={"sequence": 0}),
        bad("DeadlineWarned", "due_time", "timezone_aware", due_time=NAIVE),
        bad("VisitRecorded", "households_visited", "greater_than_equal", households_visited=-1),
        bad("VisitRecorded", "ended_at", "value_error", ended_at=T0 - timedelta(days=1)),
        bad(
            "VisitRecorded", "track.0.t", "timezone_aware", track=[{"t": NAIVE, "lat": 0, "lon": 0}]
        ),
        bad("CaseVerified", "passed", "bool_type", passed="yes"),
        bad("CaseRejected", "duplicate_of", "value_error", duplicate_of=None),
        bad("CaseRejected", "duplicate_of", "value_error", reason="invalid"),
        bad("CaseEscalated", "to_level", "value_error", to_level="street"),
        bad("WorkerAssigned", "effective_to", "value_error", effective_to=date(2024, 12, 31)),
        bad(
            "CalendarDefined",
            "working_hours.0.end_minute",
            "value_error",
            working_hours=[{"start_minute": 600, "end_minute": 600}],
        ),
        bad("CalendarDefined", "holidays", "value_error", holidays=[date(2024, 10, 1)]),
        bad("CaseReported", "title", "string_unicode", title="lone surrogate \ud800"),
        # PostgreSQL's text cannot hold a NUL: no string of the contract may carry one.
        bad("CaseReported", "description", "string_pattern_mismatch", description="漏水\x00"),
        bad(
            "CaseReported",
            "envelope.event_id",
            "string_pattern_mismatch",
            envelope={"event_id": "e\x00"},
        ),
        bad("VisitRecorded", "notes", "string_pattern_mismatch", notes="\x00"),
        bad("WorkerAssigned", "worker_id", "string_pattern_mismatch", worker_id="w-1\x00"),
        bad("SlaPolicyDefined", "limits", "value_error", limits=[ONE_LIMIT, ONE_LIMIT]),
        bad("PlaceDefined", "boundary", "value_error", boundary=[SQUARE[0], SQUARE[1]]),
        bad(
            "PlaceDefined",
            "boundary",
            "value_error",
            boundary=[SQUARE[0], SQUARE[1], SQUARE[0]],  # closes on itself: two distinct points
        ),
        bad(
            "PlaceDefined",
            "boundary.1.lon",
            "less_than_equal",
            boundary=[SQUARE[0], {"lat": 29.9, "lon": 181.0}, SQUARE[2]],
        ),
        bad(
            "PlaceDefined",
            "boundary.2.lat",
            "greater_than_equal",
            boundary=[SQUARE[0], SQUARE[1], {"lat": -90.5, "lon": 121.5}],
        ),
    ],
)
def test_bad_input_names_the_field(
    event_type: str, overrides: dict[str, Any], loc: str, rule: str
) -> None:
    data = example_data(event_type, **overrides)
    for name in [k for k, v in overrides.items() if v is MISSING]:
        del data[name]
    with pytest.raises(ValidationError) as caught:
        model_for(event_type).model_validate(data)
    [error] = caught.value.errors()
    assert (".".join(map(str, error["loc"])), error["type"]) == (loc, rule)


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=200)
_TIME = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(
    title=_TEXT,
    description=_TEXT,
    event_time=_TIME,
    attachments=st.integers(0, 1000),
    lat=st.floats(-90, 90),
)
def test_any_valid_case_report_survives_the_round_trip(
    title: str, description: str, event_time: datetime, attachments: int, lat: float
) -> None:
    event = example_event(
        "CaseReported",
        title=title,
        description=description,
        attachments_count=attachments,
        location={"lat": lat, "lon": 121.5},
        envelope={"event_time": event_time},
    )
    assert event.envelope.event_time.microsecond % 1000 == 0
    assert from_avro("CaseReported", _through_avro("CaseReported", to_avro(event))) == event
