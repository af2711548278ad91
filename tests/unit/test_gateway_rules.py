"""The gateway's pure parts: a credential's scope, a body made into a stamped event, the
field errors in both languages, key parsing and hashing, the rotation grace."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import typer

from events.gateway.credentials import hash_secret, split_key
from events.gateway.intake import intake
from events.gateway.problems import Invalid
from events.gateway.scope import Scope, departments_named, grid_named, refusal
from infra.cli_gateway import parse_grace
from tests.factories import GRID, example_data, example_event

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
DAY = date(2025, 3, 3)
ANY = Scope.of(["*"], ["*"], ["*"])


def _district(place: str, day: date) -> str | None:
    return {GRID: "330206", "330206": "330206"}.get(place)


def _body(event_type: str = "CaseReported", **overrides: object) -> dict[str, object]:
    data = example_data(event_type, **overrides)
    envelope = {
        k: v for k, v in data["envelope"].items() if k not in ("source_system", "recorded_time")
    }
    return {"event_type": event_type, **data, "envelope": envelope}


def test_intake_stamps_the_system_and_the_time_of_receipt() -> None:
    event = intake(_body(), "dept.app", NOW)
    assert (event.envelope.source_system, event.envelope.recorded_time) == ("dept.app", NOW)


@pytest.mark.parametrize("field", ["source_system", "recorded_time"])
def test_intake_refuses_a_body_that_gives_a_stamped_field(field: str) -> None:
    body = _body()
    body["envelope"][field] = "x"  # type: ignore[index]
    with pytest.raises(Invalid) as caught:
        intake(body, "dept.app", NOW)
    assert [(e.field, e.rule) for e in caught.value.errors] == [
        (f"envelope.{field}", "set_by_gateway")
    ]


def test_intake_names_every_field_at_fault_with_a_chinese_message() -> None:
    body = _body(priority="soon", attachments_count=-1)
    with pytest.raises(Invalid) as caught:
        intake(body, "dept.app", NOW)
    errors = {e.field: e for e in caught.value.errors}
    assert set(errors) == {"priority", "attachments_count"}
    assert errors["attachments_count"].expected == {"ge": 0}
    assert errors["attachments_count"].message_zh == "数值过小"
    assert errors["priority"].message_zh == "必须是规定的取值之一"


def test_intake_explains_a_rule_joining_fields_in_chinese() -> None:
    body = _body("CaseRejected", reason="duplicate", duplicate_of=None)
    with pytest.raises(Invalid) as caught:
        intake(body, "dept.app", NOW)
    (error,) = caught.value.errors
    assert error.rule == "value_error"
    assert error.message_zh.startswith("取值不符合规则：")


@pytest.mark.parametrize("event_type", ["DeadlineBreached", "SubmissionOutcome", "Nope", None])
def test_intake_refuses_what_is_not_a_submission(event_type: str | None) -> None:
    with pytest.raises(Invalid) as caught:
        intake({"event_type": event_type}, "dept.app", NOW)
    assert caught.value.errors[0].field == "event_type"


def test_any_scope_allows_everything() -> None:
    assert refusal(ANY, example_event("CaseReported"), DAY, _district) is None


def test_an_event_type_outside_the_scope_is_refused_by_that_scope() -> None:
    scope = Scope.of(["CaseClaimed"], ["*"], ["*"])
    found = refusal(scope, example_event("CaseReported"), DAY, _district)
    assert found is not None and found.scope == "event_types"
    assert "CaseReported" in found.detail and "CaseReported" in found.detail_zh


def test_every_department_an_event_names_must_be_in_scope() -> None:
    transfer = example_event("CaseTransferred")
    assert departments_named(transfer) == ("dept.law-enforcement", "dept.market-supervision")
    scope = Scope.of(["*"], ["dept.law-enforcement"], ["*"])
    found = refusal(scope, transfer, DAY, _district)
    assert found is not None and found.scope == "departments"
    assert "dept.market-supervision" in found.detail
    assert departments_named(example_event("CategoryDefined")) == ("dept.market-supervision",)
    assert departments_named(example_event("DepartmentDefined")) == ("dept.market-supervision",)
    assert departments_named(example_event("CaseReported")) == ()
    refused = example_event("HandoffRuled", upheld=False, department_code=None)
    assert departments_named(refused) == ()  # a ruling that names no owner
    assert departments_named(example_event("HandoffRuled")) == ("dept.market-supervision",)


def test_the_district_comes_from_the_grid_or_the_place_defined() -> None:
    assert grid_named(example_event("CaseReported")) == GRID
    assert grid_named(example_event("VisitRecorded")) == GRID
    assert grid_named(example_event("PlaceDefined")) == example_event("PlaceDefined").code
    assert grid_named(example_event("CaseClaimed")) is None
    inside = Scope.of(["*"], ["*"], ["330206"])
    outside = Scope.of(["*"], ["*"], ["330211"])
    assert refusal(inside, example_event("CaseReported"), DAY, _district) is None
    found = refusal(outside, example_event("CaseReported"), DAY, _district)
    assert found is not None and found.scope == "districts" and "330206" in found.detail
    lost = refusal(inside, example_event("CaseReported", grid_id="nowhere"), DAY, _district)
    assert lost is not None and "no known district" in lost.detail
    assert refusal(outside, example_event("CaseClaimed"), DAY, _district) is None


def test_a_key_splits_into_its_id_and_secret_and_nothing_else_does() -> None:
    assert split_key("fq_0123456789abcdef." + "s" * 43) == ("0123456789abcdef", "s" * 43)
    for bad in (
        "",
        "fq_0123.abc",
        "Bearer fq_0123456789abcdef." + "s" * 43,
        "fq_0123456789abcdeg." + "s" * 43,
    ):
        assert split_key(bad) is None


def test_a_secret_hash_depends_on_its_salt() -> None:
    assert hash_secret("s", b"1" * 16) == hash_secret("s", b"1" * 16)
    assert hash_secret("s", b"1" * 16) != hash_secret("s", b"2" * 16)
    assert hash_secret("s", b"1" * 16) != hash_secret("t", b"1" * 16)


def test_the_grace_reads_seconds_minutes_hours_and_days() -> None:
    assert parse_grace("90") == timedelta(seconds=90)
    assert parse_grace("30m") == timedelta(minutes=30)
    assert parse_grace("24h") == timedelta(hours=24)
    assert parse_grace("7d") == timedelta(days=7)
    with pytest.raises(typer.BadParameter):
        parse_grace("a week")
